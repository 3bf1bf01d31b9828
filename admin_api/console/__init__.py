"""The web console (/console): server-rendered pages over the key service.

One module per concern: `app` (routes, templates), `middleware` (security headers, error
pages), `session` (who is signed in) over `session_store` (sessions kept in Redis), `cookies`,
`csrf`, `flash`, `signing` (the console's own key), `navigation` (URLs and redirects), `links`
(a list page's view state), `render`, and the pages: `sign_in`, `keys`, `operator`, and
`sources` with `source_create` and `source_rotate` (over `source_form`, `providers`, `origin`).
`submissions` is the service that lets a create form be sent once.
"""

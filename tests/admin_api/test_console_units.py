"""The console's pure parts, without a server: CSRF tokens, flash notices, redirects, links."""

from __future__ import annotations

from admin_api.console import links
from admin_api.console.csrf import csrf_token, csrf_valid
from admin_api.console.flash import Flash, decode_flash, encode_flash
from admin_api.console.navigation import safe_next
from admin_api.console.signing import console_secret
from admin_api.pagination import PageRequest
from gateway.config import load_config

SECRET = b"k" * 32


def test_csrf_token_is_bound_to_the_browser_and_the_session() -> None:
    token = csrf_token(SECRET, "nonce-a", "jwt-1")
    assert csrf_valid(SECRET, "nonce-a", "jwt-1", token)
    assert not csrf_valid(SECRET, "nonce-b", "jwt-1", token)  # another browser's cookie
    assert not csrf_valid(SECRET, "nonce-a", "jwt-2", token)  # another session
    assert not csrf_valid(b"x" * 32, "nonce-a", "jwt-1", token)  # another server key
    assert not csrf_valid(SECRET, "", "jwt-1", csrf_token(SECRET, "", "jwt-1"))  # no cookie
    assert not csrf_valid(SECRET, "nonce-a", "jwt-1", "")


def test_console_secret_is_shared_by_every_worker_and_differs_from_the_jwt_secret() -> None:
    secret = "s" * 40
    a = console_secret(load_config({}, overrides={"jwt_secret": secret}))
    b = console_secret(load_config({}, overrides={"jwt_secret": secret}))
    assert a == b and secret.encode() not in a


def test_flash_round_trips_and_rejects_tampering() -> None:
    flash = Flash("success", "Revoked “ci ☃ key”.")
    raw = encode_flash(SECRET, flash)
    assert decode_flash(SECRET, raw) == flash
    body, _, sig = raw.partition(".")
    assert decode_flash(SECRET, body[:-1] + ("A" if body[-1] != "A" else "B") + "." + sig) is None
    assert decode_flash(b"x" * 32, raw) is None
    assert decode_flash(SECRET, "garbage") is None


def test_only_console_paths_are_followed_after_sign_in() -> None:
    default = "/console/keys"
    assert safe_next("/console/keys?IsActive=false", default) == "/console/keys?IsActive=false"
    for bad in (
        None,
        "",
        "https://evil.example/",
        "//evil.example",
        "/console//evil",
        "/api/v1",
        "/console\\evil",
        "/consolex",
    ):
        assert safe_next(bad, default) == default, bad


def test_links_leave_defaults_out_and_keep_the_view() -> None:
    base = "/console/keys"
    assert links.href(base, links.CONSOLE_DEFAULT) == base
    page = PageRequest(size=25, page=3, sort="name", descending=False, is_active=False)
    assert links.href(base, page) == (
        "/console/keys?CpOrd=name&TpOrd=Asc&IsActive=false&Qt=25&Pg=3"
    )
    name_link = links.sort_links(base, page)[0]
    assert name_link.aria_sort == "ascending"
    assert name_link.href == "/console/keys?CpOrd=name&TpOrd=Desc&IsActive=false&Qt=25"
    created = next(s for s in links.sort_links(base, page) if s.field == "createdAt")
    assert created.aria_sort == "none" and created.href == "/console/keys?IsActive=false&Qt=25"
    filters = {f.key: f for f in links.filter_links(base, page)}
    assert filters["revoked"].current and not filters["all"].current
    assert "IsActive" not in filters["all"].href and "Pg" not in filters["active"].href


def test_paging_counts_and_edges() -> None:
    base = "/console/keys"
    first = links.paging(base, PageRequest(sort="createdAt", page=1), 25)
    assert (first.first_item, first.last_item, first.pages) == (1, 10, 3)
    assert first.prev_href is None and first.next_href == "/console/keys?Pg=2"
    last = links.paging(base, PageRequest(sort="createdAt", page=3), 25)
    assert (last.first_item, last.last_item, last.next_href) == (21, 25, None)
    past = links.paging(base, PageRequest(sort="createdAt", page=9), 25)
    assert past.prev_href == "/console/keys?Pg=3" and past.next_href is None
    empty = links.paging(base, PageRequest(sort="createdAt"), 0)
    assert (empty.first_item, empty.last_item, empty.pages) == (0, 0, 1)


def test_times_in_words() -> None:
    from datetime import UTC, datetime, timedelta

    from admin_api.console.timewords import ago, until

    now = datetime(2026, 7, 3, 12, 0, tzinfo=UTC)
    assert ago(None, now) == "Never"
    assert ago(now - timedelta(seconds=20), now) == "just now"
    assert ago(now - timedelta(minutes=1, seconds=5), now) == "1 minute ago"
    assert ago(now - timedelta(minutes=3, seconds=59), now) == "3 minutes ago"
    assert ago(now - timedelta(hours=5), now) == "5 hours ago"
    assert ago(now - timedelta(days=2, hours=3), now) == "2 days ago"
    assert until(now + timedelta(minutes=59, seconds=30), now) == "in 59 minutes"
    assert until(now + timedelta(days=1), now) == "in 1 day"
    assert until(now - timedelta(minutes=2), now) == "2 minutes ago"


def test_the_key_form_sends_only_what_changed() -> None:
    from admin_api.console.key_page import patch_body

    same = {"name": "n", "expires": "2030-01-01T10:00", "allowed": "10.0.0.0/8\n"}
    assert patch_body(same, "2030-01-01T10:00", "10.0.0.0/8") == {"name": "n"}
    cleared = {"name": "n", "expires": "", "allowed": " "}
    assert patch_body(cleared, "2030-01-01T10:00", "10.0.0.0/8") == {
        "name": "n", "expiresAt": None, "allowedCidrs": None,
    }  # fmt: skip
    assert patch_body(same, "", "")["expiresAt"] == "2030-01-01T10:00:00Z"

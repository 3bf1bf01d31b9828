"""HookSentry Gateway: authenticating reverse proxy for webhook ingest."""

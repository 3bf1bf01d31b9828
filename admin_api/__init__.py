"""The admin sub-app: API-key management (JSON API and console) for tenants."""

"""One error hierarchy: every error the gateway itself produces has a status and a code."""

from __future__ import annotations

from collections.abc import Mapping


class GatewayError(Exception):
    status = 500
    code = "internal_error"
    reason: str = ""  # the rejection log's exact cause when it differs from `code` (SPEC §7)
    message = "The gateway could not handle this request."

    def __init__(self, message: str | None = None, *, headers: Mapping[str, str] | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.headers = dict(headers or {})


class BadRequest(GatewayError):
    status, code, message = 400, "bad_request", "The request is not valid."


class ValidationFailed(BadRequest):
    code = "validation_error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class Unauthorized(GatewayError):
    status, code, message = 401, "unauthorized", "A valid bearer token is required."

    def __init__(self, message: str | None = None):
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class MissingApiKey(GatewayError):
    status, code, message = 401, "missing_api_key", "The X-Api-Key header is required."


class InvalidApiKey(GatewayError):
    status, code, message = 401, "invalid_api_key", "The API key is not valid."


class ExpiredApiKey(InvalidApiKey):
    """Answers exactly like an unknown key (no oracle); the exact cause is for the tenant."""

    reason = "expired_api_key"


class MissingSignature(GatewayError):
    status, code = 401, "missing_signature"
    message = "The request's signature header is missing or malformed."


class StaleTimestamp(GatewayError):
    status, code = 401, "stale_timestamp"
    message = "The request's signed timestamp is too far from the gateway's clock."


class InvalidSignature(GatewayError):
    status, code = 401, "invalid_signature"
    message = "The request's signature does not match any of the source's secrets."


class Forbidden(GatewayError):
    status, code, message = 403, "forbidden", "You may not do this."


class TenantMismatch(GatewayError):
    status, code, message = 403, "tenant_mismatch", "The API key belongs to another tenant."


class IpNotAllowed(GatewayError):
    status, code = 403, "ip_not_allowed"
    message = "The API key may not be used from this address."


class NotFound(GatewayError):
    status, code, message = 404, "not_found", "No such resource."


class MethodNotAllowed(GatewayError):
    status, code, message = 405, "method_not_allowed", "This method is not allowed here."


class InvalidPath(BadRequest):
    code, message = "invalid_path", "The ingest path is not in its canonical form."


class RequestTimeout(GatewayError):
    status, code, message = 408, "request_timeout", "The request body did not arrive in time."


class DeliveryInProgress(GatewayError):
    status, code = 409, "delivery_in_progress"
    message = "This delivery is being forwarded by another request; retry shortly."


class PayloadTooLarge(GatewayError):
    status, code, message = 413, "payload_too_large", "The request body is too large."


class RateLimited(GatewayError):
    status, code, message = 429, "rate_limited", "Too many requests for this API key."


class UnsupportedTransferEncoding(GatewayError):
    status, code = 501, "unsupported_transfer_encoding"
    message = "Only the chunked transfer coding is supported."


class UpstreamUnavailable(GatewayError):
    status, code, message = 502, "upstream_unavailable", "The ingest service is unreachable."


class AuthUnavailable(GatewayError):
    status, code = 503, "auth_unavailable"
    message = "The API key cannot be checked right now; retry shortly."

    def __init__(self, message: str | None = None):
        super().__init__(message, headers={"Retry-After": "1"})


class DedupUnavailable(GatewayError):
    status, code = 503, "dedup_unavailable"
    message = "Duplicate deliveries cannot be checked right now; retry shortly."

    def __init__(self, message: str | None = None):
        super().__init__(message, headers={"Retry-After": "1"})


class RejectionsUnavailable(GatewayError):
    status, code = 503, "rejections_unavailable"
    message = "The rejection log cannot be read right now; retry shortly."

    def __init__(self, message: str | None = None):
        super().__init__(message, headers={"Retry-After": "1"})


class UpstreamTimeout(GatewayError):
    status, code, message = 504, "upstream_timeout", "The ingest service did not answer in time."


class StoreUnavailable(GatewayError):
    """PostgreSQL did not answer in time, or at all: the answer is unknown, not "no"."""

    status, code = 503, "database_unavailable"
    message = "The key database is unavailable; retry shortly."

    def __init__(self, message: str | None = None):
        super().__init__(message, headers={"Retry-After": "1"})

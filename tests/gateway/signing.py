"""Provider signatures computed the way each provider documents them, with `hmac` directly:
never through the gateway's own code, so a test can catch the gateway getting one wrong."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid


def _hmac(key: bytes, content: bytes) -> bytes:
    return hmac.new(key, content, hashlib.sha256).digest()


def signed_headers(
    provider: str, secret: str, body: bytes, *, at: float | None = None, variant: str = ""
) -> dict[str, str]:
    """The headers the provider would send for `body`, signed with `secret` at time `at`."""
    ts = str(int(time.time() if at is None else at))
    key = secret.encode()
    if provider == "github":
        sig = _hmac(key, body).hex()
        return {"X-Hub-Signature-256": f"sha256={sig}", "X-GitHub-Delivery": str(uuid.uuid4())}
    if provider == "stripe":
        sig = _hmac(key, ts.encode() + b"." + body).hex()
        return {"Stripe-Signature": f"t={ts},v1={sig}"}
    if provider == "shopify":
        sig = base64.b64encode(_hmac(key, body)).decode()
        return {"X-Shopify-Hmac-Sha256": sig, "X-Shopify-Webhook-Id": str(uuid.uuid4())}
    if provider == "slack":
        sig = _hmac(key, b"v0:" + ts.encode() + b":" + body).hex()
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={sig}"}
    if provider == "standard-webhooks":
        raw_key = base64.b64decode(secret.removeprefix("whsec_"))
        msg_id = f"msg_{uuid.uuid4().hex}"
        sig = base64.b64encode(_hmac(raw_key, f"{msg_id}.{ts}.".encode() + body)).decode()
        prefix = "svix" if variant == "svix" else "webhook"
        return {
            f"{prefix}-id": msg_id,
            f"{prefix}-timestamp": ts,
            f"{prefix}-signature": f"v1,{sig}",
        }
    if provider == "hmac-sha256":
        sig = _hmac(key, body).hex()
        return {"X-Signature-256": sig if variant == "bare" else f"sha256={sig}"}
    raise ValueError(provider)


SIGNATURE_HEADERS = {
    "github": ("X-Hub-Signature-256",),
    "stripe": ("Stripe-Signature",),
    "shopify": ("X-Shopify-Hmac-Sha256",),
    "slack": ("X-Slack-Request-Timestamp", "X-Slack-Signature"),
    "standard-webhooks": ("webhook-id", "webhook-timestamp", "webhook-signature"),
    "hmac-sha256": ("X-Signature-256",),
}
SIGNS_TIMESTAMP = {"stripe", "slack", "standard-webhooks"}

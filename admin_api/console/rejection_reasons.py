"""The rejection log's reasons in words, and what the tenant can do about each. Pure data.

Where the advice depends on the sender, the source's provider names the place to look.
"""

from __future__ import annotations

from dataclasses import dataclass

PROVIDER_NAMES = {
    "github": "GitHub",
    "stripe": "Stripe",
    "shopify": "Shopify",
    "slack": "Slack",
    "standard-webhooks": "the sender",
    "hmac-sha256": "the sender",
}


@dataclass(frozen=True, slots=True)
class Explanation:
    title: str
    advice: str


def explain(reason: str, provider: str | None) -> Explanation:
    """`provider`: the source's, when the record names a source this tenant still has."""
    sender = PROVIDER_NAMES.get(provider or "", "the sender")
    settings = f"{sender}'s webhook settings" if provider else "the sender's settings"
    texts = {
        "missing_api_key": Explanation(
            "No API key was sent",
            f"Add the X-Api-Key header with one of your active keys in {settings}.",
        ),
        "invalid_api_key": Explanation(
            "The API key is not valid",
            f"The key is unknown or was revoked. Create a new key and put it in {settings}.",
        ),
        "expired_api_key": Explanation(
            "The API key has expired",
            f"Rotate the key (or create a new one) and put the new value in {settings}.",
        ),
        "ip_not_allowed": Explanation(
            "The sender's address is not allowed for this key",
            "Add the sender's address range to the key's allowed addresses, or use a key "
            "without an address restriction.",
        ),
        "tenant_mismatch": Explanation(
            "The API key belongs to another tenant",
            "The URL names your tenant but the key is someone else's: use one of your own keys.",
        ),
        "missing_signature": Explanation(
            "The signature header is missing or malformed",
            f"This URL belongs to a {sender} source: check that the webhook is sent by "
            f"{sender} with signing turned on, to the URL shown for this source.",
        ),
        "stale_timestamp": Explanation(
            "The signed timestamp is too old or in the future",
            "The delivery was replayed later than the source's tolerance allows, or the "
            "sender's clock is wrong. Retries of old deliveries are refused on purpose.",
        ),
        "invalid_signature": Explanation(
            "The signature did not match",
            f"Check that the secret in {settings} is the one shown when the source was "
            "created or rotated, and that nothing between the sender and the gateway "
            "changes the body.",
        ),
        "rate_limited": Explanation(
            "Too many requests",
            "The sender went over the rate limit; it should retry after the Retry-After "
            "delay. Ask your operator if the limit is too low for your traffic.",
        ),
        "payload_too_large": Explanation(
            "The body was too large",
            "The body is over the gateway's limit. Send smaller payloads or ask your operator "
            "about the limit.",
        ),
        "delivery_in_progress": Explanation(
            "The same delivery was already being forwarded",
            "Two copies arrived at once; one was forwarded. Nothing to do: the sender's "
            "retry is answered as a duplicate once the first copy is accepted.",
        ),
    }
    return texts.get(reason, Explanation(reason.replace("_", " ").capitalize(), ""))

"""What the console knows about each provider: its name, where its signing secret comes from,
and the rotation choices it offers. Pure data; the setup steps in words live in
templates/source_steps.html, next to the markup they need.

Stripe, Shopify and Slack issue the signing secret themselves and offer no way to set your own:
a secret the gateway generated could never match their signatures, so the console asks for the
provider's secret instead of generating one. GitHub, Standard Webhooks senders that accept a
secret, and plain HMAC-SHA256 senders take whatever secret they are given, so the gateway may
generate it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Provider:
    key: str  # the API's `provider` value
    label: str
    issues_secret: bool  # the provider issues the secret: it must be pasted, never generated
    secret_hint: str  # where the secret comes from, in a few words


_ALL = (
    Provider("github", "GitHub", False, "Any string you choose; the gateway can generate one."),
    Provider("stripe", "Stripe", True, "Stripe's signing secret of the endpoint (whsec_…)."),
    Provider(
        "shopify", "Shopify", True, "The store's webhook signing key, or the app's client secret."
    ),
    Provider("slack", "Slack", True, "The app's Signing Secret (Basic Information)."),
    Provider(
        "standard-webhooks",
        "Standard Webhooks (Svix)",
        False,
        "The sender's whsec_… secret, or one the gateway generates.",
    ),
    Provider(
        "hmac-sha256",
        "Other (HMAC-SHA256)",
        False,
        "Any string your sender signs with; the gateway can generate one.",
    ),
)
PROVIDER_INFO: dict[str, Provider] = {p.key: p for p in _ALL}  # in PROVIDERS' order (tested)

DEFAULT_PROVIDER = "github"
# How long the older secrets keep working after a rotation (the API's overlapSeconds).
OVERLAPS: tuple[tuple[int, str], ...] = (
    (0, "Stop now: only the new secret works"),
    (3600, "1 hour"),
    (86_400, "24 hours"),
    (604_800, "7 days"),
    (2_592_000, "30 days"),
)
DEFAULT_OVERLAP = 86_400


def provider_of(raw: object) -> Provider:
    """The provider a form or URL names; an unknown one is the default (the service still
    validates what is submitted)."""
    return PROVIDER_INFO.get(raw if isinstance(raw, str) else "", PROVIDER_INFO[DEFAULT_PROVIDER])


def missing_secret(provider: str, secret: str) -> str | None:
    """The console's own rule, beyond the API's: a provider that issues its secret needs it
    pasted. None when the form may go to the service."""
    info = PROVIDER_INFO.get(provider)
    if info is None or not info.issues_secret or secret:
        return None
    return (
        f"Paste the signing secret {info.label} shows you: {info.label} signs every delivery "
        "with its own secret, so one generated here could never match."
    )

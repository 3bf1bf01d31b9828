"""The sources forms as the API's request bodies: pure functions over the submitted fields.

Form fields carry the API's own names (`name`, `provider`, `token`, `secret`, `requireApiKey`,
`toleranceSeconds`, `overlapSeconds`), so the `field` of the service's
ValidationFailed names the input to mark. A number field passes digits on as a number and
anything else as text, so the service's own rule, and its sentence, decides.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from admin_api.console.providers import DEFAULT_OVERLAP, missing_secret, provider_of
from admin_api.sources_service import TOLERANCE

_MAX_DIGITS = 9


@dataclass(frozen=True, slots=True)
class CreateForm:
    name: str
    provider: str
    token: str
    secret: str
    require_api_key: bool
    tolerance: str

    @classmethod
    def blank(cls, provider: object) -> CreateForm:
        """A new form: the provider from the URL, a random token the user may change."""
        key, token = provider_of(provider).key, secrets.token_hex(6)
        return cls("", key, token, "", False, str(TOLERANCE[2]))

    @classmethod
    def of(cls, form: Mapping[str, Any]) -> CreateForm:
        return cls(
            name=_text(form, "name"),
            provider=_text(form, "provider"),
            token=_text(form, "token").strip(),
            # Providers' secrets never start or end with a space; a paste often does.
            secret=_text(form, "secret").strip(),
            require_api_key=_text(form, "requireApiKey") == "on",
            tolerance=_text(form, "toleranceSeconds").strip(),
        )

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "provider": self.provider, "token": self.token}
        body["requireApiKey"] = self.require_api_key
        if self.secret:
            body["secret"] = self.secret
        if self.tolerance:
            body["toleranceSeconds"] = _number(self.tolerance)
        return body

    def problem(self) -> tuple[str, str] | None:
        """(field, sentence) when the console's own rule refuses the form before the service."""
        missing = missing_secret(self.provider, self.secret)
        return ("secret", missing) if missing else None


@dataclass(frozen=True, slots=True)
class RotateForm:
    overlap: str
    secret: str

    @classmethod
    def blank(cls) -> RotateForm:
        return cls(str(DEFAULT_OVERLAP), "")

    @classmethod
    def of(cls, form: Mapping[str, Any]) -> RotateForm:
        return cls(_text(form, "overlapSeconds").strip(), _text(form, "secret").strip())

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.overlap:
            body["overlapSeconds"] = _number(self.overlap)
        if self.secret:
            body["secret"] = self.secret
        return body

    def problem(self, provider: str) -> tuple[str, str] | None:
        missing = missing_secret(provider, self.secret)
        return ("secret", missing) if missing else None


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _number(text: str) -> int | str:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS else text

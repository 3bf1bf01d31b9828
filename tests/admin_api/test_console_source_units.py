"""The sources pages' pure parts: providers, the forms as API bodies, the public origin."""

from __future__ import annotations

from typing import Any

import jinja2
import pytest

from admin_api.console.app import TEMPLATES
from admin_api.console.origin import public_origin
from admin_api.console.providers import PROVIDER_INFO, missing_secret, provider_of
from admin_api.console.source_form import CreateForm, RotateForm
from gateway.signatures import PROVIDERS, generate_secret


def test_the_console_describes_every_provider_the_gateway_verifies() -> None:
    assert tuple(PROVIDER_INFO) == PROVIDERS
    issuers = {p.key for p in PROVIDER_INFO.values() if p.issues_secret}
    assert issuers == {"stripe", "shopify", "slack"}


@pytest.mark.parametrize("provider", ["stripe", "shopify", "slack"])
def test_a_provider_that_issues_its_secret_needs_it_pasted(provider: str) -> None:
    assert missing_secret(provider, "") is not None
    assert missing_secret(provider, "pasted-secret") is None


@pytest.mark.parametrize("provider", ["github", "standard-webhooks", "hmac-sha256", "unknown"])
def test_other_providers_may_have_their_secret_generated(provider: str) -> None:
    assert missing_secret(provider, "") is None


def test_an_unknown_provider_in_the_url_falls_back_to_github() -> None:
    assert provider_of("slack").key == "slack"
    assert provider_of("nope").key == provider_of(None).key == "github"


def test_the_create_form_becomes_the_apis_body() -> None:
    form = {
        "name": " GitHub ",
        "provider": "github",
        "token": " gh ",
        "secret": "  s3cret-value\n",
        "requireApiKey": "on",
        "toleranceSeconds": "120",
    }
    assert CreateForm.of(form).body() == {
        "name": " GitHub ",  # the service trims names and says what it did not like
        "provider": "github",
        "token": "gh",
        "secret": "s3cret-value",
        "requireApiKey": True,
        "toleranceSeconds": 120,
    }


def test_empty_fields_are_left_to_the_apis_defaults_and_odd_numbers_to_its_rules() -> None:
    body = CreateForm.of({"name": "n", "provider": "github", "token": "t"}).body()
    assert body == {"name": "n", "provider": "github", "token": "t", "requireApiKey": False}
    assert CreateForm.of({"toleranceSeconds": "-5"}).body()["toleranceSeconds"] == "-5"
    assert CreateForm.of({"toleranceSeconds": "1" * 12}).body()["toleranceSeconds"] == "1" * 12
    assert RotateForm.of({"overlapSeconds": "0"}).body() == {"overlapSeconds": 0}
    assert RotateForm.of({"overlapSeconds": "", "secret": " x "}).body() == {"secret": "x"}


def test_a_blank_form_suggests_a_token_the_api_accepts() -> None:
    first, second = CreateForm.blank("stripe"), CreateForm.blank("stripe")
    assert first.provider == "stripe" and first.token != second.token
    assert first.token.isalnum() and first.tolerance == "300"
    assert CreateForm.blank("stripe").problem() == ("secret", missing_secret("stripe", ""))
    assert CreateForm.of({"provider": "github"}).problem() is None
    assert RotateForm.blank().problem("slack") is not None
    assert RotateForm.of({"secret": generate_secret("slack")}).problem("slack") is None


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        (None, "http://gw.internal:8080"),
        ("hooks.example.com", "http://hooks.example.com"),
        ("hooks.example.com:8443, proxy.local", "http://hooks.example.com:8443"),
        ("[2001:db8::1]:443", "http://[2001:db8::1]:443"),
        ("evil.example/<script>", "http://gw.internal:8080"),
        ("", "http://gw.internal:8080"),
    ],
)
def test_the_public_origin_takes_a_sane_forwarded_host(
    forwarded: str | None, expected: str
) -> None:
    assert public_origin("http", "gw.internal:8080", forwarded) == expected


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_provider_has_its_own_steps_at_every_stage(provider: str) -> None:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    steps: Any = env.get_template("source_steps.html").module
    new = str(steps.setup_steps(provider, "new"))
    assert "ingest URL" in new and "Signing secret" in new
    for generated in (False, True):
        assert "<li>" in str(steps.setup_steps(provider, "created", generated))
    assert "<p>" in str(steps.rotate_steps(provider))
    assert "<p>" in str(steps.after_rotation(provider))

"""The admin API's OpenAPI document: valid OpenAPI 3.1, and true to the live API (schemathesis)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import schemathesis
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from gateway.app import create_app
from gateway.config import Config

OPENAPI = "/api/v1/openapi.json"
EXAMPLES_PER_OPERATION = 50


async def test_the_document_is_served_as_json_and_is_valid_openapi_3_1(
    client: TestClient,
) -> None:
    response = await client.get(OPENAPI)

    assert response.status == 200
    assert response.content_type == "application/json"
    assert "X-Request-Id" in response.headers
    document = await response.json()
    assert document["openapi"].startswith("3.1")
    validate(document, cls=OpenAPIV31SpecValidator)  # raises on any violation
    operations = {(path, method) for path, item in document["paths"].items() for method in item}
    assert operations == {
        ("/api/v1/apikeys", "get"),
        ("/api/v1/apikeys", "post"),
        ("/api/v1/apikeys/{id}", "delete"),
        ("/api/v1/sources", "get"),
        ("/api/v1/sources", "post"),
        ("/api/v1/sources/{id}", "get"),
        ("/api/v1/sources/{id}", "patch"),
        ("/api/v1/sources/{id}", "delete"),
        ("/api/v1/rejections", "get"),
        ("/api/v1/sources/{id}/secrets", "post"),
    }


def fuzz(base_url: str, headers: dict[str, str]) -> tuple[list[str], Counter[int]]:
    """Run schemathesis over every operation, positive and negative; return failures, statuses."""
    schema = schemathesis.openapi.from_url(f"{base_url}{OPENAPI}")
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    checks = [not_a_server_error, response_schema_conformance]
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                derandomize=True,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                response = case.call_and_validate(base_url=base_url, headers=headers, checks=checks)
                statuses[response.status_code] += 1

            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis: a FailureGroup
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    failures += explicit_round_trip(schema, base_url, headers, checks, statuses)
    return failures, statuses


def explicit_round_trip(
    schema: Any, base_url: str, headers: dict[str, str], checks: list[Any], statuses: Counter[int]
) -> list[str]:
    """Random ids never name a key: create real ones, revoke them and list them, validated too."""
    ops = {op.label: op for op in (r.ok() for r in schema.get_all_operations())}
    create, revoke = ops["POST /api/v1/apikeys"], ops["DELETE /api/v1/apikeys/{id}"]
    listing = ops["GET /api/v1/apikeys"]
    failures = []
    for name in ("round trip", " padded ", "ü" * 100):
        calls = [create.Case(body={"name": name}, media_type="application/json")]
        try:
            created = calls[0].call_and_validate(base_url=base_url, headers=headers, checks=checks)
            key_id = created.json()["id"]
            for case in (
                revoke.Case(path_parameters={"id": key_id}),
                revoke.Case(path_parameters={"id": key_id}),
                listing.Case(query={"IsActive": "false", "CpOrd": "revokedAt", "TpOrd": "Asc"}),
            ):
                response = case.call_and_validate(base_url=base_url, headers=headers, checks=checks)
                statuses[response.status_code] += 1
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"round trip with name {name!r}: {exc}")
    return failures


async def test_fuzzing_the_admin_api_from_its_document_finds_no_5xx_and_no_schema_violation(
    aiohttp_server: Any, make_config: Any, new_tenant: Any, auth: Any
) -> None:
    config: Config = make_config(access_log=False)
    server = await aiohttp_server(create_app(config))
    tenant: uuid.UUID = await new_tenant(name="Fuzzed")
    base_url = str(server.make_url("")).rstrip("/")

    failures, statuses = await asyncio.to_thread(fuzz, base_url, auth(tenant))

    assert failures == [], "\n\n".join(failures)
    # The run really exercised the API: successes and rejections both.
    assert statuses[200] and statuses[201] and statuses[400] and statuses[404], statuses

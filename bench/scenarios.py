"""The six scenarios and the keys they use, seeded straight into the bench database.

Keys are made with `gateway.apikeys.generate_key`/`hash_key` and inserted with COPY (fast);
the plain keys go to the load generator through `key<TAB>path` files, never to a log. The
`signed` scenario's lines carry a GitHub signature (`sha256=...`) where a key would be: the load
generators send it as `X-Hub-Signature-256`, to the source's ingest path.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import orjson

from gateway.apikeys import generate_key, hash_key
from gateway.secretbox import SecretBox
from gateway.signatures import generate_secret

TOKEN = "bench"
SIGNED_TOKEN = "bench-github"  # scenario 6: the token of a GitHub source
NODEDUP_TOKEN = "bench-github-nodedup"  # scenario 7: the same, with dedupSeconds = 0
SIGNATURE_PREFIX = "sha256="  # a requests line whose "key" is a signature, not an X-Api-Key
HOT_KEYS = 100  # scenario 1: a small set of keys, all L1 hits after warm-up
UNKNOWN_KEYS = 100  # scenario 2: distinct well-formed keys that do not exist (negative L1 hits)
COLD_KEYS = 10_000  # scenario 3: fresh keys per run, in no cache
REVOCABLE_KEYS = 200  # scenario 4: fresh keys per run, some revoked while traffic flows
REVOCATIONS = 10  # scenario 4: revocations per run, spread over the run


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    title: str
    expected: frozenset[int]  # statuses that are correct answers


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("valid", "1 valid keys, L1 hits", frozenset({202})),
        Scenario("unknown", "2 half unknown keys", frozenset({202, 401})),
        Scenario("cold", "3 cold start, 10k keys", frozenset({202})),
        Scenario("revoke", "4 revocations in flight", frozenset({202, 401})),
        Scenario("malformed", "5 malformed keys", frozenset({401})),
        Scenario("signed", "6 signed (GitHub source)", frozenset({202})),
        Scenario("signed-nodedup", "7 signed, dedupSeconds=0", frozenset({202})),
    )
}


def json_body(size: int = 1024) -> bytes:
    """A JSON webhook body of exactly `size` bytes."""
    empty = orjson.dumps({"event": "push", "id": "evt_bench", "payload": ""})
    return orjson.dumps({"event": "push", "id": "evt_bench", "payload": "x" * (size - len(empty))})


def malformed_keys() -> list[str]:
    hex32 = "0123456789abcdef" * 2
    return [
        "hks_" + hex32[:31],
        "hks_" + hex32 + "0",
        "hks_" + hex32.upper(),
        "HKS_" + hex32,
        "hks_" + "g" * 32,
        "hks-" + hex32,
        hex32,
        "Bearer hks_" + hex32,
        "hks_" + hex32[:16] + " " + hex32[16:31],
        "",  # no X-Api-Key header at all: 401 missing_api_key
    ]


@dataclass(slots=True)
class Material:
    """Every key the matrix needs, created once before any server starts."""

    tenant_id: uuid.UUID
    hot: list[str]
    unknown: list[str]
    signed: list[str] = field(default_factory=list)  # X-Hub-Signature-256 values
    signed_nodedup: list[str] = field(default_factory=list)  # the same, for scenario 7
    cold: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    revocable: dict[tuple[int, int], list[tuple[uuid.UUID, str]]] = field(default_factory=dict)

    def all_valid(self) -> list[str]:
        keys = list(self.hot)
        for cold in self.cold.values():
            keys += cold
        for rev in self.revocable.values():
            keys += [k for _, k in rev]
        return keys


async def seed(
    dsn: str, workers: list[int], runs: int, cold_keys: int = COLD_KEYS, secrets_key: str = ""
) -> Material:
    tenant_id = uuid.uuid4()
    material = Material(
        tenant_id=tenant_id,
        hot=[generate_key() for _ in range(HOT_KEYS)],
        unknown=[generate_key() for _ in range(UNKNOWN_KEYS)],
    )
    for cell in ((w, r) for w in workers for r in range(runs)):
        material.cold[cell] = [generate_key() for _ in range(cold_keys)]
        material.revocable[cell] = [(uuid.uuid4(), generate_key()) for _ in range(REVOCABLE_KEYS)]
    rows = [(uuid.uuid4(), k) for k in material.hot]
    rows += [(uuid.uuid4(), k) for cold in material.cold.values() for k in cold]
    rows += [pair for rev in material.revocable.values() for pair in rev]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("INSERT INTO tenants (id, name) VALUES ($1, 'bench')", tenant_id)
        await conn.copy_records_to_table(
            "api_keys",
            records=[(kid, tenant_id, "bench", hash_key(key)) for kid, key in rows],
            columns=["id", "tenant_id", "name", "key_hash"],
        )
        await conn.execute("ANALYZE api_keys")
        if secrets_key:
            material.signed = [await _seed_source(conn, tenant_id, secrets_key)]
            material.signed_nodedup = [
                await _seed_source(conn, tenant_id, secrets_key, NODEDUP_TOKEN, dedup_seconds=0)
            ]
    finally:
        await conn.close()
    return material


async def _seed_source(
    conn: asyncpg.Connection,
    tenant_id: uuid.UUID,
    secrets_key: str,
    token: str = SIGNED_TOKEN,
    dedup_seconds: int = 600,
) -> str:
    """A GitHub source (its secret sealed as the gateway would); the signature of the body.
    The load generators give every request its own X-GitHub-Delivery, so with the duplicate
    check on, each is claimed, forwarded and marked done (SPEC §7)."""
    secret = generate_secret("github")
    source_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO sources (id, tenant_id, name, provider, token, dedup_seconds) "
        "VALUES ($1, $2, 'bench', 'github', $3, $4)",
        source_id,
        tenant_id,
        token,
        dedup_seconds,
    )
    sealed = SecretBox.from_keys([secrets_key]).encrypt(secret.encode())
    await conn.execute(
        "INSERT INTO source_secrets (id, source_id, ciphertext) VALUES ($1, $2, $3)",
        uuid.uuid4(),
        source_id,
        sealed,
    )
    digest = hmac.new(secret.encode(), json_body(), hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def request_keys(material: Material, scenario: str, cell: tuple[int, int]) -> list[str]:
    """The keys one run sends, in order (each load thread cycles over its own slice)."""
    if scenario == "valid":
        return material.hot
    if scenario == "unknown":
        hot, unknown = material.hot, material.unknown
        return [k for i, u in enumerate(unknown) for k in (hot[i % len(hot)], u)]
    if scenario == "cold":
        return material.cold[cell]
    if scenario == "revoke":
        return [k for _, k in material.revocable[cell]]
    if scenario == "malformed":
        return malformed_keys()
    if scenario == "signed":
        return material.signed
    if scenario == "signed-nodedup":
        return material.signed_nodedup
    raise ValueError(scenario)


def write_requests(
    path: Path, tenant_id: uuid.UUID, keys: list[str], signed_token: str = SIGNED_TOKEN
) -> Path:
    def line(key: str) -> str:
        token = signed_token if key.startswith(SIGNATURE_PREFIX) else TOKEN
        return f"{key}\t/api/v1/ingest/{tenant_id}/{token}\n"

    path.write_text("".join(map(line, keys)))
    return path

"""`rediss://` against a real TLS Redis: Debian's redis-server (built with TLS; the wheels'
valkey-server is not) on a free loopback port, with a self-signed certificate made here."""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from redis import Redis

from tests.gateway.cache_rig import eventually
from tests.services import free_port
from tests.topology import wait_for

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
BODY = b'{"event":"ping"}'


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooksentry-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_redis() -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="hs-tls-"))
    cert, key = self_signed(folder)
    port = free_port()
    proc = subprocess.Popen(
        [
            *(REDIS_SERVER, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1"),
            *("--tls-cert-file", str(cert), "--tls-key-file", str(key)),
            *("--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no"),
            *("--save", "", "--appendonly", "no", "--dir", str(folder)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def answers() -> bool:
        try:
            with Redis(
                "127.0.0.1", port, ssl=True, ssl_ca_certs=str(cert), socket_timeout=0.5
            ) as r:
                return bool(r.ping())
        except Exception:
            return False

    try:
        wait_for(answers, 10, "TLS redis-server did not start")
        yield f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}"
    finally:
        proc.kill()
        proc.wait(5)
        shutil.rmtree(folder, ignore_errors=True)


async def test_a_key_is_checked_and_revoked_through_a_tls_redis(
    tls_redis: str, make_gateway: Any, new_key: Any, auth: Any
) -> None:
    gateway, other = (
        await make_gateway(redis_url=tls_redis),
        await make_gateway(redis_url=tls_redis),
    )

    async def ready() -> bool:  # the first TLS handshake may outlast a loaded machine's probe
        return (await gateway.get("/readyz")).status == 200

    await eventually(ready, within=5)
    key = await new_key(gateway)
    headers = {"X-Api-Key": key.key}
    assert (await other.post(key.ingest_path, data=BODY, headers=headers)).status == 202
    revoke = f"/api/v1/apikeys/{key.key_id}"
    assert (await gateway.delete(revoke, headers=auth(key.tenant_id))).status == 200

    async def rejected() -> bool:
        return (await other.post(key.ingest_path, data=BODY, headers=headers)).status == 401

    await eventually(rejected, within=2)  # the invalidation came over TLS pub/sub

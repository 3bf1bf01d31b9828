"""`dev` keeps a generated secrets key in its data folder, like its JWT secret (SPEC §6)."""

from __future__ import annotations

import asyncio
import base64
import os
import stat
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config
from gateway.devserver import dev_secrets_key
from gateway.secretbox import SecretBox
from tests.services import free_port


def test_the_dev_key_is_made_once_private_and_kept(tmp_path: Path) -> None:
    config = load_config({}, overrides={"data_dir": str(tmp_path / "data")})
    key = dev_secrets_key(config)
    path = tmp_path / "data" / "secrets_key"
    assert len(base64.b64decode(key, validate=True)) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert dev_secrets_key(config) == key  # a restart reads it back: old blobs stay readable
    SecretBox.from_keys([key])


def test_a_damaged_dev_key_is_one_line_naming_the_file(tmp_path: Path) -> None:
    config = load_config({}, overrides={"data_dir": str(tmp_path)})
    (tmp_path / "secrets_key").write_text("not a key")
    with pytest.raises(ConfigError, match="secrets_key does not hold a secrets key") as caught:
        dev_secrets_key(config)
    assert "not a key" not in str(caught.value)


async def test_dev_generates_its_key_into_the_data_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSENTRY_")}
    env |= {"HOOKSENTRY_DATA_DIR": str(tmp_path / "data"), "HOOKSENTRY_PORT": str(free_port())}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "dev",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    try:
        while b"Console:" not in (line := await asyncio.wait_for(proc.stdout.readline(), 60)):
            assert line, "dev exited before printing its quickstart"
        key = (tmp_path / "data" / "secrets_key").read_text().strip()
        SecretBox.from_keys([key])
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 30) == 0

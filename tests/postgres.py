"""A throwaway PostgreSQL server for the tests: initdb and pg_ctl in a temporary folder,
listening on 127.0.0.1 at a free port, stopped and removed at the end of the session."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SEARCHED = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def find_binaries() -> Path | None:
    """The folder with initdb and pg_ctl: on PATH, or Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    for folder in SEARCHED:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def unavailable_reason() -> str | None:
    """Why no server can be started here, in words; None when one can."""
    if find_binaries() is None:
        return (
            "PostgreSQL is not installed (no initdb or pg_ctl on PATH or under "
            "/usr/lib/postgresql): `python3 dev.py test` installs it with apt where it can"
        )
    if hasattr(os, "geteuid") and os.geteuid() == 0 and not _postgres_user():
        return "running as root, and PostgreSQL refuses root: no 'postgres' user to run it as"
    return None


def _postgres_user() -> bool:
    try:
        import pwd

        pwd.getpwnam("postgres")
    except (ImportError, KeyError):
        return False
    return shutil.which("runuser") is not None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    USER = "ledgerboard"
    PASSWORD_USER = "ledgerboard_password"

    def __init__(self, durable: bool = False) -> None:
        """durable: fsync on (benchmarks); a test server writes without waiting for the disk."""
        self.durable = durable
        self.bin = find_binaries()
        self.root = Path(tempfile.mkdtemp(prefix="ledgerboard-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._names = itertools.count(1)
        self._as_root = hasattr(os, "geteuid") and os.geteuid() == 0

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_root else []
        subprocess.run(
            [*prefix, *command], check=True, capture_output=True, text=True, cwd=self.root
        )

    def start(self) -> None:
        if self._as_root:
            shutil.chown(self.root, "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", self.USER, "--auth=trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        # One role that must give a password (the connection test's wrong password); every
        # other connects without one.
        hba = self.data / "pg_hba.conf"
        rule = f"host all {self.PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n"
        hba.write_text(rule + hba.read_text())  # the first rule that matches wins
        options = self._options()
        self._run(
            str(self.bin / "pg_ctl"), "start", "-w", "-D", str(self.data),
            "-l", str(self.root / "server.log"), "-o", options,
        )  # fmt: skip

    def _options(self) -> str:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c max_connections=300 -c synchronous_commit=off"
        )
        if not self.durable:  # durability buys a test nothing and costs every commit a sync
            options += " -c fsync=off -c full_page_writes=off"
        return options

    def restart(self) -> None:
        """Stop at once (as a crash would) and start again on the same port."""
        self.crash()
        self.start_again()

    def crash(self) -> None:
        """Stop at once, as a crash or a lost network would look to its clients."""
        self._run(str(self.bin / "pg_ctl"), "stop", "-w", "-m", "immediate", "-D", str(self.data))

    def start_again(self) -> None:
        self._run(
            str(self.bin / "pg_ctl"), "start", "-w", "-D", str(self.data),
            "-l", str(self.root / "server.log"), "-o", self._options(),
        )  # fmt: skip

    def stop(self) -> None:
        try:
            self._run(
                str(self.bin / "pg_ctl"), "stop", "-w", "-m", "immediate", "-D", str(self.data)
            )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres", user: str | None = None) -> str:
        return f"postgresql://{user or self.USER}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)

    def new_database(self) -> str:
        """A new empty database; its URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

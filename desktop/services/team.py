"""Team mode's settings: the shared database's address, its password in the keyring, and a
connection test that says in words what is wrong (unreachable, wrong password, no rights,
another schema version). Qt-free; the settings page runs `test_connection` off the GUI thread.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from desktop.store.migrations import LATEST_VERSION
from desktop.store.opening import DATABASE_KEYRING_SERVICE, keyring_entry

log = logging.getLogger(__name__)

TLS_MODES = ("prefer", "require", "verify-full", "disable")
CONNECT_TIMEOUT = 8  # seconds: a server that does not answer is said to be unreachable


@dataclass(frozen=True)
class SharedDatabase:
    host: str
    database: str
    user: str
    port: int = 5432
    tls: str = "prefer"
    this_computer_syncs: bool = False  # else: view only

    @property
    def url(self) -> str:
        """The URL without a password (the keyring or PGPASSFILE has it)."""
        tls = self.tls if self.tls in TLS_MODES else "prefer"
        return (
            f"postgresql://{quote(self.user, safe='')}@{self.host}:{self.port}/"
            f"{quote(self.database, safe='')}?sslmode={tls}"
        )


def save_password(shared: SharedDatabase, password: str) -> None:
    import keyring

    keyring.set_password(DATABASE_KEYRING_SERVICE, keyring_entry(shared.url), password)


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str  # for the user
    can_write: bool = False


def test_connection(shared: SharedDatabase, password: str | None = None) -> ConnectionCheck:
    """Connect, read the schema version and the user's rights; what is wrong, in words."""
    import psycopg

    from desktop.store.opening import connect_options

    options = {"password": password} if password else connect_options(shared.url)
    where = f"{shared.host}:{shared.port}"
    try:
        conn = psycopg.connect(shared.url, connect_timeout=CONNECT_TIMEOUT, **options)
    except psycopg.OperationalError as exc:
        return ConnectionCheck(False, _connect_failure(str(exc), shared, where))
    try:
        return _check_schema(conn, shared)
    finally:
        conn.close()


def _connect_failure(text: str, shared: SharedDatabase, where: str) -> str:
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        return (
            f"The server at {where} refused the user {shared.user!r} with this password. "
            "Check the user name and the password."
        )
    if "does not exist" in low and "database" in low:
        return f"The server at {where} has no database named {shared.database!r}."
    if "role" in low and "does not exist" in low:
        return f"The server at {where} has no user named {shared.user!r}."
    if "permission denied" in low or "not permitted" in low or "no pg_hba.conf entry" in low:
        return (
            f"The user {shared.user!r} may not connect to {shared.database!r} from this "
            "computer: ask the database's administrator for CONNECT rights (README, team mode)."
        )
    if "ssl" in low or "certificate" in low:
        return f"A secure connection to {where} could not be made ({text.strip()})."
    return (
        f"The server at {where} cannot be reached: check the host name and the port, and that "
        "this computer's network may reach it."
    )


def _check_schema(conn, shared: SharedDatabase) -> ConnectionCheck:
    (table,) = conn.execute("SELECT to_regclass('schema_version')::text").fetchone()
    if table is None:
        (can_create,) = conn.execute(
            "SELECT has_schema_privilege(current_schema(), 'CREATE')"
        ).fetchone()
        if can_create:
            return ConnectionCheck(
                True,
                f"Connected. The database {shared.database!r} is empty: Ledgerboard makes its "
                "tables there when this computer first starts with it.",
                can_write=True,
            )
        return ConnectionCheck(
            False,
            f"Connected, but the database {shared.database!r} has no Ledgerboard tables yet and "
            f"the user {shared.user!r} may not make them: start the syncing computer with it "
            "first.",
        )
    (readable,) = conn.execute("SELECT has_table_privilege('schema_version', 'SELECT')").fetchone()
    if not readable:
        return ConnectionCheck(
            False,
            f"Connected, but the user {shared.user!r} may not read Ledgerboard's tables: ask "
            "for the read-only role's GRANTs (README, team mode).",
        )
    (version,) = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    (can_write,) = conn.execute("SELECT has_table_privilege('data_source', 'INSERT')").fetchone()
    if version > LATEST_VERSION:
        return ConnectionCheck(
            False,
            f"The shared database was written by a newer Ledgerboard (schema version {version}); "
            f"this one understands up to {LATEST_VERSION}. Update Ledgerboard on this computer.",
        )
    if version < LATEST_VERSION and not can_write:
        return ConnectionCheck(
            False,
            f"The shared database has an older schema (version {version}) and this user may only "
            "read it: start the syncing computer with this version of Ledgerboard first.",
        )
    if shared.this_computer_syncs and not can_write:
        return ConnectionCheck(
            False,
            f"Connected, but the user {shared.user!r} may only read: a computer that syncs needs "
            "the syncing role's rights (README, team mode), or choose View only.",
        )
    rights = "read and write" if can_write else "read only (View only)"
    return ConnectionCheck(True, f"Connected: schema version {version}, {rights}.", can_write)


class TeamSettingsStore:
    """This computer's choice of a shared database (no password: that is in the keyring),
    kept beside the settings in the data folder as team.json; none: the folder's own file."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def load(self) -> SharedDatabase | None:
        try:
            raw = json.loads(self._path.read_text(encoding="utf-8"))
            return SharedDatabase(
                host=str(raw["host"]),
                database=str(raw["database"]),
                user=str(raw["user"]),
                port=int(raw.get("port", 5432)),
                tls=raw.get("tls") if raw.get("tls") in TLS_MODES else "prefer",
                this_computer_syncs=bool(raw.get("this_computer_syncs", False)),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.warning(
                "team settings %s unreadable (%s); using this folder's store", self._path, exc
            )
            return None

    def save(self, shared: SharedDatabase | None) -> None:
        if shared is None:
            self._path.unlink(missing_ok=True)
            return
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(shared), indent=2), encoding="utf-8")
        os.replace(tmp, self._path)

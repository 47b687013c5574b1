"""Where Ledgerboard keeps its files, and where its bundled resources are.

Per-user folders come from platformdirs; `--data-dir PATH` puts everything under PATH instead
(tests and portable use). Resources are found by one helper that works in a source checkout,
an installed wheel and a frozen (PyInstaller) build alike.
"""

from __future__ import annotations

import importlib.resources
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import platformdirs

from desktop import APP_NAME

DATABASE_URL_VARIABLE = "LEDGERBOARD_DATABASE_URL"


@dataclass(frozen=True)
class AppPaths:
    data_dir: Path
    log_dir: Path
    # A shared database (postgresql://user@host/db) used instead of the folder's SQLite file.
    database_url: str | None = None

    @classmethod
    def for_user(cls) -> AppPaths:
        return cls(
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        )

    @classmethod
    def in_dir(cls, data_dir: str | Path) -> AppPaths:
        root = Path(data_dir).expanduser().resolve()
        return cls(data_dir=root, log_dir=root / "logs")

    @classmethod
    def for_gui(cls, data_dir: str | Path | None, demo: bool) -> AppPaths:
        """The app's folders: demo data always lives in a Demo folder of its own, under
        --data-dir as under the per-user folder, never beside real data."""
        if data_dir:
            return cls.in_dir(Path(data_dir) / "Demo") if demo else cls.in_dir(data_dir)
        if demo:
            return cls.in_dir(cls.for_user().data_dir / "Demo")
        return cls.for_user()

    @property
    def database(self) -> Path:
        return self.data_dir / "ledgerboard.sqlite"

    @property
    def store_target(self) -> str | Path:
        """The database the app and commands open: the shared one when given, else the file."""
        return self.database_url or self.database

    def with_database(self, url: str | None) -> AppPaths:
        """These paths with the shared database `url` (None: the data folder's file)."""
        return replace(self, database_url=url or None)

    @property
    def settings_file(self) -> Path:
        return self.data_dir / "settings.json"

    @property
    def window_state_file(self) -> Path:
        """QSettings (INI) file for window geometry and header state only."""
        return self.data_dir / "window-state.ini"

    @property
    def lock_file(self) -> Path:
        return self.data_dir / "ledgerboard.lock"

    @property
    def backup_dir(self) -> Path:
        return self.data_dir / "backups"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "ledgerboard.log"

    @property
    def crash_dir(self) -> Path:
        return self.log_dir / "crashes"


def resources_dir() -> Path:
    """The folder holding theme, icons and templates."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    checkout = Path(__file__).resolve().parents[1] / "resources"
    if checkout.is_dir():
        return checkout
    return Path(str(importlib.resources.files("desktop.resources")))


def resource_path(*parts: str) -> Path:
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"bundled resource missing: {path}")
    return path

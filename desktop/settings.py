"""The user's settings, typed with defaults, kept as JSON in the data folder.

Window geometry and header state are the only things kept in QSettings (see views).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

UPDATE_FREQUENCIES = (60, 300, 900, 1800, 3600, 6 * 3600, 24 * 3600)  # seconds
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass
class Settings:
    time_zone: str = ""  # IANA name; "" follows the system's zone
    week_start: int = 0  # 0 = Monday ... 6 = Sunday
    default_update_frequency: int = 300  # seconds, for new data sources
    # Log in with Stripe: the app's OAuth client and how its codes become tokens. The
    # platform secret, where the user owns one, lives in the keyring, not here.
    # Empty: the build's own (resources/publisher.json, see PublisherLogin).
    login_provider: str = "stripe_connect"  # or "stripe_apps"
    login_client_id: str = ""
    login_token_exchange_url: str = ""
    # E-mail for reports and alerts: the user's own SMTP server; its password is in the keyring.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls, ssl, none
    smtp_username: str = ""
    smtp_sender: str = ""
    keep_running_in_tray: bool = False  # closing the window leaves alerts running

    def login(self, publisher: PublisherLogin) -> PublisherLogin:
        """The browser login in force: the user's own when they set a client id, otherwise
        the one this build of Ledgerboard ships with."""
        if self.login_client_id:
            return PublisherLogin(
                self.login_provider, self.login_client_id, self.login_token_exchange_url
            )
        return publisher

    def validated(self) -> Settings:
        zone = self.time_zone if self.time_zone in zone_names() else ""
        week_start = self.week_start if self.week_start in range(7) else 0
        frequency = (
            self.default_update_frequency
            if self.default_update_frequency in UPDATE_FREQUENCIES
            else 300
        )
        provider = (
            self.login_provider
            if self.login_provider in ("stripe_connect", "stripe_apps")
            else "stripe_connect"
        )
        port = self.smtp_port if isinstance(self.smtp_port, int) else 587
        return Settings(
            zone,
            week_start,
            frequency,
            provider,
            str(self.login_client_id),
            str(self.login_token_exchange_url),
            str(self.smtp_host).strip(),
            port if 0 < port < 65_536 else 587,
            self.smtp_security if self.smtp_security in ("starttls", "ssl", "none") else "starttls",
            str(self.smtp_username).strip(),
            str(self.smtp_sender).strip(),
            bool(self.keep_running_in_tray),
        )


PUBLISHER_FILE = "publisher.json"


@dataclass(frozen=True)
class PublisherLogin:
    """The browser login a build ships with, so that "Log in with Stripe" works with no set-up:
    whoever builds Ledgerboard writes resources/publisher.json (see README, "Publishing")."""

    provider: str = "stripe_connect"  # or "stripe_apps"
    client_id: str = ""  # the app's OAuth client id, ca_...
    token_exchange_url: str = ""  # the publisher's exchange service, https://...


def publisher_login(path: Path | None = None) -> PublisherLogin:
    """The build's login from its publisher file; an empty one when the build has none."""
    if path is None:
        from desktop.paths import resources_dir

        path = resources_dir() / PUBLISHER_FILE
    if not path.exists():
        return PublisherLogin()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        provider = raw.get("login_provider", "stripe_connect")
        login = PublisherLogin(
            provider if provider in ("stripe_connect", "stripe_apps") else "stripe_connect",
            str(raw.get("login_client_id", "")),
            str(raw.get("login_token_exchange_url", "")),
        )
    except (OSError, ValueError, AttributeError) as exc:
        log.warning("the build's login file %s is unreadable (%s); none is used", path, exc)
        return PublisherLogin()
    return login


@functools.cache
def zone_names() -> frozenset[str]:
    """The IANA zones this machine knows. Finding them walks the whole zone folder (13 ms);
    every period a dashboard or a registrations view computes asks for the system's zone, so
    they are looked up once per run."""
    return frozenset(zoneinfo.available_timezones())


def system_time_zone() -> str:
    """The system's IANA zone name, or UTC when it cannot be told."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz in zone_names():
        return tz
    try:
        target = Path("/etc/localtime").resolve()
        name = str(target).split("zoneinfo/", 1)[1]
        if name in zone_names():
            return name
    except (OSError, IndexError):
        pass
    try:
        from PySide6.QtCore import QTimeZone

        name = bytes(QTimeZone.systemTimeZoneId().data()).decode()
        if name in zone_names():
            return name
    except Exception:  # Qt is optional here (headless commands); any failure means "unknown"
        pass
    return "UTC"


class SettingsStore:
    """Loads and saves Settings; a damaged file falls back to defaults, said in the log."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def load(self) -> Settings:
        if not self._path.exists():
            return Settings()
        try:
            raw = json.loads(self._path.read_text(encoding="utf-8"))
            known = {f.name for f in dataclasses.fields(Settings)}
            return Settings(**{k: v for k, v in raw.items() if k in known}).validated()
        except (OSError, ValueError, TypeError) as exc:
            log.warning("settings file %s unreadable (%s); using defaults", self._path, exc)
            return Settings()

    def save(self, settings: Settings) -> None:
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(settings), indent=2), encoding="utf-8")
        os.replace(tmp, self._path)

    def effective_time_zone(self, settings: Settings) -> str:
        return settings.time_zone or system_time_zone()

"""Shared fixtures: offscreen Qt, a private data folder per test, an in-memory keyring."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import keyring.backend
import pytest
from PySide6.QtCore import QLocale

from desktop.app import Application, create_qt_application
from desktop.paths import AppPaths

# The tests read numbers and months in English, whatever language the machine speaks (one
# test writes them in Danish on purpose).
QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))


class InMemoryKeyring(keyring.backend.KeyringBackend):
    """Test stand-in for the OS keyring (there is no keychain service on CI)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[InMemoryKeyring]:
    previous = keyring.get_keyring()
    backend = InMemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def private_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing a test runs may touch the real per-user folders."""
    for name in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / "xdg" / name.lower()))


class _WarningCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def fail_on_unexpected_log_warnings(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that logs a warning or error it did not ask for fails (qutebrowser's habit).

    Tests that provoke one on purpose take the `expected_log_warnings` fixture.
    """
    collector = _WarningCollector()
    logging.getLogger().addHandler(collector)
    yield
    logging.getLogger().removeHandler(collector)
    if collector.records and "expected_log_warnings" not in request.fixturenames:
        lines = [f"{r.levelname} {r.name}: {r.getMessage()}" for r in collector.records]
        pytest.fail("unexpected log warnings:\n" + "\n".join(lines), pytrace=False)


@pytest.fixture
def expected_log_warnings() -> None:
    """Marks a test that logs warnings or errors on purpose."""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def app_paths(data_dir: Path) -> AppPaths:
    return AppPaths.in_dir(data_dir)


@pytest.fixture
def make_simulator():
    """Start simulators on 127.0.0.1 (frozen clock unless asked); all stopped after the test."""
    from desktop.simulator.server import Simulator, SimulatorConfig

    started = []

    def make(**config) -> Simulator:
        config.setdefault("frozen_clock", True)
        config.setdefault("clock_start", 1_780_000_000)
        simulator = Simulator(SimulatorConfig(**config))
        simulator.start()
        started.append(simulator)
        return simulator

    yield make
    for simulator in started:
        simulator.stop()


@pytest.fixture
def simulator(make_simulator):
    """A small simulator (300 charges, both modes in every type), yielding the Simulator."""
    return make_simulator(size=300, seed=7)


@pytest.fixture
def start_exchange(tmp_path: Path):
    """Start the token-exchange service (`python -m exchange`) as its own process, by default
    pointed at a simulator with its platform secrets. After the test each is stopped and its
    whole log is grepped: no `sk_`, `rt_`, `ac_`, nor any code or token the test saw."""
    from tests.exchange_service import CLIENT_ID, ROOT, start_exchange

    started = []

    def start(simulator=None, cwd: Path | None = None, **env: str):
        if simulator is not None:
            oauth = simulator.oauth
            env = {
                "EXCHANGE_LIVE_SECRET_KEY": oauth.live_secret,
                "EXCHANGE_TEST_SECRET_KEY": oauth.test_secret,
                "EXCHANGE_CLIENT_IDS": CLIENT_ID,
                "EXCHANGE_STRIPE_TOKEN_URL": f"{simulator.base_url}/oauth/token",
                "EXCHANGE_STRIPE_DEAUTHORIZE_URL": f"{simulator.base_url}/oauth/deauthorize",
                **env,
            }
        service = start_exchange(tmp_path, cwd or ROOT, **env)
        started.append(service)
        return service

    yield start
    for service in started:
        service.assert_log_keeps_no_secret()


@pytest.fixture
def start_app(request, qtbot, app_paths: AppPaths) -> Iterator[Callable[..., Application]]:
    """Start the app (as often as a test needs, one at a time); shut down after the test.
    A test that takes `store_target` starts it on that store (on PostgreSQL by its URL).

    A crash report that a test did not expect fails it: the app's own excepthook would
    otherwise swallow the error that pytest-qt reports.
    """
    create_qt_application([])
    started: list[Application] = []
    target = (
        request.getfixturevalue("store_target") if "store_target" in request.fixturenames else ""
    )
    paths = app_paths.with_database(target if "://" in target else None)

    def start(**options) -> Application:
        if started:
            close(started[-1])
        app = Application(paths, **options)
        window = app.start()
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        started.append(app)
        return app

    def close(app: Application) -> None:
        if app.window is not None and app.window.isVisible():
            app.window.close()
        app.shutdown()

    yield start
    if started:
        close(started[-1])
    expected = getattr(start, "expected_crashes", 0)
    reports = (
        sorted(app_paths.crash_dir.glob("crash-*.txt")) if app_paths.crash_dir.exists() else []
    )
    assert len(reports) == expected, "unexpected error:\n" + "\n".join(
        p.read_text() for p in reports
    )


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL on 127.0.0.1 for the whole session; the tests that need one
    are skipped, with the reason, where it cannot be had."""
    from tests.postgres import PostgresServer, unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> Iterator[str]:
    """The URL of a new, empty database on the session's PostgreSQL, dropped afterwards."""
    url = postgres_server.new_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request, app_paths: AppPaths, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where a test's store lives: the data folder's SQLite file, then a PostgreSQL database.
    Every store, sync, registrations, formulas and dashboards test runs on both; on the
    second, the commands a test runs find the database as a server's would, in
    LEDGERBOARD_DATABASE_URL."""
    if request.param == "sqlite":
        return str(app_paths.database)
    url = request.getfixturevalue("postgres_url")
    monkeypatch.setenv("LEDGERBOARD_DATABASE_URL", url)
    return url

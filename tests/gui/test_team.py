"""Team mode in the window: a viewer on a shared PostgreSQL sees what another computer's
sync commits, without a restart."""

from __future__ import annotations

import os
import subprocess
import sys

from desktop.services.kpi.dashboards import WidgetSpec
from desktop.store.models import registration_model

KEY = "sk_live_viewertests001"


def sync_elsewhere(simulator, url: str) -> None:
    """Another computer's syncer: `sync` in its own process, on the same database (the
    database URL in LEDGERBOARD_DATABASE_URL, as on a server)."""
    env = {
        **os.environ,
        "LEDGERBOARD_API_KEY": KEY,
        "LEDGERBOARD_COMPUTER_NAME": "server",
        "LEDGERBOARD_DATABASE_URL": url,
    }
    command = [sys.executable, "-m", "desktop", "sync", "--types", "charges"]
    done = subprocess.run(
        [*command, "--api-base", simulator.base_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def view_only_on(app_paths, postgres_server, url: str, *, syncs: bool = False) -> None:
    """Settings > Team as a viewer saves it: this computer views the shared database (or,
    with `syncs`, "This computer syncs")."""
    from desktop.services.team import SharedDatabase, TeamSettingsStore

    shared = SharedDatabase(
        "127.0.0.1", url.rsplit("/", 1)[1], postgres_server.USER,
        port=postgres_server.port, tls="disable", this_computer_syncs=syncs,
    )  # fmt: skip
    TeamSettingsStore(app_paths.data_dir / "team.json").save(shared)


def number_on_a_dashboard(app, qtbot, formula: str):
    """A dashboard of one number widget of `formula`, shown; a function that reads the
    number it shows (-1 while it shows none)."""
    page = app.dashboards_page
    dashboard_id = page.service.create("Team", {"period": "all_time"})
    page.service.add_widget(dashboard_id, WidgetSpec(kind="number", title="Live", formula=formula))
    with qtbot.waitSignal(page.refreshed, timeout=20_000):
        page.reload(dashboard_id)
    (tile,) = page.grid.tiles.values()
    return lambda: int("".join(c for c in tile.value_label.text() if c.isdigit()) or -1)


def test_a_viewer_sees_another_computers_sync_and_its_number_changes(
    start_app, app_paths, postgres_server, postgres_url, make_simulator, qtbot
):
    # The command syncs by the wall clock, so the simulator's runs on it too.
    simulator = make_simulator(size=200, seed=4, frozen_clock=False, clock_start=None)
    sync_elsewhere(simulator, postgres_url)
    view_only_on(app_paths, postgres_server, postgres_url)
    app = start_app()
    assert not app.syncs_here and app.store_changes is not None  # a viewer watches
    shown = number_on_a_dashboard(app, qtbot, "Count(Charges, livemode = true)")

    before = live_charges()
    assert shown() == before > 0
    # New charges at Stripe, seconds on: the simulator's clock may lag the wall's by one.
    simulator.tick(30, seconds_between=2)
    sync_elsewhere(simulator, postgres_url)
    after = live_charges()
    assert after > before
    # No restart, no click: the viewer's poll sees the commit and the dashboard refreshes.
    qtbot.waitUntil(lambda: shown() == after, timeout=10_000)


def live_charges(data_source=None) -> int:
    table = registration_model("charges")
    query = table.select().where(table.livemode == 1)
    if data_source is not None:
        query = query.where(table.data_source == data_source.id)
    return query.count()


def test_a_desktop_that_syncs_sees_another_computers_sync_of_another_account(
    start_app, app_paths, postgres_server, postgres_url, make_simulator, qtbot
):
    """Two computers sync two accounts into one database: this desktop ("This computer
    syncs") its own, a server the other. The desktop's dashboard follows the server's
    commits, and its poll leaves its own syncs to its sync service."""
    from desktop.services.accounts import AccountsService
    from desktop.services.secrets import SecretStore
    from desktop.store.models import DataSource

    server_stripe = make_simulator(size=200, seed=4, frozen_clock=False, clock_start=None)
    sync_elsewhere(server_stripe, postgres_url)
    view_only_on(app_paths, postgres_server, postgres_url, syncs=True)
    app = start_app()
    assert app.syncs_here and app.store_changes is not None  # it watches too
    polled: list[list[int]] = []
    app.store_changes.changed.connect(polled.append)

    laptop_stripe = make_simulator(size=150, seed=9)
    account = AccountsService().create(
        name="Laptop's account",
        auth_method="api_key",
        keyring_entry="account-laptop",
        livemode=True,
        api_base=laptop_stripe.base_url,
    )
    SecretStore().put("account-laptop", {"key": "sk_live_laptopsyncs0001"})
    (own,) = AccountsService().ensure_data_sources(account, ["charges"])
    DataSource.update(title="Laptop charges").where(DataSource.id == own.id).execute()
    with qtbot.waitSignal(app.sync_service.finished, timeout=30_000):
        assert app.sync_service.sync([own.id]) == [own.id]
    assert live_charges(own) > 0

    server_charges = DataSource.get((DataSource.data_type == "charges") & (DataSource.id != own.id))
    # The server's account's charges.
    formula = f"Count({server_charges.title}, livemode = true)"
    shown = number_on_a_dashboard(app, qtbot, formula)

    before = live_charges(server_charges)
    assert shown() == before > 0
    server_stripe.tick(30, seconds_between=2)
    sync_elsewhere(server_stripe, postgres_url)
    after = live_charges(server_charges)
    assert after > before
    qtbot.waitUntil(lambda: shown() == after, timeout=10_000)
    # The poll that saw the server's commit read the rows after this desktop's own sync had
    # finished: had it counted that sync's changes, they would be among these.
    assert polled and all(own.id not in ids for ids in polled)
    assert any(server_charges.id in ids for ids in polled)


def test_settings_team_tests_the_connection_in_words_and_the_next_start_uses_it(
    start_app, postgres_server, postgres_url, qtbot, memory_keyring
):
    from desktop.services.team import SharedDatabase
    from desktop.store.dialect import POSTGRES, dialect_of

    app = start_app()
    card = app.team_card
    card.use_shared.setChecked(True)
    card.host.setText("127.0.0.1")
    card.port.setValue(postgres_server.port)
    card.database.setText(postgres_url.rsplit("/", 1)[1])
    card.tls.setCurrentIndex(card.tls.findData("disable"))
    postgres_server.admin(
        f"DO $$ BEGIN CREATE ROLE {postgres_server.PASSWORD_USER} LOGIN PASSWORD 'right horse'; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )
    card.user.setText(postgres_server.PASSWORD_USER)
    card.password.setText("wrong horse")
    card.test_button.click()
    qtbot.waitUntil(lambda: "refused the user" in card.result.text(), timeout=15_000)
    card.user.setText(postgres_server.USER)
    card.password.clear()
    card.view_only.setChecked(True)
    card.test_button.click()
    qtbot.waitUntil(lambda: card.result.text().startswith("Connected."), timeout=15_000)
    assert "is empty" in card.result.text()
    card.save_button.click()
    qtbot.waitUntil(lambda: card.result.text().startswith("Saved"), timeout=15_000)

    app = start_app()  # the next start: on the shared database, viewing only
    assert app.paths.database_url == SharedDatabase(
        "127.0.0.1", postgres_url.rsplit("/", 1)[1], postgres_server.USER,
        port=postgres_server.port, tls="disable",
    ).url  # fmt: skip
    assert dialect_of(app._db) is POSTGRES
    assert not app.syncs_here
    assert "In use now: postgresql://ledgerboard@127.0.0.1" in app.team_card.in_use.text()


def test_a_viewer_whose_database_goes_away_says_so_and_reconnects_by_itself(
    start_app, app_paths, postgres_server, postgres_url, qtbot
):
    view_only_on(app_paths, postgres_server, postgres_url)
    app = start_app()
    status = app.window.status_text
    postgres_server.crash()
    try:
        qtbot.waitUntil(lambda: "cannot be reached" in status.text(), timeout=15_000)
    finally:
        postgres_server.start_again()
    qtbot.waitUntil(lambda: "reachable again" in status.text(), timeout=15_000)

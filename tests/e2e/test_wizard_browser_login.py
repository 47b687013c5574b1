"""The wizard end to end: a real headless Chromium signs in on the simulator's page (demo mode),
the wizard imports all nine data types; and the ways a login goes wrong."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from desktop.catalog import DATA_TYPES
from desktop.services.secrets import SecretStore
from desktop.store.models import Account, registration_model

pytestmark = pytest.mark.browser


def open_login(start_app, qtbot, **options):
    """A demo-mode app with the wizard on its Connect step; the login URL it produced."""
    urls: list[str] = []
    app = start_app(demo=True, demo_size=1_500, open_url=urls.append, **options)
    wizard = app.open_new_data_source()
    wizard.go_next()
    assert wizard.flow.step == "connect"
    wizard.login_button.click()
    qtbot.waitUntil(lambda: bool(urls), timeout=5_000)
    assert wizard.login_link.isVisible() and urls[0] in wizard.login_link.text()
    return app, wizard, urls[0]


def sign_in(page, url: str, button: str) -> None:
    page.goto(url)
    page.fill("#email", "founder@example.com")
    page.fill("#password", "hunter2")
    page.click(f"text={button}")
    page.wait_for_url("http://127.0.0.1:*/callback*")


def test_approve_in_the_browser_and_import_all_nine_types(start_app, qtbot, browser_page):
    app, wizard, url = open_login(start_app, qtbot)
    sign_in(browser_page, url, "Approve")
    assert "You can close this tab" in browser_page.inner_text("body")
    qtbot.waitUntil(lambda: wizard.flow.connected, timeout=15_000)
    assert "live and test-mode" in wizard.connect_status.text()
    # Named as Stripe names it, the id beside it only to tell accounts apart.
    assert "Connected to Ledgerboard Simulator (acct_" in wizard.connect_status.text()
    wizard.go_next()
    assert wizard.flow.selected == list(DATA_TYPES)  # all selected by default
    assert wizard.sample_data.isChecked()  # demo mode imports sample data too
    with qtbot.waitSignals([wizard.finished_import, wizard.counted], timeout=120_000):
        wizard.go_next()
    summaries = app.data_sources.summaries()
    assert {s.data_type for s in summaries} == set(DATA_TYPES)
    assert all(s.registrations > 0 and s.status == "up_to_date" for s in summaries), summaries
    # Each row says it is done and how many it brought; the heading says it is over.
    for summary in summaries:
        label = wizard.progress_labels[summary.id].text()
        assert label == f"Done · {summary.registrations:,} registrations", label
    assert wizard.title.text() == "Import finished"
    widths = {bar.width() for bar in wizard.progress_bars.values()}
    assert len(widths) == 1 and widths.pop() > 150  # the bars kept one width
    assert all(s.includes_test_data for s in summaries)
    assert {s.account_name for s in summaries} == {"Ledgerboard Simulator"}
    wizard.next_button.click()  # "Open data sources"
    assert app.window.current_page() == "data_sources"

    # An hour later the access token has expired: the next sync refreshes it and goes on.
    account = Account.get()
    before = SecretStore().get(account.keyring_entry)
    app.simulator.oauth.expire_all()
    app.simulator.tick(3)
    with qtbot.waitSignal(app.sync_service.finished, timeout=60_000):
        app.sync_service.sync()
    after = SecretStore().get(account.keyring_entry)
    assert after["live"] != before["live"] and after["refresh"] != before["refresh"]
    assert all(s.status == "up_to_date" for s in app.data_sources.summaries())


def test_deny_in_the_browser(start_app, qtbot, browser_page):
    _app, wizard, url = open_login(start_app, qtbot)
    sign_in(browser_page, url, "Deny")
    qtbot.waitUntil(lambda: "denied" in wizard.connect_status.text(), timeout=15_000)
    assert not wizard.flow.connected
    assert not wizard.next_button.isEnabled()
    assert wizard.login_button.isEnabled()  # the user can try again


def test_a_forged_redirect_is_refused(start_app, qtbot, browser_page, expected_log_warnings):
    _app, wizard, url = open_login(start_app, qtbot)
    redirect_uri = parse_qs(urlsplit(url).query)["redirect_uri"][0]
    browser_page.goto(f"{redirect_uri}?code=ac_forged&state=someone-elses")
    assert "not started by Ledgerboard" in browser_page.inner_text("body")
    assert not wizard.flow.connected
    sign_in(browser_page, url, "Approve")  # the real login still completes
    qtbot.waitUntil(lambda: wizard.flow.connected, timeout=15_000)


def test_a_login_that_never_comes_back_times_out(start_app, qtbot):
    _app, wizard, _url = open_login(start_app, qtbot, login_timeout=0.5)
    qtbot.waitUntil(lambda: "in time" in wizard.connect_status.text(), timeout=10_000)
    assert "restricted API key" in wizard.connect_status.text()
    assert not wizard.flow.connected


def test_no_secret_is_written_to_any_file(
    start_app, qtbot, browser_page, app_paths, memory_keyring
):
    app, wizard, url = open_login(start_app, qtbot)
    sign_in(browser_page, url, "Approve")
    qtbot.waitUntil(lambda: wizard.flow.connected, timeout=15_000)
    wizard.go_next()
    with qtbot.waitSignal(wizard.finished_import, timeout=120_000):
        wizard.go_next()
    secrets = [app.simulator.oauth.live_secret, app.simulator.oauth.test_secret]
    for stored in memory_keyring.secrets.values():
        secrets += [v for k, v in __import__("json").loads(stored).items() if not k.endswith("_at")]
    assert len(secrets) >= 5  # two platform secrets, two access tokens, the refresh token
    wizard.close()
    app.open_data_source(Account.get().data_sources[0].id)
    for name in ("export.csv", "export.xlsx"):
        with qtbot.waitSignal(app.registrations_page.exported, timeout=60_000):
            app.registrations_page.export_to(app_paths.data_dir / name)
    app.window.close()
    app.shutdown()
    files = [p for p in app_paths.data_dir.rglob("*") if p.is_file()]
    suffixes = {p.suffix for p in files}
    assert {".sqlite", ".log", ".csv", ".xlsx", ".ini"} <= suffixes, suffixes
    for path in files:
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, f"a secret is in {path.name}"


def test_logging_in_again_renews_a_disconnected_account(start_app, qtbot, browser_page):
    app, wizard, url = open_login(start_app, qtbot)
    sign_in(browser_page, url, "Approve")
    qtbot.waitUntil(lambda: wizard.flow.connected, timeout=15_000)
    wizard.go_next()
    for name, box in wizard.type_boxes.items():
        box.setChecked(name in ("charges", "customers"))
    with qtbot.waitSignal(wizard.finished_import, timeout=120_000):
        wizard.go_next()
    wizard.close()
    account = Account.get()
    app.connections.disconnect(account)
    assert Account.get().status == "disconnected"
    assert {s.status for s in app.data_sources.summaries()} == {"needs_reconnect"}

    urls: list[str] = []
    app.open_url = urls.append
    again = app.open_new_data_source()
    again.go_next()
    again.login_button.click()
    qtbot.waitUntil(lambda: bool(urls), timeout=5_000)
    sign_in(browser_page, urls[0], "Approve")
    qtbot.waitUntil(lambda: again.flow.connected, timeout=15_000)
    assert "connected already" in again.connect_status.text()
    qtbot.waitUntil(lambda: "login is renewed" in again.connect_status.text(), timeout=10_000)
    assert Account.select().count() == 1 and Account.get().status == "connected"
    again.go_next()
    assert not again.type_boxes["charges"].isEnabled()  # already imported
    assert "Already imported" in again.type_notes["charges"].text()
    with qtbot.waitSignal(app.sync_service.finished, timeout=60_000):
        app.sync_service.sync()
    assert {s.status for s in app.data_sources.summaries()} == {"up_to_date"}


def test_a_pasted_test_key_imports_its_sample_data_without_asking_for_live(start_app, qtbot):
    """A key reads its own mode only: a test key offers no "also import sample data" (its
    data is sample data), and its import never asks Stripe for live data."""
    app = start_app(demo=True, demo_size=1_500)
    wizard = app.open_new_data_source()
    wizard.go_next()
    wizard.key_field.setText("sk_test_pastedkey00000001")
    wizard.check_key()
    qtbot.waitUntil(lambda: wizard.flow.connected, timeout=15_000)
    assert "test-mode (sample data only)" in wizard.connect_status.text()
    wizard.go_next()
    for name, box in wizard.type_boxes.items():  # one without a Livemode of its own
        box.setChecked(name == "balance_transactions")
    assert wizard.flow.selected == ["balance_transactions"]
    assert not wizard.sample_data.isEnabled() and not wizard.sample_data.isChecked()
    with qtbot.waitSignal(wizard.finished_import, timeout=120_000):
        wizard.go_next()
    (summary,) = app.data_sources.summaries()
    assert summary.status == "up_to_date" and summary.registrations > 0
    assert not summary.includes_test_data and not summary.livemode
    rows = registration_model("balance_transactions")
    assert rows.select().where(rows.livemode == 1).count() == 0


def test_demo_without_a_keychain_goes_on_after_approve(start_app, qtbot, browser_page):
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())  # the memory_keyring fixture puts its own back
    _app, wizard, url = open_login(start_app, qtbot)
    sign_in(browser_page, url, "Approve")
    qtbot.waitUntil(lambda: wizard.flow.connected, timeout=15_000)
    assert wizard.next_button.isEnabled()
    assert wizard.blocker_label.text() == ""
    assert not wizard.session_only.isVisible()
    wizard.close()

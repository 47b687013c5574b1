"""Log in with Stripe as a published build does: the app holds no platform secret, and every
code exchange, refresh and deauthorize goes through the publisher's token-exchange service
(`python -m exchange`, started here on 127.0.0.1), which adds the secret and calls the
simulator's token endpoint. A real headless Chromium clicks Approve."""

from __future__ import annotations

import pytest

from desktop.services.secrets import SecretStore
from desktop.services.stripe.oauth import simulator_profile
from desktop.store.models import Account
from tests.e2e.test_wizard_browser_login import sign_in

pytestmark = pytest.mark.browser


def test_login_refresh_and_disconnect_go_through_the_exchange_service(
    simulator, start_exchange, start_app, qtbot, browser_page
):
    exchange = start_exchange(simulator)
    profile = simulator_profile(simulator.base_url, token_exchange_url=exchange.url)
    assert profile.configured and not (profile.live_secret or profile.test_secret)
    urls: list[str] = []
    app = start_app(open_url=urls.append, login=profile)
    wizard = app.open_new_data_source()
    wizard.go_next()
    wizard.login_button.click()
    qtbot.waitUntil(lambda: bool(urls), timeout=5_000)
    sign_in(browser_page, urls[0], "Approve")
    assert "You can close this tab" in browser_page.inner_text("body")
    qtbot.waitUntil(lambda: wizard.flow.connected, timeout=15_000)
    # The code became a live token, whose refresh token minted a test-mode one: both there.
    assert "live and test-mode" in wizard.connect_status.text()
    wizard.go_next()
    for name, box in wizard.type_boxes.items():
        box.setChecked(name in ("charges", "customers"))
    wizard.sample_data.setChecked(True)
    with qtbot.waitSignal(wizard.finished_import, timeout=120_000):
        wizard.go_next()
    summaries = app.data_sources.summaries()
    assert {s.status for s in summaries} == {"up_to_date"}
    assert all(s.registrations > 0 and s.includes_test_data for s in summaries)
    wizard.close()

    account = Account.get()
    stored = SecretStore().get(account.keyring_entry)
    assert simulator.oauth.check_token(stored["live"]) == (True, None)
    assert simulator.oauth.check_token(stored["test"]) == (False, None)
    exchange.never_logged += [stored["live"], stored["test"], stored["refresh"]]
    assert exchange.log().count("POST /oauth/token 200") == 2  # the code, the test token

    # An hour later the tokens have expired: the sync renews them through the service.
    simulator.oauth.expire_all()
    with qtbot.waitSignal(app.sync_service.finished, timeout=60_000):
        app.sync_service.sync()
    renewed = SecretStore().get(account.keyring_entry)
    assert renewed["live"] != stored["live"] and renewed["refresh"] != stored["refresh"]
    assert simulator.oauth.check_token(renewed["live"]) == (True, None)
    assert exchange.log().count("POST /oauth/token 200") > 2
    assert {s.status for s in app.data_sources.summaries()} == {"up_to_date"}
    exchange.never_logged += [v for k, v in renewed.items() if not k.endswith("_at")]

    # Disconnect revokes the grant at Stripe, through the service, and forgets the tokens.
    app.accounts_card.disconnect_requested.emit(account.id)
    qtbot.waitUntil(lambda: Account.get().status == "disconnected", timeout=15_000)
    assert "POST /oauth/deauthorize 200" in exchange.log()
    assert simulator.oauth.check_token(renewed["live"]) == (True, "revoked")
    assert SecretStore().get(account.keyring_entry) == {}

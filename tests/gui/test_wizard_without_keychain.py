"""Without a keychain, keys are kept only by the user's explicit choice, and only in memory."""

from __future__ import annotations

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtWidgets import QLabel

from desktop.services.secrets import SecretStore, SecretsUnavailable


@pytest.fixture
def no_keychain():
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def test_the_store_refuses_until_the_user_chooses_memory(no_keychain, expected_log_warnings):
    store = SecretStore()
    assert not store.available()
    with pytest.raises(SecretsUnavailable, match="keychain"):
        store.put("account-1", {"key": "rk_live_x"})
    store.keep_for_this_session_only()
    store.put("account-1", {"key": "rk_live_x"})
    assert store.get("account-1") == {"key": "rk_live_x"}
    assert not SecretStore().available()  # the next start knows nothing: memory only


def test_the_wizard_asks_before_keeping_keys_in_memory(
    start_app, no_keychain, expected_log_warnings
):
    app = start_app()
    wizard = app.open_new_data_source()
    wizard.go_next()
    assert wizard.session_only.isVisible()
    # Asked first, said once: nothing can connect before the choice, and Next says no more.
    said = [
        label
        for label in wizard.findChildren(QLabel)
        if label.isVisible() and "no keychain" in label.text()
    ]
    assert said == [wizard.keychain_warning]
    assert not wizard.login_button.isEnabled()
    assert not wizard.check_key_button.isEnabled()
    assert not wizard.next_button.isEnabled()
    wizard.session_only.setChecked(True)
    assert app.secrets.session_only
    assert wizard.check_key_button.isEnabled()  # without a login profile: the key
    assert wizard.blocker_label.text() == "Connect a Stripe account first."
    wizard.close()


def test_demo_mode_without_a_keychain_asks_nothing(start_app, no_keychain):
    app = start_app(demo=True, demo_size=300)
    wizard = app.open_new_data_source()
    wizard.go_next()
    assert app.secrets.session_only  # the simulator's keys, in memory for this run
    assert not wizard.keychain_warning.isVisible() and not wizard.session_only.isVisible()
    assert wizard.login_button.isEnabled()
    assert wizard.blocker_label.text() == "Connect a Stripe account first."
    wizard.close()


def test_select_all_turns_into_clear_all_and_copy_link_says_it_copied(start_app, qtbot):
    from PySide6.QtGui import QGuiApplication

    urls: list[str] = []
    app = start_app(demo=True, demo_size=300, open_url=urls.append)
    wizard = app.open_new_data_source()
    wizard.go_next()
    wizard.login_button.click()
    qtbot.waitUntil(lambda: bool(urls), timeout=5_000)
    assert wizard.copy_link_button.text() == "Copy link"
    wizard.copy_link_button.click()
    assert QGuiApplication.clipboard().text() == urls[0]
    assert wizard.copy_link_button.text() == "Copied ✓"
    qtbot.waitUntil(lambda: wizard.copy_link_button.text() == "Copy link", timeout=5_000)
    wizard.cancel_login()
    # The types step, as after a connection: everything selected, so the button clears.
    wizard.flow.set_connected("Ledgerboard Simulator", sample_data_possible=True)
    wizard.go_next()
    assert wizard.select_all_button.text() == "Clear all"
    wizard.select_all_button.click()
    assert wizard.flow.selected == [] and wizard.select_all_button.text() == "Select all"
    assert not any(box.isChecked() for box in wizard.type_boxes.values())
    wizard.select_all_button.click()
    assert wizard.select_all_button.text() == "Clear all"
    wizard.close()

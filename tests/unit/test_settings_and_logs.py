"""Typed settings with defaults, and logs that never hold a secret."""

from __future__ import annotations

import logging

from desktop.logs import redact, setup_logging
from desktop.paths import resource_path, resources_dir
from desktop.settings import Settings, SettingsStore, system_time_zone, zone_names


def test_settings_default_when_the_file_is_missing(tmp_path):
    assert SettingsStore(tmp_path / "settings.json").load() == Settings()


def test_settings_round_trip(tmp_path):
    store = SettingsStore(tmp_path / "settings.json")
    wanted = Settings(time_zone="Europe/Copenhagen", week_start=6, default_update_frequency=60)
    store.save(wanted)
    assert store.load() == wanted


def test_damaged_or_invalid_settings_fall_back_to_defaults(tmp_path, caplog, expected_log_warnings):
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    with caplog.at_level(logging.WARNING):
        assert SettingsStore(path).load() == Settings()
    assert "unreadable" in caplog.text
    path.write_text(
        '{"time_zone": "Mars/Base", "week_start": 9, "default_update_frequency": 7, "x": 1}'
    )
    assert SettingsStore(path).load() == Settings()


def test_the_zone_folder_is_read_once_however_often_the_zone_is_asked(tmp_path, monkeypatch):
    """Every period a view computes asks for the system's zone; reading the zone folder took
    13 ms on the GUI thread each time."""
    import zoneinfo

    walks = []
    read = zoneinfo.available_timezones
    monkeypatch.setattr(zoneinfo, "available_timezones", lambda: walks.append(1) or read())
    zone_names.cache_clear()
    monkeypatch.setenv("TZ", "Europe/Copenhagen")
    store = SettingsStore(tmp_path / "settings.json")
    for _ in range(5):
        assert store.effective_time_zone(Settings()) == "Europe/Copenhagen"
    assert Settings(time_zone="Asia/Kathmandu").validated().time_zone == "Asia/Kathmandu"
    assert Settings(time_zone="Mars/Olympus").validated().time_zone == ""
    assert system_time_zone() == "Europe/Copenhagen"
    assert len(walks) == 1


def test_redact_removes_keys_and_tokens():
    text = (
        "key sk_live_51Habc123XYZ and rk_test_9Zz8 header Authorization: Bearer tok_abcDEF.123 "
        'body {"access_token": "at_secret", "refresh_token":"rt_secret"} '
        "form refresh_token=rt_other&client_secret=cs_1"
    )
    cleaned = redact(text)
    for secret in (
        "51Habc123XYZ",
        "9Zz8",
        "tok_abcDEF.123",
        "at_secret",
        "rt_secret",
        "rt_other",
        "cs_1",
    ):
        assert secret not in cleaned
    assert "sk_live_[redacted]" in cleaned


def test_the_log_file_is_redacted(tmp_path, expected_log_warnings):
    handler = setup_logging(tmp_path / "logs" / "ledgerboard.log")
    try:
        logging.getLogger("desktop.test").warning("connected with %s", "sk_test_abcdef123")
        handler.flush()
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    text = (tmp_path / "logs" / "ledgerboard.log").read_text()
    assert "connected with sk_test_[redacted]" in text
    assert "abcdef123" not in text


def test_resources_are_found_from_a_checkout():
    assert (resources_dir() / "theme.qss").exists()
    assert resource_path("icons", "ledgerboard.svg").stat().st_size > 0


def test_a_build_ships_its_login_and_the_users_own_wins(tmp_path, expected_log_warnings):
    from desktop.services.stripe.oauth import login_profile
    from desktop.settings import PublisherLogin, publisher_login

    assert publisher_login(tmp_path / "absent.json") == PublisherLogin()
    path = tmp_path / "publisher.json"
    path.write_text(
        '{"login_provider": "stripe_apps", "login_client_id": "ca_pub",'
        ' "login_token_exchange_url": "https://login.example.com"}'
    )
    shipped = publisher_login(path)
    login = Settings().login(shipped)  # a fresh install: nothing set by the user
    profile = login_profile(login.provider, login.client_id, login.token_exchange_url)
    assert profile.name == "stripe_apps" and profile.client_id == "ca_pub"
    assert profile.configured and profile.can_read_sample_data
    assert profile.exchange_endpoint("token") == "https://login.example.com/oauth/token"
    own = Settings(login_client_id="ca_mine", login_token_exchange_url="https://mine.example")
    assert own.login(shipped) == PublisherLogin("stripe_connect", "ca_mine", "https://mine.example")
    path.write_text("{not json")
    assert publisher_login(path) == PublisherLogin()  # said in the log, and no login

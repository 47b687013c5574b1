"""The app's OAuth client against the simulator's provider; the browser is scripted here
(tests/e2e drives a real Chromium)."""

from __future__ import annotations

import dataclasses
import os
import re
import threading
import urllib.error
import urllib.request
from html import unescape

import pytest
import requests

from desktop.services.secrets import SecretStore
from desktop.services.stripe.client import Cancelled
from desktop.services.stripe.connections import ConnectionsService
from desktop.services.stripe.oauth import LoginError, OAuthClient, simulator_profile


@pytest.fixture
def profile(simulator):
    return simulator_profile(
        simulator.base_url, simulator.oauth.live_secret, simulator.oauth.test_secret
    )


def browser_decides(authorize_url: str, decision: str = "approve") -> requests.Response:
    """What a person does in the browser: load the page, submit the form, follow the redirect."""
    page = requests.get(authorize_url, timeout=10)
    assert page.status_code == 200
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    fields = {k: unescape(v) for k, v in fields.items()}
    action = authorize_url.split("/oauth/")[0] + "/oauth/authorize"
    return requests.post(action, data={**fields, "decision": decision}, timeout=10)


def test_approve_gives_a_live_token_and_a_sample_data_token(simulator, profile):
    client = OAuthClient(profile)
    attempt = client.begin()
    assert attempt.listener.redirect_uri.startswith("http://127.0.0.1:")
    assert "code_challenge=" in attempt.authorize_url and "state=" in attempt.authorize_url
    answer = browser_decides(attempt.authorize_url)
    assert "You can close this tab" in answer.text
    tokens = client.finish(attempt, timeout=10)
    assert tokens.live and tokens.access_token.startswith("sk_live_")
    assert tokens.stripe_user_id == simulator.dataset.account_id
    sample = ConnectionsService(SecretStore(), {"simulator": profile}).sample_token(profile, tokens)
    assert sample is not None and sample.live is False


def test_deny_says_so(profile):
    client = OAuthClient(profile)
    attempt = client.begin()
    browser_decides(attempt.authorize_url, "deny")
    with pytest.raises(LoginError, match="denied"):
        client.finish(attempt, timeout=10)


def test_a_forged_redirect_is_refused_and_the_real_one_still_works(profile, expected_log_warnings):
    client = OAuthClient(profile)
    attempt = client.begin()
    forged = f"{attempt.listener.redirect_uri}?code=ac_forged&state=not-the-state"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=5)
    assert refused.value.code == 400
    assert attempt.listener.rejected == 1
    browser_decides(attempt.authorize_url)
    assert client.finish(attempt, timeout=10).live


def test_the_listener_answers_only_its_callback_path_and_only_once(profile):
    client = OAuthClient(profile)
    attempt = client.begin()
    base = attempt.listener.redirect_uri.removesuffix("/callback")
    with pytest.raises(urllib.error.HTTPError) as other:
        urllib.request.urlopen(f"{base}/favicon.ico", timeout=5)
    assert other.value.code == 404
    browser_decides(attempt.authorize_url)
    client.finish(attempt, timeout=10)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(attempt.listener.redirect_uri, timeout=2)  # closed


def test_timeout_and_cancel(profile):
    client = OAuthClient(profile)
    with pytest.raises(LoginError, match="in time"):
        client.finish(client.begin(), timeout=0.2)
    stop = threading.Event()
    attempt = client.begin()
    threading.Timer(0.1, stop.set).start()
    with pytest.raises(Cancelled):
        client.finish(attempt, timeout=10, cancelled=stop.is_set)


def test_an_unconfigured_profile_says_what_is_missing():
    from desktop.services.stripe.oauth import stripe_connect_profile

    with pytest.raises(LoginError, match="client ID"):
        OAuthClient(stripe_connect_profile()).begin()
    with pytest.raises(LoginError, match="token-exchange address"):
        OAuthClient(stripe_connect_profile(client_id="ca_123")).begin()


def test_refresh_stores_the_rotated_refresh_token(db, simulator, profile):
    client = OAuthClient(profile)
    attempt = client.begin()
    browser_decides(attempt.authorize_url)
    tokens = client.finish(attempt, timeout=10)
    service = ConnectionsService(SecretStore(), {"simulator": profile})
    account = service.connect_with_tokens(profile, [tokens], name="Simulator")
    first_refresh = SecretStore().get(account.keyring_entry)["refresh"]
    new_access = service.refresher(account, True)
    stored = SecretStore().get(account.keyring_entry)
    assert new_access and stored["live"] == new_access
    assert stored["refresh"] != first_refresh


def test_plain_http_is_only_for_the_loopback_call_and_never_elsewhere(profile, monkeypatch):
    """oauthlib trusts plain http:// while OAUTHLIB_INSECURE_TRANSPORT is set; a loopback
    login sets it only around its own calls, so a later login elsewhere still needs HTTPS."""
    from oauthlib.oauth2.rfc6749.errors import InsecureTransportError
    from requests_oauthlib import OAuth2Session

    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)
    client = OAuthClient(profile)
    attempt = client.begin()
    browser_decides(attempt.authorize_url)
    tokens = client.finish(attempt, timeout=10)
    client.refresh(tokens.refresh_token, live=True)
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ
    with pytest.raises(InsecureTransportError):
        OAuth2Session("ca_1").fetch_token("http://192.0.2.1/oauth/token", code="x")


def test_login_addresses_in_plain_http_are_refused_except_on_loopback():
    from desktop.services.stripe.oauth import stripe_apps_profile, stripe_connect_profile

    exchange = stripe_connect_profile("ca_1", token_exchange_url="http://login.example.com")
    assert not exchange.configured
    assert "not an https:// address" in exchange.not_configured_reason()
    with pytest.raises(LoginError, match="https://"):
        OAuthClient(exchange).begin()
    with pytest.raises(LoginError, match="https://"):
        OAuthClient(exchange).refresh("rt_x", live=True)
    for secure in ("https://login.example.com", "http://127.0.0.1:8080", "http://localhost:1"):
        assert stripe_apps_profile("ca_1", token_exchange_url=secure).configured, secure
    assert not simulator_profile(
        "http://192.0.2.7:12111", token_exchange_url="https://login.example.com"
    ).configured


def test_the_exchange_services_errors_reach_the_user_in_words(simulator, start_exchange):
    exchange = start_exchange(simulator)
    profile = simulator_profile(simulator.base_url, token_exchange_url=exchange.url)
    client = OAuthClient(profile)
    with pytest.raises(LoginError, match="Refresh token is unknown or already used"):
        client.refresh("rt_never_issued", live=True)
    exchange.never_logged.append("rt_never_issued")
    stranger = dataclasses.replace(profile, client_id="ca_not_served")
    with pytest.raises(LoginError, match="does not serve that client_id"):
        OAuthClient(stranger).refresh("rt_never_issued", live=True)
    exchange.stop()
    with pytest.raises(LoginError, match="refused to renew"):
        client.refresh("rt_never_issued", live=True)  # the service is gone

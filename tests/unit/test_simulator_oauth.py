"""The simulator's OAuth provider: codes, tokens in both modes, expiry, rotation, revocation."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import stripe

REDIRECT = "http://127.0.0.1:8765/callback"


def authorize(simulator, decision="approve", **extra) -> dict:
    """Submit the consent form as the browser would; the redirect's query, parsed."""
    form = {
        "response_type": "code",
        "client_id": "ca_ledgerboard",
        "redirect_uri": REDIRECT,
        "state": "s-123",
        "scope": "read_only",
        "decision": decision,
        **extra,
    }
    response = requests.post(
        f"{simulator.base_url}/oauth/authorize", data=form, allow_redirects=False, timeout=10
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def token(simulator, secret, **form) -> requests.Response:
    return requests.post(
        f"{simulator.base_url}/oauth/token", data={"client_secret": secret, **form}, timeout=10
    )


def api(simulator, access_token) -> stripe.StripeClient:
    return stripe.StripeClient(
        access_token, base_addresses={"api": simulator.base_url}, max_network_retries=0
    )


def test_code_for_a_live_token_whose_refresh_token_mints_a_test_token(simulator):
    provider = simulator.oauth
    redirect = authorize(simulator)
    assert redirect["state"] == "s-123" and redirect["code"].startswith("ac_")
    live = token(
        simulator, provider.live_secret, grant_type="authorization_code", code=redirect["code"]
    )
    body = live.json()
    assert live.status_code == 200, body
    assert set(body) == {
        "access_token",
        "refresh_token",
        "token_type",
        "scope",
        "livemode",
        "stripe_user_id",
        "stripe_publishable_key",
        "expires_in",
    }
    assert body["livemode"] is True and body["token_type"] == "bearer"
    assert body["stripe_user_id"] == simulator.dataset.account_id
    assert all(c.livemode for c in api(simulator, body["access_token"]).v1.charges.list().data)

    sample = token(
        simulator,
        provider.test_secret,
        grant_type="refresh_token",
        refresh_token=body["refresh_token"],
    ).json()
    assert sample["livemode"] is False
    assert not any(
        c.livemode for c in api(simulator, sample["access_token"]).v1.charges.list().data
    )


def test_codes_are_one_shot_and_refresh_tokens_rotate(simulator):
    provider = simulator.oauth
    code = authorize(simulator)["code"]
    first = token(simulator, provider.live_secret, grant_type="authorization_code", code=code)
    again = token(simulator, provider.live_secret, grant_type="authorization_code", code=code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    old_refresh = first.json()["refresh_token"]
    rotated = token(
        simulator, provider.live_secret, grant_type="refresh_token", refresh_token=old_refresh
    )
    assert rotated.status_code == 200 and rotated.json()["refresh_token"] != old_refresh
    reused = token(
        simulator, provider.live_secret, grant_type="refresh_token", refresh_token=old_refresh
    )
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    unknown = token(
        simulator, provider.live_secret, grant_type="authorization_code", code="ac_nope"
    )
    assert unknown.json()["error"] == "invalid_grant"
    wrong_secret = token(
        simulator, "sk_live_not_the_platform", grant_type="authorization_code", code="x"
    )
    assert wrong_secret.status_code == 401


def test_access_tokens_expire_and_deauthorize_revokes(simulator):
    provider = simulator.oauth
    code = authorize(simulator)["code"]
    body = token(simulator, provider.live_secret, grant_type="authorization_code", code=code).json()
    assert body["expires_in"] == 3600
    client = api(simulator, body["access_token"])
    assert client.v1.balance.retrieve().livemode is True
    simulator.clock.advance(3601)
    with pytest.raises(stripe.AuthenticationError) as expired:
        client.v1.balance.retrieve()
    assert expired.value.json_body["error"]["code"] == "api_key_expired"
    fresh = token(
        simulator,
        provider.live_secret,
        grant_type="refresh_token",
        refresh_token=body["refresh_token"],
    ).json()
    assert api(simulator, fresh["access_token"]).v1.balance.retrieve()
    response = requests.post(
        f"{simulator.base_url}/oauth/deauthorize",
        data={"client_id": "ca_ledgerboard", "stripe_user_id": fresh["stripe_user_id"]},
        auth=(provider.live_secret, ""),
        timeout=10,
    )
    assert response.json() == {"stripe_user_id": fresh["stripe_user_id"]}
    with pytest.raises(stripe.AuthenticationError):
        api(simulator, fresh["access_token"]).v1.balance.retrieve()
    refused = token(
        simulator,
        provider.live_secret,
        grant_type="refresh_token",
        refresh_token=fresh["refresh_token"],
    )
    assert refused.json()["error"] == "invalid_grant"


def test_deny_redirects_with_access_denied(simulator):
    assert authorize(simulator, decision="deny") == {
        "error": "access_denied",
        "error_description": "The user denied your request",
        "state": "s-123",
    }


def test_pkce_is_checked_when_a_challenge_was_given(simulator):
    verifier = "v" * 50
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    secret = simulator.oauth.live_secret
    code = authorize(simulator, code_challenge=challenge, code_challenge_method="S256")["code"]
    bad = token(
        simulator, secret, grant_type="authorization_code", code=code, code_verifier="wrong"
    )
    assert bad.json()["error"] == "invalid_grant"
    code = authorize(simulator, code_challenge=challenge, code_challenge_method="S256")["code"]
    good = token(
        simulator, secret, grant_type="authorization_code", code=code, code_verifier=verifier
    )
    assert good.status_code == 200


def test_the_authorize_page_refuses_a_non_loopback_redirect(simulator):
    response = requests.get(
        f"{simulator.base_url}/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": "ca_x",
            "redirect_uri": "https://evil.example/cb",
        },
        timeout=10,
    )
    assert response.status_code == 400
    assert "loopback" in response.text


def test_the_authorize_page_escapes_what_it_reflects(simulator):
    response = requests.get(
        f"{simulator.base_url}/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": "ca_x",
            "redirect_uri": REDIRECT,
            "state": '"><script>alert(1)</script>',
        },
        timeout=10,
    )
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text

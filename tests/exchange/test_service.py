"""The token-exchange service on its own: `python -m exchange` in its own process, in front of
the simulator's OAuth token endpoint. Every answer, good or bad, is in Stripe's format, and the
`start_exchange` fixture greps the service's whole log after each test (no `sk_`, `rt_`, `ac_`,
no code or token the test saw)."""

from __future__ import annotations

import ast
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import stripe

from tests.exchange_service import CLIENT_ID, ROOT

REDIRECT = "http://127.0.0.1:8765/callback"


def approve(simulator) -> str:
    """A fresh authorization code, as the simulator's Approve button hands it out."""
    form = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "state": "s-1",
        "scope": "read_only",
        "decision": "approve",
    }
    answer = requests.post(
        f"{simulator.base_url}/oauth/authorize", data=form, allow_redirects=False, timeout=10
    )
    return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]


def assert_stripe_error(answer: requests.Response, status: int, error: str) -> dict:
    body = answer.json()
    assert answer.status_code == status, body
    assert set(body) == {"error", "error_description"} and body["error"] == error, body
    assert isinstance(body["error_description"], str) and body["error_description"]
    assert answer.headers["Cache-Control"] == "no-store"
    assert "access-control-allow-origin" not in {h.lower() for h in answer.headers}
    return body


def api(simulator, access_token: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        access_token, base_addresses={"api": simulator.base_url}, max_network_retries=0
    )


def test_a_code_becomes_tokens_once_and_a_replayed_code_is_refused(simulator, start_exchange):
    exchange = start_exchange(simulator)
    code = approve(simulator)
    answer = exchange.token(grant_type="authorization_code", code=code)
    body = answer.json()
    assert answer.status_code == 200, body
    assert answer.headers["Cache-Control"] == "no-store"
    assert body["livemode"] is True and body["stripe_user_id"] == simulator.dataset.account_id
    # The simulator minted a live token, so the service sent it the live platform secret.
    assert api(simulator, body["access_token"]).v1.balance.retrieve().livemode is True

    replayed = exchange.token(grant_type="authorization_code", code=code)
    assert_stripe_error(replayed, 400, "invalid_grant")

    sample = exchange.token(
        live=False, grant_type="refresh_token", refresh_token=body["refresh_token"]
    )
    assert sample.status_code == 200 and sample.json()["livemode"] is False
    reused = exchange.token(grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert_stripe_error(reused, 400, "invalid_grant")  # refresh tokens rotate

    log = exchange.assert_log_keeps_no_secret(code)
    assert log.count("POST /oauth/token 200") == 2 and log.count("POST /oauth/token 400") == 2
    assert "Stripe answered 400 invalid_grant" in log


def test_a_client_id_it_does_not_serve_is_refused_before_stripe_is_asked(simulator, start_exchange):
    exchange = start_exchange(simulator)
    code = approve(simulator)
    wrong = exchange.token(grant_type="authorization_code", code=code, client_id="ca_someone")
    assert_stripe_error(wrong, 400, "invalid_client")
    missing = exchange.post("/oauth/token", {"grant_type": "authorization_code", "code": code})
    assert_stripe_error(missing, 400, "invalid_request")
    # Stripe never saw the code: it still works for the right client.
    assert exchange.token(grant_type="authorization_code", code=code).status_code == 200
    assert "Stripe answered" not in exchange.log().split("POST /oauth/token 400")[0]


def test_a_mode_without_its_secret_key_is_refused(simulator, start_exchange):
    exchange = start_exchange(simulator, EXCHANGE_TEST_SECRET_KEY="")
    code = approve(simulator)
    live = exchange.token(grant_type="authorization_code", code=code).json()
    refused = exchange.token(
        live=False, grant_type="refresh_token", refresh_token=live["refresh_token"]
    )
    body = assert_stripe_error(refused, 401, "invalid_client")
    assert "test-mode secret key" in body["error_description"]


def test_it_will_not_start_without_a_secret_key_or_with_a_wrong_one(simulator):
    base = {"EXCHANGE_CLIENT_IDS": CLIENT_ID, "EXCHANGE_PORT": "0", "PATH": "/usr/bin:/bin"}
    cases = {
        "EXCHANGE_LIVE_SECRET_KEY": {},
        "is not a live secret key": {"EXCHANGE_LIVE_SECRET_KEY": "pk_live_publishable"},
        "is not a test secret key": {"EXCHANGE_TEST_SECRET_KEY": "sk_live_swapped"},
        "not an https:// address": {
            "EXCHANGE_LIVE_SECRET_KEY": simulator.oauth.live_secret,
            "EXCHANGE_STRIPE_TOKEN_URL": "http://stripe.example.com/oauth/token",
        },
        "EXCHANGE_CLIENT_IDS": {
            "EXCHANGE_LIVE_SECRET_KEY": simulator.oauth.live_secret,
            "EXCHANGE_CLIENT_IDS": "",
        },
    }
    for expected, env in cases.items():
        done = subprocess.run(
            [sys.executable, "-m", "exchange"],
            cwd=ROOT,
            env={**base, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2 and expected in done.stderr, (expected, done.stderr)
        assert "listening" not in done.stdout
        assert "sk_" not in done.stderr and "pk_" not in done.stderr


def test_stripe_down_is_said_in_stripe_format(tmp_path, start_exchange, simulator):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    port = closed.getsockname()[1]
    try:
        exchange = start_exchange(
            simulator, EXCHANGE_STRIPE_TOKEN_URL=f"http://127.0.0.1:{port}/oauth/token"
        )
        code = approve(simulator)
        down = exchange.token(grant_type="authorization_code", code=code)
        assert_stripe_error(down, 503, "temporarily_unavailable")
    finally:
        closed.close()


def test_stripe_answering_an_error_page_is_said_in_stripe_format(simulator, start_exchange):
    class ErrorPage(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = b"<html><body>502 Bad Gateway</body></html>"
            self.send_response(500)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    broken = ThreadingHTTPServer(("127.0.0.1", 0), ErrorPage)
    thread = threading.Thread(target=broken.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{broken.server_address[1]}/oauth/token"
        exchange = start_exchange(simulator, EXCHANGE_STRIPE_TOKEN_URL=url)
        answer = exchange.token(grant_type="authorization_code", code=approve(simulator))
        body = assert_stripe_error(answer, 502, "temporarily_unavailable")
        assert "500" in body["error_description"]
    finally:
        broken.shutdown()
        broken.server_close()
        thread.join()


def test_a_flood_from_one_address_is_limited_and_others_still_get_through(
    simulator, start_exchange
):
    exchange = start_exchange(simulator, EXCHANGE_RATE_LIMIT="5")
    # Behind a proxy (loopback is trusted by default), the client's address is forwarded.
    flooder = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    form = {"client_id": CLIENT_ID, "grant_type": "refresh_token", "refresh_token": "rt_bogus"}
    exchange.never_logged.append("rt_bogus")
    answers = [exchange.post("/oauth/token", form, headers=flooder) for _ in range(12)]
    statuses = [a.status_code for a in answers]
    assert statuses[:5] == [400] * 5 and statuses[5:] == [429] * 7, statuses
    limited = assert_stripe_error(answers[-1], 429, "rate_limit")
    assert "Too many requests" in limited["error_description"]
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    other = {"X-Forwarded-For": "203.0.113.10", "X-Forwarded-Proto": "https"}
    assert exchange.post("/oauth/token", form, headers=other).status_code == 400
    code = approve(simulator)  # and the desktop app on this machine is not held up
    assert exchange.token(grant_type="authorization_code", code=code).status_code == 200
    assert exchange.log().count(" 429 ") == 7


def test_https_is_required_except_from_loopback(simulator, start_exchange):
    exchange = start_exchange(simulator)
    form = {"client_id": "ca_someone", "grant_type": "authorization_code", "code": "x"}
    plain = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "http"}
    refused = exchange.post("/oauth/token", form, headers=plain)
    assert "HTTPS" in assert_stripe_error(refused, 403, "invalid_request")["error_description"]
    tls = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    assert_stripe_error(exchange.post("/oauth/token", form, headers=tls), 400, "invalid_client")
    # Forwarded headers from a proxy that is not trusted are ignored: the caller is loopback.
    untrusting = start_exchange(simulator, EXCHANGE_TRUSTED_PROXIES="192.0.2.1")
    answer = untrusting.post("/oauth/token", form, headers=plain)
    assert_stripe_error(answer, 400, "invalid_client")


def test_browsers_and_oversized_or_odd_requests_are_refused(simulator, start_exchange):
    exchange = start_exchange(simulator)
    form = {"client_id": CLIENT_ID, "grant_type": "authorization_code", "code": "x"}
    preflight = requests.options(
        f"{exchange.url}/oauth/token",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert_stripe_error(preflight, 403, "invalid_request")
    from_a_page = exchange.post("/oauth/token", form, headers={"Origin": "https://evil.example"})
    assert_stripe_error(from_a_page, 403, "invalid_request")

    big = {**form, "code": "x" * 10_000}
    assert_stripe_error(exchange.post("/oauth/token", big), 413, "invalid_request")
    chunks = (b"code=" + b"x" * 1000 for _ in range(10))  # no Content-Length: chunked
    chunked = exchange.post(
        "/oauth/token",
        chunks,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_stripe_error(chunked, 413, "invalid_request")

    assert_stripe_error(
        exchange.post("/oauth/token", {**form, "extra": "1"}), 400, "invalid_request"
    )
    as_json = exchange.post("/oauth/token", json=form)
    assert_stripe_error(as_json, 400, "invalid_request")
    grant = exchange.post("/oauth/token", {**form, "grant_type": "password"})
    assert_stripe_error(grant, 400, "unsupported_grant_type")
    assert_stripe_error(
        requests.get(f"{exchange.url}/oauth/token", timeout=10), 405, "invalid_request"
    )
    assert_stripe_error(exchange.post("/admin", form), 404, "invalid_request")
    assert requests.get(f"{exchange.url}/healthz", timeout=10).json() == {"status": "ok"}


def test_deauthorize_needs_the_accounts_own_login_then_goes_to_stripe(simulator, start_exchange):
    exchange = start_exchange(simulator)
    tokens = exchange.token(grant_type="authorization_code", code=approve(simulator)).json()
    account, refresh = tokens["stripe_user_id"], tokens["refresh_token"]

    def deauthorize(**form) -> requests.Response:
        return exchange.post("/oauth/deauthorize", {"client_id": CLIENT_ID, **form})

    # Knowing an account id is not enough to disconnect it from the app.
    assert_stripe_error(deauthorize(stripe_user_id=account), 400, "invalid_request")
    exchange.never_logged.append("rt_guessed")
    guessed = deauthorize(stripe_user_id=account, refresh_token="rt_guessed")
    assert_stripe_error(guessed, 400, "invalid_grant")
    wrong = deauthorize(client_id="ca_other", stripe_user_id=account, refresh_token=refresh)
    assert_stripe_error(wrong, 400, "invalid_client")
    assert api(simulator, tokens["access_token"]).v1.balance.retrieve()  # still connected

    other = exchange.token(grant_type="authorization_code", code=approve(simulator)).json()
    mismatch = deauthorize(stripe_user_id="acct_someone_else", refresh_token=other["refresh_token"])
    assert_stripe_error(mismatch, 400, "invalid_grant")
    assert api(simulator, tokens["access_token"]).v1.balance.retrieve()

    done = deauthorize(stripe_user_id=account, refresh_token=refresh)
    assert done.status_code == 200 and done.json() == {"stripe_user_id": account}
    with pytest.raises(stripe.AuthenticationError):
        api(simulator, tokens["access_token"]).v1.balance.retrieve()


def test_stripe_apps_has_no_deauthorize(simulator, start_exchange):
    exchange = start_exchange(simulator, EXCHANGE_STRIPE="apps", EXCHANGE_STRIPE_DEAUTHORIZE_URL="")
    answer = exchange.post(
        "/oauth/deauthorize", {"client_id": CLIENT_ID, "stripe_user_id": "acct_1"}
    )
    assert_stripe_error(answer, 400, "invalid_request")


def test_answers_on_a_kept_alive_connection_do_not_wait_for_delayed_acks(simulator, start_exchange):
    """The desktop app's HTTP client keeps connections alive. Were Nagle's algorithm on, every
    answer after the first would wait for the client's delayed ACK: at least 40 ms on Linux,
    1.2 s for these 30; they take a few milliseconds each."""
    exchange = start_exchange(simulator)
    with requests.Session() as session:
        session.get(f"{exchange.url}/healthz", timeout=10)
        started = time.perf_counter()
        for _ in range(30):
            assert session.get(f"{exchange.url}/healthz", timeout=10).status_code == 200
        assert time.perf_counter() - started < 0.6


def test_the_service_runs_from_its_own_files_alone(simulator, start_exchange, tmp_path):
    """What the Dockerfile copies (the package's .py files and its requirements) is all the
    service needs: nothing of the desktop app or the tests comes along."""
    image = tmp_path / "srv"
    (image / "exchange").mkdir(parents=True)
    for path in [*(ROOT / "exchange").glob("*.py"), ROOT / "exchange" / "requirements.txt"]:
        shutil.copy(path, image / "exchange" / path.name)
    dockerfile = (ROOT / "exchange" / "Dockerfile").read_text()
    assert "COPY *.py exchange/" in dockerfile and 'CMD ["python", "-m", "exchange"]' in dockerfile
    exchange = start_exchange(simulator, cwd=image)
    answer = exchange.token(grant_type="authorization_code", code=approve(simulator))
    assert answer.status_code == 200 and answer.json()["livemode"] is True


def test_nothing_in_the_desktop_app_imports_the_service():
    for path in (ROOT / "desktop").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n == "exchange" or n.startswith("exchange.") for n in names), path
    assert Path(ROOT / "exchange" / "requirements.txt").exists()

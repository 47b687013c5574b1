"""Log in with Stripe in the browser: OAuth authorization code flow with requests-oauthlib.

The system browser opens the provider's authorize page; a one-shot listener on 127.0.0.1 (a
free port, bound to loopback only) receives the redirect, refuses a wrong or missing `state`,
answers only its callback path, and closes after one good redirect or when it times out or is
cancelled. The code is exchanged for tokens; expiring tokens are refreshed and the rotated
refresh token is stored. Tokens go to the keyring (secrets.py), never anywhere else.

Stripe's token endpoint wants the publisher's secret key, which a desktop app cannot keep. A
provider profile therefore names either a token-exchange service run by the publisher (the
`exchange` package beside this app: POST {base}/oauth/token and {base}/oauth/deauthorize), or
a platform secret the user owns (kept in the keyring). Without either, the wizard says so and
offers a restricted API key instead. Every address that carries a code, a token or a secret
is HTTPS, except on loopback (the simulator, a local exchange).
"""

from __future__ import annotations

import contextlib
import html
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:  # imported where a login needs them: the app starts without (about 30 ms)
    from requests_oauthlib import OAuth2Session

from desktop.services.stripe.errors import Cancelled

log = logging.getLogger(__name__)

CALLBACK_PATH = "/callback"
LOGIN_TIMEOUT = 300  # seconds the listener waits for the browser


class LoginError(Exception):
    """The login did not complete; the message is for the user."""


@dataclass(frozen=True)
class ProviderProfile:
    name: str
    display_name: str
    authorize_url: str
    token_url: str
    api_base: str | None = None  # None: Stripe's own API
    client_id: str = ""
    scope: str = "read_only"
    token_exchange_url: str | None = None  # the publisher's endpoint that adds the secret
    live_secret: str | None = None  # a platform secret the user owns
    test_secret: str | None = None  # its test-mode twin, for sample data
    pkce: bool = False
    deauthorize_url: str | None = None

    @property
    def configured(self) -> bool:
        return (
            bool(self.client_id)
            and bool(self.token_exchange_url or self.live_secret or self.test_secret)
            and self.transport_problem() is None
        )

    def exchange_endpoint(self, name: str) -> str:
        """An endpoint of the publisher's exchange service: `token` or `deauthorize`."""
        assert self.token_exchange_url, "only profiles with an exchange service have one"
        return f"{self.token_exchange_url.rstrip('/')}/oauth/{name}"

    def transport_problem(self) -> str | None:
        """Why this login would send a code, a token or a secret in the clear; None if not."""
        for url in (
            self.authorize_url,
            self.token_url,
            self.token_exchange_url,
            self.deauthorize_url,
        ):
            if url and insecure_url(url):
                return (
                    f"Log in with {self.display_name} is set up with {url}, which is not an "
                    "https:// address; Ledgerboard sends logins over plain http:// only to "
                    "this computer (127.0.0.1)."
                )
        return None

    @property
    def can_read_sample_data(self) -> bool:
        """A second, test-mode token needs the test platform secret (or the exchange)."""
        return bool(self.token_exchange_url or (self.live_secret and self.test_secret))

    def not_configured_reason(self) -> str:
        if problem := self.transport_problem():
            return problem
        if not self.client_id:
            return (
                f"Log in with {self.display_name} needs the app's client ID, and none is set "
                "up on this computer."
            )
        return (
            f"Log in with {self.display_name} needs either a token-exchange address from "
            "the app's publisher or a platform secret key you own; neither is set up."
        )


def stripe_connect_profile(client_id: str = "", **secrets_or_endpoint) -> ProviderProfile:
    return ProviderProfile(
        name="stripe_connect",
        display_name="Stripe",
        authorize_url="https://connect.stripe.com/oauth/authorize",
        token_url="https://connect.stripe.com/oauth/token",
        deauthorize_url="https://connect.stripe.com/oauth/deauthorize",
        client_id=client_id,
        **secrets_or_endpoint,
    )


def stripe_apps_profile(client_id: str = "", **secrets_or_endpoint) -> ProviderProfile:
    return ProviderProfile(
        name="stripe_apps",
        display_name="Stripe (Stripe Apps)",
        authorize_url="https://marketplace.stripe.com/oauth/v2/authorize",
        token_url="https://api.stripe.com/v1/oauth/token",
        client_id=client_id,
        **secrets_or_endpoint,
    )


def simulator_profile(
    base_url: str,
    live_secret: str | None = None,
    test_secret: str | None = None,
    *,
    token_exchange_url: str | None = None,
) -> ProviderProfile:
    """The simulator's login: with its platform secrets (demo mode), or through an exchange
    service holding them, as a published build logs in to Stripe."""
    return ProviderProfile(
        name="simulator",
        display_name="the Stripe simulator",
        authorize_url=f"{base_url}/oauth/authorize",
        token_url=f"{base_url}/oauth/token",
        deauthorize_url=f"{base_url}/oauth/deauthorize",
        api_base=base_url,
        client_id="ca_ledgerboard_demo",
        token_exchange_url=token_exchange_url,
        live_secret=live_secret,
        test_secret=test_secret,
        # Stripe's token endpoint takes no PKCE verifier, so neither does the exchange service.
        pkce=token_exchange_url is None,
    )


def login_profile(
    provider: str,
    client_id: str,
    token_exchange_url: str | None,
    live_secret: str | None = None,
    test_secret: str | None = None,
) -> ProviderProfile:
    """The browser login that settings (or the build's defaults) describe."""
    make = stripe_apps_profile if provider == "stripe_apps" else stripe_connect_profile
    return make(
        client_id,
        token_exchange_url=token_exchange_url or None,
        live_secret=live_secret,
        test_secret=test_secret,
    )


@dataclass
class Tokens:
    """What a login yields. `live` says the mode of the access token."""

    access_token: str
    refresh_token: str | None
    live: bool
    stripe_user_id: str | None
    expires_at: float | None  # epoch seconds; None: does not expire

    @classmethod
    def from_response(cls, token: dict) -> Tokens:
        expires_in = token.get("expires_in")
        return cls(
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            live=bool(token.get("livemode", True)),
            stripe_user_id=token.get("stripe_user_id"),
            expires_at=time.time() + float(expires_in) if expires_in else None,
        )


# --- the loopback listener ---------------------------------------------------------------


_CLOSE_TAB = """<!doctype html><html><head><meta charset="utf-8"><title>Ledgerboard</title>
<style>body{{font-family:system-ui,sans-serif;background:#f8fafc;color:#0f172a;display:flex;
justify-content:center;padding-top:80px}}main{{background:#fff;border:1px solid #e2e8f0;
border-radius:12px;padding:28px 36px;max-width:420px}}h1{{font-size:20px;margin:0 0 8px}}
p{{color:#475569;line-height:1.5}}</style></head>
<body><main><h1>{title}</h1><p>{text}</p></main></body></html>"""


def _page(title: str, text: str) -> bytes:
    return _CLOSE_TAB.format(title=html.escape(title), text=html.escape(text)).encode()


@dataclass
class RedirectResult:
    code: str | None = None
    error: str | None = None
    error_description: str | None = None


class LoopbackListener:
    """A one-shot HTTP listener on 127.0.0.1 for the OAuth redirect."""

    def __init__(self, state: str) -> None:
        self.state = state
        self.result: RedirectResult | None = None
        self.rejected = 0
        self._done = threading.Event()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener._handle(self)

            def log_message(self, *args) -> None:
                pass

        # Bound to loopback by construction: nothing else on the network can reach it.
        self._server = HTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="oauth-listener", daemon=True
        )

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{CALLBACK_PATH}"

    def start(self) -> None:
        self._thread.start()

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        url = urlsplit(request.path)
        if url.path != CALLBACK_PATH or self._done.is_set():
            return self._answer(request, 404, "Not here", "This address only takes one sign-in.")
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        if not secrets.compare_digest(params.get("state", ""), self.state):
            self.rejected += 1
            log.warning("refused an OAuth redirect with a wrong or missing state")
            return self._answer(
                request,
                400,
                "This sign-in was not started by Ledgerboard",
                "Ledgerboard refused it. Start the login again from the app.",
            )
        if params.get("error"):
            self.result = RedirectResult(
                error=params["error"], error_description=params.get("error_description")
            )
            self._answer(
                request,
                200,
                "Connection cancelled",
                "You denied access; you can close this tab and return to Ledgerboard.",
            )
        elif params.get("code"):
            self.result = RedirectResult(code=params["code"])
            self._answer(
                request,
                200,
                "You can close this tab",
                "Ledgerboard is connected to Stripe and will continue in the app.",
            )
        else:
            return self._answer(request, 400, "Incomplete sign-in", "The redirect carried no code.")
        self._done.set()

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int, title: str, text: str) -> None:
        body = _page(title, text)
        request.send_response(status)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        request.send_header("Content-Length", str(len(body)))
        request.send_header("Connection", "close")
        request.end_headers()
        request.wfile.write(body)

    def wait(self, timeout: float, cancelled: Callable[[], bool]) -> RedirectResult:
        deadline = time.monotonic() + timeout
        try:
            while not self._done.wait(0.05):
                if cancelled():
                    raise Cancelled()
                if time.monotonic() > deadline:
                    raise LoginError(
                        "No answer came from the browser in time. Start the login again, or "
                        "use a restricted API key instead."
                    )  # "restricted API key": the wizard's other way
            return self.result  # type: ignore[return-value]
        finally:
            self.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- the client --------------------------------------------------------------------------


@dataclass
class LoginAttempt:
    """One login in progress: the URL to open and the listener waiting for its redirect."""

    authorize_url: str
    listener: LoopbackListener
    session: OAuth2Session = field(repr=False)


class OAuthClient:
    def __init__(self, profile: ProviderProfile) -> None:
        self.profile = profile

    def _check_transport(self) -> None:
        if problem := self.profile.transport_problem():
            raise LoginError(problem)

    def begin(self) -> LoginAttempt:
        if not self.profile.configured:
            raise LoginError(self.profile.not_configured_reason())
        from requests_oauthlib import OAuth2Session

        state = secrets.token_urlsafe(24)
        listener = LoopbackListener(state)
        session = OAuth2Session(
            self.profile.client_id,
            redirect_uri=listener.redirect_uri,
            scope=self.profile.scope,
            state=state,
            pkce="S256" if self.profile.pkce else None,
        )
        with _insecure_transport_if_loopback(self.profile.authorize_url):
            url, _state = session.authorization_url(self.profile.authorize_url)
        listener.start()
        return LoginAttempt(url, listener, session)

    def finish(
        self,
        attempt: LoginAttempt,
        *,
        timeout: float = LOGIN_TIMEOUT,
        cancelled: Callable[[], bool] = lambda: False,
        live: bool = True,
    ) -> Tokens:
        """Wait for the redirect and exchange its code for tokens of the given mode."""
        import requests
        from oauthlib.oauth2 import OAuth2Error

        result = attempt.listener.wait(timeout, cancelled)
        if result.error:
            if result.error == "access_denied":
                raise LoginError("Access was denied in the browser, so nothing was connected.")
            raise LoginError(
                f"Stripe did not connect the account: {result.error_description or result.error}"
            )
        self._check_transport()
        try:
            if self.profile.token_exchange_url:
                token = self._exchange(
                    "token",
                    {"grant_type": "authorization_code", "code": result.code},
                    live,
                    "Stripe refused to exchange the login for a token",
                )
            else:
                with _insecure_transport_if_loopback(self.profile.token_url):
                    token = attempt.session.fetch_token(
                        self.profile.token_url,
                        code=result.code,
                        include_client_id=True,
                        client_secret=self._secret(live),
                        timeout=30,
                    )
        except (OAuth2Error, requests.RequestException, ValueError) as exc:
            raise LoginError(f"Stripe refused to exchange the login for a token ({exc}).") from exc
        return Tokens.from_response(token)

    def refresh(self, refresh_token: str, *, live: bool) -> Tokens:
        """A new access token (and the rotated refresh token) for the given mode."""
        import requests
        from oauthlib.oauth2 import OAuth2Error
        from requests_oauthlib import OAuth2Session

        self._check_transport()
        try:
            if self.profile.token_exchange_url:
                token = self._exchange(
                    "token",
                    {"grant_type": "refresh_token", "refresh_token": refresh_token},
                    live,
                    "Stripe refused to renew the login; reconnect the account",
                )
            else:
                session = OAuth2Session(self.profile.client_id)
                with _insecure_transport_if_loopback(self.profile.token_url):
                    token = session.refresh_token(
                        self.profile.token_url,
                        refresh_token=refresh_token,
                        timeout=30,
                        client_id=self.profile.client_id,
                        client_secret=self._secret(live),
                    )
        except (OAuth2Error, requests.RequestException, ValueError) as exc:
            raise LoginError(
                f"Stripe refused to renew the login ({exc}); reconnect the account."
            ) from exc
        tokens = Tokens.from_response(token)
        if not tokens.refresh_token:
            tokens.refresh_token = refresh_token  # Connect keeps the same refresh token
        return tokens

    def deauthorize(
        self, stripe_user_id: str, refresh_token: str | None = None, *, live: bool = True
    ) -> None:
        """Revoke the app's access to the account, where the provider can. An exchange service
        wants the login's refresh token, as proof that this is the account's own app."""
        import requests

        if not self.profile.deauthorize_url:
            return
        self._check_transport()
        form = {"client_id": self.profile.client_id, "stripe_user_id": stripe_user_id}
        if self.profile.token_exchange_url:
            if refresh_token:
                form["refresh_token"] = refresh_token
                self._exchange("deauthorize", form, live, "Stripe did not revoke the login")
            return
        secret = self.profile.live_secret or self.profile.test_secret
        if not secret:
            return
        response = requests.post(
            self.profile.deauthorize_url, timeout=30, data=form, auth=(secret, "")
        )
        if response.status_code != 200:
            raise LoginError(f"Stripe did not revoke the login ({_described(response)}).")

    def _exchange(self, endpoint: str, form: dict[str, str], live: bool, failed: str) -> dict:
        """A call to the publisher's exchange service; its errors are Stripe's, in words."""
        import requests

        response = requests.post(
            self.profile.exchange_endpoint(endpoint),
            timeout=30,
            data={**form, "client_id": self.profile.client_id, "livemode": str(live).lower()},
        )
        if response.status_code == 429:
            raise LoginError("The publisher's login service is busy; wait a minute and try again.")
        if response.status_code != 200:
            raise LoginError(f"{failed} ({_described(response)}).")
        token = response.json()
        if not isinstance(token, dict):
            raise LoginError(f"{failed} (the login service answered something else).")
        return token

    def _secret(self, live: bool) -> str | None:
        secret = self.profile.live_secret if live else self.profile.test_secret
        if not secret:
            mode = "live" if live else "test-mode"
            raise LoginError(
                f"No {mode} platform secret is set up for {self.profile.display_name}."
            )
        return secret


def _described(response) -> str:
    """Stripe's OAuth error ({"error", "error_description"}) as a sentence, or the status."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error"):
        return str(body.get("error_description") or body["error"])
    return f"HTTP {response.status_code}"


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _is_loopback(url: str) -> bool:
    return urlsplit(url).hostname in LOOPBACK_HOSTS


def insecure_url(url: str) -> bool:
    """True for an address that may not carry a login: anything but https://, except
    http:// to this computer."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return False
    return not (parts.scheme == "http" and _is_loopback(url))


_transport_lock = threading.RLock()


@contextlib.contextmanager
def _insecure_transport_if_loopback(url: str) -> Iterator[None]:
    """oauthlib refuses plain http:// unless OAUTHLIB_INSECURE_TRANSPORT is set, and reads it
    from the process's environment. It is set only around a call to a loopback address, and
    every oauthlib call takes the same lock, so no other login can run while it is set."""
    with _transport_lock:
        if not _is_loopback(url):
            yield
            return
        before = os.environ.get("OAUTHLIB_INSECURE_TRANSPORT")
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
        try:
            yield
        finally:
            if before is None:
                del os.environ["OAUTHLIB_INSECURE_TRANSPORT"]
            else:
                os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = before

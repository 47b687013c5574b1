"""The simulator's OAuth provider, shaped like Stripe Connect's.

Authorization codes are one-shot; access tokens expire (an hour by default, on the simulator's
clock); refresh tokens rotate on every use. As on Stripe Connect, the token's mode is the mode
of the platform secret used at the token endpoint, so one grant's refresh token can mint a
test-mode token beside the live one: that is how sample data ends up beside real data.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from desktop.simulator.dataset import Clock


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str | None
    used: bool = False


@dataclass
class _Grant:
    stripe_user_id: str
    scope: str
    revoked: bool = False


@dataclass
class _AccessToken:
    grant: _Grant
    live: bool
    expires_at: int


@dataclass
class OAuthProvider:
    account_id: str
    clock: Clock
    live_secret: str = "sk_live_ledgerboard_simulator_platform"
    test_secret: str = "sk_test_ledgerboard_simulator_platform"
    token_ttl: int = 3600
    _codes: dict[str, _Code] = field(default_factory=dict)
    _refresh: dict[str, _Grant] = field(default_factory=dict)
    _tokens: dict[str, _AccessToken] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- the browser side ----------------------------------------------------------------

    @staticmethod
    def check_authorize_request(params: dict) -> None:
        if params.get("response_type") != "code":
            raise OAuthError("invalid_request", "response_type must be 'code'.")
        if not str(params.get("client_id", "")).startswith("ca_"):
            raise OAuthError("invalid_client", "Unknown client_id; it starts with 'ca_'.")
        redirect = urlsplit(str(params.get("redirect_uri", "")))
        if redirect.scheme != "http" or redirect.hostname not in ("127.0.0.1", "localhost"):
            raise OAuthError(
                "invalid_redirect_uri", "redirect_uri must be a loopback http:// address."
            )

    def approve(self, params: dict) -> str:
        """The redirect URL after the user clicked Approve: carries a one-shot code."""
        self.check_authorize_request(params)
        code = "ac_" + secrets.token_urlsafe(24)
        challenge = params.get("code_challenge") or None
        if challenge and params.get("code_challenge_method", "plain") != "S256":
            raise OAuthError("invalid_request", "code_challenge_method must be S256.")
        with self._lock:
            self._codes[code] = _Code(
                client_id=params["client_id"],
                redirect_uri=params["redirect_uri"],
                scope=params.get("scope") or "read_only",
                challenge=challenge,
            )
        return _with_query(
            params["redirect_uri"],
            {
                "code": code,
                "scope": params.get("scope") or "read_only",
                "state": params.get("state"),
            },
        )

    @staticmethod
    def deny(params: dict) -> str:
        OAuthProvider.check_authorize_request(params)
        return _with_query(
            params["redirect_uri"],
            {
                "error": "access_denied",
                "error_description": "The user denied your request",
                "state": params.get("state"),
            },
        )

    # --- the token endpoint --------------------------------------------------------------

    def _mode_of_secret(self, secret: str | None) -> bool:
        if secret == self.live_secret:
            return True
        if secret == self.test_secret:
            return False
        raise OAuthError("invalid_client", "No valid platform secret key was provided.", 401)

    def token(self, form: dict, client_secret: str | None) -> dict:
        live = self._mode_of_secret(form.get("client_secret") or client_secret)
        grant_type = form.get("grant_type")
        with self._lock:
            if grant_type == "authorization_code":
                grant = self._redeem_code(form)
            elif grant_type == "refresh_token":
                grant = self._refresh.pop(str(form.get("refresh_token", "")), None)
                if grant is None or grant.revoked:
                    raise OAuthError("invalid_grant", "Refresh token is unknown or already used.")
            else:
                raise OAuthError(
                    "unsupported_grant_type", f"Unsupported grant_type {grant_type!r}."
                )
            mode = "live" if live else "test"
            access = f"sk_{mode}_oa" + secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")
            refresh = "rt_" + secrets.token_urlsafe(32)
            self._tokens[access] = _AccessToken(grant, live, self.clock.now() + self.token_ttl)
            self._refresh[refresh] = grant
        return {
            "access_token": access,
            "expires_in": self.token_ttl,
            "livemode": live,
            "refresh_token": refresh,
            "scope": grant.scope,
            "stripe_publishable_key": f"pk_{mode}_" + self.account_id[5:],
            "stripe_user_id": grant.stripe_user_id,
            "token_type": "bearer",
        }

    def _redeem_code(self, form: dict) -> _Grant:
        code = self._codes.get(str(form.get("code", "")))
        if code is None or code.used:
            raise OAuthError("invalid_grant", "Authorization code does not exist or was used.")
        code.used = True
        if code.challenge:
            verifier = str(form.get("code_verifier", ""))
            digest = hashlib.sha256(verifier.encode()).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if expected != code.challenge:
                raise OAuthError("invalid_grant", "code_verifier does not match code_challenge.")
        return _Grant(stripe_user_id=self.account_id, scope=code.scope)

    def deauthorize(self, form: dict, client_secret: str | None) -> dict:
        self._mode_of_secret(form.get("client_secret") or client_secret)
        user = form.get("stripe_user_id")
        if user != self.account_id:
            raise OAuthError("invalid_client", f"No such user: {user}")
        with self._lock:
            for token in self._tokens.values():
                token.grant.revoked = True
            self._refresh.clear()
        return {"stripe_user_id": user}

    # --- API access ----------------------------------------------------------------------

    def check_token(self, key: str) -> tuple[bool, str | None] | None:
        """(live, problem) for a token this provider issued; None for any other key."""
        with self._lock:
            token = self._tokens.get(key)
        if token is None:
            return None
        if token.grant.revoked:
            return token.live, "revoked"
        if token.expires_at <= self.clock.now():
            return token.live, "expired"
        return token.live, None

    def expire_all(self) -> None:
        """Test hook: every access token issued so far expires now."""
        with self._lock:
            for token in self._tokens.values():
                token.expires_at = self.clock.now()


def _with_query(url: str, params: dict) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{url}{'&' if '?' in url else '?'}{query}"


def authorize_page(params: dict, account_name: str) -> str:
    """The sign-in and consent page: plain HTML a real browser renders and a test clicks."""
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(str(v))}">'
        for k, v in params.items()
        if k
        in (
            "client_id",
            "redirect_uri",
            "state",
            "scope",
            "response_type",
            "code_challenge",
            "code_challenge_method",
        )
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Connect to Ledgerboard · Stripe simulator</title>
<style>
body{{font-family:system-ui,sans-serif;background:#f6f9fc;margin:0;display:flex;
justify-content:center;padding-top:60px;color:#1a1f36}}
main{{background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:32px 36px;
width:380px}}
h1{{font-size:20px;margin:0 0 6px}} p{{color:#4f566b;font-size:14px;line-height:1.5}}
label{{display:block;font-size:13px;margin:14px 0 4px;color:#4f566b}}
input[type=email],input[type=password]{{width:100%;box-sizing:border-box;padding:9px 10px;
border:1px solid #cfd7df;border-radius:6px;font-size:14px}}
.buttons{{display:flex;gap:10px;margin-top:22px}}
button{{flex:1;padding:10px;border-radius:6px;font-size:14px;font-weight:600;cursor:pointer}}
#approve{{background:#635bff;color:#fff;border:none}}
#deny{{background:#fff;color:#1a1f36;border:1px solid #cfd7df}}
small{{display:block;color:#8792a2;margin-top:18px}}
</style></head>
<body><main>
<h1>Connect Ledgerboard to {html.escape(account_name)}</h1>
<p>Ledgerboard is asking for <strong>read-only</strong> access to your Stripe data:
charges, customers, invoices, payouts and related objects.</p>
<form method="post" action="/oauth/authorize">
{hidden}
<label for="email">Email</label>
<input type="email" id="email" name="email" value="demo@example.com" autocomplete="username">
<label for="password">Password</label>
<input type="password" id="password" name="password" value="demo" autocomplete="current-password">
<div class="buttons">
<button type="submit" id="deny" name="decision" value="deny">Deny</button>
<button type="submit" id="approve" name="decision" value="approve">Approve</button>
</div>
</form>
<small>Stripe simulator · no real account is involved</small>
</main></body></html>"""


def closed_page(title: str, text: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>"
        f"{html.escape(title)}</title></head><body style='font-family:system-ui;padding:40px'>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )

"""The service's configuration, read from the environment once at start-up.

A wrong setting stops the service with a sentence saying which and why, before it listens.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

CONNECT_TOKEN_URL = "https://connect.stripe.com/oauth/token"
CONNECT_DEAUTHORIZE_URL = "https://connect.stripe.com/oauth/deauthorize"
APPS_TOKEN_URL = "https://api.stripe.com/v1/oauth/token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class ConfigError(Exception):
    """The environment does not describe a service that can run; the message says why."""


@dataclass(frozen=True)
class Config:
    live_secret: str | None  # the platform's live secret (or restricted) key
    test_secret: str | None  # its test-mode twin: tokens for sample data
    client_ids: frozenset[str]  # the app's OAuth client ids (ca_...) this service serves
    token_url: str
    deauthorize_url: str | None  # None: the flavour has no deauthorize (Stripe Apps)
    host: str = "127.0.0.1"
    port: int = 8080
    rate_limit: int = 30  # requests a minute from one client address
    trusted_proxies: str = "127.0.0.1"  # whose X-Forwarded-For/-Proto are believed
    tls_cert: str | None = None
    tls_key: str | None = None
    max_body: int = 4096  # bytes; a token request is a few hundred
    upstream_timeout: float = 20.0  # seconds for Stripe to answer

    def secret(self, live: bool) -> str | None:
        return self.live_secret if live else self.test_secret

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Config:
        def get(name: str) -> str:
            return environ.get(name, "").strip()

        live, test = (
            get("EXCHANGE_LIVE_SECRET_KEY") or None,
            get("EXCHANGE_TEST_SECRET_KEY") or None,
        )
        if not live and not test:
            raise ConfigError(
                "Set EXCHANGE_LIVE_SECRET_KEY (and EXCHANGE_TEST_SECRET_KEY for sample data) "
                "to the platform's Stripe secret keys."
            )
        if live and not live.startswith(("sk_live_", "rk_live_")):
            raise ConfigError("EXCHANGE_LIVE_SECRET_KEY is not a live secret key.")
        if test and not test.startswith(("sk_test_", "rk_test_")):
            raise ConfigError("EXCHANGE_TEST_SECRET_KEY is not a test secret key.")
        client_ids = frozenset(
            c.strip() for c in get("EXCHANGE_CLIENT_IDS").split(",") if c.strip()
        )
        if not client_ids:
            raise ConfigError("Set EXCHANGE_CLIENT_IDS to the app's client id(s), comma-separated.")
        if bad := sorted(c for c in client_ids if not c.startswith("ca_")):
            raise ConfigError(f"EXCHANGE_CLIENT_IDS: {bad[0]!r} is not a client id (ca_...).")

        flavour = get("EXCHANGE_STRIPE") or "connect"
        if flavour not in ("connect", "apps"):
            raise ConfigError(
                "EXCHANGE_STRIPE is 'connect' (Stripe Connect) or 'apps' (Stripe Apps)."
            )
        token_url = get("EXCHANGE_STRIPE_TOKEN_URL") or (
            CONNECT_TOKEN_URL if flavour == "connect" else APPS_TOKEN_URL
        )
        deauthorize_url = (
            get("EXCHANGE_STRIPE_DEAUTHORIZE_URL")
            if "EXCHANGE_STRIPE_DEAUTHORIZE_URL" in environ
            else (CONNECT_DEAUTHORIZE_URL if flavour == "connect" else "")
        ) or None
        for name, url in (("token", token_url), ("deauthorize", deauthorize_url)):
            if url and (problem := insecure_url_problem(url)):
                raise ConfigError(f"The Stripe {name} URL {problem}")

        port_text = get("EXCHANGE_PORT") or get("PORT") or "8080"
        rate_text = get("EXCHANGE_RATE_LIMIT") or "30"
        try:
            port, rate_limit = int(port_text), int(rate_text)
        except ValueError as exc:
            raise ConfigError(
                f"EXCHANGE_PORT and EXCHANGE_RATE_LIMIT are numbers ({exc})."
            ) from exc
        if not 0 <= port <= 65535 or rate_limit < 1:
            raise ConfigError("EXCHANGE_PORT is 0..65535 and EXCHANGE_RATE_LIMIT at least 1.")
        tls_cert, tls_key = get("EXCHANGE_TLS_CERT") or None, get("EXCHANGE_TLS_KEY") or None
        if bool(tls_cert) != bool(tls_key):
            raise ConfigError("Set both EXCHANGE_TLS_CERT and EXCHANGE_TLS_KEY, or neither.")
        return cls(
            live_secret=live,
            test_secret=test,
            client_ids=client_ids,
            token_url=token_url,
            deauthorize_url=deauthorize_url,
            host=get("EXCHANGE_HOST") or "127.0.0.1",
            port=port,
            rate_limit=rate_limit,
            trusted_proxies=get("EXCHANGE_TRUSTED_PROXIES") or "127.0.0.1",
            tls_cert=tls_cert,
            tls_key=tls_key,
        )


def is_loopback(host: str | None) -> bool:
    return host in LOOPBACK_HOSTS


def insecure_url_problem(url: str) -> str | None:
    """Why a URL may not carry a secret; None when it is HTTPS, or plain HTTP on loopback."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return None
    return f"{url!r} is not an https:// address (plain http:// only on 127.0.0.1)."

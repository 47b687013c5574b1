"""The HTTP side: three endpoints the desktop app calls, each forwarded to Stripe with the
platform's secret added, and Stripe's answer (or its error, in Stripe's OAuth error format)
returned as it came.

    POST /oauth/token        grant_type=authorization_code&code=... or
                             grant_type=refresh_token&refresh_token=...,
                             client_id=ca_..., livemode=true|false (which secret key)
    POST /oauth/deauthorize  client_id=ca_..., stripe_user_id=acct_..., refresh_token=... (proof
                             that the caller holds the account's login), livemode=true|false
    GET  /healthz            for a platform's health check

Nothing is kept: no database, no cache, and the log says which endpoint answered what, never
a code, a token or a key.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from exchange import __version__
from exchange.config import Config, is_loopback
from exchange.limits import RateLimiter, retry_after

log = logging.getLogger("exchange")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
TOKEN_FIELDS = {
    "authorization_code": {"grant_type", "code", "client_id", "livemode"},
    "refresh_token": {"grant_type", "refresh_token", "client_id", "livemode"},
}
DEAUTHORIZE_FIELDS = {"client_id", "stripe_user_id", "refresh_token", "livemode"}


class OAuthError(Exception):
    """An answer in Stripe's OAuth error format: {"error": ..., "error_description": ...}."""

    def __init__(
        self, status: int, error: str, description: str, headers: dict | None = None
    ) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description
        self.headers = headers or {}


def oauth_error(status: int, error: str, description: str, headers: dict | None = None):
    body = {"error": error, "error_description": description}
    return JSONResponse(body, status, headers={**NO_STORE, **(headers or {})})


class GuardMiddleware:
    """Before any endpoint: HTTPS (except from loopback), no browsers, a rate limit per client
    address and a cap on the body's size. Every refusal is in Stripe's error format."""

    def __init__(self, app: ASGIApp, config: Config) -> None:
        self.app = app
        self.config = config
        self.limiter = RateLimiter(config.rate_limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.monotonic()
        request = Request(scope)
        address = request.client.host if request.client else "unknown"
        status_seen: list[int] = []

        async def send_noting_status(message) -> None:
            if message["type"] == "http.response.start":
                status_seen.append(message["status"])
            await send(message)

        refusal = self._refusal(request, address)
        try:
            if refusal is not None:
                await refusal(scope, receive, send_noting_status)
            else:
                await self.app(scope, self._capped(receive), send_noting_status)
        except Exception as exc:
            # Answered here, so that no server prints a traceback: its text could quote what
            # it was handling. The type is enough to find the bug.
            log.error("internal error: %s", type(exc).__name__)
            if not status_seen:
                error = oauth_error(500, "server_error", "The exchange failed; try again later.")
                await error(scope, receive, send_noting_status)
        finally:
            # The path only: a query string could carry a code, and bodies are never logged.
            log.info(
                "%s %s %s %.0fms from %s",
                request.method,
                scope["path"][:100],
                status_seen[0] if status_seen else "-",
                (time.monotonic() - started) * 1000,
                address,
            )

    def _refusal(self, request: Request, address: str) -> Response | None:
        if request.url.scheme != "https" and not is_loopback(address):
            return oauth_error(403, "invalid_request", "This service only answers over HTTPS.")
        if "origin" in request.headers or request.method == "OPTIONS":
            # CORS stays closed: the desktop app never sends Origin; a page's fetch or form does.
            return oauth_error(403, "invalid_request", "Web browsers may not call this service.")
        if request.url.path != "/healthz":
            wait = self.limiter.take(address)
            if wait:
                return oauth_error(
                    429,
                    "rate_limit",
                    "Too many requests from this address; try again shortly.",
                    {"Retry-After": retry_after(wait)},
                )
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.config.max_body):
            return oauth_error(413, "invalid_request", "The request body is too large.")
        return None

    def _capped(self, receive: Receive) -> Receive:
        """A body sent in chunks, without a length, is cut off at the same cap."""
        seen = 0
        limit = self.config.max_body

        async def capped() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise OAuthError(413, "invalid_request", "The request body is too large.")
            return message

        return capped


async def read_form(request: Request, allowed: set[str]) -> dict[str, str]:
    if request.headers.get("content-type", "").split(";")[0].strip() != (
        "application/x-www-form-urlencoded"
    ):
        raise OAuthError(
            400, "invalid_request", "Send the parameters form-encoded (x-www-form-urlencoded)."
        )
    body = await request.body()
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as exc:
        raise OAuthError(400, "invalid_request", "The form could not be read.") from exc
    form = dict(pairs)
    if len(form) != len(pairs):
        raise OAuthError(400, "invalid_request", "A parameter was sent more than once.")
    if unknown := sorted(set(form) - allowed):
        raise OAuthError(400, "invalid_request", f"Received unknown parameter: {unknown[0][:40]}")
    return form


class Exchange:
    """The endpoints, holding the configuration and one HTTP client to Stripe."""

    def __init__(self, config: Config, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._transport = transport
        self.http: httpx.AsyncClient | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(
            timeout=self.config.upstream_timeout,
            transport=self._transport,
            follow_redirects=False,
            headers={"User-Agent": f"ledgerboard-exchange/{__version__}"},
        ) as self.http:
            yield

    def _client_and_secret(self, form: dict[str, str]) -> tuple[str, str]:
        client_id = form.get("client_id", "")
        if not client_id:
            raise OAuthError(400, "invalid_request", "No client_id was provided.")
        if client_id not in self.config.client_ids:
            raise OAuthError(400, "invalid_client", "This exchange does not serve that client_id.")
        livemode = form.get("livemode", "true")
        if livemode not in ("true", "false"):
            raise OAuthError(400, "invalid_request", "livemode is 'true' or 'false'.")
        live = livemode == "true"
        secret = self.config.secret(live)
        if not secret:
            mode = "live" if live else "test"
            raise OAuthError(
                401,
                "invalid_client",
                f"This exchange has no {mode}-mode secret key, so it cannot ask Stripe for "
                f"{mode}-mode tokens.",
            )
        return client_id, secret

    async def token(self, request: Request) -> Response:
        form = await read_form(request, set().union(*TOKEN_FIELDS.values()))
        grant_type = form.get("grant_type", "")
        if grant_type not in TOKEN_FIELDS:
            raise OAuthError(
                400,
                "unsupported_grant_type",
                "grant_type is authorization_code or refresh_token.",
            )
        if unknown := sorted(set(form) - TOKEN_FIELDS[grant_type]):
            raise OAuthError(400, "invalid_request", f"Received unknown parameter: {unknown[0]}")
        needed = "code" if grant_type == "authorization_code" else "refresh_token"
        if not form.get(needed):
            raise OAuthError(400, "invalid_request", f"No {needed} was provided.")
        _client_id, secret = self._client_and_secret(form)
        upstream = {"grant_type": grant_type, needed: form[needed]}
        return await self._forward(self.config.token_url, upstream, secret)

    async def deauthorize(self, request: Request) -> Response:
        form = await read_form(request, DEAUTHORIZE_FIELDS)
        if not self.config.deauthorize_url:
            raise OAuthError(
                400, "invalid_request", "This Stripe flavour has no deauthorize endpoint."
            )
        for needed in ("stripe_user_id", "refresh_token"):
            if not form.get(needed):
                raise OAuthError(400, "invalid_request", f"No {needed} was provided.")
        client_id, secret = self._client_and_secret(form)
        # Anyone can learn an account id; only its own login holds the refresh token. Renewing
        # it proves the caller holds it, and the account is disconnected right after anyway.
        proof = {"grant_type": "refresh_token", "refresh_token": form["refresh_token"]}
        status, body = await self._call(self.config.token_url, proof, secret)
        if status != 200:
            return JSONResponse(body, status, headers=NO_STORE)
        if body.get("stripe_user_id") != form["stripe_user_id"]:
            raise OAuthError(400, "invalid_grant", "That refresh token belongs to another account.")
        upstream = {"client_id": client_id, "stripe_user_id": form["stripe_user_id"]}
        return await self._forward(self.config.deauthorize_url, upstream, secret)

    async def _forward(self, url: str, form: dict[str, str], secret: str) -> Response:
        status, body = await self._call(url, form, secret)
        return JSONResponse(body, status, headers=NO_STORE)

    async def _call(self, url: str, form: dict[str, str], secret: str) -> tuple[int, dict]:
        assert self.http is not None, "the lifespan opens the client"
        try:
            answer = await self.http.post(url, data=form, auth=(secret, ""))
        except httpx.TimeoutException as exc:
            raise OAuthError(
                504, "temporarily_unavailable", "Stripe did not answer in time; try again."
            ) from exc
        except httpx.HTTPError as exc:
            raise OAuthError(
                503, "temporarily_unavailable", "Stripe could not be reached; try again."
            ) from exc
        try:
            body = answer.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise OAuthError(
                502,
                "temporarily_unavailable",
                f"Stripe answered {answer.status_code} without JSON.",
            )
        log.info(
            "Stripe answered %s%s (request %s)",
            answer.status_code,
            f" {str(body.get('error'))[:40]}" if "error" in body else "",
            answer.headers.get("request-id", "-")[:40],
        )
        return answer.status_code, body


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


async def answer_oauth_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OAuthError)
    return oauth_error(exc.status, exc.error, exc.description, exc.headers)


async def answer_http_exception(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error = "invalid_request"
    description = {404: "No such endpoint.", 405: "That method is not allowed here."}.get(
        exc.status_code, "The request was refused."
    )
    return oauth_error(exc.status_code, error, description, dict(exc.headers or {}))


def create_app(config: Config, transport: httpx.AsyncBaseTransport | None = None) -> Starlette:
    exchange = Exchange(config, transport)
    return Starlette(
        routes=[
            Route("/oauth/token", exchange.token, methods=["POST"]),
            Route("/oauth/deauthorize", exchange.deauthorize, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        middleware=[Middleware(GuardMiddleware, config=config)],
        exception_handlers={
            OAuthError: answer_oauth_error,
            HTTPException: answer_http_exception,
        },
        lifespan=exchange.lifespan,
    )

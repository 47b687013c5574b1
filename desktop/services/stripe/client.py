"""Talking to Stripe (or anything that answers like it): one client per account and mode.

Requests go through the official SDK's `StripeClient` with the API version pinned, list pages
are read as raw JSON (turning items into SDK objects costs ~250 µs each, more than Stripe's own
throughput ceiling), and every request passes one rate limiter shared by the account's data
sources. Failures are sorted into what the sync can act on:

- 429, 5xx, dropped connections, unreadable bodies: retried with backoff and jitter;
  after that `TransientError` (the data source is marked failed and tried again later);
- 401: `NeedsReconnect` (after one token refresh, for OAuth accounts);
- 403: `NotPermitted` for that data type;
- anything else Stripe refuses: `StripeRequestError` with Stripe's message.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from desktop.services.gui_first import GuiFirst
from desktop.services.stripe.errors import (  # noqa: F401  (named here by the sync and its tests)
    Cancelled,
    InvalidRequest,
    NeedsReconnect,
    NotPermitted,
    StripeRequestError,
    SyncError,
    TransientError,
)

if TYPE_CHECKING:
    import stripe

log = logging.getLogger(__name__)


def pinned_api_version() -> str:
    """The API version every request asks for: the SDK's own. The SDK (with requests and
    urllib3, about 70 ms) is imported when the first client is made, not when the app starts."""
    import stripe

    return stripe.api_version


# Stripe's documented read limits per second; the limiter starts at 80% of them.
STRIPE_READ_LIMITS = {True: 100.0, False: 25.0}
START_SHARE = 0.8
# Requests the limiter may save up, in seconds of its rate: a thread that wakes late for its turn
# keeps it, and a twentieth of a second is far inside the burst Stripe's token bucket allows.
SAVED_SECONDS = 0.05
REQUEST_TIMEOUT = 30  # seconds per request


class Credentials(Protocol):
    """Where a client gets the secret for one mode, and a fresh one after a 401."""

    def secret(self, live: bool) -> str: ...

    def refresh(self, live: bool) -> str | None:
        """A new secret after the old one expired, or None when there is no way to get one."""


@dataclass
class StaticKey:
    """An API key given on the command line or checked in the wizard: no refresh."""

    key: str

    def secret(self, live: bool) -> str:
        return self.key

    def refresh(self, live: bool) -> str | None:
        return None


def key_is_live(key: str) -> bool:
    return "_live_" in key


class RateLimiter:
    """A token bucket that starts at 80% of Stripe's limit and learns from 429s.

    While requests succeed the rate creeps up towards the documented limit (never above);
    each 429 cuts it by a fifth. One limiter is shared by all data sources of an account
    and mode, across threads. It saves up a few requests (SAVED_SECONDS), no more.
    """

    def __init__(
        self,
        limit: float,
        start_share: float = START_SHARE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = limit
        self.rate = limit * start_share
        self.floor = max(1.0, limit * 0.2)
        self.most = max(1.0, limit * SAVED_SECONDS)  # the tokens it may hold
        self._clock = clock
        self._sleep = sleep
        self._tokens = 1.0
        self._stamp = clock()
        self._lock = threading.Lock()
        self._since_throttle = 0

    def acquire(self, cancelled: Callable[[], bool] = lambda: False) -> None:
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.most, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                wait = (1.0 - self._tokens) / self.rate
            if cancelled():
                raise Cancelled()
            self._sleep(min(wait, 0.25))

    def succeeded(self) -> None:
        with self._lock:
            self._since_throttle += 1
            if self._since_throttle >= 20 and self.rate < self.limit:
                self.rate = min(self.limit, self.rate + self.limit * 0.02)
                self._since_throttle = 0

    def throttled(self) -> None:
        with self._lock:
            self.rate = max(self.floor, self.rate * 0.8)
            self._since_throttle = 0
            self._tokens = min(self._tokens, 0.0)


@dataclass
class RetryPolicy:
    attempts: int = 8
    base_delay: float = 0.25
    max_delay: float = 8.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


@dataclass
class RequestStats:
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, requests: int = 0, retries: int = 0, throttled: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.retries += retries
            self.throttled += throttled


class StripeApi:
    """Reads one account in one mode: raw list pages and objects by id."""

    def __init__(
        self,
        credentials: Credentials,
        live: bool,
        *,
        api_base: str | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        stats: RequestStats | None = None,
        gui_first: GuiFirst | None = None,
    ) -> None:
        self.credentials = credentials
        self.live = live
        self.api_base = api_base
        self.limiter = limiter or RateLimiter(STRIPE_READ_LIMITS[live])
        self.retry = retry or RetryPolicy()
        self.stats = stats or RequestStats()
        self.gui_first = gui_first or GuiFirst()  # each answer is read after giving way
        from desktop.services.stripe.http import StripeHTTPClient

        self._http = StripeHTTPClient(timeout=REQUEST_TIMEOUT)  # kept across refreshes
        self._client = self._make_client(credentials.secret(live))
        self._client_lock = threading.Lock()
        self._local = threading.local()

    def _make_client(self, secret: str) -> stripe.StripeClient:
        import stripe

        # The SDK would report our request timings to Stripe in a header; a local-first app
        # sends Stripe only what a request needs.
        stripe.enable_telemetry = False
        bases = {"api": self.api_base} if self.api_base else None
        return stripe.StripeClient(
            secret,
            base_addresses=bases,
            stripe_version=pinned_api_version(),
            max_network_retries=0,  # retries are ours: jitter, 429 backoff, cancellation
            http_client=self._http,
        )

    def get(
        self,
        path: str,
        params: dict | None = None,
        *,
        list_page: bool = False,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> dict:
        """GET a path and return the parsed JSON; retries what is worth retrying."""
        import stripe  # imported already: this client was made with it

        from desktop.services.stripe.http import loads_strict, parse_list_page

        refreshed = False
        attempt = 0
        while True:
            if cancelled():
                raise Cancelled()
            self.limiter.acquire(cancelled)
            self.stats.add(requests=1)
            try:
                asked = time.monotonic()
                with self._http.capture():
                    self._client.raw_request("get", path, **(params or {}))
                self._local.round_trip = time.monotonic() - asked
                body = self._http.taken()
                self.limiter.succeeded()
                self.gui_first.give_way()
                return parse_list_page(body) if list_page else loads_strict(body)
            except (ValueError, UnicodeDecodeError):
                problem = "Stripe sent a response Ledgerboard could not read"
            except stripe.RateLimitError:
                self.limiter.throttled()
                self.stats.add(throttled=1)
                problem = "Stripe asked Ledgerboard to slow down (429)"
            except stripe.AuthenticationError as exc:
                if not refreshed and self._refresh():
                    refreshed = True
                    continue
                raise NeedsReconnect(
                    "Stripe no longer accepts this account's key or token "
                    f"({_stripe_message(exc)}). Reconnect the account to resume syncing; "
                    "the data already imported stays."
                ) from exc
            except stripe.PermissionError as exc:
                raise NotPermitted(
                    f"The key cannot read this data: {_stripe_message(exc)} Grant it read "
                    "access in the Stripe Dashboard (or use another key), then sync again."
                ) from exc
            except stripe.APIConnectionError as exc:
                problem = f"could not reach Stripe ({_stripe_message(exc)})"
            except stripe.APIError as exc:
                problem = f"Stripe answered with an error ({_stripe_message(exc)})"
            except stripe.InvalidRequestError as exc:
                raise InvalidRequest(
                    f"Stripe refused a request: {_stripe_message(exc)}",
                    code=getattr(exc, "code", None),
                    http_status=exc.http_status,
                ) from exc
            except stripe.StripeError as exc:
                if exc.http_status and exc.http_status >= 500:
                    problem = f"Stripe answered with an error ({_stripe_message(exc)})"
                else:
                    raise StripeRequestError(
                        f"Stripe refused a request: {_stripe_message(exc)}"
                    ) from exc
            attempt += 1
            self.stats.add(retries=1)
            if attempt >= self.retry.attempts:
                raise TransientError(
                    f"Ledgerboard {problem} and gave up after {attempt} tries; it will try again "
                    "at the next update."
                )
            delay = self.retry.delay(attempt)
            log.info("retrying %s in %.2fs: %s", path, delay, problem)
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline:
                if cancelled():
                    raise Cancelled()
                time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    def last_round_trip(self) -> float:
        """Seconds this thread's last successful request took, from asking to the whole
        answer read (waiting for the rate limiter not included)."""
        return getattr(self._local, "round_trip", 0.0)

    def _refresh(self) -> bool:
        with self._client_lock:
            secret = self.credentials.refresh(self.live)
            if not secret:
                return False
            self._client = self._make_client(secret)
            return True

    def list_page(
        self,
        path: str,
        *,
        limit: int = 100,
        starting_after: str | None = None,
        ending_before: str | None = None,
        created: dict | None = None,
        extra: dict | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> dict:
        params: dict = {"limit": limit}
        if starting_after:
            params["starting_after"] = starting_after
        if ending_before:
            params["ending_before"] = ending_before
        if created:
            params["created"] = created
        if extra:
            params.update(extra)
        page = self.get(path, params, list_page=True, cancelled=cancelled)
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            raise TransientError(f"Stripe sent an unreadable list for {path}; it will be retried.")
        return page


def _stripe_message(exc: stripe.StripeError) -> str:
    message = getattr(exc, "user_message", None) or str(exc) or exc.__class__.__name__
    return message.strip()


class StripeClients:
    """One StripeApi per account and mode, made when a sync first asks for it (the sync
    engine's `api_for`), with one rate limiter per account and mode that outlives the client
    (a reconnect makes a new client under the same limit) and one count of requests.

    `account` gives an account's credentials and API base (None: Stripe's); set
    `requests_per_second` for a server with no documented limit (the simulator, benchmarks)."""

    def __init__(
        self,
        account: Callable[[int], tuple[Credentials, str | None]],
        *,
        stats: RequestStats | None = None,
        gui_first: GuiFirst | None = None,
    ) -> None:
        self._account = account
        self.stats = stats or RequestStats()
        self.gui_first = gui_first
        self.requests_per_second: float | None = None
        self._apis: dict[tuple[int, bool], StripeApi] = {}
        self._limiters: dict[tuple[int, bool], RateLimiter] = {}
        self._lock = threading.Lock()

    def __call__(self, account_id: int, live: bool) -> StripeApi:
        with self._lock:
            key = (account_id, live)
            if key not in self._apis:
                credentials, api_base = self._account(account_id)
                limiter = self._limiters.setdefault(
                    key,
                    RateLimiter(self.requests_per_second, start_share=1.0)
                    if self.requests_per_second
                    else RateLimiter(STRIPE_READ_LIMITS[live]),
                )
                self._apis[key] = StripeApi(
                    credentials,
                    live,
                    api_base=api_base,
                    limiter=limiter,
                    stats=self.stats,
                    gui_first=self.gui_first,
                )
            return self._apis[key]

    def forget(self, account_id: int) -> None:
        """Drop the account's clients after its secrets changed (reconnect)."""
        with self._lock:
            for live in (True, False):
                self._apis.pop((account_id, live), None)

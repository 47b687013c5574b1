"""The simulator's HTTP server: Stripe's read API and OAuth pages on 127.0.0.1.

It follows Stripe's rules where a client can tell: newest-first lists, `limit` 1..100,
cursors, `created` filters, `expand[]`, `types[]`, form-style (bracketed) query parameters,
errors in Stripe's JSON shape with Stripe's status codes, a rate limit and injected faults.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import random
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import islice
from urllib.parse import parse_qsl, urlsplit

from desktop.simulator.dataset import Clock, Dataset, object_live
from desktop.simulator.mutations import Mutations
from desktop.simulator.oauth import OAuthError, OAuthProvider, authorize_page, closed_page

log = logging.getLogger(__name__)

LISTABLE = {
    "balance_transactions": ("created", "currency", "payout", "source", "type"),
    "charges": ("created", "customer", "payment_intent", "transfer_group"),
    "customers": ("created", "email", "test_clock"),
    "disputes": ("charge", "created", "payment_intent"),
    "invoices": ("collection_method", "created", "customer", "due_date", "status", "subscription"),
    "invoice_payments": ("created", "invoice"),
    "payment_intents": ("created", "customer"),
    "payouts": ("arrival_date", "created", "destination", "status"),
    "refunds": ("charge", "created", "payment_intent"),
}
PAGING = ("limit", "starting_after", "ending_before", "expand")
# List filters whose field the pinned API version keeps elsewhere in the object.
FILTER_PATHS = {("invoices", "subscription"): ("parent", "subscription_details", "subscription")}
PREFIXES = {
    "ch": "charges",
    "cus": "customers",
    "pi": "payment_intents",
    "re": "refunds",
    "dp": "disputes",
    "in": "invoices",
    "txn": "balance_transactions",
    "inpay": "invoice_payments",
    "po": "payouts",
}
OBJECT_NAMES = {
    "charges": "charge",
    "customers": "customer",
    "payment_intents": "payment_intent",
    "refunds": "refund",
    "disputes": "dispute",
    "invoices": "invoice",
    "balance_transactions": "balance_transaction",
    "invoice_payments": "invoice_payment",
    "payouts": "payout",
}
# What a restricted key needs for each resource the simulator serves.
PERMISSIONS = {
    **{t: t for t in LISTABLE},
    "invoice_payments": "invoices",
    "events": "events",
    "balance": "balance",
    "account": "account",
}
KEY_PATTERN = re.compile(r"^(sk|rk)_(test|live)_[0-9A-Za-z_]{8,}$")


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type_}}
        if code:
            self.body["error"]["code"] = code
        if param:
            self.body["error"]["param"] = param


_OBJECT_ID = re.compile(r"^(/v1/[a-z_]+)/[^/]+")


@dataclass
class SimulatorConfig:
    seed: int = 1
    size: int = 1000
    rate_limit: float | None = None  # requests per second; None: unlimited
    faults: float = 0.0  # share of API requests that fail in some way
    restricted_keys: dict[str, frozenset[str]] = field(default_factory=dict)
    token_ttl: int = 3600
    frozen_clock: bool = False  # tests: time moves only when told
    clock_start: int | None = None
    clock_interval: float | None = None  # seconds between ticks; None: no automatic change
    slow_seconds: float = 1.5  # how slow a "slow answer" fault is
    port: int = 0
    # api.stripe.com indents its bodies by two spaces. Compact by default: Python encodes
    # indented JSON about four times slower, and the simulator shares the machine with the app.
    indent: int | None = None
    # Seconds each API answer takes, as api.stripe.com takes a few hundred milliseconds for a
    # page; spent waiting, not computing, so answers overlap as Stripe's do.
    latency: float = 0.0
    # Tables whose objects are all encoded before the first answer (see Dataset.warm).
    warm: tuple[str, ...] = ()
    # Answer as Stripe's mock server (stripe-mock) does where it differs from Stripe: /v1/events
    # ignores types[], and an id it does not know is answered with an object of the type
    # asked for, carrying that id. For tests of a client that must not trust either.
    mock_quirks: bool = False


class RateLimiter:
    """A token bucket: `rate` requests per second, bursts of up to one second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def allow(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


def parse_form(query: str) -> dict:
    """Stripe's form encoding: a[b]=1 -> {"a": {"b": "1"}}; a[]=x, a[0]=x -> {"a": ["x"]}."""
    result: dict = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        match = re.fullmatch(r"([^\[\]]+)((?:\[[^\[\]]*\])*)", key)
        if not match:
            raise StripeError(400, f"Invalid parameter name: {key}", param=key)
        name, brackets = match.group(1), re.findall(r"\[([^\[\]]*)\]", match.group(2))
        if not brackets:
            result[name] = value
        elif len(brackets) == 1 and (brackets[0] == "" or brackets[0].isdigit()):
            current = result.setdefault(name, [])
            if not isinstance(current, list):
                raise StripeError(400, f"Invalid array: {name}", param=name)
            current.append(value)
        elif len(brackets) == 1:
            current = result.setdefault(name, {})
            if not isinstance(current, dict):
                raise StripeError(400, f"Invalid hash: {name}", param=name)
            current[brackets[0]] = value
        else:
            raise StripeError(400, f"Received unknown parameter: {key}", param=key)
    return result


class Simulator:
    """A running simulator: dataset, clock, OAuth provider and HTTP server."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        clock = Clock(self.config.clock_start, frozen=self.config.frozen_clock)
        self.dataset = Dataset(seed=self.config.seed, size=self.config.size, clock=clock)
        self.dataset.warm(self.config.warm)
        self.mutations = Mutations(self.dataset)
        self.oauth = OAuthProvider(self.dataset.account_id, clock, token_ttl=self.config.token_ttl)
        self.limiter = RateLimiter(self.config.rate_limit) if self.config.rate_limit else None
        self.fault_rng = random.Random(self.config.seed ^ 0x5F5F)
        self.fault_lock = threading.Lock()
        self.revoked_keys: set[str] = set()
        self.request_count = 0
        # The most requests to one path answered at the same time (clients that list in
        # parallel show here), and those being answered now.
        self.most_at_once: dict[str, int] = {}
        self._at_once: dict[str, int] = {}
        self._at_once_lock = threading.Lock()
        self.offline = False  # see go_offline()
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    @property
    def clock(self) -> Clock:
        return self.dataset.clock

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the simulator is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @contextlib.contextmanager
    def answering(self, path: str):
        """Around answering one API request: counts it among those at once, and waits the
        configured latency. Paths count without their object's id: /v1/charges/*,
        /v1/invoices/*/lines."""
        path = _OBJECT_ID.sub(r"\1/*", path)
        with self._at_once_lock:
            now = self._at_once[path] = self._at_once.get(path, 0) + 1
            self.most_at_once[path] = max(now, self.most_at_once.get(path, 0))
        try:
            if self.config.latency:
                time.sleep(self.config.latency)
            yield
        finally:
            with self._at_once_lock:
                self._at_once[path] -= 1

    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"simulator": self})
        self._server = _Server(("127.0.0.1", self.config.port), handler)
        thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="simulator-http", daemon=True
        )
        thread.start()
        self._threads.append(thread)
        if self.config.clock_interval:
            ticker = threading.Thread(
                target=self._tick_forever, name="simulator-clock", daemon=True
            )
            ticker.start()
            self._threads.append(ticker)
        return self.base_url

    def _tick_forever(self) -> None:
        while not self._stop.wait(self.config.clock_interval):
            self.mutations.tick()

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    # --- test hooks ----------------------------------------------------------------------

    def go_offline(self) -> None:
        """As if the network went away: new connections are refused, open ones break."""
        self.config.port = self._server.server_address[1]  # to come back on the same address
        self.offline = True
        self._server.shutdown()
        self._server.server_close()

    def come_back(self) -> None:
        """The network is back: the same server, the same data, on the same address."""
        handler = type("Handler", (_Handler,), {"simulator": self})
        self._server = _Server(("127.0.0.1", self.config.port), handler)
        self.offline = False
        thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="simulator-http", daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def tick(self, count: int = 1, seconds_between: int = 60) -> list[dict]:
        """Let `count` steps of activity happen; returns their events."""
        return self.mutations.run(count, seconds_between)

    def revoke_key(self, key: str) -> None:
        self.revoked_keys.add(key)

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    simulator: Simulator
    protocol_version = "HTTP/1.1"
    server_version = "StripeSimulator/1.0"
    # Headers and body go out in two writes; without TCP_NODELAY the client's delayed ACK
    # holds the body back ~40 ms on every keep-alive request.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    # --- dispatch ------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        try:
            if url.path.startswith("/oauth/"):
                self._oauth(method, url.path, url.query)
            elif url.path == "/_simulator/tick" and method == "POST":
                # Control for benchmarks and demos in another process: let time pass.
                params = dict(parse_qsl(url.query))
                events = self.simulator.tick(
                    int(params.get("count", 1)), int(params.get("seconds", 60))
                )
                live = sum(1 for e in events if e["livemode"])
                self._send_json(200, {"events": len(events), "live": live})
            elif url.path.startswith("/v1/"):
                with self.simulator.answering(url.path):
                    self._api(method, url.path, url.query)
            else:
                self._send_html(404, closed_page("Not found", "Nothing is served here."))
        except StripeError as exc:
            self._send_json(exc.status, exc.body)
        except (ConnectionError, TimeoutError):
            pass  # the client went away
        except Exception:
            log.exception("simulator error on %s %s", method, self.path)
            self._send_json(
                500, {"error": {"type": "api_error", "message": "An unknown error occurred."}}
            )

    # --- the API -------------------------------------------------------------------------

    def _api(self, method: str, path: str, query: str) -> None:
        sim = self.simulator
        if sim.offline:  # a connection kept alive from before: it breaks, as a network would
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        sim.request_count += 1
        if sim.limiter and not sim.limiter.allow():
            raise StripeError(
                429,
                "Too many requests hit the API too quickly. We recommend an exponential "
                "backoff of your requests.",
                code="rate_limit",
            )
        if sim.config.faults and self._inject_fault():
            return
        live = self._authenticate()
        if method != "GET":
            raise StripeError(
                404,
                f"Unrecognized request URL ({method}: {path}). The "
                "simulator serves Stripe's read endpoints only.",
            )
        params = parse_form(query)
        parts = path.strip("/").split("/")[1:]
        if parts == ["account"]:
            self._check_permission("account")
            self._allow(params, ("expand",))
            return self._send_json(200, self._account())
        if parts == ["balance"]:
            self._check_permission("balance")
            self._allow(params, ("expand",))
            return self._send_json(200, self._balance(live))
        if parts and parts[0] == "events":
            self._check_permission("events")
            return self._events(parts[1:], params, live)
        if parts and parts[0] in LISTABLE:
            type_name = parts[0]
            self._check_permission(type_name)
            if len(parts) == 1:
                return self._list(type_name, params, live)
            if len(parts) == 2:
                self._allow(params, ("expand",))
                obj = self._retrieve(type_name, parts[1], live)
                return self._send_json(200, self._expand(obj, params.get("expand", []), live))
            if len(parts) == 3 and type_name == "invoices" and parts[2] == "lines":
                return self._lines(parts[1], params, live)
        raise StripeError(404, f"Unrecognized request URL (GET: {path}).")

    def _inject_fault(self) -> bool:
        sim = self.simulator
        with sim.fault_lock:
            if sim.fault_rng.random() >= sim.config.faults:
                return False
            kind = sim.fault_rng.choice(("500", "drop", "truncate", "slow"))
        if kind == "500":
            raise StripeError(500, "An unknown error occurred (injected fault).", type_="api_error")
        if kind == "slow":
            time.sleep(sim.config.slow_seconds)
            return False
        if kind == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        body = json.dumps({"object": "list", "data": [{"id": "ch_truncated"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)
        return True

    def _authenticate(self) -> bool:
        """The mode (live?) of the request's key; StripeError 401 when it has none."""
        header = self.headers.get("Authorization", "")
        key = ""
        if header.startswith("Bearer "):
            key = header[7:].strip()
        elif header.startswith("Basic "):
            try:
                key = base64.b64decode(header[6:]).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        if not key:
            raise StripeError(
                401,
                "You did not provide an API key. You need to provide your "
                "API key in the Authorization header, using Bearer auth.",
            )
        self.key = key
        masked = key[:8] + "*" * max(0, len(key) - 12) + key[-4:]
        if key in self.simulator.revoked_keys:
            raise StripeError(401, f"Invalid API Key provided: {masked}", code="api_key_revoked")
        token = self.simulator.oauth.check_token(key)
        if token is not None:
            live, problem = token
            if problem == "expired":
                raise StripeError(
                    401, f"Expired API Key provided: {masked}", code="api_key_expired"
                )
            if problem:
                raise StripeError(
                    401, f"The access token {masked} was revoked.", code="account_invalid"
                )
            return live
        match = KEY_PATTERN.match(key)
        if not match:
            raise StripeError(401, f"Invalid API Key provided: {masked}")
        if match.group(1) == "rk" and key not in self.simulator.config.restricted_keys:
            raise StripeError(401, f"Invalid API Key provided: {masked}")
        return match.group(2) == "live"

    def _check_permission(self, resource: str) -> None:
        allowed = self.simulator.config.restricted_keys.get(self.key)
        if allowed is None or PERMISSIONS[resource] in allowed:
            return
        raise StripeError(
            403,
            f"The provided key '{self.key[:8]}***{self.key[-4:]}' does not have the required "
            f"permissions for this endpoint on account '{self.simulator.dataset.account_id}'. "
            f"Having the 'rak_{resource}_read' permission would allow this request to continue.",
            code="secret_key_required" if resource == "balance" else None,
        )

    @staticmethod
    def _allow(params: dict, allowed) -> None:
        for name in params:
            if name not in allowed:
                raise StripeError(400, f"Received unknown parameter: {name}", param=name)

    def _page_params(self, params: dict) -> tuple[int, str | None, str | None]:
        raw = params.get("limit", "10")
        try:
            limit = int(raw)
        except (TypeError, ValueError):
            raise StripeError(400, f"Invalid integer: {raw}", param="limit") from None
        if not 1 <= limit <= 100:
            raise StripeError(400, "This value must be between 1 and 100.", param="limit")
        after, before = params.get("starting_after"), params.get("ending_before")
        if after and before:
            raise StripeError(
                400, "You may only specify one of these parameters: ending_before, starting_after."
            )
        return limit, after, before

    @staticmethod
    def _created_range(params: dict) -> tuple[int | None, int | None]:
        created = params.get("created")
        if created is None:
            return None, None

        def number(value, name):
            try:
                return int(value)
            except (TypeError, ValueError):
                raise StripeError(400, f"Invalid integer: {value}", param=name) from None

        if isinstance(created, str):
            moment = number(created, "created")
            return moment, moment
        if not isinstance(created, dict):
            raise StripeError(400, "Invalid created filter", param="created")
        gte = lte = None
        for op, value in created.items():
            moment = number(value, f"created[{op}]")
            if op == "gt":
                gte = max(gte or moment + 1, moment + 1)
            elif op == "gte":
                gte = max(gte or moment, moment)
            elif op == "lt":
                lte = min(lte if lte is not None else moment - 1, moment - 1)
            elif op == "lte":
                lte = min(lte if lte is not None else moment, moment)
            else:
                raise StripeError(
                    400, f"Received unknown parameter: created[{op}]", param=f"created[{op}]"
                )
        return gte, lte

    def _list(self, type_name: str, params: dict, live: bool) -> None:
        self._allow(params, PAGING + LISTABLE[type_name])
        limit, after, before = self._page_params(params)
        gte, lte = self._created_range(params)
        filters = {k: v for k, v in params.items() if k in LISTABLE[type_name] and k != "created"}
        ds = self.simulator.dataset
        for cursor in (after, before):
            if cursor and self._mode_of(type_name, cursor) is None:
                raise StripeError(
                    400,
                    f"No such {OBJECT_NAMES[type_name]}: '{cursor}'",
                    code="resource_missing",
                    param="starting_after" if cursor == after else "ending_before",
                )
        expand = params.get("expand", [])
        # The common page, unfiltered and compact, is spliced from objects encoded once.
        as_json = not (filters or expand or self.simulator.config.indent)
        objects = ds.iterate(
            type_name,
            live,
            created_gte=gte,
            created_lte=lte,
            after=before or after,
            ascending=bool(before),
            as_json=as_json,
        )
        if filters:
            paths = {k: FILTER_PATHS.get((type_name, k), (k,)) for k in filters}
            objects = (
                o for o in objects if all(_matches(_at(o, paths[k]), v) for k, v in filters.items())
            )
        page = list(islice(objects, limit + 1))
        has_more = len(page) > limit
        page = page[:limit]
        if before:
            page.reverse()
        url = f"/v1/{type_name}"
        if as_json:
            return self._send_list_json(page, has_more, url)
        data = [self._expand(o, _strip_data(expand), live) for o in page] if expand else page
        self._send_json(200, {"object": "list", "data": data, "has_more": has_more, "url": url})

    def _mode_of(self, type_name: str, object_id: str) -> bool | None:
        ds = self.simulator.dataset
        table = ds.tables[type_name]
        if object_id in table.dynamic:
            return object_live(table.dynamic[object_id])
        index = ds.parse_id(table.prefix, object_id)
        if index is None or index >= table.count:
            return None
        if not table.exists(index) and type_name != "customers":  # deleted ones are read
            return None
        return table.live(index)

    def _retrieve(self, type_name: str, object_id: str, live: bool) -> dict:
        mode = self._mode_of(type_name, object_id)
        obj = self.simulator.dataset.get(type_name, object_id) if mode is not None else None
        if obj is None and self.simulator.config.mock_quirks:
            some = next(self.simulator.dataset.iterate(type_name, live), None)
            if some is not None:
                return dict(some, id=object_id)
        if obj is None or mode != live:
            hint = ""
            if obj is not None:
                hint = (
                    f"; a similar object exists in {'live' if mode else 'test'} mode, but a "
                    f"{'live' if live else 'test'} mode key was used to make this request."
                )
            raise StripeError(
                404,
                f"No such {OBJECT_NAMES[type_name]}: '{object_id}'{hint}",
                code="resource_missing",
                param="id",
            )
        return obj

    def _expand(self, obj: dict, paths: list[str], live: bool) -> dict:
        if not paths:
            return obj
        obj = dict(obj)
        for path in paths:
            head, _, rest = path.partition(".")
            if head == "payments" and obj.get("object") == "invoice" and not rest:
                obj[head] = self._invoice_payments(obj["id"], live)  # includable, not in obj
                continue
            value = obj.get(head)
            if head not in obj or (value is not None and not isinstance(value, str | dict)):
                raise StripeError(
                    400, f"This property cannot be expanded ({path}).", param="expand"
                )
            if isinstance(value, str):
                type_name = PREFIXES.get(value.split("_", 1)[0])
                if type_name is None:
                    raise StripeError(
                        400, f"This property cannot be expanded ({path}).", param="expand"
                    )
                value = self._retrieve(type_name, value, live)
            if rest and isinstance(value, dict):
                value = self._expand(value, [rest], live)
            obj[head] = value
        return obj

    def _invoice_payments(self, invoice_id: str, live: bool) -> dict:
        ds = self.simulator.dataset
        data = [p for p in ds.iterate("invoice_payments", live) if p["invoice"] == invoice_id]
        url = f"/v1/invoice_payments?invoice={invoice_id}"
        return {"object": "list", "data": data, "has_more": False, "url": url}

    def _lines(self, invoice_id: str, params: dict, live: bool) -> None:
        self._allow(params, PAGING)
        limit, after, before = self._page_params(params)
        self._retrieve("invoices", invoice_id, live)
        ids, texts = self.simulator.dataset.invoice_lines_json(invoice_id) or ([], [])
        start, end = 0, len(ids)
        if after:
            if after not in ids:
                raise StripeError(400, f"No such line item: '{after}'", param="starting_after")
            start = ids.index(after) + 1
        if before:
            if before not in ids:
                raise StripeError(400, f"No such line item: '{before}'", param="ending_before")
            end = ids.index(before)
            start = max(0, end - limit)
        page = texts[start : min(end, start + limit)]
        has_more = (start + limit < end) if not before else start > 0
        url = f"/v1/invoices/{invoice_id}/lines"
        if self.simulator.config.indent:
            data = [json.loads(text) for text in page]
            body = {"object": "list", "data": data, "has_more": has_more, "url": url}
            return self._send_json(200, body)
        self._send_list_json(page, has_more, url)

    def _events(self, parts: list[str], params: dict, live: bool) -> None:
        ds = self.simulator.dataset
        visible = [e for e in ds.visible_events() if e["livemode"] == live]
        if parts:
            self._allow(params, ("expand",))
            for event in visible:
                if event["id"] == parts[0]:
                    return self._send_json(200, event)
            raise StripeError(404, f"No such event: '{parts[0]}'", code="resource_missing")
        self._allow(params, (*PAGING, "created", "type", "types", "delivery_success"))
        limit, after, before = self._page_params(params)
        gte, lte = self._created_range(params)
        types = params.get("types")
        if types is not None and (not isinstance(types, list) or len(types) > 20):
            raise StripeError(400, "types must be an array of up to 20 event types.", param="types")
        pattern = params.get("type")
        if types and pattern:
            raise StripeError(400, "You may only specify one of these parameters: type, types.")

        def wanted(event: dict) -> bool:
            if gte is not None and event["created"] < gte:
                return False
            if lte is not None and event["created"] > lte:
                return False
            if types and not self.simulator.config.mock_quirks:
                return event["type"] in types
            if pattern:
                if pattern.endswith("*"):
                    return event["type"].startswith(pattern[:-1])
                return event["type"] == pattern
            return True

        selected = [e for e in visible if wanted(e)]  # oldest first
        ids = [e["id"] for e in selected]
        all_ids = {e["id"] for e in visible}
        for cursor in (after, before):
            if cursor and cursor not in all_ids:
                raise StripeError(
                    400,
                    f"No such event: '{cursor}'",
                    code="resource_missing",
                    param="starting_after" if cursor == after else "ending_before",
                )
        if before:
            newer = selected[_count_at_or_before(visible, ids, before) :]  # oldest first
            page = newer[:limit]
            has_more = len(newer) > limit
            page.reverse()
        else:
            older = selected[: _count_before(visible, ids, after)] if after else selected
            older = older[::-1]  # newest first
            page, has_more = older[:limit], len(older) > limit
        self._send_json(
            200, {"object": "list", "data": page, "has_more": has_more, "url": "/v1/events"}
        )

    def _account(self) -> dict:
        """The account the key or token belongs to, as GET /v1/account answers."""
        ds = self.simulator.dataset
        return {
            "id": ds.account_id,
            "object": "account",
            "business_profile": {
                "name": "Ledgerboard Simulator",
                "support_email": "support@simulator.example",
                "url": "https://simulator.example",
            },
            "business_type": "company",
            "charges_enabled": True,
            "country": "US",
            "created": 1_700_000_000,
            "default_currency": "usd",
            "details_submitted": True,
            "email": "founder@simulator.example",
            "payouts_enabled": True,
            "settings": {"dashboard": {"display_name": "Ledgerboard Simulator", "timezone": "UTC"}},
            "type": "standard",
        }

    def _balance(self, live: bool) -> dict:
        ds = self.simulator.dataset
        amount = 1_000_000 + ds.h(30, int(live)) % 9_000_000
        return {
            "object": "balance",
            "available": [{"amount": amount, "currency": "usd", "source_types": {"card": amount}}],
            "livemode": live,
            "pending": [
                {"amount": amount // 7, "currency": "usd", "source_types": {"card": amount // 7}}
            ],
        }

    # --- OAuth ---------------------------------------------------------------------------

    def _oauth(self, method: str, path: str, query: str) -> None:
        provider = self.simulator.oauth
        try:
            if path == "/oauth/authorize" and method == "GET":
                params = dict(parse_qsl(query))
                provider.check_authorize_request(params)
                return self._send_html(200, authorize_page(params, "Ledgerboard Simulator"))
            form = dict(parse_qsl(self._read_body())) if method == "POST" else {}
            if path == "/oauth/authorize" and method == "POST":
                decision = form.get("decision")
                target = provider.approve(form) if decision == "approve" else provider.deny(form)
                return self._redirect(target)
            if path == "/oauth/token" and method == "POST":
                return self._send_json(200, provider.token(form, self._platform_secret()))
            if path == "/oauth/deauthorize" and method == "POST":
                return self._send_json(200, provider.deauthorize(form, self._platform_secret()))
        except OAuthError as exc:
            if path == "/oauth/authorize":
                return self._send_html(exc.status, closed_page("Cannot connect", exc.description))
            return self._send_json(
                exc.status, {"error": exc.error, "error_description": exc.description}
            )
        self._send_json(404, {"error": "not_found", "error_description": f"No {method} {path}"})

    def _platform_secret(self) -> str | None:
        header = self.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return header[7:].strip()
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return password or user
        return None

    def _read_body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode("utf-8", "replace") if length else ""

    # --- responses -----------------------------------------------------------------------

    def _send_json(self, status: int, body: dict) -> None:
        indent = self.simulator.config.indent
        separators = (",", ": ") if indent else (",", ":")
        text = json.dumps(body, indent=indent, separators=separators, ensure_ascii=False)
        self._send_body(status, text.encode())

    def _send_list_json(self, items: list[str], has_more: bool, url: str) -> None:
        """A compact list object whose items are JSON texts already: the same bytes as
        _send_json would write for their objects."""
        more = "true" if has_more else "false"
        text = f'{{"object":"list","data":[{",".join(items)}],"has_more":{more},"url":"{url}"}}'
        self._send_body(200, text.encode())

    def _send_body(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", "req_" + secrets.token_hex(7))
        self.send_header(
            "Stripe-Version",
            self.headers.get("Stripe-Version") or self.simulator.dataset.api_version,
        )
        self.end_headers()
        self.wfile.write(data)

    def _send_html(self, status: int, page: str) -> None:
        data = page.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def _redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.FOUND)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _strip_data(paths: list[str]) -> list[str]:
    """List expansions name `data.x`; each object of the page expands `x`."""
    stripped = []
    for path in paths:
        if not path.startswith("data."):
            raise StripeError(400, f"This property cannot be expanded ({path}).", param="expand")
        stripped.append(path[5:])
    return stripped


def _at(obj: dict, path: tuple[str, ...]):
    for part in path:
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def _matches(value, wanted) -> bool:
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) == str(wanted) if value is not None else wanted in ("", None)


def _count_before(visible: list[dict], ids: list[str], cursor: str) -> int:
    """How many of `ids` (oldest first) are strictly older than the cursor event."""
    order = {e["id"]: n for n, e in enumerate(visible)}
    return sum(1 for event_id in ids if order[event_id] < order[cursor])


def _count_at_or_before(visible: list[dict], ids: list[str], cursor: str) -> int:
    order = {e["id"]: n for n, e in enumerate(visible)}
    return sum(1 for event_id in ids if order[event_id] <= order[cursor])

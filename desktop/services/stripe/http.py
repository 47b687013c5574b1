"""The HTTP client under the Stripe SDK, and reading list pages raw.

The SDK brings its own client on top of requests. For an import that reads hundreds of pages
of up to half a megabyte a second, requests costs more than the work it carries: it reads a
body in 10 KB pieces and merges settings per request, and (trusting the environment) re-reads
every proxy variable each time. This client talks urllib3 directly, the library under requests:
one pool of kept-alive connections shared by all threads, each body read at once, proxies looked
up once per host, and TLS always verified with the SDK's certificate bundle.

It can also take the body of a successful response for itself (`capture`): the SDK still
authenticates, pins the version and turns every error into its exception, but the page is
parsed once, with plain dicts, instead of twice (the SDK parses into OrderedDicts, which costs
more than the rest of the sync's work on a page).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from urllib.parse import urlsplit

import orjson
import requests.utils
import stripe
import urllib3

# Connections kept per host: as many as a sync may ask at once (eight feeds with up to WINDOWS
# history workers each), or a fast import discards connections ("Connection pool is full").
POOL_SIZE = 64


class StripeHTTPClient(stripe.HTTPClient):
    name = "urllib3"

    def __init__(self, timeout: float = 30) -> None:
        super().__init__(verify_ssl_certs=True)
        self._timeout = urllib3.Timeout(connect=timeout, read=timeout)
        self._local = threading.local()
        self._proxy_of: dict[str, str] = {}  # scheme://host -> proxy URL, "" for none
        self._managers: dict[str, urllib3.PoolManager] = {}  # by proxy URL
        self._lock = threading.Lock()

    def _manager_for(self, url: str) -> urllib3.PoolManager:
        parts = urlsplit(url)
        host = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            proxy_url = self._proxy_of.get(host)
            if proxy_url is None:
                proxies = requests.utils.get_environ_proxies(host)
                proxy_url = proxies.get(parts.scheme) or proxies.get("all") or ""
                self._proxy_of[host] = proxy_url
            if proxy_url not in self._managers:
                self._managers[proxy_url] = self._new(proxy_url)
            return self._managers[proxy_url]

    def _new(self, proxy_url: str) -> urllib3.PoolManager:
        options = {
            "maxsize": POOL_SIZE,
            "cert_reqs": "CERT_REQUIRED",
            "ca_certs": stripe.ca_bundle_path,
            "retries": False,  # retries are the caller's (jitter, 429 backoff, cancellation)
            "timeout": self._timeout,
        }
        if proxy_url:
            # Credentials in the proxy's address (http://user:password@proxy:3128) are sent as
            # Proxy-Authorization, as requests did; urllib3 does not read them itself.
            user, password = requests.utils.get_auth_from_url(proxy_url)
            auth = urllib3.make_headers(proxy_basic_auth=f"{user}:{password}") if user else None
            return urllib3.ProxyManager(proxy_url, proxy_headers=auth, **options)
        return urllib3.PoolManager(**options)

    def capture(self) -> _Capture:
        """Within this block, a successful body is kept for `taken()`; the SDK sees `{}`."""
        return _Capture(self._local)

    def taken(self) -> bytes:
        body, self._local.body = self._local.body, None
        return body

    def request(
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data=None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        try:
            # Compressed bodies, as requests asked for: a page of 100 charges is ~170 KB as
            # JSON and a fifth of that gzipped, which matters on a slow connection.
            headers = {"Accept-Encoding": "gzip, deflate", **(headers or {})}
            response = self._manager_for(url).request(
                method.upper(), url, headers=headers, body=post_data
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise stripe.APIConnectionError(
                f"Network problem talking to {urlsplit(url).netloc}: {exc.__class__.__name__}"
            ) from exc
        if getattr(self._local, "capturing", False) and 200 <= response.status < 300:
            self._local.body = response.data
            return b"{}", response.status, response.headers
        return response.data, response.status, response.headers

    def request_stream(self, method, url, headers, post_data=None):
        raise NotImplementedError("Ledgerboard does not stream from Stripe")

    def close(self) -> None:
        with self._lock:
            for manager in self._managers.values():
                manager.clear()


class _Capture:
    def __init__(self, local: threading.local) -> None:
        self._local = local

    def __enter__(self) -> None:
        self._local.capturing = True
        self._local.body = None

    def __exit__(self, *exc) -> None:
        self._local.capturing = False


def _refuse_constant(name: str):
    # Python reads NaN and Infinity; JSON (and SQLite's JSON functions) do not. A page that
    # has them is malformed, like a truncated one, and is asked for again.
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def loads_strict(body: bytes | str):
    """JSON without NaN or Infinity; ValueError for anything that is not JSON.

    orjson reads a page of 100 charges in a third of the json module's time, and an import
    reads hundreds of pages a second on the threads that also write them. What orjson refuses
    (a lone surrogate, say, or a truncated body) is read again by the json module, which
    reads it as Python always has, or says exactly why it cannot; lone surrogates then become
    U+FFFD, so that every text read can be stored (see _storable_text). (orjson reads an integer
    past 64 bits as the nearest float; Stripe's integers are 64-bit, and looking for longer
    ones first cost as much as the reading.)"""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    return _storable(_DECODER.decode(body.decode("utf-8") if isinstance(body, bytes) else body))


def _storable_text(text: str) -> str:
    """The text with each lone surrogate replaced by U+FFFD.

    JSON can escape half an emoji (a lone surrogate, "\\ud83d"); UTF-8, and so SQLite, cannot
    hold one. Kept, it would fail the row's write, and SQLite's JSON functions would turn its
    escape into bytes that are not UTF-8, which no read of that field could decode."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _storable(value):
    """A parsed value whose keys and texts SQLite can store (see _storable_text)."""
    if isinstance(value, str):
        return _storable_text(value)
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable_text(key): _storable(item) for key, item in value.items()}
    return value


def parse_list_page(body: bytes) -> dict:
    """A list object parsed with plain dicts; ValueError for anything else (a truncated
    body, say)."""
    page = loads_strict(body)
    if not isinstance(page, dict):
        raise ValueError("a list page is a JSON object")
    return page

"""The HTTP client under the Stripe SDK, and reading list pages raw.

requests re-reads the proxy environment (every variable of os.environ) on each request when a
session trusts the environment; at hundreds of pages a second that costs more than parsing
them. This client keeps one session per thread, looks proxies up once per host, and always
verifies TLS with the SDK's certificate bundle.

It can also take the body of a successful response for itself (`capture`): the SDK still
authenticates, pins the version and turns every error into its exception, but the page is
parsed once, with plain dicts, instead of twice (the SDK parses into OrderedDicts, which costs
more than the rest of the sync's work on a page).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from urllib.parse import urlsplit

import requests
import stripe


class SessionPerThreadClient(stripe.HTTPClient):
    name = "requests"

    def __init__(self, timeout: float = 30) -> None:
        super().__init__(verify_ssl_certs=True)
        self._timeout = timeout
        self._local = threading.local()
        self._proxies: dict[str, dict] = {}
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False  # proxies come from _proxies_for, read once per host
        return session

    def _proxies_for(self, url: str) -> dict:
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            if key not in self._proxies:
                self._proxies[key] = requests.utils.get_environ_proxies(key)
            return self._proxies[key]

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
            response = self._session().request(
                method,
                url,
                headers=headers,
                data=post_data,
                timeout=self._timeout,
                verify=stripe.ca_bundle_path,
                proxies=self._proxies_for(url),
            )
        except requests.exceptions.RequestException as exc:
            raise stripe.APIConnectionError(
                f"Network problem talking to {urlsplit(url).netloc}: {exc.__class__.__name__}"
            ) from exc
        if getattr(self._local, "capturing", False) and 200 <= response.status_code < 300:
            self._local.body = response.content
            return b"{}", response.status_code, response.headers
        return response.content, response.status_code, response.headers

    def request_stream(self, method, url, headers, post_data=None):
        raise NotImplementedError("Ledgerboard does not stream from Stripe")

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()


class _Capture:
    def __init__(self, local: threading.local) -> None:
        self._local = local

    def __enter__(self) -> None:
        self._local.capturing = True
        self._local.body = None

    def __exit__(self, *exc) -> None:
        self._local.capturing = False


_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _refuse_constant(name: str):
    # Python reads NaN and Infinity; JSON (and SQLite's JSON functions) do not. A page that
    # has them is malformed, like a truncated one, and is asked for again.
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def loads_strict(body: bytes | str):
    """json.loads without NaN or Infinity; ValueError for anything that is not JSON."""
    return _DECODER.decode(body.decode("utf-8") if isinstance(body, bytes) else body)


def parse_list_page(body: bytes) -> dict:
    """A list object parsed with plain dicts, and `data_json`: each item's exact JSON text
    when it is compact (as a store would write it), else None, so storing it needs no
    re-encoding. Anything malformed (a truncated body, say) raises ValueError."""
    try:
        return _parse_list_page(body.decode("utf-8"))
    except IndexError as exc:
        raise ValueError("the list page ends too early") from exc


def _parse_list_page(text: str) -> dict:
    if not text.lstrip().startswith("{"):
        raise ValueError("a list page is a JSON object")
    page: dict = {}
    pos = _WHITESPACE.match(text, 0).end() + 1
    while True:
        pos = _WHITESPACE.match(text, pos).end()
        if text[pos] == "}":
            break
        if text[pos] == ",":
            pos += 1
            continue
        key, pos = json.decoder.scanstring(text, pos + 1)
        pos = _WHITESPACE.match(text, pos).end()
        if text[pos] != ":":
            raise ValueError(f"expected ':' at {pos}")
        pos = _WHITESPACE.match(text, pos + 1).end()
        if key == "data" and text[pos] == "[":
            items, texts = [], []
            pos += 1
            while True:
                pos = _WHITESPACE.match(text, pos).end()
                if text[pos] == "]":
                    pos += 1
                    break
                if text[pos] == ",":
                    pos += 1
                    continue
                item, end = _DECODER.raw_decode(text, pos)
                items.append(item)
                span = text[pos:end]
                texts.append(span if "\n" not in span and '": ' not in span else None)
                pos = end
            page["data"], page["data_json"] = items, texts
        else:
            page[key], pos = _DECODER.raw_decode(text, pos)
    return page

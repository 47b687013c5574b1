"""Reading list pages raw: the parser keeps each item's JSON text and refuses broken bodies.
And the HTTP client under the SDK: kept-alive connections, proxies, errors in words."""

from __future__ import annotations

import gzip
import http.server
import json
import threading

import pytest
import stripe

from desktop.services.stripe.http import StripeHTTPClient, parse_list_page


@pytest.mark.parametrize("indent", [None, 2])
def test_a_page_parses_to_plain_dicts_compact_or_indented(indent):
    items = [{"id": "ch_1", "amount": 5, "nested": {"a": [1, "x,]}", 1.5e20]}}, {"s": 'é"q'}]
    page = {"object": "list", "data": items, "has_more": True, "url": "/v1/charges"}
    body = json.dumps(page, indent=indent, ensure_ascii=False).encode()
    parsed = parse_list_page(body)
    assert parsed == page
    assert type(parsed) is dict and all(type(item) is dict for item in parsed["data"])


def test_half_an_emoji_is_read_as_a_replacement_character():
    # A lone surrogate: orjson refuses it, Python's json module reads it, and what is read
    # must be storable (UTF-8 has no lone surrogates), in keys and in nested texts alike.
    body = (
        b'{"object":"list","data":[{"id":"ch_1","name":"cut \\ud83d here",'
        b'"metadata":{"k\\udc00":["\\ud83d\\ude80 whole", 2]}}],"has_more":false}'
    )
    (item,) = parse_list_page(body)["data"]
    assert item["name"] == "cut \ufffd here"
    assert item["metadata"] == {"k\ufffd": ["\U0001f680 whole", 2]}
    json.dumps(item, ensure_ascii=False).encode("utf-8")  # no surrogate left anywhere


@pytest.mark.parametrize(
    "body", [b'{"object":"list","data":[{"id":"ch_1"},{"id":', b"", b"[]", b"{"]
)
def test_a_broken_body_is_a_value_error(body):
    with pytest.raises(ValueError):
        parse_list_page(body)


# --- the client under the SDK ----------------------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every GET with a small list and remembers the request line and connection."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, int]] = []
    headers_seen: list[dict] = []

    def do_GET(self):
        _Recorder.seen.append((self.requestline.split()[1], self.client_address[1]))
        _Recorder.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
        body = b'{"object":"list","data":[],"has_more":false}'
        self.send_response(200)
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    _Recorder.seen, _Recorder.headers_seen = [], []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_requests_keep_their_connection_and_bodies_arrive_whole_and_unpacked(recorder):
    client = StripeHTTPClient(timeout=5)
    answers = [client.request("GET", f"{recorder}/v1/charges?limit={n}", {}) for n in (1, 2, 3)]
    assert [status for _, status, _ in answers] == [200, 200, 200]
    assert json.loads(answers[0][0]) == {"object": "list", "data": [], "has_more": False}
    assert answers[0][2]["content-encoding"] == "gzip"  # asked for, sent, and unpacked
    assert answers[0][2]["content-type"] == "application/json"  # headers ignore case
    assert [path for path, _ in _Recorder.seen] == [f"/v1/charges?limit={n}" for n in (1, 2, 3)]
    assert len({port for _, port in _Recorder.seen}) == 1  # one kept-alive connection


def test_a_proxy_from_the_environment_carries_the_requests(recorder, monkeypatch):
    """Behind a company proxy (HTTP_PROXY), requests for Stripe go to the proxy, with the
    whole address; NO_PROXY hosts are reached directly."""
    monkeypatch.setenv("HTTP_PROXY", recorder)
    monkeypatch.setenv("NO_PROXY", "direct.invalid")
    client = StripeHTTPClient(timeout=5)
    _, status, _ = client.request("GET", "http://api.stripe.invalid/v1/charges?limit=1", {})
    assert status == 200
    assert _Recorder.seen[0][0] == "http://api.stripe.invalid/v1/charges?limit=1"
    with pytest.raises(stripe.APIConnectionError, match=r"direct\.invalid"):
        client.request("GET", "http://direct.invalid/v1/charges", {})
    assert len(_Recorder.seen) == 1


def test_all_proxy_serves_every_scheme(recorder, monkeypatch):
    monkeypatch.setenv("ALL_PROXY", recorder)
    _, status, _ = StripeHTTPClient(timeout=5).request("GET", "http://api.stripe.invalid/v1", {})
    assert status == 200 and _Recorder.seen[0][0] == "http://api.stripe.invalid/v1"


def test_a_proxy_with_credentials_in_its_address_gets_them(recorder, monkeypatch):
    import base64

    address = recorder.replace("http://", "http://sales%40acme:p%3Ass@")
    monkeypatch.setenv("HTTP_PROXY", address)
    client = StripeHTTPClient(timeout=5)
    _, status, _ = client.request("GET", "http://api.stripe.invalid/v1/charges", {})
    assert status == 200
    expected = "Basic " + base64.b64encode(b"sales@acme:p:ss").decode()
    assert _Recorder.headers_seen[0]["proxy-authorization"] == expected


def test_a_refused_connection_is_a_connection_error_in_words():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe is closed
    client = StripeHTTPClient(timeout=5)
    with pytest.raises(stripe.APIConnectionError, match=rf"127.0.0.1:{port}: \w+Error"):
        client.request("GET", f"http://127.0.0.1:{port}/v1/charges", {})

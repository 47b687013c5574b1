"""A real headless Chromium signs in on the simulator's authorize page and decides."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

pytestmark = pytest.mark.browser


class _Callback(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/callback":  # browsers also ask for /favicon.ico
            self.send_error(404)
            return
        self.received.append({k: v[0] for k, v in parse_qs(url.query).items()})
        body = b"<html><body>You can close this tab.</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def callback_server():
    handler = type("Handler", (_Callback,), {"received": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/callback", handler.received
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("button", ["Approve", "Deny"])
def test_the_browser_signs_in_and_decides(simulator, browser_page, callback_server, button):
    redirect_uri, received = callback_server
    query = urlencode(
        {
            "response_type": "code",
            "client_id": "ca_ledgerboard",
            "scope": "read_only",
            "redirect_uri": redirect_uri,
            "state": "xyz-42",
        }
    )
    browser_page.goto(f"{simulator.base_url}/oauth/authorize?{query}")
    assert "Connect Ledgerboard" in browser_page.inner_text("h1")
    browser_page.fill("#email", "founder@example.com")
    browser_page.fill("#password", "correct horse")
    browser_page.click(f"text={button}")
    browser_page.wait_for_url(f"{redirect_uri}*")
    assert "You can close this tab" in browser_page.inner_text("body")
    assert len(received) == 1
    if button == "Approve":
        assert received[0]["state"] == "xyz-42" and received[0]["code"].startswith("ac_")
    else:
        assert received[0] == {
            "error": "access_denied",
            "state": "xyz-42",
            "error_description": "The user denied your request",
        }

"""`python -m exchange`: serve the token exchange with the configuration in the environment.

Prints `listening on http(s)://HOST:PORT` on standard output once it accepts connections
(EXCHANGE_PORT=0 picks a free port); its log goes to standard error.
"""

from __future__ import annotations

import logging
import socket
import sys

import uvicorn

from exchange.app import create_app
from exchange.config import Config, ConfigError


def main() -> int:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every URL it calls at INFO; the URLs are Stripe's, but nothing more is needed.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        config = Config.from_environ()
    except ConfigError as exc:
        print(f"exchange: {exc}", file=sys.stderr)
        return 2
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: without, each answer on a kept-alive connection waited
    # for the client's delayed ACK (40 ms on Linux) between its header and body writes.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as exc:
        print(f"exchange: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 2
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            log_config=None,  # the logging set up above
            access_log=False,  # its lines carry the query string; the app logs paths only
            proxy_headers=True,
            forwarded_allow_ips=config.trusted_proxies,
            limit_concurrency=200,  # past that, 503 at once instead of a queue
            timeout_keep_alive=5,
            server_header=False,
            ssl_certfile=config.tls_cert,
            ssl_keyfile=config.tls_key,
        )
    )
    sock.listen(128)  # connections wait in the backlog until the server takes them
    scheme = "https" if config.tls_cert else "http"
    host, port = sock.getsockname()[:2]
    logging.getLogger("exchange").info(
        "serving %d client id(s); live key %s, test key %s; Stripe at %s",
        len(config.client_ids),
        "set" if config.live_secret else "missing",
        "set" if config.test_secret else "missing",
        config.token_url,
    )
    print(f"listening on {scheme}://{host}:{port}", flush=True)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())

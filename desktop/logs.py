"""Logging to a rotating file, with every secret redacted before it is written."""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

# Stripe secret and restricted keys, OAuth tokens and bearer headers.
_SECRET_PATTERNS = (
    re.compile(r"\b(sk|rk)_(test|live)_[A-Za-z0-9]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)((?:access|refresh)_token[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"),
    re.compile(r"(?i)((?:client_secret|code_verifier|api_key)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"),
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """The text with every secret-looking token replaced by [redacted]."""
    text = _SECRET_PATTERNS[0].sub(lambda m: f"{m.group(1)}_{m.group(2)}_{REDACTED}", text)
    for pattern in _SECRET_PATTERNS[1:]:
        text = pattern.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return text


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


LOG_FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"


def setup_logging(log_file: Path, *, level: int = logging.INFO) -> logging.Handler:
    """Send the app's log records to a rotating file (5 x 2 MB); returns the file handler."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(RedactingFormatter(LOG_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    # The SDK logs request lines at INFO; keep them but never its debug dumps of bodies.
    logging.getLogger("stripe").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    return handler

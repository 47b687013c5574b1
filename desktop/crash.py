"""Unexpected errors: logged, written as a redacted crash report, and shown to the user.

Installed as sys.excepthook and threading.excepthook by the composition root. Known errors
(network down, key revoked, bad formula) never come here: they are shown where they happen.
"""

from __future__ import annotations

import datetime as dt
import logging
import platform
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from desktop import __version__
from desktop.logs import redact

log = logging.getLogger("desktop.crash")


def format_report(exc_type, exc: BaseException, tb: TracebackType | None) -> str:
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    header = (
        f"Ledgerboard {__version__} on {platform.platform()}, "
        f"Python {platform.python_version()}, thread {threading.current_thread().name}\n"
    )
    return redact(header + details)


class CrashReporter:
    """Receives every uncaught exception; `on_report` shows it (the GUI connects a dialog)."""

    def __init__(self, crash_dir: Path, on_report: Callable[[str, Path | None], None]) -> None:
        self._crash_dir = crash_dir
        self._on_report = on_report
        self._previous_hooks: tuple | None = None

    def install(self) -> None:
        self._previous_hooks = (sys.excepthook, threading.excepthook)
        sys.excepthook = self.handle
        threading.excepthook = lambda args: self.handle(
            args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback
        )

    def uninstall(self) -> None:
        if self._previous_hooks:
            sys.excepthook, threading.excepthook = self._previous_hooks
            self._previous_hooks = None

    def handle(self, exc_type, exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        report = format_report(exc_type, exc, tb)
        log.error("unexpected error\n%s", report)
        path = self._write(report)
        try:
            self._on_report(report, path)
        except Exception:  # the reporter must never raise from inside an excepthook
            log.exception("could not show the crash report")

    def _write(self, report: str) -> Path | None:
        try:
            self._crash_dir.mkdir(parents=True, exist_ok=True)
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
            path = self._crash_dir / f"crash-{stamp}.txt"
            path.write_text(report, encoding="utf-8")
            return path
        except OSError:
            log.exception("could not write the crash report")
            return None

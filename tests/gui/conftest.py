"""A started Ledgerboard: composition root, real store, real widgets, offscreen."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from desktop.app import Application, create_qt_application
from desktop.paths import AppPaths


@pytest.fixture
def start_app(qtbot, app_paths: AppPaths) -> Iterator[Callable[[], Application]]:
    """Start the app (as often as a test needs, one at a time); shut down after the test.

    A crash report that a test did not expect fails it: the app's own excepthook would
    otherwise swallow the error that pytest-qt reports.
    """
    create_qt_application([])
    started: list[Application] = []

    def start() -> Application:
        if started:
            close(started[-1])
        app = Application(app_paths)
        window = app.start()
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        started.append(app)
        return app

    def close(app: Application) -> None:
        if app.window is not None and app.window.isVisible():
            app.window.close()
        app.shutdown()

    yield start
    if started:
        close(started[-1])
    expected = getattr(start, "expected_crashes", 0)
    reports = (
        sorted(app_paths.crash_dir.glob("crash-*.txt")) if app_paths.crash_dir.exists() else []
    )
    assert len(reports) == expected, "unexpected error:\n" + "\n".join(
        p.read_text() for p in reports
    )

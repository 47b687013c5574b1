"""The app as a user meets it: start-up time, and a GUI that never waits for a sync."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench.common import ROOT, Result, SimulatorProcess, median

FROZEN = ROOT / "dist" / "Ledgerboard" / "Ledgerboard"


def responsiveness() -> list[Result]:
    """A 5 ms timer on the GUI thread while 200,000 charges sync in the background, as fast
    as the simulator answers: how late its ticks come (event-loop stalls).

    The simulator is warmed (see sync_bench.backfill_throttled): building its charges cold took
    a whole core of the two, and the app's threads then waited for the processor, not for
    each other (maximum 43-63 ms against 28-44 warmed, three runs each)."""
    live_charges = 200_000
    size = math.ceil(live_charges * 8 / 7)  # one charge in eight is sample data
    simulator = SimulatorProcess("--size", str(size), "--seed", "4", "--warm", "charges")
    stalls, seconds, rows, gave_way = _stalls_during_sync(simulator, ["charges"])
    note = (
        f"{len(stalls):,} ticks of a 5 ms timer during a {seconds:.1f} s sync of "
        f"{live_charges:,} live charges with a live key: {rows:,} rows stored; simulator "
        f"warmed; the sync's threads gave way to the GUI thread {gave_way:,} times"
    )
    return [
        Result("gui_stall_max_during_sync", max(stalls), "ms", 50, False, [max(stalls)], note),
        Result("gui_stall_p99_during_sync", _p99(stalls), "ms", 20, False, [_p99(stalls)]),
    ]


def responsiveness_all_types() -> list[Result]:
    """The same timer while all nine types sync unthrottled (not in the issue: ours). Its
    invoices need a request for each one with more than ten lines; read side by side, those
    had made the timer's ticks 17-24 ms late at the 99th percentile (10-15 one by one)."""
    from desktop.catalog import DATA_TYPES

    simulator = SimulatorProcess("--size", "30000", "--seed", "3", "--warm", "all")
    stalls, seconds, rows, gave_way = _stalls_during_sync(simulator, list(DATA_TYPES))
    note = (
        f"{len(stalls):,} ticks of a 5 ms timer during a {seconds:.1f} s sync of all nine "
        f"types, {rows:,} rows; simulator warmed; the sync gave way {gave_way:,} times"
    )
    return [
        Result("gui_stall_max_all_types", max(stalls), "ms", 50, False, [max(stalls)], note),
        Result("gui_stall_p99_all_types", _p99(stalls), "ms", 20, False, [_p99(stalls)]),
    ]


def _p99(stalls: list[float]) -> float:
    ordered = sorted(stalls)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _stalls_during_sync(simulator: SimulatorProcess, types: list[str]):
    """(stalls in ms, the sync's seconds, rows stored, times the sync gave way) for one sync of
    `types` in the app's window, as fast as the simulator answers."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtTest import QTest

    from desktop.app import Application, create_qt_application
    from desktop.collector import settle_for_imports
    from desktop.paths import AppPaths
    from desktop.store.models import registration_model

    qt = create_qt_application([])
    with simulator:
        paths = AppPaths.in_dir(tempfile.mkdtemp())
        app = Application(paths)
        window = app.start()
        window.resize(1280, 800)
        window.show()
        settle_for_imports()  # as run_gui does
        window.show_page("data_sources")  # its rows show the sync's progress as it runs
        app.secrets.keep_for_this_session_only()  # a benchmark machine may have no keychain
        account = app.connections.connect_with_key(
            "sk_live_benchmark000001", name="Bench", api_base=simulator.url
        )
        data_sources = app.accounts.ensure_data_sources(account, types, include_test_data=True)
        app.sync_service.requests_per_second = 1e6  # unthrottled: the hardest case
        app._refresh_lists()
        # On screen and painted before the sync starts, as a user's window is: its first
        # paint took 30 ms, and fell into the sync's first ticks.
        QTest.qWaitForWindowExposed(window)
        qt.processEvents()
        stalls: list[float] = []
        clock = QElapsedTimer()
        interval = 5

        def tick() -> None:
            elapsed = clock.nsecsElapsed() / 1e6
            clock.restart()
            stalls.append(max(0.0, elapsed - interval))

        probe = QTimer()
        probe.setInterval(interval)
        probe.timeout.connect(tick)
        loop = QEventLoop()
        app.sync_service.finished.connect(lambda _ids: loop.quit())
        started = time.perf_counter()
        clock.start()
        probe.start()
        app.sync_service.sync([ds.id for ds in data_sources])
        loop.exec()
        probe.stop()
        seconds = time.perf_counter() - started
        rows = sum(registration_model(t).select().count() for t in types)
        gave_way = app.sync_service.gui_first.waits
        app.shutdown()
        window.close()
        qt.processEvents()
        shutil.rmtree(paths.data_dir, ignore_errors=True)
    return stalls[1:], seconds, rows, gave_way  # the first tick measures the start


def _time_to_window(command: list[str]) -> float:
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "LEDGERBOARD_STARTUP_PROBE": "1",
            "HOME": data_dir,
        }
        began = time.perf_counter()
        process = subprocess.Popen(
            [*command, "--data-dir", data_dir],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for line in process.stdout:
            if line.strip() == "window shown":
                shown = time.perf_counter() - began
                break
        else:
            raise RuntimeError(f"{command[0]} exited without showing its window")
        process.wait(timeout=60)
        process.stdout.close()
        return shown


def _frozen_is_stale() -> bool:
    """No build yet, or source newer than it: build it again (about a minute)."""
    if not FROZEN.exists():
        return True
    built = FROZEN.stat().st_mtime
    sources = [*ROOT.joinpath("desktop").rglob("*.py"), *ROOT.joinpath("resources").rglob("*")]
    return any(f.stat().st_mtime > built for f in [*sources, ROOT / "build.spec"])


def startup() -> list[Result]:
    """From process start to the main window shown, a new data folder each time."""
    source = [_time_to_window([sys.executable, "-m", "desktop"]) for _ in range(5)]
    results = [
        Result(
            "startup_source_checkout",
            median(source),
            "s",
            1.5,
            False,
            source,
            "python -m desktop, offscreen; process start to the window shown",
        )
    ]
    if _frozen_is_stale():
        subprocess.run(
            [sys.executable, "packaging/build.py", "--no-deb"],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    frozen = [_time_to_window([str(FROZEN)]) for _ in range(5)]
    results.append(
        Result(
            "startup_frozen_build",
            median(frozen),
            "s",
            1.5,
            False,
            frozen,
            f"{FROZEN.relative_to(ROOT)} (PyInstaller, one folder), offscreen",
        )
    )
    return results


BENCHMARKS = {
    "responsiveness": responsiveness,
    "responsiveness_all_types": responsiveness_all_types,
    "startup": startup,
}

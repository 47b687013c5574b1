"""The app exits cleanly after a large import (a PySide6 regression once crashed it at exit)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    import keyring
    from tests.conftest import InMemoryKeyring
    keyring.set_keyring(InMemoryKeyring())
    from desktop.app import Application, create_qt_application
    from desktop.catalog import DATA_TYPES
    from desktop.paths import AppPaths
    from desktop.simulator.server import Simulator, SimulatorConfig

    simulator = Simulator(SimulatorConfig(size=20_000, frozen_clock=True))
    url = simulator.start()
    qt = create_qt_application([])
    app = Application(AppPaths.in_dir({data_dir!r}))
    window = app.start()
    account = app.connections.connect_with_key("sk_live_cleanexit0001", name="x", api_base=url)
    app.accounts.ensure_data_sources(account, list(DATA_TYPES))
    done = []
    app.sync_service.finished.connect(done.append)
    app.sync_service.sync()
    deadline = time.monotonic() + 120
    while not done and time.monotonic() < deadline:
        qt.processEvents()
        time.sleep(0.01)
    assert done, "the import did not finish"
    window.close()
    app.shutdown()
    simulator.stop()
    print("imported", flush=True)
    """
)


def test_the_process_exits_cleanly_after_a_20000_charge_import(data_dir):
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    script = SCRIPT.format(root=root, data_dir=str(data_dir))
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": ""},
    )
    assert "imported" in result.stdout, result.stderr[-2000:]
    assert "Fatal Python error" not in result.stderr
    assert result.returncode == 0, result.stderr[-2000:]

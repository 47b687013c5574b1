"""A sync process killed with SIGKILL at random moments resumes without duplicates or gaps."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from desktop.store.db import open_database
from desktop.store.models import DataSource
from tests.syncing import store_differences

pytestmark = pytest.mark.slow
KEY = "sk_live_killtests00001"


def start_sync(simulator, data_dir) -> subprocess.Popen:
    env = {**os.environ, "LEDGERBOARD_API_KEY": KEY}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "desktop",
            "sync",
            "--api-base",
            simulator.base_url,
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )


def test_sigkill_at_random_points_ten_times_then_resume(make_simulator, data_dir, store_target):
    """On PostgreSQL the sync finds the database in LEDGERBOARD_DATABASE_URL (store_target)."""
    simulator = make_simulator(size=8000, seed=21)
    rng = random.Random(2024)
    killed = 0
    for _round in range(10):
        before = simulator.request_count
        with start_sync(simulator, data_dir) as process:
            # Kill somewhere inside the work: after the process has made a few requests.
            target = before + rng.randint(3, 35)
            deadline = time.monotonic() + 30
            while simulator.request_count < target and process.poll() is None:
                assert time.monotonic() < deadline, "the sync made no progress"
                time.sleep(0.005)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                killed += 1
            process.wait(timeout=10)
    assert killed == 10, "the sync finished before it could be killed; make the dataset larger"
    with start_sync(simulator, data_dir) as process:
        output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    summary = json.loads(output.strip().splitlines()[-1])
    assert set(summary["status"].values()) == {"up_to_date"}

    db = open_database(store_target)
    try:
        view = SimpleNamespace(simulator=simulator, data_sources=list(DataSource.select()))
        assert len(view.data_sources) == 9
        assert store_differences(view, modes=(True,)) == []
    finally:
        db.close()

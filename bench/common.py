"""What every benchmark shares: results with target and ratio, medians, a simulator process."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"  # generated data sets, reused between runs, never committed


@dataclass
class Result:
    name: str
    value: float
    unit: str
    target: float
    higher_is_better: bool
    runs: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    @property
    def ratio(self) -> float:
        """Value over target: above 1 is good for 'at least' targets, below 1 for 'at most'."""
        return self.value / self.target if self.target else float("inf")

    def record(self) -> dict:
        """The one line of JSON each benchmark ends with (and how run.py reads it back)."""
        return {
            "name": self.name,
            "value": round(self.value, 4),
            "unit": self.unit,
            "target": self.target,
            "ok": self.ok,
            "higher_is_better": self.higher_is_better,
        }

    def print(self) -> None:
        relation = "≥" if self.higher_is_better else "≤"
        spread = ""
        if len(self.runs) > 1:
            runs = ", ".join(figure(r, 3) for r in self.runs)
            spread = f"  (runs: {runs}; spread {spread_of(self.runs):.1%})"
        print(
            f"{self.name}: {figure(self.value)} {self.unit}  "
            f"target {relation} {figure(self.target)} {self.unit}  ratio {self.ratio:.2f}  "
            f"{'OK' if self.ok else 'MISSED'}{spread}"
        )
        if self.note:
            print(f"  {self.note}")
        print(json.dumps(self.record()))
        sys.stdout.flush()


def figure(value: float, digits: int = 4) -> str:
    """A measured figure as a person reads it: 16,880 (not 1.688e+04), 0.4966, 105.6."""
    if abs(value) >= 10 ** (digits - 1):
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread_of(values: list[float]) -> float:
    """(max - min) / median."""
    mid = statistics.median(values)
    return (max(values) - min(values)) / mid if mid else 0.0


class SimulatorProcess:
    """`python -m desktop simulator` in its own process, so it does not share our GIL."""

    def __init__(self, *args: str) -> None:
        self.args = args
        self.process: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> SimulatorProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "desktop", "simulator", "--port", "0", *self.args],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ},
        )
        line = self.process.stdout.readline().strip()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the simulator did not start: {line!r}")
        self.url = line.removeprefix("listening on ")
        return self

    def tick(self, count: int, seconds: int = 60) -> int:
        """Let `count` steps of activity happen; returns how many live-mode events they made."""
        response = requests.post(
            f"{self.url}/_simulator/tick", params={"count": count, "seconds": seconds}, timeout=120
        )
        response.raise_for_status()
        return response.json()["live"]

    def __exit__(self, *exc) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process.stdout.close()


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


def open_copy(source: Path):
    """A cached database copied to a temporary folder and opened at today's schema: the
    benchmark may change it. The caller removes the folder (work.parent) when done."""
    import shutil
    import tempfile

    from desktop.store.db import open_database
    from desktop.store.migrations import migrate

    work = Path(tempfile.mkdtemp()) / "bench.sqlite"
    shutil.copy(source, work)
    db = open_database(work)
    migrate(db)  # a cache made by an older version gets today's indexes
    return db, work

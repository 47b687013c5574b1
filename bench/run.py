#!/usr/bin/env python3
"""Run Ledgerboard's benchmarks: `python bench/run.py` for all, `python bench/run.py NAME` for one.

Every benchmark prints its figure, its target and the ratio, and ends with one line of JSON:
{"name": ..., "value": ..., "unit": ..., "target": ..., "ok": true|false}.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import (
    app_bench,
    dashboards_bench,
    registrations_bench,
    reports_bench,
    sync_bench,
    team_bench,
)
from bench.common import Result, figure

BENCHMARKS = {
    **sync_bench.BENCHMARKS,
    **registrations_bench.BENCHMARKS,
    **dashboards_bench.BENCHMARKS,
    **reports_bench.BENCHMARKS,
    **app_bench.BENCHMARKS,
    **team_bench.BENCHMARKS,
}


def main(argv: list[str]) -> int:
    unknown = [name for name in argv if name not in BENCHMARKS]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}",
            file=sys.stderr,
        )
        return 2
    selected = argv or list(BENCHMARKS)
    results = []
    started = time.monotonic()
    pace_before = host_pace()
    for name in selected:
        print(f"--- {name}", flush=True)
        if len(selected) == 1:
            produced = BENCHMARKS[name]()
            for result in produced if isinstance(produced, list) else [produced]:
                result.print()
                results.append(result)
        else:
            # Each benchmark in a fresh process: one's threads, caches and memory must not
            # slow the next (a million-row view left behind cost the sync ingest ~5%).
            results += _run_isolated(name)
    unit = max([4, *(len(r.unit) for r in results)])
    print(f"\n{'benchmark':36} {'value':>10} {'':{unit}}  {'target':>12} {'ratio':>6}  ok")
    for r in results:
        target = ("≥ " if r.higher_is_better else "≤ ") + figure(r.target)
        print(
            f"{r.name:36} {figure(r.value):>10} {r.unit:{unit}}  {target:>12} {r.ratio:>6.2f}  "
            f"{'yes' if r.ok else 'NO'}"
        )
    print(f"({time.monotonic() - started:.0f} s)")
    print(
        f"host pace: sum(range(100000)) took {pace_before:.2f} ms before and "
        f"{host_pace():.2f} ms after (a slower host shows a larger figure; see bench/README.md)"
    )
    return 0 if all(r.ok for r in results) else 1


def host_pace() -> float:
    """Milliseconds for a fixed piece of pure Python (the best of several tries), as
    `python -m timeit "sum(range(100000))"` measures it: this machine's speed changes by the
    hour, and every figure above moves with it."""
    tries = []
    for _ in range(5):
        began = time.perf_counter()
        for _ in range(20):
            sum(range(100_000))
        tries.append((time.perf_counter() - began) / 20 * 1000)
    return min(tries)


def _run_isolated(name: str) -> list[Result]:
    """Run one benchmark in a child process; relay its lines and read back its JSON ones."""
    process = subprocess.run([sys.executable, __file__, name], capture_output=True, text=True)
    found = []
    for line in process.stdout.splitlines():
        if not line:
            break  # the child's own summary table follows; ours comes at the end
        print(line)
        if line.startswith("{"):
            record = json.loads(line)
            found.append(
                Result(
                    record["name"],
                    record["value"],
                    record["unit"],
                    record["target"],
                    record["higher_is_better"],
                )
            )
    if not found:
        print(f"{name} produced no result:\n{process.stderr[-2000:]}", file=sys.stderr)
    return found


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Run Ledgerboard's benchmarks: `python bench/run.py` for all, `python bench/run.py NAME` for one.

Every benchmark prints its figure, its target and the ratio, and ends with one line of JSON:
{"name": ..., "value": ..., "unit": ..., "target": ..., "ok": true|false}.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import registrations_bench, sync_bench

BENCHMARKS = {**sync_bench.BENCHMARKS, **registrations_bench.BENCHMARKS}


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
    for name in selected:
        print(f"--- {name}", flush=True)
        produced = BENCHMARKS[name]()
        for result in produced if isinstance(produced, list) else [produced]:
            result.print()
            results.append(result)
    print(f"\n{'benchmark':36} {'value':>14} {'target':>12} {'ratio':>7}  ok")
    for r in results:
        print(
            f"{r.name:36} {r.value:>10,.4g} {r.unit:<4}"
            f"{('≥' if r.higher_is_better else '≤')}{r.target:>10,.4g} {r.ratio:>7.2f}  "
            f"{'yes' if r.ok else 'NO'}"
        )
    print(f"({time.monotonic() - started:.0f} s)")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

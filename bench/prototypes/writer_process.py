#!/usr/bin/env python3
"""Prototype, not shipped: how fast would the ingest be with rows written by another process?

    python bench/prototypes/writer_process.py          # rows written by a second process
    python bench/prototypes/writer_process.py --base   # the app as it is, for comparison

Runs the sync_ingest import (all nine types, unthrottled simulator, three runs on one
simulator) and prints objects per second and the CPU per object of this process and of the
writer process. In "process" mode every statement's rows go over a pipe to a forked process
that writes them with its own connection, into a file of its own (the checkpoints still go to
the app's store): an upper bound on what a real writer process would give, used to decide
whether one is worth building (README, Performance). Linux only (fork); run it alone, and
alternate the two modes, the host's speed varies by the hour.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import desktop.services.sync as sync
from bench.common import SimulatorProcess, Stopwatch
from bench.sync_bench import _sync

APP_UPSERT = sync.TableRows.upsert


def write_rows(connection, path: str) -> None:
    """The writer process: each message is one statement's rows, in a transaction."""
    from desktop.store.db import open_database
    from desktop.store.migrations import migrate

    db = open_database(path)
    migrate(db, backup_dir=path + ".backup")
    db.execute_sql("PRAGMA foreign_keys = OFF")  # its data_sources table is empty
    cursor = db.cursor()
    while (message := connection.recv()) is not None:
        name, rows = message
        with db.atomic():
            APP_UPSERT(sync.table_rows(name), cursor, rows)
    connection.send("done")


def main(base: bool) -> None:
    gc.freeze()
    pipe = {}
    if not base:
        sync.TableRows.upsert = lambda self, cursor, rows: (
            rows and pipe["end"].send((self.data_type.name, rows))
        )
    with SimulatorProcess("--size", "30000", "--seed", "3") as simulator:
        for _ in range(3):
            with tempfile.TemporaryDirectory() as data_dir:
                if not base:
                    pipe["end"], child_end = multiprocessing.Pipe()
                    child = multiprocessing.get_context("fork").Process(
                        target=write_rows, args=(child_end, os.path.join(data_dir, "rows.db"))
                    )
                    child.start()
                before = os.times()
                with Stopwatch() as watch:
                    summary = _sync(simulator.url, data_dir)
                    if not base:
                        pipe["end"].send(None)
                        pipe["end"].recv()
                        child.join()
                after = os.times()
            rows = sum(summary["rows"].values())
            own = after.user - before.user + after.system - before.system
            other = (
                after.children_user
                - before.children_user
                + after.children_system
                - before.children_system
            )
            print(
                f"{'base' if base else 'process'}: {rows / watch.seconds:,.0f} objects/s; "
                f"CPU per object {own / rows * 1e6:.0f} µs here, {other / rows * 1e6:.0f} µs "
                "in the writer process",
                flush=True,
            )


if __name__ == "__main__":
    main(base="--base" in sys.argv[1:])

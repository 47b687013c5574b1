"""The writer process: a sync's pages are written by a second process. It may die, it must
end with the app, and a failed write stops every later write of the same import."""

from __future__ import annotations

import io
import itertools
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.store.writer_process import (
    NICENESS,
    ChainStopped,
    WriterProcess,
    WriterProcessDied,
    _group,
    _open,
    serve,
)
from tests.syncing import assert_stored_part_is_whole, store_differences

ROOT = Path(__file__).resolve().parents[2]


def exchange(messages: list[tuple]) -> list[tuple]:
    """The child's answers to messages, through its real loop over in-memory pipes."""
    source = io.BytesIO(b"".join(pickle.dumps(m) for m in messages))
    sink = io.BytesIO()
    assert serve(source, sink) == 0
    sink.seek(0)
    answers = []
    while sink.tell() < len(sink.getvalue()):
        answers.append(pickle.load(sink))
    return answers


# The writer process writes SQLite files only; PostgreSQL is written on the writer thread.
SQLITE_ONLY = pytest.mark.parametrize("store_target", ["sqlite"], indirect=True)


def test_the_child_refuses_the_rest_of_a_chain_after_a_failed_write(tmp_path):
    """Writes are sent before earlier ones are answered, so the child itself stops a chain:
    a later checkpoint must not claim the rows of a write that was rolled back."""
    path = str(tmp_path / "store.sqlite")
    sqlite3.connect(path).execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    answers = exchange(
        [
            ("open", path, [("journal_mode", "wal"), ("busy_timeout", 1000)]),
            ("write", 1, [("INSERT INTO t VALUES (1, 'a')", ())]),
            (
                "write",
                1,
                [("INSERT INTO t VALUES (2, 'b')", ()), ("INSERT INTO t VALUES (3, NULL)", ())],
            ),
            ("write", 1, [("INSERT INTO t VALUES (4, 'd')", ())]),
            ("write", 2, [("INSERT INTO t VALUES (5, 'e')", ())]),
        ]
    )
    assert answers[0] == ("ok", [])
    assert answers[1] == ("ok", [1])
    assert answers[2][:2] == ("error", "IntegrityError") and "NOT NULL" in answers[2][2]
    assert answers[3][:2] == ("error", "ChainStopped")
    assert answers[4] == ("ok", [1])
    stored = [row[0] for row in sqlite3.connect(path).execute("SELECT id FROM t ORDER BY id")]
    assert stored == [1, 5]  # the failed write rolled back whole, and 4 was never made


@pytest.mark.parametrize("grouped", [False, True], ids=["as-they-come", "one-group"])
def test_a_write_that_fills_the_disk_fails_alone_and_the_answers_say_what_was_stored(
    tmp_path, grouped
):
    """Writes waiting together share one transaction. A full disk makes SQLite roll all of it
    back; then each is made again alone, so only the write that did not fit fails, and no
    answer says "ok" for rows that were not committed."""
    path = str(tmp_path / "store.sqlite")
    setup = sqlite3.connect(path)
    setup.executescript("PRAGMA page_size = 4096; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    pages = setup.execute("PRAGMA page_count").fetchone()[0]
    setup.close()
    cap = f"PRAGMA max_page_count = {pages + 3}"  # room for a small row, not for 100 KB
    writes = [
        (1, [("INSERT INTO t VALUES (1, 'a')", ())]),
        (2, [("INSERT INTO t VALUES (2, ?)", ("x" * 100_000,))]),
        (3, [("INSERT INTO t VALUES (3, 'c')", ())]),
        (2, [("INSERT INTO t VALUES (4, 'd')", ())]),
    ]
    if grouped:
        connection = _open(path, [("journal_mode", "wal")])
        connection.execute(cap).fetchall()
        answers = _group(connection, writes, set())
        connection.close()
    else:
        opening = [("open", path, [("journal_mode", "wal")]), ("pragma", cap)]
        answers = exchange([*opening, *(("write", *w) for w in writes)])[2:]
    assert answers[0] == ("ok", [1])
    assert answers[1] == ("error", "OperationalError", "database or disk is full")
    assert answers[2] == ("ok", [1])
    assert answers[3][:2] == ("error", "ChainStopped")
    stored = [row[0] for row in sqlite3.connect(path).execute("SELECT id FROM t ORDER BY id")]
    assert stored == [1, 3]


@SQLITE_ONLY
def test_a_killed_writer_process_stops_the_sync_in_words_and_loses_nothing(
    make_simulator, harness_for, app_paths, expected_log_warnings
):
    simulator = make_simulator(size=8000, seed=23)
    harness = harness_for(simulator, types=("charges",), include_test_data=False)
    writer = harness.writer
    submit = writer.submit_statements
    pages = itertools.count(1)

    def kill_with_the_fifth_page_in_flight(statements, chain, then):
        if next(pages) != 5:
            return submit(statements, chain, then)
        # Another connection holds the write lock, so the child cannot commit the fifth page
        # before it is killed; it waits for the lock (or has not read the page yet).
        other = sqlite3.connect(app_paths.database, isolation_level=None, timeout=30)
        other.execute("BEGIN IMMEDIATE")
        try:
            future = submit(statements, chain, then)
            writer.wait_queued()  # the page is in the child's pipe
            os.kill(writer.process_id, signal.SIGKILL)
            return future
        finally:
            other.execute("ROLLBACK")
            other.close()

    writer.submit_statements = kill_with_the_fifth_page_in_flight
    (result,) = harness.sync()
    assert result.status == "failed"
    assert "background writer stopped unexpectedly" in result.message
    assert "Nothing was lost" in result.message
    ds = harness.data_source("charges")
    assert ds.status == "failed" and "background writer" in ds.status_message
    assert_stored_part_is_whole(simulator, "charges")
    # The next sync starts a new writer process and continues where the last commit stopped.
    writer.submit_statements = submit
    (result,) = harness.sync()
    assert result.status == "up_to_date"
    assert store_differences(harness, modes=(True,)) == []


@SQLITE_ONLY
def test_the_writer_process_yields_to_the_app_and_ends_with_the_writer(make_simulator, harness_for):
    harness = harness_for(make_simulator(size=300, seed=5), types=("customers",))
    harness.sync()
    pid = harness.writer.process_id
    assert pid is not None
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, own + NICENESS)
    harness.writer.close()
    assert harness.writer.process_id is None
    with pytest.raises(ProcessLookupError):  # reaped, not a zombie: gone
        os.kill(pid, 0)


def test_the_writer_process_ends_when_the_app_dies(tmp_path):
    """The child ends at the end of its input, which the app's death closes. Its standard
    error is the test's pipe: the pipe reaches its end only once the child has ended too."""
    script = f"""
import os, sys
sys.path.insert(0, {str(ROOT)!r})
from desktop.store.db import open_database
from desktop.store.migrations import migrate
from desktop.store.writer import StoreWriter, WriteChain
db = open_database({str(tmp_path / "store.sqlite")!r})
migrate(db, backup_dir={str(tmp_path / "backup")!r})
writer = StoreWriter(db)
writer.submit_statements([("CREATE TABLE t (x)", ())], WriteChain(), lambda counts: None).result()
print(writer.process_id, flush=True)
os._exit(0)  # as a crash would: nothing is closed
"""
    app = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # Both pipes reach their end only when every process holding them has ended: a child
    # left running would hold standard error open, and this would time out.
    out, err = app.communicate(timeout=60)
    assert app.returncode == 0, err
    assert int(out.strip()) != app.pid  # the writer process had started


def test_a_chain_whose_write_died_unanswered_commits_nothing_more_in_a_new_child(
    tmp_path, expected_log_warnings
):
    """A child killed with a write of an import unanswered: that write may not have committed,
    so no later write of the same import may commit, not even in the child started next (its
    checkpoint would claim the lost rows). Another import's writes go on."""
    path = tmp_path / "chain.sqlite"
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=wal")
    setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    setup.close()
    process = WriterProcess(str(path), [("journal_mode", "wal"), ("busy_timeout", 30_000)])
    blocker = sqlite3.connect(path, isolation_level=None, timeout=30)
    blocker.execute("BEGIN IMMEDIATE")  # the child cannot commit the first write
    try:
        first = process.write(WriterProcess.pack(7, [("INSERT INTO t VALUES (1)", ())]), 7)
        os.kill(process.pid, signal.SIGKILL)
        with pytest.raises(WriterProcessDied):
            first.result(timeout=30)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    later = process.write(WriterProcess.pack(7, [("INSERT INTO t VALUES (2)", ())]), 7)
    with pytest.raises(ChainStopped):
        later.result(timeout=30)
    other = process.write(WriterProcess.pack(8, [("INSERT INTO t VALUES (3)", ())]), 8)
    assert other.result(timeout=30) == [1]
    process.close()
    assert [r[0] for r in sqlite3.connect(path).execute("SELECT id FROM t")] == [3]

"""The writer process: a sync's page writes, made by a second process with its own connection.

An import spends about a third of its CPU inside SQLite. In the app's process that work takes
turns with the fetching, parsing and row building for Python's one lock (the GIL); in a
process of its own it runs beside them, on another core (bench/RESULTS.md). Everything
else the app writes stays on the writer thread (`desktop.store.writer`), and both open
their transactions with BEGIN IMMEDIATE, so the one that comes second waits for the lock
(busy_timeout) instead of failing.

The protocol, pickled over the child's standard input and output:

    app -> child   ("open", path, pragmas)                first, once
                   ("pragma", sql)                         on its connection, e.g. a test's cap
                   ("write", chain, [(sql, params), ...])  all or nothing
    child -> app   ("ok", [rowcount, ...])  or  ("error", kind, text), in the same order

Writes that arrive while the child is busy are made together, up to GROUP_MOST in one
transaction (see serve); each is still all or nothing, and answered on its own.

A chain is one sync's writes: once one of them fails, the child refuses the rest (a later
checkpoint would claim rows that were rolled back).

The child imports nothing but the standard library (no Qt, no Stripe SDK, no peewee) and ends
when its standard input closes: when the app closes the writer, and when the app dies.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import pickle
import queue
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

log = logging.getLogger(__name__)

Statement = tuple[str, Sequence]
FROZEN_FLAG = "--store-writer"  # the frozen app runs as the child when given this first
# The child yields the processor to the app's threads, so that the GUI's comes first.
NICENESS = 5
_PICKLE = pickle.HIGHEST_PROTOCOL
# Writes made in one transaction at most, when that many are waiting: each is answered only
# when all of them commit, and eight pages take a few tens of milliseconds.
GROUP_MOST = 8


class WriterProcessDied(Exception):
    """The child ended before it answered; the transaction it had may not have committed."""


class ChainStopped(Exception):
    """A write refused because an earlier write of the same chain failed."""


class WriterProcess:
    """The app's end: starts the child on the first message, and again after it died.

    Messages are sent in turn by one thread (the store's writer thread) and answered in the
    same order; a thread of its own per child reads the answers and settles their futures. So
    sending does not wait for answers, and the child always has the next transaction at hand
    (waiting for each answer, the child sat idle while this process took the GIL back)."""

    def __init__(self, path: str, pragmas: Sequence[tuple[str, object]]) -> None:
        self._path = path
        self._pragmas = list(pragmas)
        self._later: dict[str, str] = {}  # pragmas given since, repeated for a restarted child
        self._channel: _Channel | None = None
        self._lock = threading.Lock()  # the channel in use, and what it still has to answer
        # Chains with a write a child died before answering: it may not have committed, so no
        # later write of theirs may commit, in a new child either (its checkpoint would claim
        # the rows of the lost one). Marked under the lock when the child is found dead.
        self._broken_chains: set[int] = set()

    @staticmethod
    def pack(chain: int, statements: list[Statement]) -> bytes:
        """A transaction as `write` sends it; pickled on the thread that built it, so that
        the one thread that sends only sends."""
        return pickle.dumps(("write", chain, statements), protocol=_PICKLE)

    def write(self, packed: bytes, chain: int | None = None) -> Future[list[int]]:
        """A packed transaction of `chain` (the key given to `pack`); the future's result is
        its statements' row counts, or the child's sqlite3 error as that class,
        WriterProcessDied, or ChainStopped when an earlier write of its chain failed (the
        child refuses those itself, and this process those of a child that died)."""
        return self._send(packed, chain)

    def pragma(self, sql: str) -> None:
        """A PRAGMA on the child's connection, now and after any restart."""
        self._later[sql.partition("=")[0].strip().lower()] = sql
        with self._lock:
            running = self._channel is not None
        if running:
            self._send(pickle.dumps(("pragma", sql), protocol=_PICKLE)).result()

    @property
    def pid(self) -> int | None:
        channel = self._channel
        return channel.child.pid if channel is not None else None

    def close(self) -> None:
        """After the child has answered everything sent."""
        with self._lock:
            channel, self._channel = self._channel, None
        if channel is not None:
            channel.close()

    def _send(self, packed: bytes, chain: int | None = None) -> Future:
        future: Future = Future()
        with self._lock:
            if chain is not None and chain in self._broken_chains:
                future.set_exception(ChainStopped("an earlier write died with its process"))
                return future
            if self._channel is None or self._channel.ended:
                if self._channel is not None:
                    self._channel.close()  # its reader has failed whatever it had
                self._channel = None
                try:
                    self._channel = _Channel(self._start(), self._lock, self._broken_chains)
                except (WriterProcessDied, sqlite3.Error) as exc:
                    future.set_exception(exc)
                    return future
            channel = self._channel
            channel.pending.append((future, chain))  # before the child can answer it
        try:
            channel.child.stdin.write(packed)
            channel.child.stdin.flush()
        except OSError:
            pass  # the child is gone: its reader fails every future it had, this one too
        return future

    def _start(self) -> subprocess.Popen:
        frozen = getattr(sys, "frozen", False)
        command = [sys.executable, FROZEN_FLAG] if frozen else [sys.executable, "-m", __name__]
        env = dict(os.environ)
        if not frozen:  # the checkout, wherever the app was started from
            root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        try:
            child = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=None if sys.stderr is not None else subprocess.DEVNULL,
                env=env,
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0)
                | getattr(subprocess, "BELOW_NORMAL_PRIORITY_CLASS", 0),  # as NICENESS
            )
        except OSError as exc:
            raise WriterProcessDied(f"it could not start: {exc}") from exc
        _widen(child.stdin)
        opening = [
            ("open", self._path, self._pragmas),
            *(("pragma", s) for s in self._later.values()),
        ]
        try:
            for message in opening:
                pickle.dump(message, child.stdin, protocol=_PICKLE)
                child.stdin.flush()
                answer = pickle.load(child.stdout)
                if answer[0] != "ok":
                    _discard(child)
                    raise _error(answer)
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            raise WriterProcessDied(f"it did not start, exit code {_discard(child)}") from exc
        log.info("writer process %d started", child.pid)
        return child


class _Channel:
    """One child, the futures it still has to answer, in order, and the thread that reads
    its answers."""

    _names = itertools.count(1)

    def __init__(
        self, child: subprocess.Popen, lock: threading.Lock, broken_chains: set[int]
    ) -> None:
        self.child = child
        self.pending: collections.deque[tuple[Future, int | None]] = collections.deque()
        self.ended = False
        self._lock = lock
        self._broken_chains = broken_chains
        self._reader = threading.Thread(
            target=self._read, name=f"store-writer-answers-{next(self._names)}", daemon=True
        )
        self._reader.start()

    def _read(self) -> None:
        try:
            while True:
                answer = pickle.load(self.child.stdout)
                future, _chain = self.pending.popleft()
                if answer[0] == "ok":
                    future.set_result(answer[1])
                else:
                    future.set_exception(_error(answer))
        except (OSError, EOFError, pickle.UnpicklingError, IndexError):
            pass
        with self._lock:
            self.ended = True  # nothing is added to `pending` from here on
            self._broken_chains.update(c for _f, c in self.pending if c is not None)
        code = _stopped(self.child)
        if self.pending:
            log.error(
                "the writer process stopped with %d writes unanswered (exit code %s)",
                len(self.pending),
                code,
            )
        while self.pending:
            self.pending.popleft()[0].set_exception(WriterProcessDied(f"exit code {code}"))

    def close(self) -> None:
        try:
            self.child.stdin.close()  # the child ends at the end of its input
        except OSError:
            pass
        self._reader.join(timeout=60)
        if self._reader.is_alive():
            log.warning("the writer process did not end; stopping it")
            self.child.kill()
            self._reader.join()
        self.child.stdout.close()


def _widen(pipe) -> None:
    """Let the pipe hold a whole page (100 invoices pickle to about 200 KB), where Linux's
    default holds 64 KB. Otherwise writing one takes turns with the child reading it, chunk by
    chunk, and every turn makes the sending thread wait to take the GIL back."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if set_size is None:
        return
    for size in (1 << 20, 1 << 18):  # the most an unprivileged process may ask is 1 MB
        try:
            fcntl.fcntl(pipe.fileno(), set_size, size)
            return
        except OSError:
            continue


def _error(answer: tuple) -> Exception:
    _, kind, text = answer
    if kind == "ChainStopped":
        return ChainStopped(text)
    error = getattr(sqlite3, kind, None)
    if isinstance(error, type) and issubclass(error, sqlite3.Error):
        return error(text)
    return RuntimeError(f"{kind}: {text}")


def _discard(child: subprocess.Popen) -> int | None:
    """End a child that did not start well; its exit code."""
    try:
        child.stdin.close()
    except OSError:
        pass
    code = _stopped(child)
    child.stdout.close()
    return code


def _stopped(child: subprocess.Popen) -> int | None:
    """The child's exit code, after making sure it has ended."""
    try:
        return child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
        return child.wait()


# --- the child ----------------------------------------------------------------------------


def serve(source, sink) -> int:
    """Answer messages until the input ends.

    Writes that are already waiting when one is taken are made with it in one transaction
    (`_group`): a sync's pages change the same index pages, and one commit for several of them
    writes each of those 16 KB pages to the WAL once, not once per page. The answers still
    say, write by write, what was stored. A thread reads the messages, so that they are
    unpickled while SQLite writes."""
    connection: sqlite3.Connection | None = None
    stopped: set[int] = set()  # chains with a failed write: their later writes are refused
    # Bounded: a child behind the app makes the app wait at the pipe, as it did before.
    inbox: queue.Queue = queue.Queue(maxsize=2 * GROUP_MOST)
    threading.Thread(target=_read_messages, args=(source, inbox), daemon=True).start()
    held = None  # a message taken while gathering writes, answered next
    while True:
        message = held if held is not None else inbox.get()
        held = None
        if message is _END:
            break
        kind = message[0]
        if kind == "write":
            writes = [message]
            while len(writes) < GROUP_MOST:
                try:
                    waiting = inbox.get_nowait()
                except queue.Empty:
                    break
                if waiting is _END or waiting[0] != "write":
                    held = waiting
                    break
                writes.append(waiting)
            answers = _group(connection, [(m[1], m[2]) for m in writes], stopped)
        else:
            try:
                if kind == "pragma":
                    connection.execute(message[1]).fetchall()
                    answers = [("ok", [])]
                elif kind == "open":
                    connection = _open(message[1], message[2])
                    answers = [("ok", [])]
                else:
                    answers = [("error", "ValueError", f"unknown message {kind!r}")]
            except Exception as exc:  # every failure goes back to the app, which tells the user
                answers = [_failure(exc)]
        for answer in answers:
            pickle.dump(answer, sink, protocol=_PICKLE)
        sink.flush()
    if connection is not None:
        connection.close()
    return 0


_END = object()  # the input has ended (or could not be read)


def _read_messages(source, inbox: queue.Queue) -> None:
    """Unpickle messages as they arrive, beside the writing (SQLite lets go of the GIL)."""
    try:
        while True:
            inbox.put(pickle.load(source))
    except (EOFError, OSError, pickle.UnpicklingError):
        pass
    finally:
        inbox.put(_END)


def _failure(exc: BaseException) -> tuple:
    return ("error", type(exc).__name__, str(exc))


def _group(
    connection: sqlite3.Connection | None,
    writes: list[tuple[int, list[Statement]]],
    stopped: set[int],
) -> list[tuple]:
    """Writes (chain, statements) in one transaction; an answer each.

    When any of them fails, the transaction is rolled back and each write is made again in
    one of its own, as if they had never been grouped: the write that cannot be made fails
    alone and stops its chain. (Savepoints would save the second try, but cost every group
    more than the shared commit saved: each keeps a copy of every page it changes.)"""
    if len(writes) > 1:
        try:
            return _together(connection, writes, stopped)
        except Exception:
            return [answer for write in writes for answer in _group(connection, [write], stopped)]
    chain = writes[0][0]
    if chain in stopped:
        return [_REFUSED]
    try:
        return _together(connection, writes, stopped)
    except Exception as exc:
        stopped.add(chain)
        return [_failure(exc)]


_REFUSED = ("error", "ChainStopped", "an earlier write of this chain failed")


def _together(
    connection: sqlite3.Connection | None,
    writes: list[tuple[int, list[Statement]]],
    stopped: set[int],
) -> list[tuple]:
    """The writes in one transaction, or an exception and nothing committed. A write of a
    stopped chain is refused, not made."""
    if connection is None:
        raise sqlite3.OperationalError("the writer process has no open database")
    answers = []
    cursor = connection.cursor()
    cursor.execute("BEGIN IMMEDIATE")
    try:
        for chain, statements in writes:
            refused = chain in stopped
            answers.append(_REFUSED if refused else ("ok", execute_all(cursor, statements)))
        cursor.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:  # a full disk may have rolled it back already
            connection.rollback()
        raise
    return answers


def _open(path: str, pragmas) -> sqlite3.Connection:
    # isolation_level=None: the transactions below are the only ones, begun explicitly.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for name, value in pragmas:
        if name != "page_size":  # only for a new file, and the app created it
            connection.execute(f"PRAGMA {name} = {value}").fetchall()
    # As in desktop.store.db: None and bool bind without a slow search for an adapter.
    sqlite3.register_adapter(type(None), lambda value: value)
    sqlite3.register_adapter(bool, int)
    return connection


def execute_all(cursor, statements: list[Statement]) -> list[int]:
    """Run the statements on a DB-API cursor; the rows each changed."""
    counts = []
    for sql, params in statements:
        cursor.execute(sql, params)
        counts.append(cursor.rowcount)
    return counts


def main() -> int:
    # Binary ends of the pipes; nothing else may write to standard output.
    if sys.platform == "win32":  # no newline translation on the descriptors either
        import msvcrt

        msvcrt.setmode(0, os.O_BINARY)
        msvcrt.setmode(1, os.O_BINARY)
    source = open(0, "rb", closefd=False)  # noqa: SIM115 (the process's own descriptors)
    sink = open(1, "wb", closefd=False)  # noqa: SIM115
    sys.stdout = sys.stderr
    if hasattr(os, "nice"):  # Windows: see WriterProcess._start
        try:
            os.nice(NICENESS)
        except OSError:
            pass
    return serve(source, sink)


if __name__ == "__main__":
    sys.exit(main())

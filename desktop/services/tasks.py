"""The one way to run work off the GUI thread.

Work is a plain function that receives a `TaskState` (report progress, ask whether it was
cancelled) and never touches a widget. Its result, error and progress come back to the GUI
thread as queued Qt signals. Starting a new task with the same key cancels the old one.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from shiboken6 import isValid

log = logging.getLogger(__name__)


class TaskState:
    def __init__(self, emit_progress: Callable[[Any], None]) -> None:
        self._cancel = threading.Event()
        self._emit_progress = emit_progress

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def report(self, progress: Any) -> None:
        self._emit_progress(progress)


class Task(QObject):
    """One piece of background work; connect to its signals before it finishes."""

    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)  # the exception
    finished = Signal()

    def __init__(
        self,
        work: Callable[[TaskState], Any],
        name: str,
        expected_errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        super().__init__()
        self.name = name
        self.expected_errors = expected_errors
        self.state = TaskState(self.progress.emit)
        self._work = work
        self.done = threading.Event()

    def cancel(self) -> None:
        self.state.cancel()

    def _run(self) -> None:
        try:
            result = self._work(self.state)
        except self.expected_errors as exc:  # said to the user where it happened
            log.info("task %s ended: %s", self.name, exc)
            self.failed.emit(exc)
        except Exception as exc:
            log.error("task %s failed:\n%s", self.name, traceback.format_exc())
            self.failed.emit(exc)
        else:
            self.succeeded.emit(result)
        finally:
            self.done.set()
            self.finished.emit()


class _Runnable(QRunnable):
    def __init__(self, task: Task) -> None:
        super().__init__()
        self.task = task

    def run(self) -> None:
        self.task._run()


class TaskRunner(QObject):
    """Runs Tasks on a thread pool; keeps them alive until they finish."""

    def __init__(self, max_threads: int = 4, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        # Changes a user makes one after another reach the store in that order: two writes
        # on the pool above could overtake each other (a widget moved twice, stored once).
        self._in_order = QThreadPool(self)
        self._in_order.setMaxThreadCount(1)
        self._tasks: dict[str, Task] = {}
        self._running: set[Task] = set()
        self._stopping = False

    def start(
        self,
        work: Callable[[TaskState], Any],
        *,
        key: str | None = None,
        on_success=None,
        on_error=None,
        on_progress=None,
        expected_errors: tuple[type[BaseException], ...] = (),
        in_order: bool = False,
    ) -> Task:
        """Run `work` on the pool; its result, failure and progress come back on the GUI thread.
        With `in_order`, after every work started before it with `in_order` (writes).

        With a `key`, the newest work of that key wins: starting it cancels the older, and the
        older's result, failure and progress are dropped even when they are already on their
        way. `expected_errors` are failures the caller shows the user; they are not logged as
        bugs."""
        task = Task(work, key or getattr(work, "__name__", "task"), expected_errors)
        if self._stopping:  # the app is closing: the services this work needs are stopping
            log.info("not started, the app is closing: %s", task.name)
            task.state.cancel()
            return task
        if key and key in self._tasks:
            self._tasks[key].cancel()

        def deliver(callback):
            def delivered(value) -> None:
                if self._stopping or (key and self._tasks.get(key) is not task):
                    return  # the app is closing, or newer work of the key made this moot
                callback(value)

            return delivered

        if on_success:
            task.succeeded.connect(deliver(on_success))
        if on_error:
            task.failed.connect(deliver(on_error))
        if on_progress:
            task.progress.connect(deliver(on_progress))
        task.finished.connect(lambda: self._forget(task, key))
        self._running.add(task)
        if key:
            self._tasks[key] = task
        (self._in_order if in_order else self._pool).start(_Runnable(task))
        return task

    def cancel(self, key: str) -> None:
        """The work of `key` is moot: cancelled, and whatever it still sends is dropped."""
        task = self._tasks.pop(key, None)
        if task is not None:
            task.cancel()

    def busy(self, key: str) -> bool:
        """Work of `key` is on its way and its result will be delivered."""
        return key in self._tasks

    def _forget(self, task: Task, key: str | None) -> None:
        self._running.discard(task)
        if key and self._tasks.get(key) is task:
            del self._tasks[key]

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        self._stopping = True  # what work still sends has no window to go to
        for task in list(self._running):
            task.cancel()
        self._pool.waitForDone(timeout_ms)
        self._in_order.waitForDone(timeout_ms)


class Runner:
    """The one background call shape a view gets: `run(work, on_success, failed, progress,
    key=...)`. Work is a plain function of a TaskState that never touches a widget; with a key,
    newer work of that key (for this view) cancels older work and stale results are dropped.
    Failures of the kinds in `expected_errors` are the user's to read, not bugs to log."""

    def __init__(
        self,
        tasks: TaskRunner,
        expected_errors: tuple[type[BaseException], ...] = (),
        scope: str = "",
        view: QObject | None = None,
    ) -> None:
        self._tasks = tasks
        self._expected = expected_errors
        self._scope = scope
        self._view = view

    def for_view(self, view: QObject) -> Runner:
        """This runner with keys of the view's own (two views' "refresh" are not one), whose
        results are dropped once the view is gone."""
        return Runner(self._tasks, self._expected, f"{self._scope}{id(view)}:", view)

    def cancel(self, key: str) -> None:
        self._tasks.cancel(f"{self._scope}{key}")

    def busy(self, key: str) -> bool:
        return self._tasks.busy(f"{self._scope}{key}")

    def run(
        self,
        work: Callable[[TaskState], Any],
        on_success: Callable[[Any], None] | None = None,
        failed: Callable[[BaseException], None] | None = None,
        progress: Callable[[Any], None] | None = None,
        *,
        key: str | None = None,
    ) -> Task:
        return self._start(work, on_success, failed, progress, key=key, in_order=False)

    def write(
        self,
        work: Callable[[TaskState], Any],
        on_success: Callable[[Any], None] | None = None,
        failed: Callable[[BaseException], None] | None = None,
        *,
        key: str | None = None,
    ) -> Task:
        """A change to the store: as `run`, and after every change asked for before it."""
        return self._start(work, on_success, failed, None, key=key, in_order=True)

    def _start(self, work, on_success, failed, progress, *, key, in_order) -> Task:
        return self._tasks.start(
            work,
            key=f"{self._scope}{key}" if key else None,
            on_success=self._while_shown(on_success),
            on_error=self._while_shown(failed),
            on_progress=self._while_shown(progress),
            expected_errors=self._expected,
            in_order=in_order,
        )

    def _while_shown(self, callback):
        if callback is None or self._view is None:
            return callback
        view = self._view
        return lambda value: callback(value) if isValid(view) else None

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
        self._tasks: dict[str, Task] = {}
        self._running: set[Task] = set()

    def start(
        self,
        work: Callable[[TaskState], Any],
        *,
        key: str | None = None,
        on_success=None,
        on_error=None,
        on_progress=None,
        expected_errors: tuple[type[BaseException], ...] = (),
    ) -> Task:
        """`expected_errors` are failures the caller shows the user; they are not logged as bugs."""
        if key and key in self._tasks:
            self._tasks[key].cancel()
        task = Task(work, key or getattr(work, "__name__", "task"), expected_errors)
        if on_success:
            task.succeeded.connect(on_success)
        if on_error:
            task.failed.connect(on_error)
        if on_progress:
            task.progress.connect(on_progress)
        task.finished.connect(lambda: self._forget(task, key))
        self._running.add(task)
        if key:
            self._tasks[key] = task
        self._pool.start(_Runnable(task))
        return task

    def _forget(self, task: Task, key: str | None) -> None:
        self._running.discard(task)
        if key and self._tasks.get(key) is task:
            del self._tasks[key]

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        for task in list(self._running):
            task.cancel()
        self._pool.waitForDone(timeout_ms)

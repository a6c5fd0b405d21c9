"""The local executor: N worker processes on this machine, each loading the model once.

Each worker is a spawned process with its own pipe and at most one task at a time, so when
one dies (a crash in native code, the OOM killer, `os._exit`) the driver knows exactly which
item it held: that item fails with `WorkerLost` (retryable), a fresh worker takes the slot,
and the run goes on. (`concurrent.futures.ProcessPoolExecutor` breaks every pending future
when one worker dies, which would charge innocent items for the crash.)
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import os
import signal
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from yuyin.batch.worker import (
    Failure,
    Outcome,
    Task,
    WorkerConfig,
    failure_from,
    load_worker_engine,
    rebuild_error,
    transcribe_task,
)
from yuyin.errors import ConfigurationError, YuyinError

__all__ = ["LocalExecutor", "split_cpu_threads"]

log = logging.getLogger(__name__)

#: Exit status of a worker that a test asked to crash (see `LocalExecutor._crash_on`).
_CRASH_EXIT = 70


def split_cpu_threads(config: WorkerConfig, workers: int, cpus: int | None = None) -> WorkerConfig:
    """Give each of `workers` models an even share of the CPU when threads are left at 0.

    Without this every CTranslate2 replica would start one thread per core and N workers
    would fight over the same cores.
    """
    if config.model_options.cpu_threads > 0:
        return config
    share = max(1, (cpus or os.cpu_count() or 1) // max(1, workers))
    mopts = dataclasses.replace(config.model_options, cpu_threads=share)
    return dataclasses.replace(config, model_options=mopts)


def _worker_main(conn: Connection, config: WorkerConfig, crash_on: str | None) -> None:
    """A worker process: load the model, then answer tasks until the pipe closes."""
    # Ctrl-C reaches the whole process group; the driver decides, workers just stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        engine = load_worker_engine(config)
    except YuyinError as exc:
        conn.send(("fatal", failure_from(exc)))
        return
    conn.send(("ready", None))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        if crash_on is not None and task.key.endswith(crash_on):
            os._exit(_CRASH_EXIT)  # test-only: a worker that dies on one file
        conn.send(("done", transcribe_task(engine, task, config)))


@dataclass
class _Slot:
    process: BaseProcess
    conn: Connection
    task: Task | None = None


class LocalExecutor:
    """Run batch tasks on `workers` local processes (spawned, so CUDA and threads are safe).

    Args:
        config: options and model every worker loads once.
        workers: worker processes (models loaded at once).
        _crash_on: test-only hook: a worker given a task whose key ends with this string
            exits at once with status 70, as a native crash would. Never set it otherwise.

    Raises:
        ConfigurationError: `workers` below 1.
    """

    def __init__(
        self, config: WorkerConfig, *, workers: int = 1, _crash_on: str | None = None
    ) -> None:
        if workers < 1:
            raise ConfigurationError("--workers must be at least 1", hint="e.g. --workers 2")
        self.config = split_cpu_threads(config, workers)
        self.workers = workers
        self._crash_on = _crash_on
        self._context = multiprocessing.get_context("spawn")
        self._slots: list[_Slot] = []

    @property
    def capacity(self) -> int:
        """How many tasks may be in flight at once."""
        return self.workers

    def _spawn(self) -> _Slot:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main,
            args=(child, self.config, self._crash_on),
            name="yuyin-batch-worker",
            daemon=True,
        )
        process.start()
        child.close()
        return _Slot(process, parent)

    def start(self) -> None:
        """Start the worker processes (each loads its model in the background)."""
        while len(self._slots) < self.workers:
            self._slots.append(self._spawn())

    def submit(self, task: Task) -> None:
        """Give `task` to an idle worker.

        Raises:
            RuntimeError: no worker is idle (the caller exceeded `capacity`).
        """
        if not self._slots:
            self.start()
        for slot in self._slots:
            if slot.task is None:
                slot.task = task
                slot.conn.send(task)
                return
        raise RuntimeError("every worker is busy")  # a caller bug, not user input

    def wait(self) -> list[Outcome]:
        """Block until at least one in-flight task has an outcome; return all that do.

        Raises:
            YuyinError: a worker could not load the model (every item would fail the same).
        """
        busy = [s for s in self._slots if s.task is not None]
        if not busy:
            return []
        handles: list[Any] = [s.conn for s in busy] + [s.process.sentinel for s in busy]
        ready = set(wait(handles))
        outcomes: list[Outcome] = []
        for index, slot in enumerate(self._slots):
            if slot.task is None:
                continue
            if slot.conn in ready or slot.process.sentinel in ready:
                outcome = self._collect(index, slot)
                if outcome is not None:
                    outcomes.append(outcome)
        return outcomes

    def _collect(self, index: int, slot: _Slot) -> Outcome | None:
        task = slot.task
        if task is None:  # pragma: no cover - wait() checks
            return None
        while True:
            try:
                if not slot.conn.poll():
                    break
                kind, payload = slot.conn.recv()
            except (EOFError, OSError):
                break
            if kind == "fatal":
                self.close()
                raise rebuild_error(payload)
            if kind == "done":
                slot.task = None
                return payload  # type: ignore[no-any-return]
        if slot.process.is_alive():
            return None  # only the "ready" message so far
        slot.process.join(timeout=5)
        code = slot.process.exitcode
        log.warning("worker %s died (exit code %s) on %s", slot.process.pid, code, task.source)
        slot.conn.close()
        self._slots[index] = self._spawn()
        return Outcome(
            task.key,
            failure=Failure(
                "WorkerLost",
                f"the worker process died (exit code {code}) while transcribing this file",
                "a crash in native code or the system running out of memory; "
                "try --workers 1 or a smaller model",
            ),
        )

    def close(self) -> None:
        """Stop every worker (in-flight tasks are abandoned; the journal retries them)."""
        for slot in self._slots:
            with contextlib.suppress(OSError, ValueError):
                slot.conn.send(None)
        for slot in self._slots:
            slot.process.join(timeout=2)
            if slot.process.is_alive():
                slot.process.terminate()
                slot.process.join(timeout=5)
            slot.conn.close()
        self._slots = []

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

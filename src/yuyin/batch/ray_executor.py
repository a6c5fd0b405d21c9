"""The Ray executor: one model per Ray actor, on a local runtime or any Ray cluster.

Actors are sized by `num_cpus` (the model's CPU threads) and `num_gpus`, so Ray places as
many on each node as fit. Tasks go to idle actors and results come back as they finish
(`ray.wait`); an actor that dies (its node lost, a native crash) fails only the item it
held (retryable) and is replaced. Ray is imported here only, from the `ray` extra.

A cluster's nodes need yuyin (with the same model available) and must be able to read the
inputs: a shared file system, or URLs. Outputs are written by the driver, so the output
folder only needs to exist where `yuyin batch` runs.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import urllib.parse
from types import ModuleType
from typing import Any

from yuyin.batch.local import split_cpu_threads
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
from yuyin.engines import Engine
from yuyin.errors import ConfigurationError, MissingDependencyError, YuyinError

__all__ = ["RayExecutor", "import_ray"]

log = logging.getLogger(__name__)


def import_ray() -> ModuleType:
    """Import Ray, or say which extra installs it.

    Raises:
        MissingDependencyError: Ray is not installed.
    """
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError("ray", "ray", "--executor ray") from exc
    return ray


class _RayWorker:
    """The actor body: loads the model once, then transcribes one task per call."""

    def __init__(self, config: WorkerConfig, crash_on: str | None) -> None:
        self.config = config
        self.crash_on = crash_on
        self.engine: Engine | None = None
        self.fatal: Failure | None = None
        try:
            self.engine = load_worker_engine(config)
        except YuyinError as exc:
            self.fatal = failure_from(exc)

    def run(self, task: Task) -> tuple[str, Any]:
        if self.fatal is not None or self.engine is None:
            return "fatal", self.fatal
        if self.crash_on is not None and task.key.endswith(self.crash_on):
            os._exit(70)  # test-only: an actor that dies on one file
        return "done", transcribe_task(self.engine, task, self.config)


def _check_reachable(address: str, timeout_s: float) -> None:
    """Fail fast, with a clear error, when a `ray://host:port` or `host:port` is not there."""
    if address == "auto":
        return
    split = urllib.parse.urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = split.hostname, split.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        raise ConfigurationError(
            f"cannot read the Ray address {address!r}",
            hint="use auto, ray://HOST:10001 (Ray Client) or HOST:6379 (on a cluster node)",
        )
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as exc:
        raise ConfigurationError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}",
            hint="check the address and that the head node runs `ray start --head`; "
            "omit --ray-address to start a local Ray runtime",
        ) from exc


class RayExecutor:
    """Run batch tasks on Ray actors, one model each.

    Args:
        config: options and model every actor loads once.
        workers: actors (models loaded at once).
        address: `auto` (the cluster this machine belongs to), `ray://host:port` (Ray Client),
            `host:port`, or None to start a local Ray runtime sized for `workers`.
        gpus_per_worker: GPUs each actor reserves (fractions share a GPU).
        connect_timeout_s: how long to wait for the cluster's address to answer (a TCP
            check before Ray connects, so an unreachable cluster fails fast, never hangs).
        _crash_on: test-only hook, as in `LocalExecutor`: the actor given a task whose key
            ends with this string exits at once. Never set it otherwise.

    Raises:
        MissingDependencyError: Ray is not installed (checked here, before any work).
        ConfigurationError: `workers` below 1.
    """

    def __init__(
        self,
        config: WorkerConfig,
        *,
        workers: int = 1,
        address: str | None = None,
        gpus_per_worker: float = 0.0,
        connect_timeout_s: float = 30.0,
        _crash_on: str | None = None,
    ) -> None:
        if workers < 1:
            raise ConfigurationError("--workers must be at least 1", hint="e.g. --workers 2")
        self._ray = import_ray()
        if address is None:
            config = split_cpu_threads(config, workers)
        elif config.model_options.cpu_threads <= 0:
            # One CPU per actor unless told: Ray places actors by what they reserve.
            mopts = dataclasses.replace(config.model_options, cpu_threads=1)
            config = dataclasses.replace(config, model_options=mopts)
        self.config = config
        self.workers = workers
        self.address = address
        self.gpus_per_worker = gpus_per_worker
        self.connect_timeout_s = connect_timeout_s
        self._crash_on = _crash_on
        self._actor_class: Any = None
        self._idle: list[Any] = []
        self._running: dict[Any, tuple[Any, Task]] = {}
        self._connected = False

    @property
    def capacity(self) -> int:
        """How many tasks may be in flight at once."""
        return self.workers

    def _init(self) -> None:
        ray = self._ray
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            # Worker output would land on our stdout and break --json; logs stay in Ray's.
            "log_to_driver": False,
            "logging_level": logging.WARNING,
        }
        if self.address is None:
            kwargs["num_cpus"] = self.workers * self.config.model_options.cpu_threads
        else:
            kwargs["address"] = self.address
        where = self.address or "a local Ray runtime"
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, TimeoutError, ValueError) as exc:
            raise ConfigurationError(
                f"cannot connect to {where}: {exc}",
                hint="check --ray-address (auto needs a running `ray start --head` here); "
                "omit it to start a local Ray runtime",
            ) from exc

    def start(self) -> None:
        """Connect to (or start) Ray and create the actors.

        Raises:
            ConfigurationError: the cluster cannot be reached in `connect_timeout_s`.
        """
        if self._connected:
            return
        if self.address is not None:
            _check_reachable(self.address, self.connect_timeout_s)
        self._init()
        self._connected = True
        self._actor_class = self._ray.remote(
            num_cpus=self.config.model_options.cpu_threads,
            num_gpus=self.gpus_per_worker,
            max_restarts=0,
        )(_RayWorker)
        self._idle = [self._new_actor() for _ in range(self.workers)]

    def _new_actor(self) -> Any:
        return self._actor_class.remote(self.config, self._crash_on)

    def submit(self, task: Task) -> None:
        """Give `task` to an idle actor.

        Raises:
            RuntimeError: no actor is idle (the caller exceeded `capacity`).
        """
        if not self._connected:
            self.start()
        if not self._idle:
            raise RuntimeError("every actor is busy")  # a caller bug, not user input
        actor = self._idle.pop()
        self._running[actor.run.remote(task)] = (actor, task)

    def wait(self) -> list[Outcome]:
        """Block until at least one task finishes; return every finished one.

        Raises:
            YuyinError: an actor could not load the model.
        """
        if not self._running:
            return []
        ray = self._ray
        ready, _ = ray.wait(list(self._running), num_returns=1)
        outcomes: list[Outcome] = []
        for ref in ready:
            actor, task = self._running.pop(ref)
            try:
                kind, payload = ray.get(ref)
            except ray.exceptions.RayActorError as exc:
                log.warning("Ray actor lost on %s: %s", task.source, exc)
                ray.kill(actor, no_restart=True)
                self._idle.append(self._new_actor())
                outcomes.append(
                    Outcome(
                        task.key,
                        failure=Failure(
                            "WorkerLost",
                            "the Ray actor died while transcribing this file",
                            "a lost node, a native crash or running out of memory",
                        ),
                    )
                )
                continue
            except ray.exceptions.RayError as exc:
                outcomes.append(Outcome(task.key, failure=Failure("RayError", str(exc))))
                self._idle.append(actor)
                continue
            if kind == "fatal":
                self.close()
                raise rebuild_error(payload)
            self._idle.append(actor)
            outcomes.append(payload)
        return outcomes

    def close(self) -> None:
        """Stop the actors and disconnect (a local runtime we started is shut down)."""
        if self._connected:
            self._idle, self._running = [], {}
            self._ray.shutdown()
            self._connected = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""Orchestration: inputs → journal → executor → atomic outputs → summary and manifest."""

from __future__ import annotations

import json
import logging
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from yuyin.batch.inputs import BatchInputs, BatchItem, expand_inputs
from yuyin.batch.journal import JOURNAL_NAME, Journal
from yuyin.batch.plan import output_stems
from yuyin.batch.worker import Failure, Outcome, Task, WorkerConfig, failure_from
from yuyin.errors import ConfigurationError, YuyinError
from yuyin.fileio import atomic_write_text
from yuyin.formats import FORMATS
from yuyin.media import check_separator, validate_media_options
from yuyin.options import OutputOptions
from yuyin.transcribe import validate_options, write_outputs

__all__ = [
    "MANIFEST_NAME",
    "BatchEvent",
    "BatchSummary",
    "Executor",
    "ItemFailure",
    "run_batch",
]

log = logging.getLogger(__name__)

#: The combined output manifest's file name inside the output folder.
MANIFEST_NAME = "yuyin-manifest.jsonl"


class Executor(Protocol):
    """Where tasks run: `LocalExecutor`, `RayExecutor`, or a scripted stand-in in tests."""

    config: WorkerConfig

    @property
    def capacity(self) -> int:
        """How many tasks may be in flight at once."""
        ...

    def start(self) -> None:
        """Start workers (called once, and only when there is work)."""
        ...

    def submit(self, task: Task) -> None:
        """Hand one task to an idle worker."""
        ...

    def wait(self) -> list[Outcome]:
        """Block until at least one in-flight task has an outcome; return those that do."""
        ...

    def close(self) -> None:
        """Stop the workers."""
        ...


@dataclass(frozen=True, slots=True)
class ItemFailure:
    """An input that did not get done in this run, and why.

    Attributes:
        input: the path or URL (or `manifest:line` for an unusable manifest row).
        id: the item's id.
        error: the last error it hit.
        attempts: failed attempts over all runs (0 for an unusable manifest row or a
            playlist that could not be listed).
    """

    input: str
    id: str
    error: Failure
    attempts: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "input": self.input,
            "id": self.id,
            "attempts": self.attempts,
            **self.error.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class BatchEvent:
    """Progress: one attempt of one item ended.

    Attributes:
        item: the input.
        status: `succeeded`, `failed` (final) or `retrying` (failed, tried again later).
        audio_seconds: the audio's length when it succeeded, else 0.
        failure: the error when it did not succeed.
    """

    item: BatchItem
    status: str
    audio_seconds: float = 0.0
    failure: Failure | None = None


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """The result of a batch run.

    Attributes:
        succeeded: items transcribed in this run.
        skipped: items already finished by an earlier run (not redone).
        failed: items that failed (after their retries) or could not be read.
        audio_seconds: audio transcribed in this run.
        duplicates: inputs named more than once (done once).
        output_dir: the output folder.
        manifest: the combined output manifest (every finished item so far).
        journal: the journal file.
    """

    succeeded: int
    skipped: int
    failed: tuple[ItemFailure, ...]
    audio_seconds: float
    duplicates: int = 0
    output_dir: str = ""
    manifest: str = ""
    journal: str = ""

    @property
    def total(self) -> int:
        """Every unique input: succeeded + skipped + failed."""
        return self.succeeded + self.skipped + len(self.failed)

    def to_dict(self) -> dict[str, Any]:
        """The `--json` summary object."""
        return {
            "succeeded": self.succeeded,
            "skipped": self.skipped,
            "failed": len(self.failed),
            "total": self.total,
            "duplicates": self.duplicates,
            "audio_seconds": round(self.audio_seconds, 3),
            "failures": [f.to_dict() for f in self.failed],
            "output_dir": self.output_dir,
            "manifest": self.manifest,
            "journal": self.journal,
        }


def _check(executor: Executor, output: OutputOptions, retries: int) -> None:
    validate_options(executor.config.options)
    validate_media_options(executor.config.media)
    if executor.config.media.separate_vocals:  # or every item fails, and is retried
        check_separator(executor.config.media.separator, executor.config.media.demucs_model)
    bad = [f for f in output.output_format if f not in FORMATS]
    if bad or not output.output_format:
        raise ConfigurationError(
            f"unknown output format(s): {', '.join(bad) or '(none)'}",
            hint="choose from " + ", ".join(FORMATS),
        )
    if retries < 0:
        raise ConfigurationError("--retries must be 0 or more", hint="e.g. --retries 2")


def _manifest_rows(items: Iterable[BatchItem], journal: Journal) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    order = [i.key for i in items] + sorted(journal.states)  # this run's order, then the rest
    for key in dict.fromkeys(order):
        state = journal.state(key)
        if state.status != "finished" or state.last is None:
            continue
        last = state.last
        rows.append(
            {
                "id": last.get("id", key),
                "audio": last.get("audio", key),
                "text": last.get("text", ""),
                "language": last.get("language"),
                "duration": last.get("duration"),
                "outputs": last.get("outputs", {}),
            }
        )
    return rows


def run_batch(
    inputs: BatchInputs | Iterable[str],
    output_dir: str | Path,
    executor: Executor,
    *,
    output: OutputOptions | None = None,
    retries: int = 2,
    on_plan: Callable[[int], None] | None = None,
    on_event: Callable[[BatchEvent], None] | None = None,
    run_id: str | None = None,
) -> BatchSummary:
    """Transcribe every input once into `output_dir`, resuming what an earlier run left.

    Items the journal shows finished are skipped; failed ones are tried again while their
    failures, over all runs, number at most `retries`; within a run a retryable failure (a
    lost worker, an output error) is queued again at once, bad input is not.

    Args:
        inputs: paths, folders, globs, manifests and list files, or already expanded inputs
            (raw inputs are expanded with the executor's `config.media`, so its `playlist`
            turns each playlist URL into one item per entry).
        output_dir: folder for outputs, the journal and the combined manifest.
        executor: where tasks run (not started yet; the caller closes it).
        output: formats and subtitle layout (`output_dir` there is ignored).
        retries: extra attempts per item after its first failure.
        on_plan: called once with the number of items this run will attempt.
        on_event: called after each attempt (for progress bars).
        run_id: this run's id in the journal (default: random).

    Raises:
        YuyinError: problems that affect every item (bad options, no inputs, unwritable
            folder, a model that cannot load, an unreachable cluster).
    """
    out_opts = output or OutputOptions()
    _check(executor, out_opts, retries)
    config = executor.config
    expanded = (
        inputs
        if isinstance(inputs, BatchInputs)
        else expand_inputs(inputs, media=config.media, cache_dir=config.cache_dir)
    )
    out = Path(output_dir).expanduser().resolve()  # manifest paths must not depend on cwd
    stems = output_stems([i.key for i in expanded.items], out)
    budget = 1 + retries
    failed: list[ItemFailure] = [
        ItemFailure(
            f"{s.source}:{s.line}" if s.line else s.source,
            s.id or "",
            Failure("InputError", s.reason, "fix or remove the row", 3, retryable=False),
            0,
        )
        for s in expanded.skipped
    ] + [ItemFailure(u.source, u.id, failure_from(u.error), 0) for u in expanded.unlisted]
    succeeded, skipped, audio_seconds = 0, 0, 0.0
    with Journal(out, run_id or uuid.uuid4().hex[:12]) as journal:
        todo: list[BatchItem] = []
        for item in expanded.items:
            state = journal.state(item.key)
            if state.status == "finished":
                skipped += 1
            elif state.failures >= budget:
                failed.append(_final_failure(item, state.last, state.failures))
            else:
                todo.append(item)
        if on_plan is not None:
            on_plan(len(todo))
        by_key = {i.key: i for i in todo}
        pending = deque(Task(i.key, i.source, journal.state(i.key).failures + 1) for i in todo)
        in_flight = 0
        try:
            if pending:
                executor.start()
            while pending or in_flight:
                while pending and in_flight < executor.capacity:
                    task = pending.popleft()
                    journal.append("started", task.key, attempt=task.attempt)
                    executor.submit(task)
                    in_flight += 1
                for outcome in executor.wait():
                    in_flight -= 1
                    item = by_key[outcome.key]
                    event = _settle(outcome, item, stems[item.key], out_opts, journal)
                    if event.status == "succeeded":
                        succeeded += 1
                        audio_seconds += event.audio_seconds
                    elif (failure := event.failure) is not None:
                        failures = journal.state(item.key).failures
                        if failure.retryable and failures < budget:
                            event = BatchEvent(item, "retrying", failure=failure)
                            pending.append(Task(item.key, item.source, failures + 1))
                        else:
                            failed.append(ItemFailure(item.source, item.id, failure, failures))
                    if on_event is not None:
                        on_event(event)
        finally:
            manifest = out / MANIFEST_NAME
            try:
                rows = _manifest_rows(expanded.items, journal)
                atomic_write_text(
                    manifest, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
                )
            except YuyinError:
                log.warning("cannot write %s", manifest, exc_info=True)
    return BatchSummary(
        succeeded,
        skipped,
        tuple(failed),
        audio_seconds,
        duplicates=len(expanded.duplicates),
        output_dir=str(out),
        manifest=str(manifest),
        journal=str(out / JOURNAL_NAME),
    )


def _final_failure(item: BatchItem, last: dict[str, Any] | None, failures: int) -> ItemFailure:
    error = (last or {}).get("error") or {}
    failure = Failure(
        str(error.get("type", "YuyinError")),
        str(error.get("message", "failed in an earlier run")),
        f"gave up after {failures} attempt(s); raise --retries to try again",
        int((last or {}).get("exit_code", 1)),
        retryable=False,
    )
    return ItemFailure(item.source, item.id, failure, failures)


def _settle(
    outcome: Outcome, item: BatchItem, stem: Path, output: OutputOptions, journal: Journal
) -> BatchEvent:
    """Write a success's files and journal the verdict; return what happened."""
    failure = outcome.failure
    transcript = outcome.transcript
    if transcript is not None and failure is None:
        try:
            written = write_outputs(transcript, stem, output)
        except YuyinError as exc:
            failure = Failure(type(exc).__name__, exc.message, exc.hint, exc.exit_code)
        else:
            journal.append(
                "finished",
                item.key,
                id=item.id,
                audio=item.source,
                text=transcript.text,
                language=transcript.language,
                duration=round(transcript.duration, 3),
                outputs=written,
            )
            return BatchEvent(item, "succeeded", transcript.duration)
    if failure is None:  # pragma: no cover - an Outcome always holds one or the other
        failure = Failure("InternalError", "the worker returned nothing")
    journal.append(
        "failed",
        item.key,
        attempt=journal.state(item.key).failures + 1,
        error=failure.to_dict(),
        exit_code=failure.exit_code,
        retryable=failure.retryable,
    )
    return BatchEvent(item, "failed", failure=failure)

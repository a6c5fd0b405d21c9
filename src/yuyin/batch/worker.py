"""What runs inside a batch worker (a local process or a Ray actor), and what it sends back.

Everything here crosses a process boundary by pickle, so errors travel as plain `Failure`
records rather than exception objects (YuyinError subclasses do not all round-trip).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from yuyin import errors
from yuyin.engines import Engine, load_engine
from yuyin.errors import InputError, YuyinError
from yuyin.media import MediaOptions
from yuyin.options import ModelOptions, TranscribeOptions
from yuyin.transcribe import transcribe
from yuyin.types import Transcript

__all__ = [
    "Failure",
    "Outcome",
    "Task",
    "WorkerConfig",
    "failure_from",
    "load_worker_engine",
    "rebuild_error",
    "transcribe_task",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """Everything a worker needs to load its model once and transcribe any number of items.

    Attributes:
        options: decoding options, the same for every item.
        model_options: which model each worker loads, and with how many CPU threads.
        cache_dir: model cache folder (None: the default); URLs are downloaded into its
            `downloads` unless `media.download_dir` says otherwise.
        media: per-item media handling: `cookies` and `download_dir` for URLs, and
            `separate_vocals` (`separator`, `demucs_model`); `playlist` is used when the
            inputs are expanded (`expand_inputs`), the output-side fields are not used.
    """

    options: TranscribeOptions
    model_options: ModelOptions
    cache_dir: Path | None = None
    media: MediaOptions = field(default_factory=MediaOptions)


@dataclass(frozen=True, slots=True)
class Task:
    """One item sent to a worker.

    Attributes:
        key: the item's journal key.
        source: the path or URL to transcribe.
        attempt: 1 for the first try, counting every failed try before it.
    """

    key: str
    source: str
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an item failed, in a form that survives pickling.

    Attributes:
        type: the error class name (`AudioDecodeError`, `WorkerLost`...).
        message: what went wrong.
        hint: what to do about it.
        exit_code: the CLI exit code of the error class.
        retryable: whether another attempt may succeed (input errors never do).
    """

    type: str
    message: str
    hint: str = ""
    exit_code: int = 1
    retryable: bool = True

    def to_dict(self) -> dict[str, str]:
        """The JSON shape of an error (as the CLI's `--json` prints errors)."""
        return {"type": self.type, "message": self.message, "hint": self.hint}


@dataclass(frozen=True, slots=True)
class Outcome:
    """A worker's answer for one task: a transcript or a failure.

    Attributes:
        key: the task's key.
        transcript: the result, when it succeeded.
        failure: why not, when it failed.
    """

    key: str
    transcript: Transcript | None = None
    failure: Failure | None = None


def failure_from(exc: YuyinError) -> Failure:
    """A `Failure` for a library error; bad input is final, anything else may be retried."""
    return Failure(
        type(exc).__name__,
        exc.message,
        exc.hint,
        exc.exit_code,
        retryable=not isinstance(exc, InputError),
    )


def rebuild_error(failure: Failure) -> YuyinError:
    """The YuyinError a `Failure` stands for (its class when yuyin.errors has it)."""
    cls = getattr(errors, failure.type, None)
    if not (isinstance(cls, type) and issubclass(cls, YuyinError)):
        cls = YuyinError
    exc = cls.__new__(cls)
    # The base initialiser, so classes with their own signature rebuild too.
    YuyinError.__init__(exc, failure.message, hint=failure.hint)
    return exc


def load_worker_engine(config: WorkerConfig) -> Engine:
    """Load the model a worker keeps for its whole life.

    Raises:
        YuyinError: the model or its engine cannot be loaded.
    """
    return load_engine(config.model_options, cache_dir=config.cache_dir)


def transcribe_task(engine: Engine, task: Task, config: WorkerConfig) -> Outcome:
    """Transcribe one task with a loaded engine; never raises (errors become a `Failure`)."""
    try:
        transcript = transcribe(
            task.source,
            options=config.options,
            engine=engine,
            cache_dir=config.cache_dir,
            media=config.media,
        )
    except YuyinError as exc:
        log.debug("%s failed", task.source, exc_info=True)
        return Outcome(task.key, failure=failure_from(exc))
    except Exception as exc:
        # The worker is a boundary: an unexpected error fails this item, not the run.
        log.warning("%s: unexpected error", task.source, exc_info=True)
        return Outcome(
            task.key,
            failure=Failure(
                "InternalError",
                f"unexpected error: {type(exc).__name__}: {exc}",
                "please report it with the file that caused it",
            ),
        )
    return Outcome(task.key, transcript=transcript)

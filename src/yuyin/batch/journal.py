"""The append-only journal that makes a batch run resumable and exactly-once.

One JSON object per line in `OUT/yuyin-journal.jsonl`, fsync'd before the run moves on:

    {"event": "started",  "key": ..., "run": ..., "attempt": n}
    {"event": "finished", "key": ..., "run": ..., "id": ..., "audio": ..., "text": ...,
     "language": ..., "duration": ..., "outputs": {format: path}}
    {"event": "failed",   "key": ..., "run": ..., "attempt": n, "error": {type, message,
     hint}, "exit_code": n, "retryable": bool}

Replaying it gives each key's state: finished items are skipped, failed items are tried
again while their failures stay within the retry budget, and an item `started` by a run
that died (SIGKILL, Ctrl-C, a lost machine) without a verdict is simply tried again; a dead
run is not the item's fault, so it costs no attempt. A torn last line (a kill mid-write) is
ignored. Outputs are written atomically before `finished` is appended, so a finished item
always has whole files, and redoing an unfinished one only replaces files.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from yuyin.errors import ConfigurationError, OutputError

try:  # POSIX; elsewhere two runs on one folder are not detected
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = ["JOURNAL_NAME", "ItemState", "Journal", "read_records", "replay"]

log = logging.getLogger(__name__)

#: The journal's file name inside the output folder.
JOURNAL_NAME = "yuyin-journal.jsonl"


@dataclass(frozen=True, slots=True)
class ItemState:
    """What the journal says about one key.

    Attributes:
        status: `finished`, `failed`, `interrupted` (started, no verdict) or `new`.
        failures: how many attempts ended in failure, over all runs.
        last: the key's last `finished` or `failed` record (None when it has none).
    """

    status: str = "new"
    failures: int = 0
    last: dict[str, Any] | None = None


def read_records(path: str | Path) -> Iterator[dict[str, Any]]:
    """The journal's records in order; unreadable lines (a torn last write) are left out."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(
            f"cannot read the journal {path}: {exc.strerror or exc}",
            hint="check the output folder's permissions",
        ) from exc
    for number, raw in enumerate(data.splitlines(), 1):
        try:
            record = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            log.warning("%s:%d: unreadable journal line ignored", path, number)
            continue
        if isinstance(record, dict) and isinstance(record.get("key"), str):
            yield record


def _apply(old: ItemState, record: dict[str, Any]) -> ItemState:
    event = record.get("event")
    if event == "started" and old.status != "finished":
        return ItemState("interrupted", old.failures, old.last)
    if event == "finished":
        return ItemState("finished", old.failures, record)
    if event == "failed":
        return ItemState("failed", old.failures + 1, record)
    return old


def replay(records: Iterable[dict[str, Any]]) -> dict[str, ItemState]:
    """Fold journal records into the current state of each key (the last verdict wins)."""
    states: dict[str, ItemState] = {}
    for record in records:
        states[record["key"]] = _apply(states.get(record["key"], ItemState()), record)
    return states


class Journal:
    """An open journal: replayed state plus an fsync'd appender; one run per folder at a time.

    Args:
        output_dir: the batch output folder (created if missing).
        run_id: this run's id, written into every record.

    Raises:
        OutputError: the folder or journal cannot be created or written.
        ConfigurationError: another run holds the journal.
    """

    def __init__(self, output_dir: str | Path, run_id: str) -> None:
        self.path = Path(output_dir) / JOURNAL_NAME
        self.run_id = run_id
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[str] = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise OutputError(
                f"cannot open the journal {self.path}: {exc.strerror or exc}",
                hint="choose a writable folder with --output-dir",
            ) from exc
        if fcntl is not None:
            try:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                self._file.close()
                raise ConfigurationError(
                    f"another yuyin batch run is writing to {self.path.parent}",
                    hint="wait for it to finish, or choose another --output-dir",
                ) from exc
        self.states = replay(read_records(self.path))
        # A run killed mid-line leaves no newline; start ours on a fresh line.
        self._file.seek(0, os.SEEK_END)
        if self._file.tell() > 0:
            self._file.seek(self._file.tell() - 1)
            if self._file.read(1) != "\n":
                self._write_raw("\n")

    def _write_raw(self, text: str) -> None:
        try:
            self._file.write(text)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise OutputError(
                f"cannot write the journal {self.path}: {exc.strerror or exc}",
                hint="check free disk space",
            ) from exc

    def append(self, event: str, key: str, **fields: Any) -> None:
        """Append one record and fsync it; the in-memory state follows."""
        record = {"event": event, "key": key, "run": self.run_id, **fields}
        self._write_raw(json.dumps(record, ensure_ascii=False) + "\n")
        self.states[key] = _apply(self.state(key), record)

    def state(self, key: str) -> ItemState:
        """The current state of `key` (`new` when the journal has never seen it)."""
        return self.states.get(key, ItemState())

    def close(self) -> None:
        """Release the lock and close the file."""
        with contextlib.suppress(OSError):
            self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

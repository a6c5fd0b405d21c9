"""The output folder of a fine-tuning run: what it holds, and when it counts as finished.

    OUT/finetune.json       the options, data summary and base model (written first)
    OUT/checkpoints/        Trainer checkpoints (`checkpoint-N`), for --resume
    OUT/tensorboard/        TensorBoard logs (`tensorboard --logdir OUT/tensorboard`)
    OUT/best/               the best checkpoint, Hugging Face layout (merged when LoRA)
    OUT/ct2/                its CTranslate2 export: `yuyin transcribe --model OUT/ct2`
    OUT/report.json         before/after scores on the test split
    OUT/.complete           written last: only a run that has it is finished

`best/` and `ct2/` are each written into a staging folder and renamed into place, so a run
that dies (Ctrl-C, a full disk) never leaves a half-written model under a finished name,
and without `.complete` nobody should take what is there as the result.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yuyin.errors import ConfigurationError, OutputError
from yuyin.fileio import atomic_write_text

__all__ = ["RunDir", "disk_error"]

_SETTINGS = "finetune.json"
_MARKER = ".complete"
# What a run writes; --overwrite removes these and nothing else.
_OWNED = (_SETTINGS, "checkpoints", "tensorboard", "best", "ct2", "report.json", _MARKER)
# Settings that may change between an interrupted run and its --resume.
_RESUMABLE_CHANGES = frozenset(
    {"max_steps", "report", "report_beam_size", "quantization", "push_to_hub", "eval_batch_size"}
)


def disk_error(action: str, path: Path, exc: OSError) -> OutputError:
    """An OutputError for a failed write, with a hint that names a full disk when it is one."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "the disk is full: free some space, then run again with --resume"
    elif exc.errno == errno.EFBIG:
        hint = (
            "a file is larger than this file system or the process's file size limit "
            "(ulimit -f) allows: raise the limit, then run again with --resume"
        )
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "check that the output folder is writable"
    else:
        hint = "check free disk space and that the output folder is writable"
    return OutputError(f"cannot {action} {path}: {exc.strerror or exc}", hint=hint)


@dataclass(frozen=True, slots=True)
class RunDir:
    """Paths of one run's output folder (see the module docstring)."""

    root: Path

    @property
    def settings(self) -> Path:
        """The run's options and data summary."""
        return self.root / _SETTINGS

    @property
    def checkpoints(self) -> Path:
        """Trainer checkpoints, for --resume."""
        return self.root / "checkpoints"

    @property
    def tensorboard(self) -> Path:
        """TensorBoard event files."""
        return self.root / "tensorboard"

    @property
    def best(self) -> Path:
        """The best checkpoint in Hugging Face layout."""
        return self.root / "best"

    @property
    def ct2(self) -> Path:
        """The CTranslate2 export."""
        return self.root / "ct2"

    @property
    def report(self) -> Path:
        """Before/after scores."""
        return self.root / "report.json"

    @property
    def marker(self) -> Path:
        """Written last; its presence means the run finished."""
        return self.root / _MARKER

    @property
    def complete(self) -> bool:
        """Whether the run finished (its marker exists)."""
        return self.marker.is_file()

    def last_checkpoint(self) -> Path | None:
        """The newest `checkpoints/checkpoint-N` holding a trainer state, or None."""
        if not self.checkpoints.is_dir():
            return None
        found = [
            (int(p.name.rpartition("-")[2]), p)
            for p in self.checkpoints.iterdir()
            if p.is_dir()
            and p.name.startswith("checkpoint-")
            and p.name.rpartition("-")[2].isdigit()
            and (p / "trainer_state.json").is_file()
        ]
        return max(found)[1] if found else None

    def prepare(self, *, resume: bool, overwrite: bool) -> None:
        """Make the folder ready: new, resumed or cleared.

        Args:
            resume: continue the run that is there.
            overwrite: remove the run that is there first (files it did not write stay).

        Raises:
            ConfigurationError: both resume and overwrite; or resume with no run there.
            OutputError: the folder holds something and neither flag was given; it cannot
                be created.
        """
        if resume and overwrite:
            raise ConfigurationError(
                "--resume and --overwrite contradict each other", hint="pick one"
            )
        if self.root.exists() and not self.root.is_dir():
            raise OutputError(f"{self.root} is a file", hint="choose a folder for --output-dir")
        # A run that stopped before its first step (say, its base model could not be loaded)
        # left only its settings: starting again needs no flag.
        busy = self.root.is_dir() and any(p.name != _SETTINGS for p in self.root.iterdir())
        if resume and not self.settings.is_file():
            raise ConfigurationError(
                f"nothing to resume in {self.root}: it holds no {_SETTINGS}",
                hint="start the run without --resume",
            )
        if busy and not (resume or overwrite):
            what = "a fine-tuning run" if self.settings.is_file() else "files"
            raise OutputError(
                f"{self.root} already holds {what}",
                hint="pass --resume to continue it, --overwrite to start again, "
                "or choose another --output-dir",
            )
        if overwrite and busy:
            if not self.settings.is_file():
                raise OutputError(
                    f"{self.root} holds files that are not a yuyin fine-tuning run",
                    hint="choose an empty or new --output-dir; --overwrite only replaces a run",
                )
            for name in _OWNED:
                path = self.root / name
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.exists():
                    path.unlink()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise disk_error("create", self.root, exc) from exc

    def read_settings(self) -> dict[str, Any]:
        """The settings a previous run wrote (empty when there are none)."""
        try:
            data = json.loads(self.settings.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def check_resumable(self, options: dict[str, Any]) -> None:
        """Refuse to resume with options that would change what the checkpoints mean.

        Raises:
            ConfigurationError: an option differs from the interrupted run's.
        """
        before = self.read_settings().get("options", {})
        changed = sorted(
            name
            for name, value in options.items()
            if name in before and before[name] != value and name not in _RESUMABLE_CHANGES
        )
        if changed:
            shown = ", ".join(f"{n} ({before[n]!r} -> {options[n]!r})" for n in changed)
            raise ConfigurationError(
                f"--resume with different settings: {shown}",
                hint="resume with the first run's settings, or start again with --overwrite",
            )

    def write_json(self, path: Path, data: dict[str, Any]) -> None:
        """Write one of the run's JSON files atomically."""
        atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")

    def mark_complete(self, data: dict[str, Any]) -> None:
        """Write the marker: the last file of a finished run."""
        self.write_json(self.marker, data)

    def replace_dir(self, staging: Path, target: Path) -> None:
        """Move a finished `staging` folder to `target`, replacing an older one.

        Raises:
            OutputError: the move failed.
        """
        try:
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
        except OSError as exc:
            raise disk_error("write", target, exc) from exc

"""One fine-tuning run from manifest to a model `yuyin transcribe` loads (issue 7).

    check data -> import base -> train (Seq2SeqTrainer) -> best/ -> ct2/ -> report -> .complete

`finetune()` is the library side of `yuyin finetune MANIFEST`. It never prints: progress
goes to the `on_progress` callback, and the result comes back as a `FinetuneResult`.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yuyin.engines import default_cache_dir
from yuyin.errors import MissingDependencyError, OutputError
from yuyin.eval.manifest import Manifest
from yuyin.finetune.base_model import (
    BaseModel,
    is_multilingual,
    missing_language,
    resolve_base_model,
)
from yuyin.finetune.data import Splits, check_language, load_splits
from yuyin.finetune.options import FinetuneOptions, validate_finetune_options
from yuyin.finetune.progress import Progress, ProgressCallback
from yuyin.finetune.report import Comparison, compare_models, examples_manifest
from yuyin.finetune.rundir import RunDir
from yuyin.train.export_ct2 import export_ctranslate2

__all__ = ["FinetuneResult", "finetune", "require_train_extra"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FinetuneResult:
    """What a finished run left in its output folder, and how well it did.

    Attributes:
        output_dir: the run's folder.
        checkpoint: the best checkpoint (Hugging Face layout).
        ct2: its CTranslate2 export, for `yuyin transcribe --model`.
        data: the data summary (clips and seconds per split, skipped rows by reason).
        training: steps, losses, the best validation score and the loss/score history.
        comparisons: before/after scores on the test split and any check sets.
        hub_url: where the checkpoint was uploaded, if it was.
        seconds: wall time of this call.
    """

    output_dir: Path
    checkpoint: Path
    ct2: Path
    data: dict[str, Any]
    training: dict[str, Any]
    comparisons: tuple[dict[str, Any], ...] = ()
    hub_url: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The report `OUT/report.json` holds and `--json` prints."""
        return {
            "output_dir": str(self.output_dir),
            "checkpoint": str(self.checkpoint),
            "ct2": str(self.ct2),
            "data": self.data,
            "training": self.training,
            "comparisons": list(self.comparisons),
            "hub_url": self.hub_url,
            "seconds": round(self.seconds, 3),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FinetuneResult:
        """Read back what `to_dict` wrote."""
        return cls(
            Path(data["output_dir"]),
            Path(data["checkpoint"]),
            Path(data["ct2"]),
            dict(data.get("data", {})),
            dict(data.get("training", {})),
            tuple(data.get("comparisons", ())),
            data.get("hub_url"),
            float(data.get("seconds", 0.0)),
        )


def require_train_extra(options: FinetuneOptions) -> None:
    """Fail early, naming the extra, when a package the run needs is missing.

    Raises:
        MissingDependencyError: torch, transformers, accelerate, tensorboard or (with LoRA)
            peft is not installed.
    """
    needed = ["torch", "transformers", "accelerate", "tensorboard"]
    if options.lora:
        needed.append("peft")
    for package in needed:
        if importlib.util.find_spec(package) is None:
            raise MissingDependencyError(package, "train", "yuyin finetune")


def _emit(on_progress: ProgressCallback | None, progress: Progress) -> None:
    if on_progress is not None:
        on_progress(progress)


def _before_model(base: BaseModel, run: RunDir, scratch: Path) -> Path:
    """The base model in CTranslate2 form (converted into `scratch` when it has none)."""
    if base.ct2 is not None:
        return base.ct2
    checkpoint = Path(base.checkpoint)
    if not checkpoint.is_dir():  # a hub id: transformers has it in its cache by now
        from huggingface_hub import snapshot_download

        checkpoint = Path(snapshot_download(base.checkpoint, local_files_only=True))
    return export_ctranslate2(checkpoint, scratch / "base-ct2", quantization="int8")


def _report(
    base: BaseModel,
    run: RunDir,
    splits: Splits,
    checks: Sequence[str | Path],
    language: str | None,
    options: FinetuneOptions,
    on_progress: ProgressCallback | None,
) -> list[Comparison]:
    sets: list[tuple[str, Manifest | str | Path]] = []
    if splits.test:
        sets.append(("test", examples_manifest(splits.test, "test")))
    sets += [(Path(c).name, c) for c in checks]
    if not sets or not options.report:
        return []
    _emit(on_progress, Progress("report", 0, len(sets)))
    scratch = Path(tempfile.mkdtemp(dir=run.root, prefix=".report-"))
    try:
        before = _before_model(base, run, scratch)
        out = []
        for k, entry in enumerate(sets, 1):
            out += compare_models(
                before, run.ct2, [entry], language=language, beam_size=options.report_beam_size
            )
            _emit(on_progress, Progress("report", k, len(sets)))
        return out
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _push(
    options: FinetuneOptions, run: RunDir, on_progress: ProgressCallback | None
) -> str | None:
    """Upload the best checkpoint when a repository is named and a token is configured."""
    if not options.push_to_hub:
        return None
    from huggingface_hub import HfApi, get_token

    if get_token() is None:
        _emit(
            on_progress,
            Progress(
                "export",
                message="no Hugging Face token (HF_TOKEN or `hf auth login`): "
                f"not uploaded to {options.push_to_hub}",
            ),
        )
        return None
    api = HfApi()
    try:
        api.create_repo(options.push_to_hub, exist_ok=True, private=True)
        info = api.upload_folder(repo_id=options.push_to_hub, folder_path=str(run.best))
    except Exception as exc:  # network and HTTP errors of many kinds
        raise OutputError(
            f"cannot upload to the Hugging Face hub repository {options.push_to_hub}: {exc}",
            hint=f"the run is finished and saved in {run.root}; once online, with a token "
            f"that may write, upload it with `hf upload {options.push_to_hub} {run.best}`",
        ) from exc
    return str(getattr(info, "commit_url", None) or f"https://huggingface.co/{options.push_to_hub}")


def finetune(
    manifest: str | Path,
    output_dir: str | Path,
    *,
    options: FinetuneOptions | None = None,
    validation: str | Path | None = None,
    test: str | Path | None = None,
    checks: Sequence[str | Path] = (),
    resume: bool = False,
    overwrite: bool = False,
    cache_dir: Path | None = None,
    on_progress: ProgressCallback | None = None,
) -> FinetuneResult:
    """Fine-tune a Whisper model on a manifest and export it for `yuyin transcribe`.

    Args:
        manifest: training data (JSONL/CSV/TSV, Kaldi folder, audiofolder), optionally with
            `split` and `speaker` columns (see `yuyin.finetune.data`).
        output_dir: the run's folder (see `yuyin.finetune.rundir` for its layout).
        options: base model and training settings.
        validation: a separate validation manifest.
        test: a separate test manifest.
        checks: more manifests scored before and after (e.g. general speech, to see what
            the adaptation costs elsewhere).
        resume: continue an interrupted run in `output_dir` from its last checkpoint.
        overwrite: replace the run in `output_dir`.
        cache_dir: yuyin's model cache (default: `default_cache_dir()`).
        on_progress: called with each `Progress` event; raising KeyboardInterrupt there
            stops the run, which `resume=True` continues.

    Raises:
        ConfigurationError: bad settings, or resume/overwrite misused.
        InputError: no usable training data.
        ModelError, ModelNotFoundError: the base model cannot be found or loaded.
        MissingDependencyError: the `train` extra is not installed.
        OutputError: the output folder holds something else, or a write failed (full disk);
            or the hub upload failed (the run itself is complete then).
    """
    started = time.perf_counter()
    opts = options or FinetuneOptions()
    validate_finetune_options(opts)
    require_train_extra(opts)
    run = RunDir(Path(output_dir).expanduser())
    run.prepare(resume=resume, overwrite=overwrite)
    if resume:
        run.check_resumable(dataclasses.asdict(opts))
        if run.complete and run.report.is_file():
            _emit(on_progress, Progress("report", message=f"{run.root} is already finished"))
            return FinetuneResult.from_dict(json.loads(run.report.read_text(encoding="utf-8")))
    splits = load_splits(
        manifest,
        validation=validation,
        test=test,
        max_duration=opts.max_duration,
        validation_fraction=opts.validation_fraction,
        test_fraction=opts.test_fraction,
        seed=opts.seed,
        on_progress=on_progress,
    )
    language = check_language(splits, opts.language)
    cache = cache_dir or default_cache_dir()
    base = resolve_base_model(opts.model, cache)
    if language is None and is_multilingual(base):
        raise missing_language(base.name)  # before anything is written: a rerun needs no flag
    run.write_json(
        run.settings,
        {
            "options": dataclasses.asdict(opts),
            "manifest": str(manifest),
            "validation": str(validation) if validation else None,
            "test": str(test) if test else None,
            "language": language,
            "base": {"name": base.name, "checkpoint": base.checkpoint, "ct2": str(base.ct2)},
            "data": splits.summary(),
            "splits": {
                name: [e.id for e in part]
                for name, part in (
                    ("train", splits.train),
                    ("validation", splits.validation),
                    ("test", splits.test),
                )
            },
        },
    )
    from yuyin.finetune import trainer  # torch and transformers load here, not at import

    outcome = trainer.train(
        base, splits, opts, language, run, resume=resume, on_progress=on_progress
    )
    _emit(on_progress, Progress("export", 0, 1))
    export_ctranslate2(run.best, run.ct2, quantization=opts.quantization, overwrite=True)
    _emit(on_progress, Progress("export", 1, 1, message=f"CTranslate2 model in {run.ct2}"))
    comparisons = _report(base, run, splits, checks, language, opts, on_progress)
    result = FinetuneResult(
        output_dir=run.root,
        checkpoint=run.best,
        ct2=run.ct2,
        data=splits.summary() | {"dropped_by_trainer": list(outcome.skipped)},
        training={
            "base_model": base.name,
            "language": language,
            "global_step": outcome.global_step,
            "resumed_from": outcome.resumed_from,
            "first_loss": outcome.first_loss,
            "last_loss": outcome.last_loss,
            "metric": outcome.metric,
            "best_metric": outcome.best_metric,
            "best_step": outcome.best_step,
            "history": list(outcome.history),
        },
        comparisons=tuple(c.to_dict() for c in comparisons),
        seconds=time.perf_counter() - started,
    )
    run.write_json(run.report, result.to_dict())
    run.mark_complete({"finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    # The upload comes after the run is complete: a failed upload loses no training.
    hub_url = _push(opts, run, on_progress)
    if hub_url is not None:
        result = dataclasses.replace(result, hub_url=hub_url)
        run.write_json(run.report, result.to_dict())
    return result

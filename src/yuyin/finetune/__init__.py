"""Fine-tuning Whisper on your own data, scored correctly, exported for fast inference (issue 7).

Usage::

    from yuyin.finetune import FinetuneOptions, finetune

    result = finetune(
        "domain.jsonl",
        "runs/domain",
        options=FinetuneOptions(model="tiny.en", max_steps=60, freeze_encoder=True),
    )
    print(result.comparisons[0]["before"]["score"], result.comparisons[0]["after"]["score"])
    # then: yuyin transcribe --model runs/domain/ct2 meeting.wav

The data side (manifests, splits) and the report need only the core install; training
itself needs the `train` extra (torch, transformers, accelerate, peft, tensorboard).
"""

from yuyin.finetune.data import Example, Splits, check_language, load_splits, split_examples
from yuyin.finetune.options import PRECISIONS, FinetuneOptions, validate_finetune_options
from yuyin.finetune.progress import STAGES, Progress, ProgressCallback
from yuyin.finetune.run import FinetuneResult, finetune, require_train_extra
from yuyin.finetune.rundir import RunDir

__all__ = [
    "PRECISIONS",
    "STAGES",
    "Example",
    "FinetuneOptions",
    "FinetuneResult",
    "Progress",
    "ProgressCallback",
    "RunDir",
    "Splits",
    "check_language",
    "finetune",
    "load_splits",
    "require_train_extra",
    "split_examples",
    "validate_finetune_options",
]

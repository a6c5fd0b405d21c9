"""Before/after: the base and the fine-tuned model scored on the same clips, the normal way.

Both sides are CTranslate2 models run through `yuyin.eval` exactly as `yuyin eval` and
`yuyin transcribe` run them, so the numbers are what a user of `--model OUT/ct2` gets, not
what the training loop's own decoder says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yuyin.engines import load_engine
from yuyin.eval.manifest import Manifest, Utterance, read_manifest
from yuyin.eval.runner import evaluate_manifest
from yuyin.eval.scoring import EvalResult
from yuyin.finetune.data import Example
from yuyin.options import ModelOptions, TranscribeOptions

__all__ = ["Comparison", "compare_models", "examples_manifest"]


@dataclass(frozen=True, slots=True)
class Comparison:
    """One set of clips scored by the base and the fine-tuned model.

    Attributes:
        name: what the clips are (`test`, or a check set's file name).
        metric: the primary metric (`wer`, `cer`, `mixed`).
        before: the base model's scores.
        after: the fine-tuned model's scores.
    """

    name: str
    metric: str
    before: EvalResult
    after: EvalResult

    @property
    def relative_change(self) -> float | None:
        """(after - before) / before of the primary metric; None when before is 0."""
        b, a = self.before.score(), self.after.score()
        return (a - b) / b if b else None

    def to_dict(self) -> dict[str, Any]:
        """Scores and a few example hypotheses, JSON-ready."""

        def side(result: EvalResult) -> dict[str, Any]:
            summary = result.summary()
            return {
                "model": summary["model"],
                "score": summary["score"],
                "orthographic": summary["orthographic"][self.metric],
                "wer": summary["wer"],
                "cer": summary["cer"],
                "utterances": summary["utterances"],
                "skipped": summary["skipped"],
            }

        examples = [
            {"id": b.id, "reference": b.reference, "before": b.hypothesis, "after": a.hypothesis}
            for b, a in zip(self.before.utterances, self.after.utterances, strict=False)
        ]
        return {
            "name": self.name,
            "metric": self.metric,
            "before": side(self.before),
            "after": side(self.after),
            "relative_change": self.relative_change,
            "examples": examples,
        }


def examples_manifest(examples: Sequence[Example], name: str) -> Manifest:
    """Clips as a manifest `yuyin.eval` can run."""
    return Manifest(
        name,
        "jsonl",
        tuple(Utterance(e.id, e.text, e.audio, e.language, name, k) for k, e in
              enumerate(examples, 1)),
    )  # fmt: skip


def _score(model: Path, manifest: Manifest, options: TranscribeOptions) -> EvalResult:
    engine = load_engine(ModelOptions(model=str(model)), shared=False)
    return evaluate_manifest(manifest, options=options, engine=engine)


def compare_models(
    before: Path,
    after: Path,
    sets: Sequence[tuple[str, Manifest | str | Path]],
    *,
    language: str | None,
    beam_size: int = 1,
) -> list[Comparison]:
    """Score two CTranslate2 models on each set of clips.

    Args:
        before: the base model's CTranslate2 folder.
        after: the fine-tuned model's CTranslate2 folder.
        sets: (name, manifest or manifest path) pairs.
        language: the language to decode (None: each row's own, else detected).
        beam_size: beam width (1: greedy).

    Raises:
        YuyinError: a model cannot be loaded, or a set has nothing to score.
    """
    options = TranscribeOptions(
        language=language,
        beam_size=beam_size,
        best_of=1,
        temperature=(0.0,),
        condition_on_previous_text=False,
        word_timestamps=False,
    )
    read = [(n, m if isinstance(m, Manifest) else read_manifest(m)) for n, m in sets]
    out = []
    for name, manifest in read:
        first = _score(before, manifest, options)
        second = _score(after, manifest, options)
        out.append(Comparison(name, first.metric, first, second))
    return out

"""Batch transcription at scale: many files, many workers (local processes or Ray), resumable.

Usage::

    from yuyin.batch import LocalExecutor, WorkerConfig, run_batch

    config = WorkerConfig(TranscribeOptions(language="en"), ModelOptions(model="tiny.en"))
    with LocalExecutor(config, workers=2) as executor:
        summary = run_batch(["recordings/", "more.txt"], "out/", executor)
    print(summary.to_dict())

A journal in the output folder makes a re-run skip finished work and retry failures;
`yuyin-manifest.jsonl` there lists every output for `yuyin eval --hyp`.
"""

from yuyin.batch.inputs import BatchInputs, BatchItem, UnlistedInput, expand_inputs
from yuyin.batch.journal import JOURNAL_NAME, ItemState, Journal, read_records, replay
from yuyin.batch.local import LocalExecutor
from yuyin.batch.plan import output_stems
from yuyin.batch.run import (
    MANIFEST_NAME,
    BatchEvent,
    BatchSummary,
    Executor,
    ItemFailure,
    run_batch,
)
from yuyin.batch.worker import Failure, Outcome, Task, WorkerConfig

__all__ = [
    "JOURNAL_NAME",
    "MANIFEST_NAME",
    "BatchEvent",
    "BatchInputs",
    "BatchItem",
    "BatchSummary",
    "Executor",
    "Failure",
    "ItemFailure",
    "ItemState",
    "Journal",
    "LocalExecutor",
    "Outcome",
    "Task",
    "UnlistedInput",
    "WorkerConfig",
    "expand_inputs",
    "output_stems",
    "read_records",
    "replay",
    "run_batch",
]

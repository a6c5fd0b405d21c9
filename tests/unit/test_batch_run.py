"""Batch orchestration with a scripted executor: retries, resume, summary, manifest."""

from __future__ import annotations

import dataclasses
import json
from collections import deque
from pathlib import Path

import pytest

from yuyin.batch import (
    JOURNAL_NAME,
    BatchEvent,
    BatchSummary,
    Failure,
    ItemFailure,
    Outcome,
    Task,
    WorkerConfig,
    read_records,
    run_batch,
)
from yuyin.batch.worker import failure_from, rebuild_error
from yuyin.cli.batch import CLI_ONLY_PARAMS, _exit_code, batch_command
from yuyin.errors import AudioDecodeError, ConfigurationError, MissingDependencyError
from yuyin.eval import read_manifest
from yuyin.options import ModelOptions, OutputOptions, TranscribeOptions, VadOptions
from yuyin.types import Segment, Transcript

LOST = Failure("WorkerLost", "the worker process died", retryable=True)
BAD = Failure("AudioDecodeError", "not audio", exit_code=3, retryable=False)


def ok(text: str = "hello world", duration: float = 2.0) -> Transcript:
    return Transcript((Segment(0.0, duration, text),), "en", duration)


class ScriptedExecutor:
    """Answers each key with its scripted outcomes in order (the last one repeats)."""

    def __init__(self, script: dict[str, list[Transcript | Failure]], capacity: int = 2):
        self.config = WorkerConfig(TranscribeOptions(), ModelOptions())
        self.script = {k: deque(v) for k, v in script.items()}
        self._capacity = capacity
        self.in_flight: list[Task] = []
        self.seen: list[Task] = []
        self.started = 0

    @property
    def capacity(self) -> int:
        return self._capacity

    def start(self) -> None:
        self.started += 1

    def submit(self, task: Task) -> None:
        assert len(self.in_flight) < self._capacity
        self.in_flight.append(task)
        self.seen.append(task)

    def wait(self) -> list[Outcome]:
        task = self.in_flight.pop(0)
        steps = self.script[task.key]
        step = steps.popleft() if len(steps) > 1 else steps[0]
        if isinstance(step, Failure):
            return [Outcome(task.key, failure=step)]
        return [Outcome(task.key, transcript=step)]

    def close(self) -> None:
        pass


@pytest.fixture
def media(tmp_path: Path) -> dict[str, str]:
    paths = {}
    for rel in ("a/talk.wav", "b/talk.wav", "bad.wav", "flaky.wav"):
        p = tmp_path / "in" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"RIFF")
        paths[rel] = str(p.resolve())
    return paths


TXT = OutputOptions(output_format=("txt", "json"))


def test_success_failure_and_retry_in_one_run(tmp_path, media):
    ex = ScriptedExecutor(
        {
            media["a/talk.wav"]: [ok("one")],
            media["b/talk.wav"]: [ok("two", 3.0)],
            media["bad.wav"]: [BAD],
            media["flaky.wav"]: [LOST, ok("three")],
        }
    )
    out = tmp_path / "out"
    events: list[BatchEvent] = []
    summary = run_batch(
        [str(tmp_path / "in")], out, ex, output=TXT, retries=1, on_event=events.append
    )
    assert (summary.succeeded, summary.skipped, len(summary.failed)) == (3, 0, 1)
    assert summary.audio_seconds == pytest.approx(7.0)
    (failure,) = summary.failed
    assert (failure.input, failure.error.type, failure.attempts) == (media["bad.wav"], BAD.type, 1)
    # Bad input is final; a lost worker is retried once and then succeeds.
    assert [t.attempt for t in ex.seen if t.key == media["bad.wav"]] == [1]
    assert [t.attempt for t in ex.seen if t.key == media["flaky.wav"]] == [1, 2]
    assert sorted(e.status for e in events) == ["failed", "retrying", *["succeeded"] * 3]
    # Same base name in two folders: two sets of files.
    assert sorted(p.read_text().strip() for p in out.glob("talk-*.txt")) == ["one", "two"]
    assert not list(out.glob(".*.tmp"))
    data = summary.to_dict()
    assert {"succeeded", "skipped", "failed", "audio_seconds", "failures"} <= set(data)
    assert data["failures"][0]["type"] == "AudioDecodeError"


def test_rerun_skips_finished_and_retries_failed_within_budget(tmp_path, media):
    script: dict[str, list[Transcript | Failure]] = {
        media["a/talk.wav"]: [ok()],
        media["b/talk.wav"]: [ok()],
        media["bad.wav"]: [BAD],
        media["flaky.wav"]: [LOST],
    }
    out = tmp_path / "out"
    inputs = [str(tmp_path / "in")]
    first = run_batch(inputs, out, ScriptedExecutor(script), retries=1, output=TXT)
    assert (first.succeeded, len(first.failed)) == (2, 2)
    again = ScriptedExecutor(script)
    second = run_batch(inputs, out, again, retries=1, output=TXT)
    assert (second.succeeded, second.skipped) == (0, 2)
    # bad.wav failed once (budget 2): tried again; flaky.wav failed twice: given up.
    assert [t.key for t in again.seen] == [media["bad.wav"]]
    given_up = {f.input: f for f in second.failed}[media["flaky.wav"]]
    assert given_up.attempts == 2
    assert "--retries" in given_up.error.hint
    third = ScriptedExecutor(script)
    run_batch(inputs, out, third, retries=5, output=TXT)  # a bigger budget tries again
    assert {t.key for t in third.seen} == {media["bad.wav"], media["flaky.wav"]}


def test_interrupted_items_are_redone_and_finished_ones_exactly_once(tmp_path, media):
    out = tmp_path / "out"
    out.mkdir()
    with (out / JOURNAL_NAME).open("w") as f:  # a run killed mid-way
        for key in (media["a/talk.wav"], media["b/talk.wav"]):
            f.write(json.dumps({"event": "started", "key": key, "run": "dead"}) + "\n")
        f.write(json.dumps({"event": "finished", "key": media["a/talk.wav"], "run": "dead"}))
    ex = ScriptedExecutor({k: [ok()] for k in media.values()})
    summary = run_batch([str(tmp_path / "in")], out, ex, output=TXT)
    assert (summary.succeeded, summary.skipped) == (3, 1)
    assert media["a/talk.wav"] not in {t.key for t in ex.seen}
    interrupted = [t for t in ex.seen if t.key == media["b/talk.wav"]]
    assert [t.attempt for t in interrupted] == [1]  # the dead run cost no attempt
    finished = [r["key"] for r in read_records(out / JOURNAL_NAME) if r["event"] == "finished"]
    assert sorted(finished) == sorted(media.values())


def test_nothing_to_do_starts_no_workers(tmp_path, media):
    out = tmp_path / "out"
    run_batch([media["a/talk.wav"]], out, ScriptedExecutor({media["a/talk.wav"]: [ok()]}))
    ex = ScriptedExecutor({})
    summary = run_batch([media["a/talk.wav"]], out, ex)
    assert (ex.started, summary.skipped, summary.succeeded) == (0, 1, 0)


def test_combined_manifest_scores_against_the_reference_manifest(tmp_path, media):
    ref = tmp_path / "ref.jsonl"
    ref.write_text(
        "".join(
            json.dumps({"id": uid, "audio": media[rel], "text": "hello world"}) + "\n"
            for uid, rel in (("u1", "a/talk.wav"), ("u2", "b/talk.wav"))
        )
        + json.dumps({"id": "u3", "text": "no audio here"})
        + "\n"
    )
    ex = ScriptedExecutor({media["a/talk.wav"]: [ok("hello world")], media["b/talk.wav"]: [BAD]})
    summary = run_batch([str(ref)], tmp_path / "out", ex, output=TXT)
    assert summary.succeeded == 1
    assert {f.id for f in summary.failed} == {"u2", "u3"}  # u3: a row without audio
    hyp = read_manifest(summary.manifest, need_audio=False, allow_empty_text=True)
    (row,) = hyp.utterances
    assert (row.id, row.text, row.language) == ("u1", "hello world", "en")
    line = json.loads(Path(summary.manifest).read_text().splitlines()[0])
    assert set(line["outputs"]) == {"txt", "json"}
    assert all(Path(p).is_file() for p in line["outputs"].values())


def test_bad_settings_fail_before_any_work(tmp_path, media):
    ex = ScriptedExecutor({})
    ex.config = dataclasses.replace(ex.config, options=TranscribeOptions(beam_size=0))
    with pytest.raises(ConfigurationError, match="beam-size"):
        run_batch([media["a/talk.wav"]], tmp_path / "out", ex)
    with pytest.raises(ConfigurationError, match="format"):
        run_batch(
            [media["a/talk.wav"]],
            tmp_path / "out",
            ScriptedExecutor({}),
            output=OutputOptions(output_format=("doc",)),
        )
    assert ex.started == 0


def test_failures_cross_processes_as_records_and_rebuild():
    f = failure_from(AudioDecodeError("x is not audio", hint="pass audio"))
    assert (f.type, f.exit_code, f.retryable) == ("AudioDecodeError", 3, False)
    exc = rebuild_error(Failure("MissingDependencyError", "needs ray", "pip install", 5))
    assert isinstance(exc, MissingDependencyError)
    assert (exc.message, exc.hint, exc.exit_code) == ("needs ray", "pip install", 5)
    assert type(rebuild_error(Failure("WorkerLost", "gone"))).__name__ == "YuyinError"


def summary_with(succeeded: int, codes: list[int]) -> BatchSummary:
    failed = tuple(ItemFailure("x", "x", Failure("E", "m", exit_code=c), 1) for c in codes)
    return BatchSummary(succeeded, 0, failed, 0.0)


def test_exit_codes():
    assert _exit_code(summary_with(2, [])) == 0
    assert _exit_code(summary_with(1, [3])) == 10
    assert _exit_code(summary_with(0, [3, 3])) == 3
    assert _exit_code(summary_with(0, [3, 1])) == 10


def test_batch_flags_map_one_to_one_to_option_fields():
    fields = dataclasses.fields
    expected = (
        {f.name for f in fields(ModelOptions)}
        | {f.name for f in fields(TranscribeOptions) if f.name != "vad_options"}
        | {f"vad_{f.name}" for f in fields(VadOptions)}
        | {f.name for f in fields(OutputOptions)}
    )
    assert {p.name for p in batch_command.params} - CLI_ONLY_PARAMS == expected

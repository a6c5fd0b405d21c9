"""The batch journal: replay semantics, torn writes, one run per folder."""

from __future__ import annotations

import json

import pytest

from yuyin.batch import JOURNAL_NAME, Journal, read_records, replay
from yuyin.errors import ConfigurationError


def rec(event: str, key: str = "k", **fields) -> dict:
    return {"event": event, "key": key, "run": "r", **fields}


def test_replay_states():
    states = replay(
        [
            rec("started", "done"),
            rec("finished", "done"),
            rec("started", "done"),  # a later start never undoes a finish
            rec("started", "flaky"),
            rec("failed", "flaky"),
            rec("started", "flaky"),
            rec("failed", "flaky"),
            rec("started", "cut"),
            rec("started", "recovered"),
            rec("failed", "recovered"),
            rec("started", "recovered"),
            rec("finished", "recovered", text="ok"),
        ]
    )
    assert states["done"].status == "finished"
    assert (states["flaky"].status, states["flaky"].failures) == ("failed", 2)
    # Started by a run that died: tried again, and the dead run costs no attempt.
    assert (states["cut"].status, states["cut"].failures) == ("interrupted", 0)
    assert states["recovered"].status == "finished"
    assert states["recovered"].failures == 1
    assert states["recovered"].last is not None
    assert states["recovered"].last["text"] == "ok"
    assert "never" not in states


def test_journal_appends_and_replays_across_runs(tmp_path):
    with Journal(tmp_path, "run1") as j:
        j.append("started", "a", attempt=1)
        j.append("failed", "a", attempt=1, error={"type": "X"})
        assert (j.state("a").status, j.state("a").failures) == ("failed", 1)
        j.append("started", "b", attempt=1)
        assert j.state("b").status == "interrupted"
        assert j.state("c").status == "new"
    with Journal(tmp_path, "run2") as j:
        assert j.state("a").failures == 1
        assert j.state("b").status == "interrupted"
        j.append("finished", "b", outputs={})
    records = list(read_records(tmp_path / JOURNAL_NAME))
    assert [r["run"] for r in records] == ["run1"] * 3 + ["run2"]


def test_torn_last_line_is_ignored_and_the_next_record_starts_clean(tmp_path):
    path = tmp_path / JOURNAL_NAME
    path.write_text(json.dumps(rec("finished", "a")) + "\n" + '{"event": "fini')
    with Journal(tmp_path, "run2") as j:
        assert j.state("a").status == "finished"
        j.append("finished", "b")
    assert [r["key"] for r in read_records(path)] == ["a", "b"]


def test_two_runs_on_one_folder_are_refused(tmp_path):
    with Journal(tmp_path, "first"), pytest.raises(ConfigurationError, match="another"):
        Journal(tmp_path, "second")
    Journal(tmp_path, "third").close()  # the lock goes with the first run


def test_missing_journal_reads_as_empty(tmp_path):
    assert list(read_records(tmp_path / "none.jsonl")) == []

"""The run folder: refuses to clobber, resumes only what is there, marks completion last."""

from __future__ import annotations

import errno
import json

import pytest

from yuyin.errors import ConfigurationError, OutputError
from yuyin.finetune import RunDir
from yuyin.finetune.rundir import disk_error


def previous_run(tmp_path, **options):
    run = RunDir(tmp_path / "out")
    run.prepare(resume=False, overwrite=False)
    run.write_json(run.settings, {"options": {"model": "tiny.en", "max_steps": 10, **options}})
    for step in (2, 4):
        ckpt = run.checkpoints / f"checkpoint-{step}"
        ckpt.mkdir(parents=True)
        (ckpt / "trainer_state.json").write_text("{}")
    return run


def test_a_new_or_empty_folder_is_used(tmp_path):
    (tmp_path / "empty").mkdir()
    for root in (tmp_path / "new" / "nested", tmp_path / "empty"):
        run = RunDir(root)
        run.prepare(resume=False, overwrite=False)
        assert root.is_dir()
        assert not run.complete
        assert run.last_checkpoint() is None


def test_a_folder_with_a_run_is_refused_without_resume_or_overwrite(tmp_path):
    run = previous_run(tmp_path)
    with pytest.raises(OutputError, match="already holds a fine-tuning run") as info:
        RunDir(run.root).prepare(resume=False, overwrite=False)
    assert "--resume" in info.value.hint
    assert "--overwrite" in info.value.hint
    assert run.settings.is_file()


def test_a_folder_with_other_files_is_refused_even_with_overwrite(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    run = RunDir(tmp_path)
    with pytest.raises(OutputError, match="already holds files"):
        run.prepare(resume=False, overwrite=False)
    with pytest.raises(OutputError, match="not a yuyin fine-tuning run"):
        run.prepare(resume=False, overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_overwrite_removes_the_run_and_nothing_else(tmp_path):
    run = previous_run(tmp_path)
    (run.root / "notes.txt").write_text("mine")
    (run.best).mkdir()
    run.mark_complete({})
    run.prepare(resume=False, overwrite=True)
    assert sorted(p.name for p in run.root.iterdir()) == ["notes.txt"]


def test_resume_finds_the_newest_checkpoint(tmp_path):
    run = previous_run(tmp_path)
    (run.checkpoints / "checkpoint-9").mkdir()  # no trainer state: an interrupted save
    (run.checkpoints / "checkpoint-x").mkdir()
    run.prepare(resume=True, overwrite=False)
    assert run.last_checkpoint() == run.checkpoints / "checkpoint-4"


def test_resume_needs_a_run_and_contradicts_overwrite(tmp_path):
    with pytest.raises(ConfigurationError, match="nothing to resume"):
        RunDir(tmp_path / "out").prepare(resume=True, overwrite=False)
    with pytest.raises(ConfigurationError, match="contradict"):
        RunDir(tmp_path / "out").prepare(resume=True, overwrite=True)


def test_resume_refuses_changed_settings_but_allows_more_steps(tmp_path):
    run = previous_run(tmp_path, learning_rate=1e-5)
    run.check_resumable({"model": "tiny.en", "max_steps": 50, "learning_rate": 1e-5})
    with pytest.raises(ConfigurationError, match="learning_rate") as info:
        run.check_resumable({"model": "tiny.en", "max_steps": 10, "learning_rate": 1e-4})
    assert "--overwrite" in info.value.hint


def test_the_marker_is_what_makes_a_run_complete(tmp_path):
    run = previous_run(tmp_path)
    run.write_json(run.report, {"ok": True})
    assert not run.complete
    run.mark_complete({"finished": "now"})
    assert run.complete
    assert json.loads(run.marker.read_text()) == {"finished": "now"}


def test_a_file_in_the_way_is_an_output_error(tmp_path):
    (tmp_path / "out").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        RunDir(tmp_path / "out").prepare(resume=False, overwrite=False)


def test_a_full_disk_says_so_and_suggests_resume(tmp_path):
    full = disk_error("save", tmp_path, OSError(errno.ENOSPC, "No space left on device"))
    assert "No space left" in full.message
    assert "disk is full" in full.hint
    assert "--resume" in full.hint
    denied = disk_error("save", tmp_path, OSError(errno.EACCES, "Permission denied"))
    assert "writable" in denied.hint


def test_replace_dir_swaps_in_a_finished_folder(tmp_path):
    run = previous_run(tmp_path)
    run.best.mkdir()
    (run.best / "old.bin").write_text("old")
    staging = run.root / ".staging"
    staging.mkdir()
    (staging / "new.bin").write_text("new")
    run.replace_dir(staging, run.best)
    assert [p.name for p in run.best.iterdir()] == ["new.bin"]
    assert not staging.exists()

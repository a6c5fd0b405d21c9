"""The run folder: refuses to clobber, resumes only what is there, marks completion last."""

from __future__ import annotations

import errno
import json
import subprocess
import sys

import pytest

from yuyin.errors import ConfigurationError, InputError, OutputError
from yuyin.finetune import RunDir
from yuyin.finetune.rundir import disk_error
from yuyin.train.staging import write_failure


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


def test_a_run_that_never_started_is_started_again_without_a_flag(tmp_path):
    # Its base model could not be loaded, say: only the settings were written.
    run = RunDir(tmp_path / "out")
    run.prepare(resume=False, overwrite=False)
    run.write_json(run.settings, {"options": {"model": "org/unreachable"}})
    RunDir(tmp_path / "out").prepare(resume=False, overwrite=False)
    # Once anything else is there, it is a run again.
    (run.root / "checkpoints").mkdir()
    with pytest.raises(OutputError, match="already holds a fine-tuning run"):
        RunDir(tmp_path / "out").prepare(resume=False, overwrite=False)


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


def test_an_efbig_names_the_file_size_limit(tmp_path):
    too_big = disk_error("save", tmp_path, OSError(errno.EFBIG, "File too large"))
    assert "ulimit -f" in too_big.hint
    assert "--resume" in too_big.hint


# Writes past a 64 kB file size limit fail with EFBIG (Python ignores SIGXFSZ), the way a
# full disk fails them: torch and safetensors each wrap the error in their own type.
_SAVES_PAST_THE_LIMIT = """
import json, resource, sys
import torch
from safetensors.torch import save_file
from yuyin.train.staging import write_failure

folder = sys.argv[1]
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
found = {}
for name, save in (
    ("torch", lambda: torch.save({"w": torch.zeros(100_000)}, folder + "/w.pt")),
    ("safetensors", lambda: save_file({"w": torch.zeros(100_000)}, folder + "/w.safetensors")),
):
    try:
        save()
    except Exception as exc:
        failure = write_failure(exc)
        found[name] = [type(exc).__name__, None if failure is None else failure.errno]
print(json.dumps(found))
"""


def test_write_failures_are_found_inside_torch_and_safetensors_errors(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("safetensors")
    result = subprocess.run(
        [sys.executable, "-c", _SAVES_PAST_THE_LIMIT, str(tmp_path)],
        capture_output=True,
        check=True,
        timeout=120,
    )
    found = json.loads(result.stdout)
    assert found["torch"][0] == "RuntimeError"
    assert found["torch"][1] is not None
    assert found["safetensors"] == ["SafetensorError", errno.EFBIG]


def test_an_explained_error_is_no_write_failure(tmp_path):
    assert write_failure(ValueError("bad shape")) is None
    disk = OSError(errno.ENOSPC, "No space left on device")
    assert write_failure(disk) is disk
    wrapped = RuntimeError("saving failed")
    wrapped.__cause__ = disk
    assert write_failure(wrapped) is disk
    explained = InputError("clip 'a' cannot be read")
    explained.__cause__ = FileNotFoundError(2, "gone")
    assert write_failure(explained) is None

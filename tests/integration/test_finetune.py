"""Fine-tuning for real: tiny.en learns the names it gets wrong, and the export runs in yuyin.

The domain set (tests/data/finetune, see make_domain_set.py there) is espeak-ng speech full
of Taiwanese place and product names; its test split holds sentences and voices training
never saw. The general set is the repository's English fixtures.
"""

from __future__ import annotations

import dataclasses
import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("accelerate")
pytest.importorskip("tensorboard")

import torch
from safetensors.torch import load_file

import yuyin
from yuyin.engines import default_cache_dir, resolve_model
from yuyin.finetune import FinetuneOptions, FinetuneResult, Progress, finetune
from yuyin.train import cached_import

DATA = Path(__file__).resolve().parent.parent / "data" / "finetune"
DOMAIN = DATA / "domain.jsonl"
GENERAL = DATA / "general.jsonl"

# Decoder only with the encoder output cached: a few minutes on a small CPU. The learning
# rate is ten times the seed's 1e-5, which suits a few dozen steps on a small set.
PROOF = FinetuneOptions(
    model="tiny.en",
    max_steps=40,
    batch_size=8,
    learning_rate=1e-4,
    warmup_steps=5,
    eval_steps=20,
    logging_steps=5,
    gradient_checkpointing=False,
    freeze_encoder=True,
)
# A few steps on a few clips: for the plumbing, not for accuracy.
SMALL = FinetuneOptions(
    model="tiny.en",
    max_steps=4,
    batch_size=2,
    learning_rate=1e-4,
    warmup_steps=0,
    eval_steps=2,
    logging_steps=1,
    gradient_checkpointing=False,
    freeze_encoder=True,
    report=False,
)


def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "yuyin", *args], capture_output=True, timeout=600, check=False
    )


def comparison(result: FinetuneResult, name: str) -> dict:
    return next(c for c in result.comparisons if c["name"] == name)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> FinetuneResult:
    out = tmp_path_factory.mktemp("finetune") / "run"
    return finetune(DOMAIN, out, options=PROOF, checks=[GENERAL])


@pytest.fixture
def small_manifest(tmp_path: Path) -> Path:
    """Four training clips and one validation clip of the domain set."""
    rows = [json.loads(line) for line in DOMAIN.read_text(encoding="utf-8").splitlines()]
    picked = [r for r in rows if r["split"] == "train"][:4]
    picked += [r for r in rows if r["split"] == "validation"][:1]
    for row in picked:
        row["audio"] = str(DATA / row["audio"])
    path = tmp_path / "small.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in picked), encoding="utf-8")
    return path


@pytest.mark.slow
def test_held_out_names_are_learnt_and_general_speech_holds(tuned):
    test, general = comparison(tuned, "test"), comparison(tuned, "general.jsonl")
    assert test["metric"] == "wer"
    before, after = test["before"]["score"], test["after"]["score"]
    assert before >= 0.5, "tiny.en should get the domain names clearly wrong"
    # Measured on a 2-core CPU: 0.72 -> 0.31; the bounds leave room for other hardware.
    assert after <= 0.6 * before, f"held-out WER {before:.3f} -> {after:.3f}"
    assert before - after >= 0.25, f"held-out WER {before:.3f} -> {after:.3f}"
    assert general["after"]["score"] <= general["before"]["score"] + 0.1
    assert test["after"]["utterances"] == tuned.data["test"]["clips"] == 8
    training = tuned.training
    assert training["first_loss"] > 4 * training["last_loss"]
    assert training["global_step"] == PROOF.max_steps
    assert training["best_metric"] is not None
    assert training["best_step"] in (20, 40)


@pytest.mark.slow
def test_the_run_folder_is_complete_and_self_describing(tuned):
    out = tuned.output_dir
    assert (out / ".complete").is_file()
    assert json.loads((out / "report.json").read_text())["ct2"] == str(out / "ct2")
    settings = json.loads((out / "finetune.json").read_text())
    assert settings["options"]["max_steps"] == PROOF.max_steps
    assert settings["data"]["train"]["clips"] == 21
    assert {"model.bin", "config.json", "tokenizer.json", "preprocessor_config.json"} <= {
        p.name for p in (out / "ct2").iterdir()
    }
    assert (out / "best" / "model.safetensors").is_file()
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert not [p for p in out.iterdir() if p.name.startswith(".") and p.name != ".complete"]


@pytest.mark.slow
def test_the_export_transcribes_through_yuyin_transcribe(tuned, tmp_path, wer):
    rows = [json.loads(line) for line in DOMAIN.read_text(encoding="utf-8").splitlines()]
    tests = [r for r in rows if r["split"] == "test"]
    scores = {}
    for label, model in (("before", "tiny.en"), ("after", str(tuned.ct2))):
        out = tmp_path / label
        args = [str(DATA / r["audio"]) for r in tests]
        result = cli("transcribe", *args, "-m", model, "-l", "en", "-f", "txt", "-o", str(out))
        assert result.returncode == 0, result.stderr.decode()
        texts = [(out / Path(r["audio"]).with_suffix(".txt").name).read_text() for r in tests]
        scores[label] = sum(wer(r["text"], t) for r, t in zip(tests, texts, strict=True))
    assert scores["after"] <= 0.6 * scores["before"], scores


@pytest.mark.slow
def test_an_interrupted_run_resumes_from_its_last_checkpoint(small_manifest, tmp_path):
    out = tmp_path / "run"

    def stop_at_step_3(event: Progress) -> None:
        if event.stage == "train" and event.done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        finetune(small_manifest, out, options=SMALL, on_progress=stop_at_step_3)
    assert (out / "checkpoints" / "checkpoint-2" / "trainer_state.json").is_file()
    assert not (out / ".complete").exists()
    assert not (out / "ct2").exists()

    steps: list[int] = []

    def record(event: Progress) -> None:
        if event.stage == "train" and event.done:
            steps.append(event.done)

    result = finetune(small_manifest, out, options=SMALL, resume=True, on_progress=record)
    assert result.training["resumed_from"].endswith("checkpoint-2")
    assert result.training["global_step"] == 4
    assert min(steps) == 3  # steps 1 and 2 were not trained again
    assert (out / ".complete").is_file()
    assert (out / "ct2" / "model.bin").is_file()
    again = finetune(small_manifest, out, options=SMALL, resume=True)
    assert again.training == result.training  # a finished run is reported, not redone
    # --freeze-encoder: the encoder is the base model's, bit for bit; the decoder learnt.
    base = cached_import(resolve_model("tiny.en").path, default_cache_dir(), name="tiny.en")
    before = load_file(base / "model.safetensors")
    after = load_file(result.checkpoint / "model.safetensors")
    encoder = [name for name in before if name.startswith("model.encoder.")]
    assert encoder
    assert all(torch.equal(before[name], after[name]) for name in encoder)
    decoder = [name for name in before if name.startswith("model.decoder.layers.")]
    assert any(not torch.equal(before[name], after[name]) for name in decoder)


@pytest.mark.slow
def test_lora_adapters_are_merged_before_export(small_manifest, tmp_path, data_dir, fixtures, wer):
    pytest.importorskip("peft")
    options = dataclasses.replace(SMALL, lora=True, max_steps=2)
    result = finetune(small_manifest, tmp_path / "run", options=options)
    names = {p.name for p in result.checkpoint.iterdir()}
    assert "adapter_config.json" not in names
    assert "model.safetensors" in names
    t = yuyin.transcribe(data_dir / "en.wav", model=str(result.ct2), language="en", beam_size=1)
    assert wer(fixtures["en.wav"]["text"], t.text) <= 0.2, t.text


@pytest.mark.slow
def test_yuyin_finetune_export_converts_any_checkpoint(tmp_path, data_dir, fixtures, wer):
    checkpoint = cached_import(resolve_model("tiny.en").path, default_cache_dir(), name="tiny.en")
    out = tmp_path / "ct2"
    result = cli("finetune", "export", str(checkpoint), "-o", str(out), "--json")
    assert result.returncode == 0, result.stderr.decode()
    summary = json.loads(result.stdout)
    assert summary["output_dir"] == str(out)
    assert summary["quantization"] == "int8"
    assert (out / "preprocessor_config.json").is_file()
    again = cli("finetune", "export", str(checkpoint), "-o", str(out))
    assert again.returncode == 6
    assert b"not empty" in again.stderr
    transcript = cli("transcribe", str(data_dir / "en.wav"), "-m", str(out), "-f", "txt",
                       "-o", str(tmp_path / "txt"))  # fmt: skip
    assert transcript.returncode == 0, transcript.stderr.decode()
    text = (tmp_path / "txt" / "en.txt").read_text()
    assert wer(fixtures["en.wav"]["text"], text) <= 0.1, text
    # float16 weights (for GPUs) load too: on a CPU CTranslate2 computes in float32.
    half = tmp_path / "ct2-fp16"
    exported = cli("finetune", "export", str(checkpoint), "-o", str(half), "--quantization",
                   "float16")  # fmt: skip
    assert exported.returncode == 0, exported.stderr.decode()
    assert json.loads((half / ".complete").read_text())["quantization"] == "float16"
    assert (half / "model.bin").stat().st_size > 1.5 * (out / "model.bin").stat().st_size
    t = yuyin.transcribe(data_dir / "en.wav", model=str(half), language="en", beam_size=1)
    assert wer(fixtures["en.wav"]["text"], t.text) <= 0.1, t.text


@pytest.mark.slow
def test_the_server_serves_the_export(tuned, serve, wer):
    pytest.importorskip("uvicorn")
    httpx = pytest.importorskip("httpx")
    rows = [json.loads(line) for line in DOMAIN.read_text(encoding="utf-8").splitlines()]
    tests = [r for r in rows if r["split"] == "test"]
    errors = {"tiny.en": 0.0, str(tuned.ct2): 0.0}
    with serve() as (url, _):
        for row in tests:
            for model in errors:  # a model folder is a model name to the server
                with (DATA / row["audio"]).open("rb") as f:
                    response = httpx.post(
                        f"{url}/v1/audio/transcriptions",
                        data={"model": model, "language": "en"},
                        files={"file": (row["audio"], f, "audio/flac")},
                        timeout=120,
                    )
                assert response.status_code == 200, response.text
                errors[model] += wer(row["text"], response.json()["text"])
    assert errors[str(tuned.ct2)] <= 0.6 * errors["tiny.en"], errors


def _file_size_limit(limit_bytes: int):
    def apply() -> None:
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, hard))

    return apply


@pytest.mark.slow
def test_running_out_of_space_is_a_clear_error_and_leaves_no_model(small_manifest, tmp_path):
    # The base model's import is cached first: the limit is for the run's own files.
    cached_import(resolve_model("tiny.en").path, default_cache_dir(), name="tiny.en")
    out = tmp_path / "run"
    args = [
        "finetune", str(small_manifest), "-o", str(out), "-m", "tiny.en", "--max-steps", "2",
        "--batch-size", "2", "--eval-steps", "2", "--freeze-encoder", "--no-report",
        "--no-gradient-checkpointing",
    ]  # fmt: skip
    # 30 MB: the settings and logs fit, tiny.en's 150 MB checkpoint does not (EFBIG, as a
    # full disk fails a write with ENOSPC).
    full = subprocess.run(
        [sys.executable, "-m", "yuyin", *args],
        capture_output=True,
        timeout=600,
        check=False,
        preexec_fn=_file_size_limit(30 * 2**20),
    )
    stderr = full.stderr.decode()
    assert full.returncode == 6, stderr
    assert "error: cannot save a checkpoint in" in stderr
    assert "hint: " in stderr
    assert "Traceback" not in stderr
    assert not (out / ".complete").exists()
    assert not (out / "best").exists()
    assert not (out / "ct2").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    # With room again, --resume finishes the run (the half-written checkpoint is not used).
    resumed = cli(*args, "--resume", "--json")
    assert resumed.returncode == 0, resumed.stderr.decode()
    report = json.loads(resumed.stdout)
    assert report["training"]["global_step"] == 2
    assert report["training"]["resumed_from"] is None
    assert (out / ".complete").is_file()
    # best/ is built in a staging folder, yet as readable as the run's other folders.
    assert (out / "best").stat().st_mode & 0o777 == (out / "ct2").stat().st_mode & 0o777


@pytest.mark.slow
def test_a_chinese_run_trains_with_the_language_token_and_keeps_the_best_by_cer(
    tmp_path, data_dir, fixtures, cer
):
    text = fixtures["zh.wav"]["text"]
    rows = [
        {"id": f"zh{k}", "audio": str(data_dir / "zh.wav"), "text": text, "split": split}
        for k, split in enumerate(["train", "train", "validation"])
    ]
    manifest = tmp_path / "zh.jsonl"
    manifest.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    options = dataclasses.replace(
        SMALL, model="base", language="zh-TW", max_steps=2, eval_steps=1, learning_rate=1e-5,
        generation_max_length=64,
    )  # fmt: skip
    result = finetune(manifest, tmp_path / "run", options=options)
    training = result.training
    assert training["metric"] == "cer"
    scores = [h for h in training["history"] if "eval_cer" in h]
    assert len(scores) == 2
    assert {"eval_wer", "eval_wer_orthographic", "eval_cer_orthographic"} <= set(scores[0])
    best = min(scores, key=lambda h: h["eval_cer"])
    assert training["best_metric"] == pytest.approx(best["eval_cer"])
    assert training["best_step"] == int(best["step"])
    generation = json.loads((result.checkpoint / "generation_config.json").read_text())
    assert (generation["language"], generation["task"]) == ("zh", "transcribe")
    # The model still writes Chinese after learning with <|zh|><|transcribe|> labels.
    t = yuyin.transcribe(data_dir / "zh.wav", model=str(result.ct2), language="zh", beam_size=1)
    assert cer(text, t.text) <= 0.35, t.text

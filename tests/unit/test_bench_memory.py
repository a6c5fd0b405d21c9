"""Memory sampling: a real allocation is seen; GPU figures through a scripted NVML; no GPU
here is skipped with a reason, never an error."""

from __future__ import annotations

import mmap
import sys
import time
import types

import numpy as np
import pytest

from yuyin.bench import BenchAudio, MemorySampler, RunPlan, bench_memory, render_report
from yuyin.bench import memory as memory_module
from yuyin.bench import runs as runs_module
from yuyin.bench import speed as speed_module
from yuyin.bench.environment import describe_environment, describe_machine
from yuyin.bench.memory import gpu_unavailable_reason, nvml_gpus, os_peak_rss_mb
from yuyin.bench.speed import gpu_index_for
from yuyin.errors import YuyinError
from yuyin.options import ModelOptions, TranscribeOptions
from yuyin.types import Segment


def test_a_large_allocation_shows_in_the_peak():
    with MemorySampler(interval=0.005) as sampler:
        # Fresh anonymous pages, each touched: late in a long test run the allocator could
        # serve a numpy array from memory the process already holds, and RSS would not move.
        block = mmap.mmap(-1, 64 * 2**20)
        pages = np.frombuffer(block, dtype=np.uint8)
        pages[:: mmap.PAGESIZE] = 1
        assert int(pages[:: mmap.PAGESIZE].sum()) == pages.size // mmap.PAGESIZE
        del pages
        # Hold the block until the thread has sampled it twice: on a busy machine the thread
        # may not run at all between allocation and `del` (a wait, not a timing assertion).
        seen = sampler.samples
        deadline = time.monotonic() + 30
        while sampler.samples < seen + 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        block.close()
    peak = sampler.result
    assert peak.growth_mb >= 50
    assert peak.peak_rss_mb >= peak.end_rss_mb
    assert peak.seconds > 0
    assert peak.gpu_peak_mb is None
    assert os_peak_rss_mb() >= peak.peak_rss_mb - 1


def test_result_only_after_the_block():
    sampler = MemorySampler()
    with pytest.raises(YuyinError):
        _ = sampler.result


class NVMLError(Exception):
    """pynvml's error class."""


class FakeNvml(types.ModuleType):
    """The few pynvml calls the sampler makes (pynvml's camelCase names), with GPU memory
    growing by 1 MiB on every read and a steady 150 W."""

    NVMLError = NVMLError

    def __init__(self) -> None:
        super().__init__("pynvml")
        self.used = 1000 * 2**20
        self.inits = 0
        self.shutdowns = 0
        calls = {
            "nvmlInit": self._init,
            "nvmlShutdown": self._shutdown,
            "nvmlDeviceGetCount": lambda: 1,
            "nvmlSystemGetDriverVersion": lambda: "550.1",
            "nvmlDeviceGetHandleByIndex": self._handle,
            "nvmlDeviceGetName": lambda handle: "Fake H100",
            "nvmlDeviceGetMemoryInfo": self._memory,
            "nvmlDeviceGetPowerUsage": lambda handle: 150_000,  # milliwatts
        }
        for name, call in calls.items():
            setattr(self, name, call)

    def _init(self) -> None:
        self.inits += 1

    def _shutdown(self) -> None:
        self.shutdowns += 1

    def _handle(self, index: int) -> str:
        if index != 0:
            raise NVMLError("invalid argument")
        return "gpu0"

    def _memory(self, handle: str) -> types.SimpleNamespace:
        self.used += 2**20
        return types.SimpleNamespace(used=self.used, total=80 * 2**30)


@pytest.fixture
def fake_nvml(monkeypatch):
    nvml = FakeNvml()
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    return nvml


def test_gpu_memory_and_power_through_nvml(fake_nvml):
    with MemorySampler(interval=0.001, gpu_index=0) as sampler:
        pass
    peak = sampler.result
    assert peak.gpu_start_mb == pytest.approx(1001.0)
    assert peak.gpu_peak_mb is not None
    assert peak.gpu_peak_mb > 1001.0
    assert peak.gpu_power_mean_w == pytest.approx(150.0)
    assert peak.gpu_power_peak_w == pytest.approx(150.0)
    assert fake_nvml.inits == fake_nvml.shutdowns == 1
    assert nvml_gpus() == [
        {"index": 0, "name": "Fake H100", "memory_total_mb": 80 * 1024.0, "driver": "550.1"}
    ]
    assert gpu_unavailable_reason() is None
    env = describe_environment()
    assert env["gpus"][0]["name"] == "Fake H100"
    assert "GPU Fake H100 (80 GiB)" in describe_machine(env)


def test_a_missing_gpu_is_skipped_quietly(fake_nvml):
    with MemorySampler(gpu_index=3) as sampler:
        pass
    assert sampler.result.gpu_peak_mb is None


def test_no_driver_is_a_reason_not_an_error(monkeypatch, fake_nvml):
    def broken():
        raise NVMLError("Driver Not Loaded")

    monkeypatch.setattr(fake_nvml, "nvmlInit", broken)
    assert "no NVIDIA driver" in (gpu_unavailable_reason() or "")
    assert nvml_gpus() == []
    with MemorySampler(gpu_index=0) as sampler:
        pass
    assert sampler.result.gpu_start_mb is None


def test_without_nvidia_ml_py(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails
    assert "nvidia-ml-py" in (gpu_unavailable_reason() or "")
    assert nvml_gpus() == []
    assert memory_module._nvml() is None


def test_cpu_runs_watch_no_gpu():
    assert gpu_index_for(ModelOptions(device="cpu")) is None
    assert gpu_index_for(ModelOptions(device="cpu", engine="transformers")) is None


def test_environment_names_the_machine():
    env = describe_environment()
    assert env["logical_cores"] >= 1
    assert 1 <= env["usable_cores"] <= env["logical_cores"]
    assert env["cpu"]
    assert "faster-whisper" in env["libraries"]
    assert "ctranslate2" in env["libraries"]
    line = describe_machine(env)
    assert f"{env['logical_cores']} cores" in line
    assert "Python" in line


def test_memory_report_puts_gpu_load_and_transcription_apart(fake_nvml, monkeypatch, fake_engine):
    """The model's weights count for the load; the transcription's growth is its own."""
    engine = fake_engine([Segment(0.0, 1.0, " hello world")])
    mib = 2**20

    def load(options, shared):
        fake_nvml.used += 500 * mib  # the weights arrive on the GPU
        return engine

    def run(*args, **kwargs):
        fake_nvml.used += 100 * mib  # activations, kept until the end of the phase
        return type(engine).run(engine, *args, **kwargs)

    monkeypatch.setattr(runs_module, "load_engine", load)
    monkeypatch.setattr(engine, "run", run)
    monkeypatch.setattr(speed_module, "gpu_index_for", lambda options: 0)
    audio = BenchAudio("x.wav", np.zeros(16000, np.float32), "hello world", "--reference", "en")
    report = bench_memory(audio, ModelOptions(model="tiny.en", device="cpu"),
                          TranscribeOptions(vad=False, language="en"),
                          RunPlan(warmup=0, repeat=1))  # fmt: skip
    gpu = report["gpu"]
    assert report["gpu_skipped"] is None
    assert gpu["index"] == 0
    assert 1000 < gpu["baseline_mb"] < 1010
    # Every NVML read adds 1 MiB in the fake: bounds, not exact figures.
    assert 500 <= gpu["load_growth_mb"] < 550
    assert 100 <= gpu["transcription_growth_mb"] < 150, "the model is not counted twice"
    assert gpu["transcription_peak_mb"] >= gpu["load_peak_mb"] + 100
    assert gpu["power_mean_w"] == pytest.approx(150.0)
    assert gpu["power_peak_w"] == pytest.approx(150.0)
    assert report["wer"] == 0.0
    table = render_report(report)
    assert "GPU not measured" not in table
    assert "150 (peak 150)" in table

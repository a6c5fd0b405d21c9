"""Peak memory while a block of code runs: this process's resident set, sampled in a thread,
and a GPU's memory and power through NVML when there is one.

Resident memory is sampled every 10 ms with psutil; the operating system's own high-water
mark (`getrusage`) is read too, so a spike shorter than the interval is still bounded. GPU
figures come from NVML (`nvidia-ml-py`) and are device-wide: what every process on that GPU
uses, so the figures to read are the growth over the baseline taken before the block.
"""

from __future__ import annotations

import logging
import resource
import sys
import threading
import time
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

from yuyin.errors import MissingDependencyError, YuyinError

__all__ = ["MemoryPeak", "MemorySampler", "gpu_unavailable_reason", "nvml_gpus", "os_peak_rss_mb"]

log = logging.getLogger(__name__)

_MIB = 2**20


def _process() -> Any:
    try:
        import psutil
    except ImportError as exc:
        raise MissingDependencyError("psutil", "bench", "memory measurement") from exc
    return psutil.Process()


def os_peak_rss_mb() -> float:
    """The operating system's high-water mark of this process's resident memory, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / _MIB if sys.platform == "darwin" else peak / 1024


def _nvml() -> Any:
    """The initialised pynvml module, or None when there is no usable NVIDIA driver."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        log.debug("NVML unavailable: %s", exc)
        return None
    return pynvml


def gpu_unavailable_reason() -> str | None:
    """Why GPU memory and power cannot be measured here, or None when they can."""
    try:
        import pynvml
    except ImportError:
        return "nvidia-ml-py is not installed (pip install 'yuyin[bench]')"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return f"no NVIDIA driver or GPU (NVML: {exc})"
    try:
        if pynvml.nvmlDeviceGetCount() == 0:
            return "no NVIDIA GPU"
    finally:
        pynvml.nvmlShutdown()
    return None


def nvml_gpus() -> list[dict[str, Any]]:
    """Name, memory and driver of every NVIDIA GPU NVML sees (empty without a driver)."""
    nvml = _nvml()
    if nvml is None:
        return []
    try:
        driver = nvml.nvmlSystemGetDriverVersion()
        gpus = []
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            gpus.append(
                {
                    "index": index,
                    "name": nvml.nvmlDeviceGetName(handle),
                    "memory_total_mb": nvml.nvmlDeviceGetMemoryInfo(handle).total / _MIB,
                    "driver": driver,
                }
            )
        return gpus
    except nvml.NVMLError as exc:
        log.debug("NVML query failed: %s", exc)
        return []
    finally:
        nvml.nvmlShutdown()


@dataclass(frozen=True, slots=True)
class MemoryPeak:
    """What a `MemorySampler` saw while its block ran.

    Attributes:
        seconds: how long the block ran.
        start_rss_mb: resident memory when the block started, in MiB.
        end_rss_mb: resident memory when it ended.
        peak_rss_mb: the highest resident memory sampled (or the OS high-water mark, if
            it rose during the block and is higher).
        gpu_start_mb: GPU memory in use when the block started (None without a GPU).
        gpu_peak_mb: the highest GPU memory in use sampled during the block.
        gpu_power_mean_w: mean GPU power draw during the block, in watts.
        gpu_power_peak_w: highest GPU power draw sampled, in watts.
        samples: how many samples were taken.
    """

    seconds: float
    start_rss_mb: float
    end_rss_mb: float
    peak_rss_mb: float
    gpu_start_mb: float | None = None
    gpu_peak_mb: float | None = None
    gpu_power_mean_w: float | None = None
    gpu_power_peak_w: float | None = None
    samples: int = 0

    @property
    def growth_mb(self) -> float:
        """Peak resident memory above the start, in MiB."""
        return self.peak_rss_mb - self.start_rss_mb

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (with `growth_mb`)."""
        return {**asdict(self), "growth_mb": self.growth_mb}


class MemorySampler:
    """Samples resident memory (and GPU memory and power) in a thread while a block runs.

    Usage::

        with MemorySampler() as sampler:
            engine = load_engine(options)
        print(sampler.result.peak_rss_mb)
    """

    def __init__(self, *, interval: float = 0.01, gpu_index: int | None = None) -> None:
        """Args: interval: seconds between samples; gpu_index: the NVIDIA GPU to watch."""
        self.interval = interval
        self.gpu_index = gpu_index
        self._process = _process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._peak_rss = 0
        self._start_rss = 0
        self._os_peak_start = 0.0
        self._gpu_start: float | None = None
        self._gpu_peak: float | None = None
        self._power: list[float] = []
        self._samples = 0
        self._started = 0.0
        self._nvml: Any = None
        self._handle: Any = None
        self._result: MemoryPeak | None = None

    def _sample(self) -> None:
        rss = int(self._process.memory_info().rss)
        self._peak_rss = max(self._peak_rss, rss)
        self._samples += 1
        if self._handle is not None:
            try:
                used = self._nvml.nvmlDeviceGetMemoryInfo(self._handle).used / _MIB
                self._gpu_peak = max(self._gpu_peak or 0.0, used)
                self._power.append(self._nvml.nvmlDeviceGetPowerUsage(self._handle) / 1000)
            except self._nvml.NVMLError as exc:  # power is not readable on every GPU
                log.debug("NVML sample failed: %s", exc)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> MemorySampler:
        if self.gpu_index is not None:
            self._nvml = _nvml()
            if self._nvml is not None:
                try:
                    self._handle = self._nvml.nvmlDeviceGetHandleByIndex(self.gpu_index)
                    self._gpu_start = self._nvml.nvmlDeviceGetMemoryInfo(self._handle).used / _MIB
                except self._nvml.NVMLError as exc:
                    log.debug("NVML has no GPU %d: %s", self.gpu_index, exc)
                    self._handle = None
        self._start_rss = int(self._process.memory_info().rss)
        self._peak_rss = self._start_rss
        self._os_peak_start = os_peak_rss_mb()
        self._started = time.perf_counter()
        self._thread = threading.Thread(target=self._loop, name="yuyin-memory", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        seconds = time.perf_counter() - self._started
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        end_rss = int(self._process.memory_info().rss)
        peak = self._peak_rss / _MIB
        os_peak = os_peak_rss_mb()
        if os_peak > self._os_peak_start:
            # The high-water mark rose during the block: a spike between samples.
            peak = max(peak, os_peak)
        if self._nvml is not None:
            self._nvml.nvmlShutdown()
        power = self._power
        self._result = MemoryPeak(
            seconds=seconds,
            start_rss_mb=self._start_rss / _MIB,
            end_rss_mb=end_rss / _MIB,
            peak_rss_mb=peak,
            gpu_start_mb=self._gpu_start,
            gpu_peak_mb=self._gpu_peak,
            gpu_power_mean_w=sum(power) / len(power) if power else None,
            gpu_power_peak_w=max(power) if power else None,
            samples=self._samples,
        )

    @property
    def samples(self) -> int:
        """Samples taken so far."""
        return self._samples

    @property
    def result(self) -> MemoryPeak:
        """The measurements, once the block has ended."""
        if self._result is None:
            raise YuyinError(
                "MemorySampler.result is only set after the `with` block",
                hint="read it after the block ends",
            )
        return self._result

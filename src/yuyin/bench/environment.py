"""The machine and software a benchmark ran on, recorded next to every result."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["LIBRARIES", "cpu_model", "describe_environment", "describe_machine", "library_versions"]

#: Distributions whose versions matter to a speech benchmark; those installed are recorded.
LIBRARIES: tuple[str, ...] = (
    "yuyin",
    "faster-whisper",
    "ctranslate2",
    "numpy",
    "onnxruntime",
    "av",
    "torch",
    "transformers",
    "openai-whisper",
    "pywhispercpp",
    "sherpa-onnx",
    "jiwer",
)


def cpu_model() -> str:
    """The CPU's marketing name (Linux /proc/cpuinfo, else what `platform` knows)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Hardware", "Processor") and value.strip():
                return value.strip()
    return platform.processor() or platform.machine() or "unknown"


def library_versions(names: tuple[str, ...] = LIBRARIES) -> dict[str, str]:
    """Versions of the installed distributions among `names` (missing ones are left out)."""
    found: dict[str, str] = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _physical_cores() -> int | None:
    try:
        import psutil
    except ImportError:
        return None
    count = psutil.cpu_count(logical=False)
    return int(count) if count else None


def _memory_mb() -> float | None:
    try:
        import psutil
    except ImportError:
        return None
    return float(psutil.virtual_memory().total) / 2**20


def _gpus() -> list[dict[str, Any]]:
    from yuyin.bench.memory import nvml_gpus

    return nvml_gpus()


def describe_environment() -> dict[str, Any]:
    """CPU, cores, memory, load, OS, Python, GPUs and library versions, as JSON-ready data."""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # not on Unix
        load = None
    return {
        "cpu": cpu_model(),
        "architecture": platform.machine(),
        "logical_cores": os.cpu_count(),
        "physical_cores": _physical_cores(),
        "usable_cores": _usable_cores(),
        "memory_mb": _memory_mb(),
        # Other work on the machine slows every number; the load before the run says how much.
        "load_average": load,
        "os": platform.platform(),
        "python": platform.python_version(),
        "gpus": _gpus(),
        "libraries": library_versions(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def describe_machine(environment: dict[str, Any]) -> str:
    """One line for a report: `Intel Xeon ..., 2 cores (2 usable), 23 GiB, Linux, Python 3.11`."""
    memory = environment.get("memory_mb")
    parts = [
        str(environment.get("cpu", "unknown CPU")),
        f"{environment.get('logical_cores')} cores ({environment.get('usable_cores')} usable)",
    ]
    if memory:
        parts.append(f"{memory / 1024:.0f} GiB RAM")
    for gpu in environment.get("gpus") or []:
        parts.append(f"GPU {gpu.get('name')} ({gpu.get('memory_total_mb', 0) / 1024:.0f} GiB)")
    parts.append(str(environment.get("os", "")).split("-")[0])
    parts.append(f"Python {environment.get('python')}")
    load = environment.get("load_average")
    if load:
        parts.append(f"load {load[0]:.2f} at start")
    return ", ".join(parts)

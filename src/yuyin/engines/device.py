"""Choosing the device and compute type, and explaining why CUDA is or is not usable."""

from __future__ import annotations

import ctypes.util
from dataclasses import dataclass

import ctranslate2

from yuyin.errors import ConfigurationError

__all__ = ["CudaReport", "cuda_report", "resolve_device", "torch_device"]

DEVICES = ("auto", "cpu", "cuda")


def _cuda_device_count() -> int:
    try:
        return int(ctranslate2.get_cuda_device_count())
    except RuntimeError:  # raised by some builds when the CUDA driver is broken
        return 0


def resolve_device(device: str, compute_type: str) -> tuple[str, str]:
    """Turn `auto` choices into a concrete (device, compute_type) that CTranslate2 supports.

    Raises:
        ConfigurationError: an unknown device, CUDA without a usable GPU, or a compute type
            the device cannot run, naming the supported ones.
    """
    if device not in DEVICES:
        raise ConfigurationError(f"unknown device {device!r}", hint="use auto, cpu or cuda")
    gpus = _cuda_device_count()
    if device == "auto":
        device = "cuda" if gpus > 0 else "cpu"
    elif device == "cuda" and gpus == 0:
        raise ConfigurationError(
            "--device cuda was asked for, but CTranslate2 sees no usable CUDA GPU",
            hint="run `yuyin doctor` to see why, or use --device cpu",
        )
    if compute_type in ("auto", "default"):
        return device, "float16" if device == "cuda" else "int8"
    supported = sorted(ctranslate2.get_supported_compute_types(device))
    if compute_type not in supported:
        raise ConfigurationError(
            f"compute type {compute_type!r} is not supported on {device}",
            hint="supported here: auto, " + ", ".join(supported),
        )
    return device, compute_type


@dataclass(frozen=True, slots=True)
class CudaReport:
    """Whether CUDA inference can work here and, if not, the reason in plain words."""

    usable: bool
    device_count: int
    reason: str
    libraries: dict[str, str | None]


# The libraries CTranslate2 4.x loads for GPU inference (CUDA 12, cuDNN 9).
_CUDA_LIBRARIES = ("cuda", "cublas", "cublasLt", "cudnn", "cudart")


def cuda_report() -> CudaReport:
    """Check the GPU driver and the CUDA/cuDNN libraries CTranslate2 needs."""
    libraries = {name: ctypes.util.find_library(name) for name in _CUDA_LIBRARIES}
    count = _cuda_device_count()
    if count > 0:
        missing = [n for n in ("cublas", "cudnn") if libraries[n] is None]
        if missing:
            reason = (
                f"{count} GPU(s) visible, but {', '.join(missing)} not found on the library "
                "path; install nvidia-cublas-cu12 and nvidia-cudnn-cu12 (pip) or the CUDA "
                "toolkit and cuDNN 9, then add them to LD_LIBRARY_PATH"
            )
            return CudaReport(False, count, reason, libraries)
        return CudaReport(True, count, f"{count} CUDA GPU(s) usable", libraries)
    if libraries["cuda"] is None:
        reason = "no NVIDIA driver (libcuda) found: this machine has no usable NVIDIA GPU"
    else:
        reason = "the NVIDIA driver is present but CTranslate2 sees no GPU (check nvidia-smi)"
    return CudaReport(False, 0, reason, libraries)


def torch_device(device: str, extra: str) -> str:
    """PyTorch's device for auto/cpu/cuda; `extra` names the extra that installed torch."""
    import torch

    if device not in DEVICES:
        raise ConfigurationError(f"unknown device {device!r}", hint="use auto, cpu or cuda")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigurationError(
            "--device cuda was asked for, but PyTorch sees no usable CUDA GPU",
            hint=f"the {extra} extra installs a CPU build of torch; use --device cpu",
        )
    return device

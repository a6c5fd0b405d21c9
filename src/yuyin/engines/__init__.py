"""Recognisers behind one seam, the model resolver/cache, device choice and Silero VAD."""

from yuyin.engines.base import Engine, EngineRun
from yuyin.engines.device import cuda_report, resolve_device
from yuyin.engines.faster_whisper import FasterWhisperEngine, clear_model_cache
from yuyin.engines.models import (
    ModelInfo,
    ResolvedModel,
    default_cache_dir,
    list_models,
    resolve_model,
)
from yuyin.engines.registry import ENGINES, EngineInfo, engine_infos, load_engine

__all__ = [
    "ENGINES",
    "Engine",
    "EngineInfo",
    "EngineRun",
    "FasterWhisperEngine",
    "ModelInfo",
    "ResolvedModel",
    "clear_model_cache",
    "cuda_report",
    "default_cache_dir",
    "engine_infos",
    "list_models",
    "load_engine",
    "resolve_device",
    "resolve_model",
]

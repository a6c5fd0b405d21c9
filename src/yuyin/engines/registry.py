"""Every engine by name: what it supports, whether its extra is installed, and a factory."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from yuyin.engines.base import Engine
from yuyin.errors import ConfigurationError, MissingDependencyError
from yuyin.options import ModelOptions

__all__ = ["ENGINES", "EngineInfo", "engine_infos", "load_engine"]


@dataclass(frozen=True, slots=True)
class EngineInfo:
    """One row of `yuyin engines`."""

    name: str
    description: str
    extra: str | None
    module: str  # the import that must succeed for the engine to work
    languages: str
    word_timestamps: bool
    streaming: bool
    translation: bool
    local: bool
    package: str  # the pip distribution that provides `module`

    @property
    def installed(self) -> bool:
        """Whether the engine's Python package can be imported here."""
        try:
            return importlib.util.find_spec(self.module) is not None
        except ModuleNotFoundError:  # a dotted name whose parent package is missing
            return False

    def require(self, feature: str) -> None:
        """Raise MissingDependencyError naming the engine's extra unless it is installed."""
        if not self.installed:
            raise MissingDependencyError(self.package, self.extra or "dev", feature)


ENGINES: dict[str, EngineInfo] = {
    info.name: info
    for info in (
        EngineInfo(
            "faster-whisper", "Whisper on CTranslate2 (default; embedded models, CPU or CUDA)",
            None, "faster_whisper", "Whisper's 100 (tiny.en: English)", True, True, True, True,
            package="faster-whisper",
        ),
        EngineInfo(
            "openai", "Any OpenAI-compatible API: OpenAI, another yuyin server (--base-url)",
            "openai", "openai", "the API's (Whisper: 100)", True, False, True, False,
            package="openai",
        ),
        EngineInfo(
            "transformers", "Hugging Face transformers Whisper: HF checkpoints, or the embedded "
            "models imported from CTranslate2", "train", "transformers", "Whisper's 100",
            True, False, True, True, package="transformers",
        ),
        EngineInfo(
            "openai-whisper", "OpenAI's reference Whisper (PyTorch) on the embedded models, "
            "exported once to its checkpoint format", "openai-whisper", "whisper",
            "Whisper's 100", True, False, True, True, package="openai-whisper",
        ),
        EngineInfo(
            "whisper.cpp", "whisper.cpp through pywhispercpp on the embedded models, exported "
            "once to ggml (f16; --compute-type int8: q8_0)", "whispercpp", "_pywhispercpp",
            "Whisper's 100", True, False, True, True, package="pywhispercpp",
        ),
        EngineInfo(
            "google", "Google Cloud Speech-to-Text v2 (chirp_2; needs GOOGLE_CLOUD_PROJECT)",
            "google", "google.cloud.speech_v2", "BCP-47 locales (default cmn-Hant-TW)",
            True, True, True, False, package="google-cloud-speech",
        ),
        EngineInfo(
            "sherpa-onnx", "sherpa-onnx: Whisper exported to ONNX (embedded models too), or a "
            "Paraformer / Zipformer transducer folder", "sherpa-onnx", "sherpa_onnx",
            "Whisper's 100; other models: their own", True, False, True, True,
            package="sherpa-onnx",
        ),
        EngineInfo(
            "gemini-live", "Google Gemini Live API input transcription (needs GEMINI_API_KEY)",
            "gemini", "google.genai", "Gemini's (English, Chinese, ...)", False, False, False,
            False, package="google-genai",
        ),
    )
}  # fmt: skip


def engine_infos() -> list[EngineInfo]:
    """All engines in the order `yuyin engines` lists them."""
    return list(ENGINES.values())


def load_engine(
    options: ModelOptions, *, cache_dir: Path | None = None, shared: bool = True
) -> Engine:
    """Create (or reuse) the engine `options.engine` names, loaded with `options.model`.

    Args:
        options: engine, model and hardware choices.
        cache_dir: model cache folder for local engines.
        shared: reuse one loaded model per process (local engines).

    Raises:
        ConfigurationError: an unknown engine name.
        MissingDependencyError: the engine's extra is not installed.
    """
    if options.engine not in ENGINES:
        raise ConfigurationError(
            f"unknown engine {options.engine!r}",
            hint="choose one of: " + ", ".join(ENGINES) + " (`yuyin engines` lists them)",
        )
    if options.engine == "google":
        from yuyin.engines.google import GoogleEngine

        # Project, location, credentials and recognizer come from the environment there.
        return GoogleEngine.from_environment(options)
    if options.engine == "transformers":
        from yuyin.engines.transformers import load_transformers_engine

        return load_transformers_engine(
            options.model, options.device, cache_dir=cache_dir, shared=shared
        )
    if options.engine == "openai-whisper":
        from yuyin.engines.openai_whisper import load_openai_whisper_engine

        return load_openai_whisper_engine(
            options.model, options.device, cache_dir=cache_dir, shared=shared
        )
    if options.engine == "whisper.cpp":
        from yuyin.engines.whispercpp import load_whispercpp_engine

        return load_whispercpp_engine(
            options.model,
            options.device,
            compute_type=options.compute_type,
            cpu_threads=options.cpu_threads,
            cache_dir=cache_dir,
            shared=shared,
        )
    if options.engine == "openai":
        from yuyin.engines.openai_api import OpenAIEngine

        # OpenAI itself knows no `base`: its default model is whisper-1. Other servers (a
        # yuyin server) get the name as given.
        default = options.model == ModelOptions().model and options.base_url is None
        model = "whisper-1" if default else options.model
        return OpenAIEngine(model, base_url=options.base_url, api_key=options.api_key)
    if options.engine == "sherpa-onnx":
        from yuyin.engines.sherpa_onnx import load_from_options

        return load_from_options(options, cache_dir=cache_dir, shared=shared)
    if options.engine == "gemini-live":
        from yuyin.engines.gemini_live import GeminiLiveEngine

        # The key (GEMINI_API_KEY) and model come from the environment there.
        return GeminiLiveEngine.from_environment(options)
    from yuyin.engines.faster_whisper import load_engine as load_faster_whisper

    return load_faster_whisper(options, cache_dir=cache_dir, shared=shared)

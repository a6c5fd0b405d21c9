"""Models loaded once and shared by all requests; idle ones unloaded after a TTL."""

from __future__ import annotations

import threading
import time

from yuyin.engines import Engine, list_models, load_engine
from yuyin.options import ModelOptions
from yuyin.settings import Settings

__all__ = ["OPENAI_MODEL_ALIASES", "ModelManager"]

#: Model names OpenAI clients send; they mean "the server's default model".
OPENAI_MODEL_ALIASES = ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe")


class ModelManager:
    """Loads each model once (thread-safe), tracks use, and unloads idle ones."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._engines: dict[str, Engine] = {}
        self._last_used: dict[str, float] = {}
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def name_for(self, requested: str | None) -> str:
        """Map an OpenAI alias (or nothing) to the default model; keep other names."""
        if not requested or requested in OPENAI_MODEL_ALIASES:
            return self._settings.default_model
        return requested

    def get(self, requested: str | None) -> Engine:
        """Return the loaded engine for a model name, loading it on first use (blocking)."""
        name = self.name_for(requested)
        with self._lock:
            lock = self._loading.setdefault(name, threading.Lock())
        with lock:  # one load per model even when many requests arrive at once
            engine = self._engines.get(name)
            if engine is None:
                s = self._settings
                engine = load_engine(
                    ModelOptions(
                        model=name,
                        engine=s.engine,
                        device=s.device,
                        compute_type=s.compute_type,
                        cpu_threads=s.cpu_threads,
                        num_workers=s.num_workers,
                    ),
                    shared=False,
                )
                self._engines[name] = engine
            self._last_used[name] = time.monotonic()
            return engine

    def loaded(self) -> list[str]:
        """Names of the models in memory now."""
        return sorted(self._engines)

    def available(self) -> list[str]:
        """Names that can be served without a download: embedded or already cached."""
        return [m.name for m in list_models() if m.available]

    def unload_idle(self, now: float | None = None) -> list[str]:
        """Drop models unused for `model_ttl_s` (never preloaded ones); return their names."""
        ttl = self._settings.model_ttl_s
        if ttl <= 0:
            return []
        now = time.monotonic() if now is None else now
        dropped = []
        with self._lock:
            for name, used in list(self._last_used.items()):
                if name not in self._settings.preload and now - used > ttl:
                    self._engines.pop(name, None)
                    self._last_used.pop(name, None)
                    dropped.append(name)
        return dropped

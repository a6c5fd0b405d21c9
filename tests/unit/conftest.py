"""A scripted engine so the pipeline can be tested without a model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from yuyin.engines import EngineRun
from yuyin.options import TranscribeOptions
from yuyin.types import Segment


@dataclass
class FakeEngine:
    """Returns the segments it was given and records how it was called."""

    segments: list[Segment]
    language: str = "en"
    name: str = "fake"
    model_name: str = "fake-model"
    multilingual: bool = True
    calls: list[dict[str, Any]] = field(default_factory=list)

    def run(
        self,
        audio: np.ndarray,
        *,
        language: str | None,
        options: TranscribeOptions,
        vad_filter: bool,
    ) -> EngineRun:
        self.calls.append(
            {"samples": audio.size, "language": language, "options": options, "vad": vad_filter}
        )

        def produce() -> Iterator[Segment]:
            yield from self.segments

        return EngineRun(produce(), language or self.language, 0.99, audio.size / 16000)


@pytest.fixture
def fake_engine() -> Callable[..., FakeEngine]:
    return FakeEngine

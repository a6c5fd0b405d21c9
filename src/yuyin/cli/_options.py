"""Click parameters <-> option objects, shared by every command that transcribes."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from yuyin.options import ModelOptions, OutputOptions, TranscribeOptions, VadOptions

__all__ = ["option_names", "pop_options"]


def option_names(*, output: bool = True) -> frozenset[str]:
    """The click parameter names `yuyin transcribe` gives the option fields (VAD's `vad_`)."""
    names = (
        {f.name for f in fields(ModelOptions)}
        | {f.name for f in fields(TranscribeOptions) if f.name != "vad_options"}
        | {f"vad_{f.name}" for f in fields(VadOptions)}
    )
    if output:
        names |= {f.name for f in fields(OutputOptions)}
    return frozenset(names)


def pop_options(params: dict[str, Any]) -> tuple[TranscribeOptions, ModelOptions, OutputOptions]:
    """Build the option objects from a command's remaining parameters (all of them are used).

    Flags are named after the option fields, so a new field needs only its flag (an unknown
    name fails loudly here); output fields a command does not offer keep their defaults.
    """
    vad = VadOptions(**{f.name: params.pop(f"vad_{f.name}") for f in fields(VadOptions)})
    model = ModelOptions(**{f.name: params.pop(f.name) for f in fields(ModelOptions)})
    output = OutputOptions(
        **{f.name: params.pop(f.name) for f in fields(OutputOptions) if f.name in params}
    )
    transcribe = TranscribeOptions(vad_options=vad, **params)
    params.clear()
    return transcribe, model, output

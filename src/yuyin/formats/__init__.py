"""Writers that turn a `Transcript` into the text of an output file (pure: no I/O).

`render(transcript, "srt", OutputOptions(max_line_width=42))` picks a writer by name; the
`to_*` functions are the writers themselves.
"""

from __future__ import annotations

from collections.abc import Callable

from yuyin.errors import ConfigurationError
from yuyin.formats.json_format import to_json
from yuyin.formats.srt import to_srt
from yuyin.formats.tsv import to_tsv
from yuyin.formats.txt import to_txt
from yuyin.formats.vtt import to_vtt
from yuyin.options import OutputOptions
from yuyin.types import Transcript

__all__ = ["FORMATS", "render", "to_json", "to_srt", "to_tsv", "to_txt", "to_vtt"]

_WRITERS: dict[str, Callable[[Transcript, OutputOptions], str]] = {
    "txt": lambda transcript, _: to_txt(transcript),
    "srt": to_srt,
    "vtt": to_vtt,
    "tsv": lambda transcript, _: to_tsv(transcript),
    "json": lambda transcript, _: to_json(transcript),
}

#: Every format `render` accepts, in the order the CLI lists them.
FORMATS: tuple[str, ...] = tuple(_WRITERS)


def render(transcript: Transcript, fmt: str, options: OutputOptions | None = None) -> str:
    """Render `transcript` in format `fmt` (one of `FORMATS`), laid out by `options`."""
    writer = _WRITERS.get(fmt)
    if writer is None:
        raise ConfigurationError(
            f"unknown output format {fmt!r}", hint=f"choose one of: {', '.join(FORMATS)}"
        )
    return writer(transcript, options or OutputOptions())

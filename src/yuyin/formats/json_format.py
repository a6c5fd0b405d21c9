"""JSON: the transcript's dictionary form, with Chinese and other scripts left readable."""

from __future__ import annotations

import json

from yuyin.types import Transcript

__all__ = ["to_json"]


def to_json(transcript: Transcript) -> str:
    """Render `Transcript.to_dict()` as indented UTF-8 JSON ending with a newline."""
    return json.dumps(transcript.to_dict(), ensure_ascii=False, indent=2) + "\n"

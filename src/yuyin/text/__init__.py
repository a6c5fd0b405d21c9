"""Text processing: Chinese script conversion and Whisper's phantom-line filter."""

from yuyin.text.chinese import convert_script, convert_segments
from yuyin.text.hallucination import is_phantom

__all__ = ["convert_script", "convert_segments", "is_phantom"]

"""yuyin (語音): speech to text with Whisper, offline and live, in English and Chinese.

Usage::

    import yuyin
    t = yuyin.transcribe("meeting.m4a", language="zh-TW")
    print(t.text)
    open("meeting.srt", "w", encoding="utf-8").write(yuyin.to_srt(t))
"""

from yuyin.audio import decode_audio
from yuyin.engines import list_models, load_engine, resolve_model
from yuyin.errors import (
    AudioDecodeError,
    ConfigurationError,
    InputError,
    MediaNotFoundError,
    MissingDependencyError,
    ModelError,
    ModelNotFoundError,
    OutputError,
    StreamProtocolError,
    YuyinError,
)
from yuyin.formats import render, to_json, to_srt, to_tsv, to_txt, to_vtt
from yuyin.options import ModelOptions, OutputOptions, TranscribeOptions, VadOptions
from yuyin.transcribe import FileResult, transcribe, transcribe_files
from yuyin.types import AudioInfo, Segment, Transcript, Word

__version__ = "0.1.0"

__all__ = [
    "AudioDecodeError",
    "AudioInfo",
    "ConfigurationError",
    "FileResult",
    "InputError",
    "MediaNotFoundError",
    "MissingDependencyError",
    "ModelError",
    "ModelNotFoundError",
    "ModelOptions",
    "OutputError",
    "OutputOptions",
    "Segment",
    "StreamProtocolError",
    "TranscribeOptions",
    "Transcript",
    "VadOptions",
    "Word",
    "YuyinError",
    "__version__",
    "decode_audio",
    "list_models",
    "load_engine",
    "render",
    "resolve_model",
    "to_json",
    "to_srt",
    "to_tsv",
    "to_txt",
    "to_vtt",
    "transcribe",
    "transcribe_files",
]

"""Audio input and tools: decoding for Whisper, loading, converting, levels, splitting, devices.

`decode_audio` gives Whisper's 16 kHz mono; `load` keeps the file's own rate and channels.
Arrays are float32, ±1.0 full scale, shaped (frames,) or (channels, frames).
"""

from yuyin.audio.convert import convert_audio
from yuyin.audio.decode import SAMPLE_RATE, AudioSource, decode_audio, iter_audio, probe_audio
from yuyin.audio.devices import DeviceInfo, list_devices, play, play_and_record, record
from yuyin.audio.encode import AUDIO_FORMATS, SAMPLE_FORMATS, encode_audio, write_audio
from yuyin.audio.levels import Levels, levels, to_dbfs
from yuyin.audio.load import LoadedAudio, load, load_audio
from yuyin.audio.samples import remix, resample, to_mono
from yuyin.audio.split import Piece, SplitResult, split_audio, split_points
from yuyin.audio.tone import TONE_KINDS, generate_tone

__all__ = [
    "AUDIO_FORMATS",
    "SAMPLE_FORMATS",
    "SAMPLE_RATE",
    "TONE_KINDS",
    "AudioSource",
    "DeviceInfo",
    "Levels",
    "LoadedAudio",
    "Piece",
    "SplitResult",
    "convert_audio",
    "decode_audio",
    "encode_audio",
    "generate_tone",
    "iter_audio",
    "levels",
    "list_devices",
    "load",
    "load_audio",
    "play",
    "play_and_record",
    "probe_audio",
    "record",
    "remix",
    "resample",
    "split_audio",
    "split_points",
    "to_dbfs",
    "to_mono",
    "write_audio",
]

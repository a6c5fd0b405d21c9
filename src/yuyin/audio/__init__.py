"""Audio input: decoding any media to 16 kHz mono float32."""

from yuyin.audio.decode import SAMPLE_RATE, AudioSource, decode_audio, iter_audio, probe_audio

__all__ = ["SAMPLE_RATE", "AudioSource", "decode_audio", "iter_audio", "probe_audio"]

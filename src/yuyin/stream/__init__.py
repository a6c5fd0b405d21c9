"""Live transcription: Whisper made to behave like a streaming recogniser (issue 4).

    from yuyin.engines import load_engine
    from yuyin.options import ModelOptions
    from yuyin.stream import EngineASR, OnlineProcessor, StreamOptions, replay

    options = StreamOptions(language="en", min_chunk_size=1.0)
    asr = EngineASR(load_engine(ModelOptions(model="tiny.en")), options)
    for event in replay(audio, lambda clock: OnlineProcessor(asr, options, clock=clock),
                        mode="comp-unaware"):
        print(event.start, event.end, event.text)

Pieces, bottom up: `HypothesisBuffer` (LocalAgreement-2, pure), `OnlineProcessor` (rolling
buffer, prompt, trimming), `VacProcessor` (decode only during speech), `TwoPassProcessor`
(fast partials, accurate finals), `LatencyMonitor` (step down when falling behind),
`replay` (file/live drivers), `StreamServer` (TCP), `UtteranceWriter` (utterance files).
"""

from yuyin.stream.agreement import HypothesisBuffer, word_key
from yuyin.stream.asr import EngineASR, StreamASR
from yuyin.stream.events import Degradation, EventType, StreamEvent, join_words
from yuyin.stream.factory import MeasuredProcessor, processor_factory
from yuyin.stream.latency import LatencyMonitor, LatencyOptions
from yuyin.stream.mic import microphone_chunks
from yuyin.stream.options import EndpointOptions, StreamOptions, VacOptions
from yuyin.stream.processor import (
    Clock,
    OnlineProcessor,
    StreamProcessor,
    validate_stream_options,
)
from yuyin.stream.report import ErrorRates, LatencyStats, commit_latency, error_rates
from yuyin.stream.sentences import ends_sentence, group_sentences, split_sentences
from yuyin.stream.simulate import REPLAY_MODES, ProcessorFactory, replay
from yuyin.stream.tcp import DEFAULT_PORT, StreamServer, format_line, pcm16_to_float
from yuyin.stream.twopass import TwoPassProcessor
from yuyin.stream.utterances import UtteranceWriter
from yuyin.stream.vac import SileroStream, SpeechDetector, Utterance, VacProcessor

__all__ = [
    "DEFAULT_PORT",
    "REPLAY_MODES",
    "Clock",
    "Degradation",
    "EndpointOptions",
    "EngineASR",
    "ErrorRates",
    "EventType",
    "HypothesisBuffer",
    "LatencyMonitor",
    "LatencyOptions",
    "LatencyStats",
    "MeasuredProcessor",
    "OnlineProcessor",
    "ProcessorFactory",
    "SileroStream",
    "SpeechDetector",
    "StreamASR",
    "StreamEvent",
    "StreamOptions",
    "StreamProcessor",
    "StreamServer",
    "TwoPassProcessor",
    "Utterance",
    "UtteranceWriter",
    "VacOptions",
    "VacProcessor",
    "commit_latency",
    "ends_sentence",
    "error_rates",
    "format_line",
    "group_sentences",
    "join_words",
    "microphone_chunks",
    "pcm16_to_float",
    "processor_factory",
    "replay",
    "split_sentences",
    "validate_stream_options",
    "word_key",
]

"""A local fake of Google Cloud Speech-to-Text v2, for the google engine's tests (no internet).

A grpcio server on 127.0.0.1 that speaks the real v2 wire protocol with the message classes
of google-cloud-speech. It records what it receives and enforces the service's limits:
synchronous Recognize takes at most 60 s and 10 MB of audio, a StreamingRecognizeRequest at
most 25,600 bytes, a stream at most 5 minutes of audio. Its answers are derived from the
audio it got, so a test can check how the client cut and merged it:

- Recognize finds "words" as stretches of energy (10 ms frames) and names each after its
  request and its start in that request's audio, e.g. `c2+13.45`; words separated by a
  long pause form separate results.
- StreamingRecognize reads words from synthetic audio: a run of samples all equal to the
  16-bit value k (k > 0) between zeros is the word `wk`. A run starting gives an interim
  result, a run ending a final one with word offsets; a run still open when the client
  half-closes the stream is finalised cut short, as the real service does.

Load it with the `google_fake` fixture (tests are not packages: see test_google_engine.py).
"""

from __future__ import annotations

import datetime
import re
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc  # type: ignore[import-untyped]
import numpy as np
from google.cloud.speech_v2.types import cloud_speech
from google.longrunning import operations_pb2  # type: ignore[import-untyped]
from google.protobuf import any_pb2  # type: ignore[import-untyped]

SERVICE = "google.cloud.speech.v2.Speech"
RATE = 16000
MAX_SYNC_SECONDS = 60.0
MAX_SYNC_BYTES = 10 * 1024 * 1024
MAX_STREAM_REQUEST_BYTES = 25_600
MAX_STREAM_SECONDS = 300.0
# Energy "words" in Recognize: 10 ms frames above this RMS; pauses shorter than 0.1 s are
# inside a word, pauses of 0.3 s or more end a result.
FRAME = 160
ACTIVE_RMS = 0.01
WORD_GAP_FRAMES = 10
RESULT_GAP_FRAMES = 30

_RECOGNIZER = re.compile(r"^projects/([^/]+)/locations/([^/]+)/recognizers/([^/]+)$")
_ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")


def energy_words(pcm: np.ndarray) -> list[tuple[float, float]]:
    """(start, end) seconds of the energy words in 16-bit audio (also used by the tests)."""
    frames = pcm[: pcm.size // FRAME * FRAME].astype(np.float64).reshape(-1, FRAME) / 32768.0
    active = np.sqrt((frames**2).mean(axis=1)) > ACTIVE_RMS if frames.size else np.zeros(0, bool)
    words: list[list[int]] = []
    for i in np.flatnonzero(active):
        if words and i - words[-1][1] <= WORD_GAP_FRAMES:
            words[-1][1] = int(i) + 1
        else:
            words.append([int(i), int(i) + 1])
    return [(a * FRAME / RATE, b * FRAME / RATE) for a, b in words]


def _delta(seconds: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=round(seconds, 6))


@dataclass
class SyncCall:
    """One Recognize request that passed the limits."""

    recognizer: str
    model: str
    language_codes: list[str]
    punctuation: bool
    word_offsets: bool
    seconds: float
    bytes: int
    pcm: np.ndarray


@dataclass
class StreamCall:
    """One StreamingRecognize call."""

    recognizer: str
    model: str
    language_codes: list[str]
    interim_results: bool
    request_sizes: list[int] = field(default_factory=list)
    audio_samples: int = 0
    rejected: str = ""

    @property
    def audio_seconds(self) -> float:
        return self.audio_samples / RATE


class FakeSpeech:
    """The servicer: state, recordings and the switches tests flip."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sync_calls: list[SyncCall] = []
        self.attempts: list[float] = []  # monotonic time of every Recognize attempt
        self.streams: list[StreamCall] = []
        self.recognizers: dict[str, cloud_speech.Recognizer] = {}
        self.fail_recognize: list[grpc.StatusCode] = []  # answered before succeeding
        self.deny: grpc.StatusCode | None = None  # answer every call with this
        self.fail_stream_after_s: float | None = None  # one stream drops after this audio
        self._operations = 0

    # --- plumbing ---

    def handler(self) -> grpc.GenericRpcHandler:
        unary = grpc.unary_unary_rpc_method_handler
        S = cloud_speech  # noqa: N806 - a short alias for the message module

        def op(fn: Any, request_type: Any) -> Any:
            return unary(
                fn,
                request_deserializer=request_type.deserialize,
                response_serializer=operations_pb2.Operation.SerializeToString,
            )

        def sized(data: bytes) -> tuple[int, Any]:
            # Keep the wire size: the 25,600-byte limit is on the request as sent.
            return len(data), S.StreamingRecognizeRequest.deserialize(data)

        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "Recognize": unary(
                    self.recognize,
                    request_deserializer=S.RecognizeRequest.deserialize,
                    response_serializer=S.RecognizeResponse.serialize,
                ),
                "StreamingRecognize": grpc.stream_stream_rpc_method_handler(
                    self.streaming_recognize,
                    request_deserializer=sized,
                    response_serializer=S.StreamingRecognizeResponse.serialize,
                ),
                "CreateRecognizer": op(self.create_recognizer, S.CreateRecognizerRequest),
                "DeleteRecognizer": op(self.delete_recognizer, S.DeleteRecognizerRequest),
                "UndeleteRecognizer": op(self.undelete_recognizer, S.UndeleteRecognizerRequest),
                "GetRecognizer": unary(
                    self.get_recognizer,
                    request_deserializer=S.GetRecognizerRequest.deserialize,
                    response_serializer=S.Recognizer.serialize,
                ),
                "ListRecognizers": unary(
                    self.list_recognizers,
                    request_deserializer=S.ListRecognizersRequest.deserialize,
                    response_serializer=S.ListRecognizersResponse.serialize,
                ),
            },
        )

    def _check_denied(self, context: grpc.ServicerContext) -> None:
        if self.deny is not None:
            context.abort(self.deny, f"fake: the caller may not do this ({self.deny.name})")

    def _check_recognizer(self, name: str, context: grpc.ServicerContext) -> None:
        match = _RECOGNIZER.match(name)
        if match is None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"malformed recognizer {name!r}")
        elif match.group(3) != "_":
            known = self.recognizers.get(name)
            if known is None or known.state != cloud_speech.Recognizer.State.ACTIVE:
                context.abort(grpc.StatusCode.NOT_FOUND, f"Unable to find Recognizer {name}")

    @staticmethod
    def _check_config(config: cloud_speech.RecognitionConfig, context: Any) -> None:
        decoding = config.explicit_decoding_config
        linear16 = cloud_speech.ExplicitDecodingConfig.AudioEncoding.LINEAR16
        if (decoding.encoding, decoding.sample_rate_hertz, decoding.audio_channel_count) != (
            linear16,
            RATE,
            1,
        ):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "fake: send LINEAR16 16 kHz mono")

    def _operation(self, recognizer: cloud_speech.Recognizer) -> operations_pb2.Operation:
        self._operations += 1
        response = any_pb2.Any()
        response.Pack(cloud_speech.Recognizer.pb(recognizer))
        return operations_pb2.Operation(
            name=f"{recognizer.name.rsplit('/recognizers/', 1)[0]}/operations/{self._operations}",
            done=True,
            response=response,
        )

    # --- Recognize ---

    def recognize(self, request: cloud_speech.RecognizeRequest, context: Any) -> Any:
        with self.lock:
            self.attempts.append(time.monotonic())
            self._check_denied(context)
            if self.fail_recognize:
                code = self.fail_recognize.pop(0)
                context.abort(code, f"fake: {code.name}, try again later")
            self._check_recognizer(request.recognizer, context)
            self._check_config(request.config, context)
            content = request.content
            seconds = len(content) / 2 / RATE
            if len(content) > MAX_SYNC_BYTES:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Audio content exceeds 10 MB")
            if seconds > MAX_SYNC_SECONDS:
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "Audio can be of a maximum of 60 seconds. Use BatchRecognize instead.",
                )
            pcm = np.frombuffer(content, dtype="<i2")
            index = len(self.sync_calls)
            config = request.config
            self.sync_calls.append(
                SyncCall(
                    request.recognizer,
                    config.model,
                    list(config.language_codes),
                    bool(config.features.enable_automatic_punctuation),
                    bool(config.features.enable_word_time_offsets),
                    seconds,
                    len(content),
                    pcm,
                )
            )
        results: list[cloud_speech.SpeechRecognitionResult] = []
        words: list[cloud_speech.WordInfo] = []
        spans = energy_words(pcm)
        for i, (start, end) in enumerate(spans):
            words.append(
                cloud_speech.WordInfo(
                    start_offset=_delta(start), end_offset=_delta(end), word=f"c{index}+{start:.2f}"
                )
            )
            last = i + 1 == len(spans)
            if last or spans[i + 1][0] - end >= RESULT_GAP_FRAMES * FRAME / RATE:
                transcript = " ".join(w.word for w in words) + "."
                results.append(
                    cloud_speech.SpeechRecognitionResult(
                        alternatives=[
                            cloud_speech.SpeechRecognitionAlternative(
                                transcript=transcript, words=words, confidence=0.9
                            )
                        ],
                        result_end_offset=_delta(min(end + 0.1, seconds)),
                        language_code=(config.language_codes or ["und"])[0].lower(),
                    )
                )
                words = []
        return cloud_speech.RecognizeResponse(results=results)

    # --- StreamingRecognize ---

    def streaming_recognize(self, requests: Iterator[tuple[int, Any]], context: Any) -> Any:
        self._check_denied(context)
        try:
            size, first = next(requests)
        except StopIteration:
            return
        config = first.streaming_config.config
        if not first.recognizer or not first.streaming_config.config.model:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "fake: the first request configures")
        self._check_recognizer(first.recognizer, context)
        self._check_config(config, context)
        call = StreamCall(
            first.recognizer,
            config.model,
            list(config.language_codes),
            bool(first.streaming_config.streaming_features.interim_results),
        )
        call.request_sizes.append(size)
        with self.lock:
            self.streams.append(call)
        language = (call.language_codes or ["und"])[0].lower()
        value, run_start = 0, 0
        for size, request in requests:
            call.request_sizes.append(size)
            if size > MAX_STREAM_REQUEST_BYTES:
                call.rejected = f"request of {size} bytes"
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"Request audio can be a maximum of {MAX_STREAM_REQUEST_BYTES} bytes",
                )
            if request.recognizer or "streaming_config" in request:
                call.rejected = "config after the first request"
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "fake: config only comes first")
            pcm = np.frombuffer(request.audio, dtype="<i2")
            position = call.audio_samples
            if (position + pcm.size) / RATE > MAX_STREAM_SECONDS:
                call.rejected = "longer than 5 minutes"
                context.abort(
                    grpc.StatusCode.OUT_OF_RANGE,
                    "Exceeded maximum allowed stream duration of 300 seconds.",
                )
            with self.lock:
                drop = self.fail_stream_after_s is not None and (
                    position / RATE >= self.fail_stream_after_s
                )
                if drop:
                    self.fail_stream_after_s = None
            if drop:
                call.rejected = "dropped on purpose"
                context.abort(grpc.StatusCode.UNAVAILABLE, "fake: the stream was reset")
            changes = np.flatnonzero(np.diff(np.concatenate(([value], pcm.astype(np.int64)))))
            for i in changes:
                now = position + int(i)
                if value:
                    yield self._final(value, run_start, now, language)
                value = int(pcm[i])
                if value:
                    run_start = now
                    if call.interim_results:
                        yield self._interim(value, now, language)
            call.audio_samples += pcm.size
        if value:  # half-closed mid-word: finalise what was heard
            yield self._final(value, run_start, call.audio_samples, language)

    @staticmethod
    def _final(value: int, start: int, end: int, language: str) -> Any:
        word = cloud_speech.WordInfo(
            start_offset=_delta(start / RATE), end_offset=_delta(end / RATE), word=f"w{value}"
        )
        return cloud_speech.StreamingRecognizeResponse(
            results=[
                cloud_speech.StreamingRecognitionResult(
                    alternatives=[
                        cloud_speech.SpeechRecognitionAlternative(
                            transcript=f"w{value}", words=[word], confidence=0.9
                        )
                    ],
                    is_final=True,
                    result_end_offset=_delta(end / RATE),
                    language_code=language,
                )
            ]
        )

    @staticmethod
    def _interim(value: int, now: int, language: str) -> Any:
        return cloud_speech.StreamingRecognizeResponse(
            results=[
                cloud_speech.StreamingRecognitionResult(
                    alternatives=[
                        cloud_speech.SpeechRecognitionAlternative(transcript=f"w{value}")
                    ],
                    stability=0.5,
                    result_end_offset=_delta(now / RATE),
                    language_code=language,
                )
            ]
        )

    # --- recognizers ---

    def create_recognizer(self, request: Any, context: Any) -> Any:
        self._check_denied(context)
        if not _ID.match(request.recognizer_id):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "fake: bad recognizer id")
        name = f"{request.parent}/recognizers/{request.recognizer_id}"
        with self.lock:
            if name in self.recognizers:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, f"Recognizer {name} already exists")
            recognizer = cloud_speech.Recognizer(request.recognizer)
            recognizer.name = name
            recognizer.uid = f"uid-{len(self.recognizers)}"
            recognizer.state = cloud_speech.Recognizer.State.ACTIVE  # type: ignore[assignment]
            # The service stores language codes in normalised BCP-47 case.
            codes = list(recognizer.default_recognition_config.language_codes)
            recognizer.default_recognition_config.language_codes = [_normalise(c) for c in codes]
            self.recognizers[name] = recognizer
            return self._operation(recognizer)

    def get_recognizer(self, request: Any, context: Any) -> Any:
        self._check_denied(context)
        with self.lock:
            recognizer = self.recognizers.get(request.name)
        if recognizer is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Unable to find Recognizer {request.name}")
        return recognizer

    def list_recognizers(self, request: Any, context: Any) -> Any:
        self._check_denied(context)
        with self.lock:
            found = [
                r
                for name, r in sorted(self.recognizers.items())
                if name.startswith(request.parent + "/")
                and (request.show_deleted or r.state == cloud_speech.Recognizer.State.ACTIVE)
            ]
        return cloud_speech.ListRecognizersResponse(recognizers=found)

    def _set_state(self, name: str, state: Any, context: Any) -> Any:
        self._check_denied(context)
        with self.lock:
            recognizer = self.recognizers.get(name)
            if recognizer is None:
                return context.abort(grpc.StatusCode.NOT_FOUND, f"Unable to find Recognizer {name}")
            recognizer.state = state
            return self._operation(recognizer)

    def delete_recognizer(self, request: Any, context: Any) -> Any:
        return self._set_state(request.name, cloud_speech.Recognizer.State.DELETED, context)

    def undelete_recognizer(self, request: Any, context: Any) -> Any:
        return self._set_state(request.name, cloud_speech.Recognizer.State.ACTIVE, context)


def _normalise(code: str) -> str:
    parts = code.split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        out.append(part.title() if len(part) == 4 else part.upper())
    return "-".join(out)


class FakeServer:
    """`with FakeServer() as fake:` serves a FakeSpeech on a free loopback port."""

    def __init__(self) -> None:
        self.speech = FakeSpeech()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        self._server.add_generic_rpc_handlers((self.speech.handler(),))
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    @property
    def endpoint(self) -> str:
        """What `GoogleOptions.api_endpoint` takes for plain-text gRPC to this server."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeServer:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)

"""Google Cloud Speech-to-Text v2 (`--engine google`, model chirp_2) and its recognizers.

Audio goes out as 16 kHz mono LINEAR16 through synchronous `Recognize`, cut to the service's
limits (at most 1 minute and 10 MB per request) in the middle of silences found by Silero
VAD, with automatic punctuation and word time offsets; the answers are put back on one
timeline. `yuyin.engines.google_stream` does the same for `StreamingRecognize`.

The library reads no environment: `GoogleOptions` carries the project, location, recognizer
and credentials file. `GoogleEngine.from_environment` (what `load_engine` uses) and the CLI
read GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION and YUYIN_GOOGLE_RECOGNIZER; without a
credentials file, google-auth's application-default credentials apply (they honour
GOOGLE_APPLICATION_CREDENTIALS). Service errors become `YuyinError`s with a hint; quota and
availability errors are retried with exponential backoff first.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from yuyin.engines.base import EngineRun
from yuyin.engines.vad import plan_pieces
from yuyin.errors import ConfigurationError, MissingDependencyError, ModelError, YuyinError
from yuyin.languages import engine_language_code, language_from_engine_code, resolve_language
from yuyin.options import ModelOptions, TranscribeOptions, VadOptions
from yuyin.types import Segment, Word, is_cjk

if TYPE_CHECKING:
    import grpc
    from google.cloud.speech_v2 import SpeechClient
    from google.cloud.speech_v2.types import cloud_speech
    from numpy.typing import NDArray

__all__ = [
    "DEFAULT_LANGUAGE_CODES",
    "DEFAULT_LOCATION",
    "DEFAULT_MODEL",
    "MAX_REQUEST_BYTES",
    "MAX_REQUEST_SECONDS",
    "GoogleEngine",
    "GoogleOptions",
    "RecognizerInfo",
    "RecognizerResult",
    "convert_words",
    "create_client",
    "delete_recognizer",
    "display_word",
    "duration_seconds",
    "ensure_recognizer",
    "get_recognizer",
    "list_recognizers",
    "options_from_environment",
    "pcm16",
    "recognition_config",
    "recognizer_path",
    "regional_endpoint",
    "require_project",
    "translate_error",
]

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
#: Speech-to-Text v2 synchronous Recognize takes at most one minute of audio...
MAX_REQUEST_SECONDS = 60.0
#: ...and at most 10 MB of it (counted here in decimal megabytes, the stricter reading).
MAX_REQUEST_BYTES = 10_000_000
DEFAULT_MODEL = "chirp_2"
DEFAULT_LOCATION = "us-central1"
DEFAULT_LANGUAGE_CODES: tuple[str, ...] = ("cmn-Hant-TW",)
_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
# Cut points need every pause between sentences, not the 2 s silences transcription gates on.
_SPLIT_VAD = VadOptions(min_silence_duration_ms=200, speech_pad_ms=30)

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class GoogleOptions:
    """Where Speech-to-Text v2 is reached, with which credentials, and its request limits.

    Attributes:
        project: the Google Cloud project id; required (the CLI reads GOOGLE_CLOUD_PROJECT).
        location: the region that serves requests, e.g. `us-central1`, `asia-southeast1`,
            `europe-west4` (chirp_2's regions) or `global`.
        recognizer: the recognizer id in that project and location; `_` is the implicit
            recognizer, configured entirely by each request. Requests always carry their
            model and language codes, which override a named recognizer's defaults.
        model: the recognition model, e.g. `chirp_2`, `chirp`, `long`.
        language_codes: BCP-47 tags used when a request names no language (detection).
        credentials_file: a service-account JSON key file; None uses application-default
            credentials (GOOGLE_APPLICATION_CREDENTIALS, any key type, or gcloud's login).
        api_endpoint: `host[:port]` instead of the regional endpoint; `http://host:port`
            speaks plain-text gRPC without credentials (a local emulator or test fake).
        timeout_s: deadline of one request attempt, seconds.
        retry_initial_s: first backoff delay after a quota/unavailable/deadline error.
        retry_maximum_s: longest single backoff delay.
        retry_deadline_s: give up retrying one request after this long.
        max_request_s: most audio per synchronous request (the service allows 60 s).
        max_request_bytes: most audio bytes per synchronous request (the service: 10 MB).
    """

    project: str | None = None
    location: str = DEFAULT_LOCATION
    recognizer: str = "_"
    model: str = DEFAULT_MODEL
    language_codes: tuple[str, ...] = DEFAULT_LANGUAGE_CODES
    credentials_file: str | None = None
    api_endpoint: str | None = None
    timeout_s: float = 120.0
    retry_initial_s: float = 1.0
    retry_maximum_s: float = 30.0
    retry_deadline_s: float = 300.0
    max_request_s: float = MAX_REQUEST_SECONDS
    max_request_bytes: int = MAX_REQUEST_BYTES

    @property
    def recognizer_name(self) -> str:
        """The recognizer's resource name (`projects/…/locations/…/recognizers/…`)."""
        return recognizer_path(require_project(self), self.location, self.recognizer)


def options_from_environment(
    environ: Mapping[str, str] | None = None, **overrides: Any
) -> GoogleOptions:
    """Build `GoogleOptions` from the environment; keywords win over the variables.

    Reads GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION (default us-central1) and
    YUYIN_GOOGLE_RECOGNIZER (default `_`). Credentials stay application-default, which
    google-auth finds through GOOGLE_APPLICATION_CREDENTIALS or gcloud's login.

    Args:
        environ: the variables to read (default `os.environ`).
        overrides: any `GoogleOptions` field.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {
        "project": env.get("GOOGLE_CLOUD_PROJECT") or None,
        "location": env.get("GOOGLE_CLOUD_LOCATION") or DEFAULT_LOCATION,
        "recognizer": env.get("YUYIN_GOOGLE_RECOGNIZER") or "_",
    }
    values.update(overrides)
    return GoogleOptions(**values)


def require_project(options: GoogleOptions) -> str:
    """The project id, or a ConfigurationError that says how to set it.

    Args:
        options: the connection options.
    """
    if not options.project:
        raise ConfigurationError(
            "Google Speech-to-Text needs a Google Cloud project, and none is set",
            hint="set GOOGLE_CLOUD_PROJECT=<project-id> (or pass --project)",
        )
    return options.project


def regional_endpoint(location: str) -> str:
    """The gRPC endpoint serving a location (`us-central1-speech.googleapis.com`).

    Args:
        location: a Speech-to-Text location, or `global`.
    """
    return "speech.googleapis.com" if location == "global" else f"{location}-speech.googleapis.com"


def recognizer_path(project: str, location: str, recognizer: str) -> str:
    """A recognizer's resource name.

    Args:
        project: the project id.
        location: the location, e.g. `us-central1`.
        recognizer: the recognizer id, or `_` for the implicit one.
    """
    return f"projects/{project}/locations/{location}/recognizers/{recognizer}"


# --- the client and its errors ---------------------------------------------------------------


def _import_speech(feature: str) -> Any:
    try:
        from google.cloud import speech_v2
    except ImportError as exc:
        raise MissingDependencyError("google-cloud-speech", "google", feature) from exc
    return speech_v2


def create_client(options: GoogleOptions, *, channel: grpc.Channel | None = None) -> SpeechClient:
    """A Speech v2 client for the options' location, credentials and endpoint.

    Args:
        options: project, location, credentials and endpoint.
        channel: an open gRPC channel to use instead (tests, emulators); credentials are
            then the channel's business.

    Raises:
        ConfigurationError: no project, or credentials that cannot be loaded.
        MissingDependencyError: the `google` extra is not installed.
    """
    speech_v2 = _import_speech("the google engine")
    require_project(options)
    from google.cloud.speech_v2.services.speech.transports import SpeechGrpcTransport

    endpoint = options.api_endpoint or regional_endpoint(options.location)
    if channel is None and endpoint.startswith("http://"):
        import grpc

        channel = grpc.insecure_channel(endpoint.removeprefix("http://").rstrip("/"))
    if channel is not None:
        return speech_v2.SpeechClient(transport=SpeechGrpcTransport(channel=channel))  # type: ignore[no-any-return]
    from google.api_core.client_options import ClientOptions

    credentials = _credentials(options.credentials_file)
    host = endpoint.removeprefix("https://").rstrip("/")
    return speech_v2.SpeechClient(  # type: ignore[no-any-return]
        credentials=credentials, client_options=ClientOptions(api_endpoint=host)
    )


def _credentials(path: str | None) -> Any:
    import google.auth
    from google.auth import exceptions as auth_exceptions
    from google.oauth2 import service_account

    try:
        if path:
            load: Any = service_account.Credentials.from_service_account_file  # untyped
            return load(path, scopes=_SCOPES)
        # Application-default credentials: GOOGLE_APPLICATION_CREDENTIALS (any key type),
        # then gcloud's `auth application-default login`, then the metadata server.
        credentials, _ = google.auth.default(scopes=_SCOPES)
    except (auth_exceptions.GoogleAuthError, OSError, ValueError, KeyError) as exc:
        where = f"the service-account file {path}" if path else "application-default credentials"
        raise ConfigurationError(
            f"cannot load Google credentials from {where}: {exc}",
            hint="point GOOGLE_APPLICATION_CREDENTIALS (or --credentials) at a service-account "
            "key file, or run `gcloud auth application-default login`",
        ) from exc
    return credentials


def translate_error(exc: Exception, action: str, options: GoogleOptions) -> YuyinError:
    """The `YuyinError` (with a hint) for an error the Google client raised.

    Args:
        exc: a `google.api_core` or `google.auth` exception.
        action: what was being done, for the message (`recognizing audio`).
        options: the connection options, named in hints.
    """
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exceptions

    project = options.project or "<project>"
    retried = ""
    if isinstance(exc, gexc.RetryError) and isinstance(exc.cause, Exception):
        retried = f" (still failing after retrying for up to {options.retry_deadline_s:g} s)"
        exc = exc.cause
    if isinstance(exc, auth_exceptions.GoogleAuthError):
        return ConfigurationError(
            f"Google credentials failed while {action}: {exc}",
            hint="set GOOGLE_APPLICATION_CREDENTIALS (or --credentials) to a valid "
            "service-account key file, or run `gcloud auth application-default login`",
        )
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(exc, gexc.Unauthenticated):
        return ConfigurationError(
            f"Google Speech-to-Text rejected the credentials while {action} "
            f"(UNAUTHENTICATED): {message}",
            hint="set GOOGLE_APPLICATION_CREDENTIALS (or --credentials) to a valid "
            "service-account key file, or run `gcloud auth application-default login`",
        )
    if isinstance(exc, gexc.PermissionDenied):
        return ConfigurationError(
            f"Google Speech-to-Text denied permission for {action} in project {project} "
            f"(PERMISSION_DENIED): {message}",
            hint=f"enable the API (gcloud services enable speech.googleapis.com --project "
            f"{project}) and give the account roles/speech.client (roles/speech.editor to "
            "manage recognizers)",
        )
    if isinstance(exc, gexc.ResourceExhausted):
        return ModelError(
            f"Google Speech-to-Text quota exhausted while {action}{retried}: {message}",
            hint="wait and try again, send less at once, or raise the Speech-to-Text quota "
            "of the project in the Cloud console (IAM & Admin → Quotas)",
        )
    if isinstance(exc, gexc.ServiceUnavailable | gexc.DeadlineExceeded):
        endpoint = options.api_endpoint or regional_endpoint(options.location)
        return ModelError(
            f"Google Speech-to-Text at {endpoint} did not answer while {action}{retried}: "
            f"{message}",
            hint="check the network and --location; a longer timeout may help",
        )
    if isinstance(exc, gexc.NotFound):
        return ConfigurationError(
            f"not found while {action}: {message}",
            hint="check the project, location and recognizer id "
            "(`yuyin google recognizers list` shows the recognizers)",
        )
    if isinstance(exc, gexc.AlreadyExists):
        return ConfigurationError(
            f"already exists while {action}: {message}",
            hint="`yuyin google recognizers get` shows it; pick another id to create a new one",
        )
    if isinstance(exc, gexc.InvalidArgument | gexc.OutOfRange | gexc.FailedPrecondition):
        return ConfigurationError(
            f"Google Speech-to-Text rejected the request while {action}: {message}",
            hint="check the model, language codes and location together: chirp_2 serves "
            "us-central1, europe-west4 and asia-southeast1",
        )
    code = getattr(exc, "code", None)
    return ModelError(
        f"Google Speech-to-Text failed while {action} ({code or type(exc).__name__}): {message}",
        hint="try again later, or use a local engine (--engine faster-whisper)",
    )


def _call(options: GoogleOptions, action: str, function: Callable[[], _T]) -> _T:
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exceptions

    try:
        return function()
    except (gexc.GoogleAPIError, auth_exceptions.GoogleAuthError) as exc:
        raise translate_error(exc, action, options) from exc


def _retry(options: GoogleOptions) -> Any:
    from google.api_core import exceptions as gexc
    from google.api_core import retry

    def log_retry(exc: Exception) -> None:
        log.warning("Google Speech-to-Text: %s; retrying with backoff", exc)

    return retry.Retry(
        predicate=retry.if_exception_type(
            gexc.ResourceExhausted, gexc.ServiceUnavailable, gexc.DeadlineExceeded
        ),
        initial=options.retry_initial_s,
        maximum=options.retry_maximum_s,
        multiplier=2.0,
        timeout=options.retry_deadline_s,
        on_error=log_retry,
    )


# --- results on one timeline -----------------------------------------------------------------


def pcm16(audio: NDArray[np.float32]) -> bytes:
    """16-bit little-endian PCM (LINEAR16) for float samples in [-1, 1].

    Args:
        audio: float32 samples.
    """
    return bytes(np.rint(np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2").tobytes())


def duration_seconds(value: Any) -> float:
    """Seconds in a protobuf Duration, whether proto-plus gave a timedelta or the message.

    Args:
        value: a `datetime.timedelta`, a `Duration` message, or None.
    """
    if value is None:
        return 0.0
    if hasattr(value, "total_seconds"):
        return float(value.total_seconds())
    return float(value.seconds) + float(value.nanos) / 1e9


def display_word(text: str) -> str:
    """A word in Whisper's spelling: a leading space except before CJK text.

    Args:
        text: the word as the service wrote it.
    """
    text = text.strip()
    return text if not text or is_cjk(text[0]) else " " + text


def convert_words(alternative: Any, offset: float, lower: float, upper: float) -> list[Word]:
    """A recognition alternative's words moved onto the input's timeline.

    Args:
        alternative: a `SpeechRecognitionAlternative`.
        offset: where the request's audio starts on the input's timeline, seconds.
        lower: no word starts before this, seconds.
        upper: no word ends after this, seconds.
    """
    words = []
    for info in alternative.words:
        start = min(max(offset + duration_seconds(info.start_offset), lower), upper)
        end = min(max(offset + duration_seconds(info.end_offset), start), upper)
        probability = float(info.confidence) if info.confidence else 1.0
        words.append(Word(start, end, display_word(info.word), probability))
    return words


def recognition_config(
    options: GoogleOptions,
    language_codes: Sequence[str],
    transcribe: TranscribeOptions | None = None,
) -> cloud_speech.RecognitionConfig:
    """The per-request config: LINEAR16 16 kHz mono, the model, punctuation and word offsets.

    Args:
        options: the model comes from here.
        language_codes: BCP-47 tags.
        transcribe: `task=translate` asks for English; `hotwords` (comma-separated) become
            an inline phrase set.
    """
    from google.cloud.speech_v2.types import cloud_speech

    config = cloud_speech.RecognitionConfig(
        explicit_decoding_config=cloud_speech.ExplicitDecodingConfig(
            encoding=cloud_speech.ExplicitDecodingConfig.AudioEncoding.LINEAR16,
            sample_rate_hertz=SAMPLE_RATE,
            audio_channel_count=1,
        ),
        model=options.model,
        language_codes=list(language_codes),
        features=cloud_speech.RecognitionFeatures(
            enable_automatic_punctuation=True, enable_word_time_offsets=True
        ),
    )
    if transcribe is not None and transcribe.task == "translate":
        config.translation_config = cloud_speech.TranslationConfig(target_language="en-US")
    hotwords = transcribe.hotwords if transcribe is not None else None
    phrases = [p.strip() for p in (hotwords or "").split(",") if p.strip()]
    if phrases:
        phrase_set = cloud_speech.PhraseSet(
            phrases=[cloud_speech.PhraseSet.Phrase(value=p) for p in phrases]
        )
        config.adaptation = cloud_speech.SpeechAdaptation(
            phrase_sets=[
                cloud_speech.SpeechAdaptation.AdaptationPhraseSet(inline_phrase_set=phrase_set)
            ]
        )
    return config


# --- the engine --------------------------------------------------------------------------------


class GoogleEngine:
    """Speech-to-Text v2 synchronous recognition behind the `Engine` seam.

    Args:
        options: project, location, recognizer, model, credentials and limits.
        client: a ready `SpeechClient` to use (then `channel` is ignored).
        channel: a gRPC channel for the client (tests, emulators).
    """

    name = "google"
    multilingual = True

    def __init__(
        self,
        options: GoogleOptions,
        *,
        client: SpeechClient | None = None,
        channel: grpc.Channel | None = None,
    ) -> None:
        _import_speech("the google engine")
        self.options = options
        self.model_name = options.model
        self.recognizer_name = options.recognizer_name
        self._owns_client = client is None and channel is None
        self._client = client if client is not None else create_client(options, channel=channel)
        self._retry = _retry(options)

    @classmethod
    def from_environment(
        cls,
        model_options: ModelOptions | None = None,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> GoogleEngine:
        """The engine `load_engine` builds for `--engine google`.

        The model comes from `model_options.model` (yuyin's default `base` means chirp_2) and
        `model_options.base_url`, when set, is the API endpoint (`http://host:port` for
        plain-text gRPC); the project, location and recognizer come from
        GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION and YUYIN_GOOGLE_RECOGNIZER (see
        `options_from_environment`), credentials from application-default credentials
        (GOOGLE_APPLICATION_CREDENTIALS or gcloud's login).

        Args:
            model_options: the model (and endpoint) choice.
            environ: the variables to read (default `os.environ`).

        Raises:
            ConfigurationError: GOOGLE_CLOUD_PROJECT is unset or credentials cannot load.
            MissingDependencyError: the `google` extra is not installed.
        """
        mopts = model_options or ModelOptions()
        overrides: dict[str, Any] = {}
        if mopts.model != ModelOptions().model:
            overrides["model"] = mopts.model
        if mopts.base_url:
            overrides["api_endpoint"] = mopts.base_url
        return cls(options_from_environment(environ, **overrides))

    @property
    def client(self) -> SpeechClient:
        """The Speech v2 client (shared with the streaming helper and recognizer tools)."""
        return self._client

    def close(self) -> None:
        """Close the gRPC channel, unless it was handed in."""
        if self._owns_client:
            transport: Any = self._client.transport
            transport.close()

    def language_codes(self, language: str | None, zh_script: str | None) -> list[str]:
        """The BCP-47 codes a request carries for a Whisper language choice.

        Args:
            language: a Whisper code, or None for the configured `language_codes`.
            zh_script: the Chinese script, when `language` is `zh`.
        """
        code = engine_language_code(language, zh_script, engine="google")
        return [code] if code else list(self.options.language_codes)

    def run(
        self,
        audio: NDArray[np.float32],
        *,
        language: str | None,
        options: TranscribeOptions,
        vad_filter: bool,
    ) -> EngineRun:
        """Send the audio in pieces within the service limits; segments follow each answer.

        Args:
            audio: 16 kHz mono float32 samples.
            language: a Whisper language code, or None for the configured language codes.
            options: `task`, `hotwords` and the Chinese script are used.
            vad_filter: skip pieces in which voice-activity detection finds no speech.
        """
        zh_script = resolve_language(options.language, options.zh_script).zh_script
        codes = self.language_codes(language, zh_script if language == "zh" else None)
        config = recognition_config(self.options, codes, options)
        max_samples = min(
            int(self.options.max_request_s * SAMPLE_RATE), self.options.max_request_bytes // 2
        )
        speech: list[tuple[float, float]] | None = None
        if audio.size > max_samples or vad_filter:
            from yuyin.engines.vad import detect_speech

            speech = detect_speech(audio, _SPLIT_VAD)
        pieces = plan_pieces(audio.size, speech or [], max_samples)
        if vad_filter and speech is not None:
            pieces = [
                (a, b)
                for a, b in pieces
                if any(s * SAMPLE_RATE < b and e * SAMPLE_RATE > a for s, e in speech)
            ]
        detected = language or _whisper_code(codes[0])

        def produce() -> Iterator[Segment]:
            index = 0
            for a, b in pieces:
                response = self.recognize_pcm(pcm16(audio[a:b]), config)
                for segment in _segments(response, a / SAMPLE_RATE, b / SAMPLE_RATE, index):
                    index += 1
                    yield segment

        return EngineRun(produce(), detected, 1.0, audio.size / SAMPLE_RATE)

    def recognize_pcm(
        self, pcm: bytes, config: cloud_speech.RecognitionConfig
    ) -> cloud_speech.RecognizeResponse:
        """One synchronous Recognize call, retried on quota and availability errors.

        Args:
            pcm: LINEAR16 audio within the request limits.
            config: the recognition config.

        Raises:
            ConfigurationError, ModelError: the service's error, translated.
        """
        from google.cloud.speech_v2.types import cloud_speech

        request = cloud_speech.RecognizeRequest(
            recognizer=self.recognizer_name, config=config, content=pcm
        )
        seconds_sent = len(pcm) / 2 / SAMPLE_RATE
        log.debug("Recognize: %.2f s of audio to %s", seconds_sent, self.recognizer_name)
        return _call(
            self.options,
            "recognizing audio",
            lambda: self._client.recognize(
                request=request, retry=self._retry, timeout=self.options.timeout_s
            ),
        )


def _whisper_code(tag: str) -> str:
    try:
        return language_from_engine_code(tag, engine="google").code or ""
    except ConfigurationError:  # e.g. `auto`, or a locale Whisper has no code for
        return ""


def _segments(response: Any, offset: float, upper: float, first_id: int) -> Iterator[Segment]:
    previous_end = offset
    for result in response.results:
        if not result.alternatives:
            continue
        best = result.alternatives[0]
        words = convert_words(best, offset, previous_end, upper)
        end = offset + duration_seconds(result.result_end_offset)
        end = min(max(end, words[-1].end if words else previous_end), upper)
        start = words[0].start if words else previous_end
        text = display_word(best.transcript)
        if text:
            yield Segment(start, end, text, tuple(words), id=first_id)
            first_id += 1
        previous_end = end


# --- recognizers -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecognizerInfo:
    """A recognizer as `yuyin google recognizers` shows it.

    Attributes:
        name: the resource name.
        recognizer_id: the last part of the name.
        model: the default model of its recognition config.
        language_codes: the default BCP-47 tags of its recognition config.
        state: `ACTIVE` or `DELETED`.
        display_name: its human-readable name.
        automatic_punctuation: whether its default config punctuates.
        word_time_offsets: whether its default config gives word times.
    """

    name: str
    recognizer_id: str
    model: str
    language_codes: tuple[str, ...]
    state: str
    display_name: str = ""
    automatic_punctuation: bool = False
    word_time_offsets: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        data = asdict(self)
        data["language_codes"] = list(self.language_codes)
        return data


@dataclass(frozen=True, slots=True)
class RecognizerResult:
    """What `ensure_recognizer` found or made.

    Attributes:
        recognizer: the recognizer as it now is.
        created: whether it was created (or undeleted) just now.
        differences: field → (existing, requested) where an existing recognizer's config
            differs from the one asked for; empty when it matches.
    """

    recognizer: RecognizerInfo
    created: bool
    differences: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "recognizer": self.recognizer.to_dict(),
            "created": self.created,
            "differences": {
                k: {"existing": old, "requested": new} for k, (old, new) in self.differences.items()
            },
        }


def _finish(operation: Any, options: GoogleOptions) -> Any:
    # Recognizer changes are long-running operations; wait for the resource they return.
    return operation.result(timeout=options.retry_deadline_s)


def _recognizer_info(recognizer: Any) -> RecognizerInfo:
    config = recognizer.default_recognition_config
    # `model` and `language_codes` on the recognizer itself are the deprecated spelling.
    codes = tuple(config.language_codes) or tuple(recognizer.language_codes)
    return RecognizerInfo(
        name=recognizer.name,
        recognizer_id=recognizer.name.rsplit("/", 1)[-1],
        model=config.model or recognizer.model,
        language_codes=codes,
        state=getattr(recognizer.state, "name", str(recognizer.state)),
        display_name=recognizer.display_name,
        automatic_punctuation=bool(config.features.enable_automatic_punctuation),
        word_time_offsets=bool(config.features.enable_word_time_offsets),
    )


def list_recognizers(client: SpeechClient, options: GoogleOptions) -> list[RecognizerInfo]:
    """The recognizers of the options' project and location.

    Args:
        client: a Speech v2 client for that location.
        options: project and location.
    """
    parent = f"projects/{require_project(options)}/locations/{options.location}"
    return _call(
        options,
        "listing recognizers",
        lambda: [
            _recognizer_info(r)
            for r in client.list_recognizers(
                parent=parent, retry=_retry(options), timeout=options.timeout_s
            )
        ],
    )


def get_recognizer(
    client: SpeechClient, options: GoogleOptions, recognizer_id: str
) -> RecognizerInfo:
    """One recognizer.

    Args:
        client: a Speech v2 client for the location.
        options: project and location.
        recognizer_id: the recognizer's id.

    Raises:
        ConfigurationError: it does not exist (or another client error, translated).
    """
    name = recognizer_path(require_project(options), options.location, recognizer_id)
    recognizer = _call(
        options,
        f"getting recognizer {recognizer_id}",
        lambda: client.get_recognizer(name=name, retry=_retry(options), timeout=options.timeout_s),
    )
    return _recognizer_info(recognizer)


def ensure_recognizer(
    client: SpeechClient,
    options: GoogleOptions,
    recognizer_id: str,
    *,
    model: str = DEFAULT_MODEL,
    language_codes: Sequence[str] = DEFAULT_LANGUAGE_CODES,
    display_name: str = "",
) -> RecognizerResult:
    """Create a recognizer, or get the existing one and report how its config differs.

    A recognizer deleted within the last 30 days (state DELETED) is undeleted.

    Args:
        client: a Speech v2 client for the location.
        options: project and location.
        recognizer_id: the recognizer's id (lower-case letters, digits and hyphens).
        model: the default model, e.g. `chirp_2`.
        language_codes: the default BCP-47 tags, e.g. `cmn-Hant-TW`.
        display_name: a human-readable name.
    """
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exceptions
    from google.cloud.speech_v2.types import cloud_speech

    name = recognizer_path(require_project(options), options.location, recognizer_id)
    timeout = options.timeout_s
    try:
        existing = client.get_recognizer(name=name, retry=_retry(options), timeout=timeout)
    except gexc.NotFound:
        existing = None
    except (gexc.GoogleAPIError, auth_exceptions.GoogleAuthError) as exc:
        raise translate_error(exc, f"getting recognizer {recognizer_id}", options) from exc
    if existing is None:
        recognizer = cloud_speech.Recognizer(
            display_name=display_name,
            default_recognition_config=cloud_speech.RecognitionConfig(
                auto_decoding_config=cloud_speech.AutoDetectDecodingConfig(),
                model=model,
                language_codes=list(language_codes),
                features=cloud_speech.RecognitionFeatures(
                    enable_automatic_punctuation=True, enable_word_time_offsets=True
                ),
            ),
        )
        parent = name.rsplit("/recognizers/", 1)[0]
        created = _call(
            options,
            f"creating recognizer {recognizer_id}",
            lambda: _finish(
                client.create_recognizer(
                    parent=parent,
                    recognizer=recognizer,
                    recognizer_id=recognizer_id,
                    timeout=timeout,
                ),
                options,
            ),
        )
        return RecognizerResult(_recognizer_info(created), created=True)
    info = _recognizer_info(existing)
    undeleted = False
    if info.state == "DELETED":
        restored = _call(
            options,
            f"undeleting recognizer {recognizer_id}",
            lambda: _finish(client.undelete_recognizer(name=name, timeout=timeout), options),
        )
        info, undeleted = _recognizer_info(restored), True
    differences: dict[str, tuple[Any, Any]] = {}
    if info.model != model:
        differences["model"] = (info.model, model)
    if [c.lower() for c in info.language_codes] != [c.lower() for c in language_codes]:
        differences["language_codes"] = (list(info.language_codes), list(language_codes))
    if display_name and info.display_name != display_name:
        differences["display_name"] = (info.display_name, display_name)
    return RecognizerResult(info, created=undeleted, differences=differences)


def delete_recognizer(
    client: SpeechClient, options: GoogleOptions, recognizer_id: str
) -> RecognizerInfo:
    """Delete a recognizer (the service keeps it undeletable for 30 days).

    Args:
        client: a Speech v2 client for the location.
        options: project and location.
        recognizer_id: the recognizer's id.
    """
    name = recognizer_path(require_project(options), options.location, recognizer_id)
    deleted = _call(
        options,
        f"deleting recognizer {recognizer_id}",
        lambda: _finish(client.delete_recognizer(name=name, timeout=options.timeout_s), options),
    )
    return _recognizer_info(deleted)

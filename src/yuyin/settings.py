"""One Settings object for the server, built at the entry point and passed down.

Every field can be set in the environment as `YUYIN_<FIELD>` (e.g. `YUYIN_API_KEY`); the
`yuyin serve` flags override the environment. The library below never reads it.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Server configuration; field docs are shown by `yuyin serve --help`."""

    model_config = SettingsConfigDict(env_prefix="YUYIN_", extra="ignore", frozen=True)

    host: str = Field(
        default="127.0.0.1", description="Address to bind; 0.0.0.0 exposes it to all."
    )
    port: int = Field(default=8000, ge=0, le=65535, description="TCP port (0 picks a free one).")
    api_key: SecretStr | None = Field(
        default=None, description="Require `Authorization: Bearer KEY` on every API request."
    )
    engine: str = Field(
        default="faster-whisper", description="Recogniser for uploads (`yuyin engines`)."
    )
    default_model: str = Field(
        default="base", description="Model used for OpenAI model names such as whisper-1."
    )
    preload: tuple[str, ...] = Field(
        default=(), description="Models to load before accepting requests."
    )
    device: str = Field(default="auto", description="auto, cpu or cuda.")
    compute_type: str = Field(default="auto", description="CTranslate2 compute type or auto.")
    cpu_threads: int = Field(default=0, ge=0, description="CPU threads per model (0: automatic).")
    num_workers: int = Field(
        default=1, ge=1, description="Model replicas per model for parallelism."
    )
    max_concurrency: int = Field(default=2, ge=1, description="Transcriptions running at once.")
    max_queue: int = Field(
        default=8, ge=0, description="Requests waiting beyond that; more get 429."
    )
    max_upload_mb: float = Field(
        default=100.0, gt=0, description="Largest upload accepted (413 above)."
    )
    max_audio_seconds: float = Field(
        default=4 * 3600.0, gt=0, description="Longest audio accepted (413 above)."
    )
    request_timeout_s: float = Field(
        default=900.0, gt=0, description="A transcription running longer is cancelled (504)."
    )
    model_ttl_s: float = Field(
        default=600.0, ge=0, description="Unload a model idle this long (0: never); preloaded stay."
    )
    allow_urls: bool | None = Field(
        default=None,
        description="Let /api/transcribe fetch a media URL (yt-dlp or direct); unset: only "
        "when bound to loopback, since it makes the server send requests for its clients.",
    )
    cors_origins: tuple[str, ...] = Field(
        default=(), description="Origins allowed by CORS; empty turns CORS off."
    )

    @property
    def url_input(self) -> bool:
        """Whether clients may ask the server to download a URL (see `allow_urls`)."""
        if self.allow_urls is not None:
            return self.allow_urls
        return self.host in ("127.0.0.1", "localhost", "::1")

"""The one exception tree of yuyin.

    YuyinError                      anything yuyin raises on purpose      exit 1   HTTP 500
    ├── ConfigurationError          bad option, unknown language, device  exit 2   HTTP 400
    ├── InputError                  a file we cannot use                  exit 3   HTTP 400
    │   ├── MediaNotFoundError      missing path / no media in a folder   exit 3   HTTP 404
    │   └── AudioDecodeError        not audio, corrupt, no audio track    exit 3   HTTP 415
    ├── ModelError                  a model we cannot find or load        exit 4   HTTP 503
    │   └── ModelNotFoundError      unknown name, offline download        exit 4   HTTP 404
    ├── MissingDependencyError      an optional extra is not installed    exit 5   HTTP 501
    ├── OutputError                 cannot write a result                 exit 6   HTTP 500
    └── StreamProtocolError         a live client broke the protocol      exit 7   HTTP 400

Foreign exceptions are translated at the boundary (`raise ... from exc`), so callers and the
CLI catch only `YuyinError`. Every error carries a `hint` that says what to do next.
"""

from __future__ import annotations

__all__ = [
    "AudioDecodeError",
    "ConfigurationError",
    "InputError",
    "MediaNotFoundError",
    "MissingDependencyError",
    "ModelError",
    "ModelNotFoundError",
    "OutputError",
    "StreamProtocolError",
    "YuyinError",
]


class YuyinError(Exception):
    """Base of every error yuyin raises on purpose; `hint` tells the user what to do."""

    exit_code: int = 1
    http_status: int = 500

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigurationError(YuyinError):
    """An option or combination of options that cannot work (language, device, format...)."""

    exit_code = 2
    http_status = 400


class InputError(YuyinError):
    """An input file or stream that cannot be used."""

    exit_code = 3
    http_status = 400


class MediaNotFoundError(InputError):
    """A path that does not exist, or a folder/glob that holds no media files."""

    http_status = 404


class AudioDecodeError(InputError):
    """A file that is not audio, is corrupt or truncated, or has no audio track."""

    http_status = 415


class ModelError(YuyinError):
    """A recogniser that cannot be used: a model that will not load, a cloud API out of reach."""

    exit_code = 4
    http_status = 503


class ModelNotFoundError(ModelError):
    """A model name that is neither embedded, a local folder, nor downloadable now."""

    http_status = 404


class MissingDependencyError(YuyinError):
    """An optional extra that a feature needs is not installed; the hint names the extra."""

    exit_code = 5
    http_status = 501

    def __init__(self, package: str, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the Python package {package!r}, which is not installed",
            hint=f"pip install 'yuyin[{extra}]'",
        )
        self.package = package
        self.extra = extra


class OutputError(YuyinError):
    """A result that cannot be written (unwritable folder, full disk)."""

    exit_code = 6
    http_status = 500


class StreamProtocolError(YuyinError):
    """A live-transcription client sent something the protocol does not allow."""

    exit_code = 7
    http_status = 400

"""Export a Hugging Face Whisper checkpoint to whisper.cpp's ggml model file (issue 13).

The layout `whisper_model_load` (whisper.cpp `src/whisper.cpp`) reads; every integer is a
little-endian int32 unless said otherwise::

    uint32  magic 0x67676d6c ("ggml")
    int32   n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer,
            n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels
    int32   ftype: 0 all float32, 1 mostly float16, 2 mostly q4_0, 7 mostly q8_0;
            quantised files add 1000 x the quantisation version (2)
    int32   n_mel, n_fft (= 201), then n_mel x n_fft float32: the mel filterbank
    int32   number of ordinary tokens, then for each, by id: uint32 length, UTF-8/raw bytes
            (whisper.cpp names the special tokens after them itself, from n_vocab)
    then until the end of the file, one record per tensor:
    int32   n_dims, name length, ggml type (0 f32, 1 f16, 2 q4_0, 8 q8_0)
    int32   x n_dims  the shape, innermost (contiguous) dimension first
    bytes   the name (openai-whisper's parameter name), then the data, unpadded

whisper.cpp fixes each tensor's type from ftype and checks every record against it: the
2-D weight matrices (attention, MLP, token embedding) are of the weight type, the
convolution kernels float16 (float32 in an all-float32 file), and biases, layer norms and
positional embeddings float32; the convolution biases are stored as [n_state, 1].

Quantised blocks (ggml's reference quantisers, 32 values per block, along each row)::

    q8_0  float16 d = max|x| / 127, then 32 int8 round(x / d)              34 bytes
    q4_0  float16 d = m / -8 (m: the value of largest magnitude), then 16 bytes
          packing q = min(15, trunc(x / d + 8.5)): low nibbles values 0-15, high 16-31

The mel filterbank is the Slaney-style one Whisper was trained with (librosa's default
`librosa.filters.mel(sr=16000, n_fft=400, n_mels=N)`, openai-whisper's `mel_filters.npz`).
"""

from __future__ import annotations

import json
import logging
import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from yuyin.errors import ConfigurationError, ModelError
from yuyin.train.export_openai import read_openai_weights
from yuyin.train.staging import staged_output_dir

__all__ = [
    "GGML_DTYPES",
    "GGML_EXPORTER_VERSION",
    "GGML_MAGIC",
    "export_ggml",
    "ggml_file_name",
    "mel_filters",
    "quantize_q4_0",
    "quantize_q8_0",
]

log = logging.getLogger(__name__)

#: Bumped whenever the written file changes, so cached exports are redone.
GGML_EXPORTER_VERSION = 1
#: Weight types `export_ggml` writes: the file ftype and the ggml type of the weight matrices.
GGML_DTYPES: dict[str, tuple[int, int]] = {
    "f32": (0, 0),
    "f16": (1, 1),
    "q4_0": (2, 2),
    "q8_0": (7, 8),
}
GGML_MAGIC = 0x67676D6C
_QUANT_VERSION = 2  # GGML_QNT_VERSION; the file stores ftype + 1000 x this when quantised
_BLOCK = 32
_F32, _F16 = 0, 1
_SAMPLE_RATE = 16000
# The hyper-parameters in the order the file holds them (whisper_model_load reads them so).
_HEADER = ("n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer",
           "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer", "n_mels")  # fmt: skip
_N_FFT = 400
_Q8_0 = np.dtype([("d", "<f2"), ("qs", "i1", (_BLOCK,))])
_Q4_0 = np.dtype([("d", "<f2"), ("qs", "u1", (_BLOCK // 2,))])


def ggml_file_name(dtype: str) -> str:
    """The name `export_ggml` gives the model file for a weight type."""
    return f"ggml-model-{dtype}.bin"


# --- the mel filterbank -------------------------------------------------------------------


def _hz_to_mel(hz: NDArray[np.float64]) -> NDArray[np.float64]:
    # Slaney's scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above.
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    out: NDArray[np.float64] = np.where(hz >= 1000.0, log_part, linear)
    return out


def _mel_to_hz(mel: NDArray[np.float64]) -> NDArray[np.float64]:
    linear = mel * (200.0 / 3)
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    out: NDArray[np.float64] = np.where(mel >= 15.0, log_part, linear)
    return out


def mel_filters(n_mels: int, n_fft: int = _N_FFT, sample_rate: int = _SAMPLE_RATE) -> NDArray[Any]:
    """Whisper's mel filterbank, [n_mels, n_fft // 2 + 1] float32 (Slaney scale and area).

    Args:
        n_mels: mel bands (80, or 128 for large-v3).
        n_fft: FFT size in samples.
        sample_rate: audio sample rate in Hz.
    """
    frequencies = np.linspace(0.0, sample_rate / 2, 1 + n_fft // 2)
    low, high = _hz_to_mel(np.array([0.0, sample_rate / 2]))
    mels = np.linspace(float(low), float(high), n_mels + 2)
    corners = _mel_to_hz(mels)
    widths = np.diff(corners)
    ramps = corners[:, None] - frequencies[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (corners[2:] - corners[:-2]))[:, None]  # equal area per band
    return weights.astype(np.float32)


# --- the vocabulary -----------------------------------------------------------------------


def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level BPE alphabet: printable stand-in character -> the byte it means."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    chars = list(printable)
    shifted = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + shifted)
            shifted += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


def _vocabulary(checkpoint: Path) -> list[bytes]:
    """The ordinary tokens' bytes by id, up to `<|endoftext|>` (the first special token)."""
    path = checkpoint / "tokenizer.json"
    try:
        tokenizer = json.loads(path.read_text(encoding="utf-8"))
        vocab: dict[str, int] = tokenizer["model"]["vocab"]
        specials = {t["content"]: int(t["id"]) for t in tokenizer.get("added_tokens", [])}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"cannot read the vocabulary from {path}: {exc}",
            hint="the checkpoint needs the tokenizer.json that WhisperProcessor saves",
        ) from exc
    end = specials.get("<|endoftext|>", vocab.get("<|endoftext|>"))
    if end is None:
        raise ModelError(f"{path} has no <|endoftext|> token", hint="not a Whisper tokenizer")
    decoder = _byte_decoder()
    tokens: list[bytes | None] = [None] * end
    for text, index in vocab.items():
        if 0 <= index < end:
            try:
                tokens[index] = bytes(decoder[c] for c in text)
            except KeyError as exc:
                raise ModelError(
                    f"{path}: token {index} {text!r} is not byte-level BPE",
                    hint="only Whisper's byte-level tokenizers can be exported",
                ) from exc
    holes = sum(t is None for t in tokens)
    if holes > 1:  # the multilingual vocabulary has one unused id (50256)
        raise ModelError(f"{path}: {holes} token ids below <|endoftext|> have no token")
    return [t or b"" for t in tokens]


# --- quantisation -------------------------------------------------------------------------


def _round_away(values: NDArray[np.float32]) -> NDArray[np.float32]:
    # C's roundf, which ggml uses: halves go away from zero (numpy rounds them to even).
    rounded: NDArray[np.float32] = np.sign(values) * np.floor(np.abs(values) + 0.5)
    return rounded


def quantize_q8_0(values: NDArray[Any]) -> NDArray[Any]:
    """ggml's q8_0 blocks of a float array whose size is a multiple of 32 (row-major).

    Raises:
        ConfigurationError: the size is not a multiple of 32.
    """
    blocks = _blocks(values)
    scale = np.abs(blocks).max(axis=1) / 127.0
    inverse = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale > 0)
    out = np.empty(blocks.shape[0], dtype=_Q8_0)
    out["d"] = scale.astype(np.float16)
    out["qs"] = _round_away(blocks * inverse[:, None]).astype(np.int8)
    return out


def quantize_q4_0(values: NDArray[Any]) -> NDArray[Any]:
    """ggml's q4_0 blocks of a float array whose size is a multiple of 32 (row-major).

    Raises:
        ConfigurationError: the size is not a multiple of 32.
    """
    blocks = _blocks(values)
    rows = np.arange(blocks.shape[0])
    extreme = blocks[rows, np.argmax(np.abs(blocks), axis=1)]  # signed, first of equals
    scale = extreme / -8.0
    inverse = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale != 0)
    levels = np.minimum(15, np.trunc(blocks * inverse[:, None] + 8.5)).astype(np.uint8)
    half = _BLOCK // 2
    out = np.empty(blocks.shape[0], dtype=_Q4_0)
    out["d"] = scale.astype(np.float16)
    out["qs"] = levels[:, :half] | (levels[:, half:] << 4)
    return out


def _blocks(values: NDArray[Any]) -> NDArray[np.float32]:
    flat = np.asarray(values, dtype=np.float32).reshape(-1)
    if flat.size % _BLOCK:
        raise ConfigurationError(
            f"a tensor of {flat.size} values cannot be quantised in blocks of {_BLOCK}",
            hint="use --dtype f16 for this model",
        )
    return flat.reshape(-1, _BLOCK)


# --- writing ------------------------------------------------------------------------------


def _tensor_type(name: str, ndim: int, dtype: str) -> int:
    if ndim == 2 and name.endswith(".weight"):  # attention, MLP and embedding matrices
        return GGML_DTYPES[dtype][1]
    if ndim == 3:  # convolution kernels
        return _F32 if dtype == "f32" else _F16
    return _F32


def _encode(array: NDArray[Any], ggml_type: int) -> NDArray[Any]:
    if ggml_type == _F32:
        return np.ascontiguousarray(array, dtype="<f4")
    if ggml_type == _F16:
        return np.ascontiguousarray(array, dtype="<f2")
    if ggml_type == GGML_DTYPES["q8_0"][1]:
        return quantize_q8_0(array)
    return quantize_q4_0(array)


def _write_tensor(out: BinaryIO, name: str, array: NDArray[Any], dtype: str) -> None:
    if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
        array = array.reshape(-1, 1)  # whisper.cpp adds them as [1, n_state] to [T, n_state]
    ggml_type = _tensor_type(name, array.ndim, dtype)
    encoded = name.encode("utf-8")
    out.write(struct.pack("<iii", array.ndim, len(encoded), ggml_type))
    out.write(struct.pack(f"<{array.ndim}i", *reversed(array.shape)))
    out.write(encoded)
    out.write(_encode(array, ggml_type).tobytes())


def export_ggml(checkpoint: Path, output_dir: Path, *, dtype: str = "f16") -> Path:
    """Write a Hugging Face Whisper checkpoint as a whisper.cpp ggml model in `output_dir`.

    Args:
        checkpoint: a Hugging Face Whisper folder (e.g. what the importer wrote).
        output_dir: the folder to create; it must not exist or be empty.
        dtype: the weight matrices' type: `f16` (whisper.cpp's default), `f32`, or the
            quantised `q8_0` (near-lossless, about half of f16) and `q4_0` (smallest).

    Returns:
        The path of the written `ggml-model-<dtype>.bin`.

    Raises:
        ConfigurationError: an unknown dtype.
        MissingDependencyError: safetensors is not installed (the `train` extra).
        ModelError: see `yuyin.train.export_openai.read_openai_weights`; a bad vocabulary.
        OutputError: `output_dir` is not empty or cannot be written.
    """
    if dtype not in GGML_DTYPES:
        raise ConfigurationError(
            f"unknown ggml dtype {dtype!r}", hint="choose one of: " + ", ".join(GGML_DTYPES)
        )
    source = Path(checkpoint)
    weights = read_openai_weights(source)
    vocabulary = _vocabulary(source)
    dims = weights.dims
    ftype = GGML_DTYPES[dtype][0]
    if dtype.startswith("q"):
        ftype += 1000 * _QUANT_VERSION
    filters = mel_filters(dims["n_mels"])
    name = ggml_file_name(dtype)
    with staged_output_dir(Path(output_dir)) as staging, (staging / name).open("wb") as out:
        out.write(struct.pack("<I", GGML_MAGIC))
        out.write(struct.pack("<11i", *(dims[key] for key in _HEADER), ftype))
        out.write(struct.pack("<ii", *filters.shape))
        out.write(filters.astype("<f4").tobytes())
        out.write(struct.pack("<i", len(vocabulary)))
        for token in vocabulary:
            out.write(struct.pack("<I", len(token)))
            out.write(token)
        for tensor, array in weights.state.items():
            _write_tensor(out, tensor, array, dtype)
    log.info("exported %s to ggml (%s) in %s", source, dtype, output_dir)
    return Path(output_dir) / name

"""Rebuild a Hugging Face Whisper checkpoint from a CTranslate2 Whisper model folder (issue 7).

The embedded models ship only in CTranslate2 format, and CTranslate2 has no API that reads
`model.bin` back, so this module reads the file itself and rebuilds a transformers
`WhisperForConditionalGeneration` (weights, config, generation config) plus a
`WhisperProcessor`, saved with `save_pretrained`. Fine-tuning, the `transformers` engine and
the other exporters (issue 13) all start from that checkpoint.

The `model.bin` format (what `ctranslate2/specs/model_spec.py` writes and
`src/models/model.cc` reads; little-endian, strings are a uint16 length that counts a
trailing NUL, then the UTF-8 bytes and the NUL)::

    uint32  binary version (2 to 6 here)
    string  spec name ("WhisperSpec")           uint32 spec revision
    uint32  number of variables, then for each, sorted by name:
        string  name ("encoder/layer_0/self_attention/linear_0/weight")
        uint8   rank       uint32 x rank  shape
        uint8   dtype id: 0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16
        uint32  size in bytes, then the raw row-major values
        (binary versions 2-3 store an item size instead of a dtype id, and a count)
    uint32  number of aliases, then pairs of strings (alias, target); from version 3

Aliases replace variables equal to an alphabetically earlier one; for Whisper the output
projection is an alias of the token embeddings (tied weights). Quantised weights carry a
`<name>_scale` sibling: int8 rows were multiplied by `scale = 127 / max|row|` (convolution
kernels flattened per output channel), int16 by one scalar; both are divided back here.
bfloat16 values are widened to float32. Flags and sizes are scalars (rank 0).

Variable names map onto transformers parameter names like this (`E` = `encoder`,
`D` = `decoder`, `i` = layer)::

    E/conv1, E/conv2 (weight, bias)           model.encoder.conv1, conv2
    E/position_encodings/encodings            model.encoder.embed_positions.weight
    {E,D}/layer_norm (gamma, beta)            model.{encoder,decoder}.layer_norm
    E/layer_i/self_attention/linear_0         self_attn.{q,k,v}_proj (fused, split in 3)
    {E,D}/layer_i/self_attention/linear_1     self_attn.out_proj
    {E,D}/layer_i/self_attention/layer_norm   self_attn_layer_norm
    D/layer_i/self_attention/linear_0         self_attn.{q,k,v}_proj (fused, split in 3)
    D/layer_i/attention/linear_0              encoder_attn.q_proj
    D/layer_i/attention/linear_1              encoder_attn.{k,v}_proj (fused, split in 2)
    D/layer_i/attention/linear_2              encoder_attn.out_proj
    D/layer_i/attention/layer_norm            encoder_attn_layer_norm
    {E,D}/layer_i/ffn/linear_0, linear_1      fc1, fc2
    {E,D}/layer_i/ffn/layer_norm              final_layer_norm
    D/embeddings/weight                       model.decoder.embed_tokens.weight
    D/position_encodings/encodings            model.decoder.embed_positions.weight
    D/projection/weight (alias)               proj_out.weight (tied to embed_tokens)

Whisper's key projections have no bias; the converter fills zeros into the fused bias. The
key bias is dropped, which is exact even were it not zero: it adds the same `q·b` to every
score of a query, and softmax ignores a constant shift.

The config comes from the weights (d_model, layers, heads, FFN width, mel bins, positions,
vocabulary size) and from `config.json` (alignment heads, suppressed tokens); token ids
(start of transcript, languages, tasks, no-timestamps, previous-text) come from the
model's `tokenizer.json`, to which the 1501 timestamp tokens are added when it lacks them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from yuyin.errors import MissingDependencyError, ModelError, OutputError
from yuyin.languages import MULTILINGUAL_VOCAB_SIZE
from yuyin.train.staging import cached_build, write_failure

if TYPE_CHECKING:
    import torch

__all__ = [
    "IMPORTER_VERSION",
    "Ct2Model",
    "Ct2Variable",
    "cached_import",
    "import_ctranslate2_whisper",
    "import_fingerprint",
    "read_ct2_model",
]

log = logging.getLogger(__name__)

#: Bumped whenever the saved checkpoint changes, so cached imports are redone.
IMPORTER_VERSION = 1

# The order of CTranslate2's DataType enum (include/ctranslate2/types.h).
_DTYPE_NAMES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
# bfloat16 has no numpy type: its bits are read as uint16 and widened in `Ct2Model.array`.
_NUMPY_DTYPES = {
    "float32": "<f4",
    "int8": "i1",
    "int16": "<i2",
    "int32": "<i4",
    "float16": "<f2",
    "bfloat16": "<u2",
}
# Binary versions 2-3 stored an item size, from which the reader guessed the type.
_ITEM_SIZE_DTYPES = {4: "float32", 2: "int16", 1: "int8"}
_MAX_BINARY_VERSION = 6
_GELU = 3  # ctranslate2.specs.common_spec.Activation.GELU
_FOLDER_HINT = "a CTranslate2 Whisper folder holds model.bin, config.json and tokenizer.json"


# --- reading model.bin -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ct2Variable:
    """One stored variable: its CTranslate2 dtype name, shape and raw values (no copy)."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    data: NDArray[Any]


@dataclass(frozen=True, slots=True)
class Ct2Model:
    """The contents of a CTranslate2 `model.bin`: header, variables by name, aliases."""

    binary_version: int
    spec: str
    revision: int
    variables: dict[str, Ct2Variable]
    aliases: dict[str, str]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self.variables or name in self.aliases)

    def variable(self, name: str) -> Ct2Variable:
        """The stored variable `name` names, following an alias.

        Raises:
            ModelError: no such variable.
        """
        target = self.aliases.get(name, name)
        found = self.variables.get(target)
        if found is None:
            raise ModelError(f"the CTranslate2 model has no variable {name!r}", hint=_FOLDER_HINT)
        return found

    def _scale(self, name: str) -> Ct2Variable | None:
        # CTranslate2 also aliases the scale of an aliased weight (model.cc).
        for candidate in (name + "_scale", self.aliases.get(name, name) + "_scale"):
            if candidate in self:
                return self.variable(candidate)
        return None

    def array(self, name: str) -> NDArray[np.float32]:
        """The variable as float32, dequantised with its `_scale` when it is int8 or int16.

        Raises:
            ModelError: no such variable, or an integer weight without its scale.
        """
        var = self.variable(name)
        if var.dtype == "bfloat16":
            bits = var.data.astype(np.uint32) << np.uint32(16)
            widened: NDArray[np.float32] = bits.view(np.float32).reshape(var.shape)
            return widened
        if var.dtype in ("int8", "int16"):
            scale = self._scale(name)
            if scale is None:
                raise ModelError(
                    f"quantised variable {name!r} has no {name}_scale",
                    hint="re-convert the model with ct2-transformers-converter",
                )
            values = var.data.astype(np.float32)
            factors = np.asarray(self.array(scale.name), dtype=np.float32)
            if factors.ndim == 0:
                return values / factors
            rows = values.reshape(values.shape[0], -1) / factors.reshape(-1, 1)
            return rows.reshape(var.shape)
        return np.asarray(var.data, dtype=np.float32)

    def scalar(self, name: str, default: float | None = None) -> float:
        """A rank-0 variable (a flag or size) as a number; `default` when it is absent.

        Raises:
            ModelError: no such variable and no default.
        """
        if name not in self and default is not None:
            return default
        return float(self.variable(name).data.reshape(-1)[0])


class _Cursor:
    """Reads little-endian values from a buffer, failing clearly at the end of the file."""

    def __init__(self, buffer: NDArray[np.uint8], path: Path) -> None:
        self.buffer = buffer
        self.offset = 0
        self.path = path

    def take(self, size: int) -> NDArray[np.uint8]:
        end = self.offset + size
        if end > self.buffer.size:
            raise ModelError(
                f"{self.path} is truncated: {size} bytes needed at offset {self.offset}, "
                f"the file has {self.buffer.size}",
                hint="the model file is incomplete; reinstall or re-convert the model",
            )
        chunk = self.buffer[self.offset : end]
        self.offset = end
        return chunk

    def unpack(self, fmt: str) -> int:
        size = struct.calcsize("<" + fmt)
        value: int = struct.unpack("<" + fmt, self.take(size).tobytes())[0]
        return value

    def string(self) -> str:
        length = self.unpack("H")
        raw = self.take(length).tobytes()
        try:
            return raw.rstrip(b"\0").decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ModelError(
                f"{self.path} holds a name that is not UTF-8 at offset {self.offset - length}",
                hint="this is not a CTranslate2 model file",
            ) from exc


def read_ct2_model(path: str | os.PathLike[str]) -> Ct2Model:
    """Read a CTranslate2 `model.bin` (or the folder holding it) without copying the weights.

    Args:
        path: the `model.bin` file or its model folder.

    Raises:
        ModelError: a missing, truncated or unsupported file.
    """
    file = Path(path)
    if file.is_dir():
        file = file / "model.bin"
    try:
        buffer: NDArray[np.uint8] = np.memmap(file, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {file}: {exc}", hint=_FOLDER_HINT) from exc
    cursor = _Cursor(buffer, file)
    version = cursor.unpack("I")
    if not 2 <= version <= _MAX_BINARY_VERSION:
        raise ModelError(
            f"{file} has CTranslate2 binary version {version}; this reader knows 2 to "
            f"{_MAX_BINARY_VERSION}",
            hint="re-convert the model with the ctranslate2 version yuyin installs",
        )
    spec = cursor.string()
    revision = cursor.unpack("I")
    variables: dict[str, Ct2Variable] = {}
    for _ in range(cursor.unpack("I")):
        name = cursor.string()
        rank = cursor.unpack("B")
        shape = tuple(cursor.unpack("I") for _ in range(rank))
        if version >= 4:
            type_id = cursor.unpack("B")
            if type_id >= len(_DTYPE_NAMES):
                raise ModelError(f"{file}: variable {name!r} has unknown dtype id {type_id}")
            dtype = _DTYPE_NAMES[type_id]
            num_bytes = cursor.unpack("I")
        else:
            item_size = cursor.unpack("B")
            if item_size not in _ITEM_SIZE_DTYPES:
                raise ModelError(f"{file}: variable {name!r} has item size {item_size}")
            dtype = _ITEM_SIZE_DTYPES[item_size]
            num_bytes = cursor.unpack("I") * item_size
        np_dtype = np.dtype(_NUMPY_DTYPES[dtype])
        if num_bytes != int(np.prod(shape, dtype=np.int64)) * np_dtype.itemsize:
            raise ModelError(
                f"{file}: variable {name!r} has {num_bytes} bytes for shape {shape} of {dtype}",
                hint="the model file is damaged",
            )
        data = cursor.take(num_bytes).view(np_dtype).reshape(shape)
        variables[name] = Ct2Variable(name, dtype, shape, data)
    aliases: dict[str, str] = {}
    if version >= 3:
        for _ in range(cursor.unpack("I")):
            alias = cursor.string()
            aliases[alias] = cursor.string()
    return Ct2Model(version, spec, revision, variables, aliases)


# --- the transformers config ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Dimensions:
    vocab_size: int
    num_mel_bins: int
    d_model: int
    encoder_layers: int
    decoder_layers: int
    encoder_attention_heads: int
    decoder_attention_heads: int
    encoder_ffn_dim: int
    decoder_ffn_dim: int
    max_source_positions: int
    max_target_positions: int
    tied: bool


def _count_layers(model: Ct2Model, prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"/layer_(\d+)/")
    found = {int(m.group(1)) for name in model.variables if (m := pattern.match(name))}
    if found != set(range(len(found))):
        raise ModelError(f"the model's {prefix} layers are not numbered 0..n-1: {sorted(found)}")
    return len(found)


def _dimensions(model: Ct2Model) -> _Dimensions:
    if model.spec != "WhisperSpec":
        raise ModelError(
            f"the CTranslate2 model is a {model.spec or 'legacy'} model, not Whisper",
            hint=_FOLDER_HINT,
        )
    decoder_flags = {
        "decoder/pre_norm": 1.0,
        "decoder/scale_embeddings": 0.0,
        "decoder/alibi": 0.0,
        "decoder/activation": float(_GELU),
    }
    for name, expected in decoder_flags.items():
        value = model.scalar(name, expected)
        if value != expected:
            raise ModelError(
                f"unexpected {name}={value:g} for a Whisper model (expected {expected:g})",
                hint="only standard Whisper architectures can be imported",
            )
    conv1 = model.variable("encoder/conv1/weight").shape
    embeddings = model.variable("decoder/embeddings/weight").shape
    projection = "decoder/projection/weight"
    if "decoder/projection/bias" in model:
        raise ModelError("the output projection has a bias, which Whisper does not have")
    tied = model.aliases.get(projection) == "decoder/embeddings/weight" or (
        projection in model.variables
        and np.array_equal(model.array(projection), model.array("decoder/embeddings/weight"))
    )
    return _Dimensions(
        vocab_size=embeddings[0],
        num_mel_bins=conv1[1],
        d_model=conv1[0],
        encoder_layers=_count_layers(model, "encoder"),
        decoder_layers=_count_layers(model, "decoder"),
        encoder_attention_heads=int(model.scalar("encoder/num_heads")),
        decoder_attention_heads=int(model.scalar("decoder/num_heads")),
        encoder_ffn_dim=model.variable("encoder/layer_0/ffn/linear_0/weight").shape[0],
        decoder_ffn_dim=model.variable("decoder/layer_0/ffn/linear_0/weight").shape[0],
        max_source_positions=model.variable("encoder/position_encodings/encodings").shape[0],
        max_target_positions=model.variable("decoder/position_encodings/encodings").shape[0],
        tied=tied,
    )


@dataclass(frozen=True, slots=True)
class _Tokens:
    """Whisper's special token ids, read from the model's tokenizer.json."""

    end_of_text: int
    start_of_transcript: int
    languages: dict[str, int]  # "<|en|>" -> id
    tasks: dict[str, int]  # "transcribe" -> id
    no_timestamps: int
    previous: int
    specials: list[str]  # every special token, in id order


def _special_tokens(tokenizer_json: dict[str, Any]) -> _Tokens:
    added = sorted(tokenizer_json.get("added_tokens", []), key=lambda t: int(t["id"]))
    by_content = {str(t["content"]): int(t["id"]) for t in added}
    needed = (
        "<|endoftext|>",
        "<|startoftranscript|>",
        "<|translate|>",
        "<|transcribe|>",
        "<|notimestamps|>",
        "<|startofprev|>",
    )
    missing = [t for t in needed if t not in by_content]
    if missing:
        raise ModelError(
            "tokenizer.json lacks Whisper's special tokens: " + ", ".join(missing),
            hint="use the tokenizer.json of the Whisper checkpoint the model came from",
        )
    sot, translate = by_content["<|startoftranscript|>"], by_content["<|translate|>"]
    languages = {str(t["content"]): int(t["id"]) for t in added if sot < int(t["id"]) < translate}
    return _Tokens(
        end_of_text=by_content["<|endoftext|>"],
        start_of_transcript=sot,
        languages=languages,
        tasks={"transcribe": by_content["<|transcribe|>"], "translate": translate},
        no_timestamps=by_content["<|notimestamps|>"],
        previous=by_content["<|startofprev|>"],
        specials=[str(t["content"]) for t in added if t.get("special", False)],
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(f"{path} is missing", hint=_FOLDER_HINT) from exc
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}", hint=_FOLDER_HINT) from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path} is not a JSON object", hint=_FOLDER_HINT)
    return data


# --- building the checkpoint ---------------------------------------------------------------


def _require(package: str) -> None:
    import importlib.util

    if importlib.util.find_spec(package) is None:
        raise MissingDependencyError(package, "train", "importing a CTranslate2 model")


def _state_dict(model: Ct2Model, dims: _Dimensions) -> dict[str, torch.Tensor]:
    import torch

    state: dict[str, torch.Tensor] = {}

    def put(name: str, value: NDArray[np.float32]) -> None:
        # Always a private copy: float32 variables are read-only views of the mapped file,
        # and aliased variables (any two equal ones) must not become shared parameters.
        state[name] = torch.from_numpy(np.array(value, dtype=np.float32, order="C", copy=True))

    def linear(hf: str, ct2: str, *, parts: tuple[str, ...] = ()) -> None:
        weight = model.array(ct2 + "/weight")
        bias = model.array(ct2 + "/bias") if ct2 + "/bias" in model else None
        if not parts:
            put(f"{hf}.weight", weight)
            if bias is not None:
                put(f"{hf}.bias", bias)
            return
        for part, w, b in zip(
            parts,
            np.split(weight, len(parts)),
            np.split(bias, len(parts)) if bias is not None else [None] * len(parts),
            strict=True,
        ):
            put(f"{hf}.{part}.weight", w)
            if b is not None and part != "k_proj":  # see the module docstring
                put(f"{hf}.{part}.bias", b)

    def norm(hf: str, ct2: str) -> None:
        put(f"{hf}.weight", model.array(ct2 + "/gamma"))
        put(f"{hf}.bias", model.array(ct2 + "/beta"))

    qkv = ("q_proj", "k_proj", "v_proj")
    for side in ("encoder", "decoder"):
        hf_side = f"model.{side}"
        put(
            f"{hf_side}.embed_positions.weight", model.array(f"{side}/position_encodings/encodings")
        )
        norm(f"{hf_side}.layer_norm", f"{side}/layer_norm")
        layers = dims.encoder_layers if side == "encoder" else dims.decoder_layers
        for i in range(layers):
            hf, ct2 = f"{hf_side}.layers.{i}", f"{side}/layer_{i}"
            linear(f"{hf}.self_attn", f"{ct2}/self_attention/linear_0", parts=qkv)
            linear(f"{hf}.self_attn.out_proj", f"{ct2}/self_attention/linear_1")
            norm(f"{hf}.self_attn_layer_norm", f"{ct2}/self_attention/layer_norm")
            if side == "decoder":
                linear(f"{hf}.encoder_attn.q_proj", f"{ct2}/attention/linear_0")
                linear(f"{hf}.encoder_attn", f"{ct2}/attention/linear_1", parts=qkv[1:])
                linear(f"{hf}.encoder_attn.out_proj", f"{ct2}/attention/linear_2")
                norm(f"{hf}.encoder_attn_layer_norm", f"{ct2}/attention/layer_norm")
            linear(f"{hf}.fc1", f"{ct2}/ffn/linear_0")
            linear(f"{hf}.fc2", f"{ct2}/ffn/linear_1")
            norm(f"{hf}.final_layer_norm", f"{ct2}/ffn/layer_norm")
    for conv in ("conv1", "conv2"):
        linear(f"model.encoder.{conv}", f"encoder/{conv}")
    put("model.decoder.embed_tokens.weight", model.array("decoder/embeddings/weight"))
    if dims.tied:
        state["proj_out.weight"] = state["model.decoder.embed_tokens.weight"]
    else:
        put("proj_out.weight", model.array("decoder/projection/weight"))
    return state


def _timestamp_tokens(count: int) -> list[str]:
    return [f"<|{i * 0.02:.2f}|>" for i in range(count)]


def _build_processor(src: Path, dims: _Dimensions, tokens: _Tokens, staging: Path) -> Any:
    from transformers import (
        AddedToken,
        WhisperFeatureExtractor,
        WhisperProcessor,
        WhisperTokenizer,
    )

    tokenizer = WhisperTokenizer(
        tokenizer_file=str(src / "tokenizer.json"),
        extra_special_tokens=tokens.specials,
        pad_token="<|endoftext|>",
        model_max_length=dims.max_target_positions,
    )
    missing = dims.vocab_size - len(tokenizer)
    if missing > 0:
        # Older tokenizer.json files stop at <|notimestamps|>; the model's vocabulary goes on
        # with one token per 20 ms from <|0.00|> to <|30.00|>.
        first = len(tokenizer)
        tokenizer.add_tokens(
            [AddedToken(t, lstrip=False, rstrip=False, normalized=False, special=False) for t in
             _timestamp_tokens(missing)]
        )  # fmt: skip
        if tokenizer.convert_tokens_to_ids("<|0.00|>") != first:
            raise ModelError(f"{src / 'tokenizer.json'}: timestamp tokens do not line up")
    if len(tokenizer) != dims.vocab_size:
        raise ModelError(
            f"{src / 'tokenizer.json'} has {len(tokenizer)} tokens but the model {dims.vocab_size}",
            hint="the tokenizer belongs to another Whisper model",
        )
    features = WhisperFeatureExtractor(feature_size=dims.num_mel_bins)
    processor = WhisperProcessor(feature_extractor=features, tokenizer=tokenizer)
    processor.save_pretrained(str(staging))
    return processor


def _configs(dims: _Dimensions, tokens: _Tokens, ct2_config: dict[str, Any]) -> tuple[Any, Any]:
    from transformers import GenerationConfig, WhisperConfig

    multilingual = dims.vocab_size >= MULTILINGUAL_VOCAB_SIZE
    eot = tokens.end_of_text
    suppress = [int(t) for t in ct2_config.get("suppress_ids") or []]
    begin_suppress = [int(t) for t in ct2_config.get("suppress_ids_begin") or [220, eot]]
    config = WhisperConfig(
        vocab_size=dims.vocab_size,
        num_mel_bins=dims.num_mel_bins,
        d_model=dims.d_model,
        encoder_layers=dims.encoder_layers,
        decoder_layers=dims.decoder_layers,
        encoder_attention_heads=dims.encoder_attention_heads,
        decoder_attention_heads=dims.decoder_attention_heads,
        encoder_ffn_dim=dims.encoder_ffn_dim,
        decoder_ffn_dim=dims.decoder_ffn_dim,
        max_source_positions=dims.max_source_positions,
        max_target_positions=dims.max_target_positions,
        activation_function="gelu",
        scale_embedding=False,
        tie_word_embeddings=dims.tied,
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=tokens.start_of_transcript,
        # Decoding settings live in the generation config only: transformers warns when the
        # model config carries them too.
        suppress_tokens=None,
        begin_suppress_tokens=None,
        architectures=["WhisperForConditionalGeneration"],
    )
    heads = ct2_config.get("alignment_heads") or [
        [layer, head]
        for layer in range(dims.decoder_layers // 2, dims.decoder_layers)
        for head in range(dims.decoder_attention_heads)
    ]
    generation: dict[str, Any] = {
        "decoder_start_token_id": tokens.start_of_transcript,
        "bos_token_id": eot,
        "eos_token_id": eot,
        "pad_token_id": eot,
        "max_length": dims.max_target_positions,
        "suppress_tokens": suppress,
        "begin_suppress_tokens": begin_suppress,
        "alignment_heads": [[int(layer), int(head)] for layer, head in heads],
        "no_timestamps_token_id": tokens.no_timestamps,
        "prev_sot_token_id": tokens.previous,
        # openai-whisper's max_initial_timestamp of 1 s, in 20 ms timestamp steps.
        "max_initial_timestamp_index": 50,
        "is_multilingual": multilingual,
        "return_timestamps": False,
    }
    if multilingual:
        # English-only models must not have these: transformers would detect a language.
        generation["lang_to_id"] = dict(tokens.languages)
        generation["task_to_id"] = dict(tokens.tasks)
    return config, GenerationConfig(**generation)


def import_ctranslate2_whisper(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Rebuild a CTranslate2 Whisper model as a Hugging Face checkpoint in `dst`.

    `dst` receives `config.json`, `generation_config.json`, `model.safetensors` (float32)
    and the processor files (tokenizer, feature extractor), loadable offline with
    `WhisperForConditionalGeneration.from_pretrained(dst)` and
    `WhisperProcessor.from_pretrained(dst)`.

    Args:
        src: a CTranslate2 Whisper folder (model.bin, config.json, tokenizer.json).
        dst: the folder to write; it must not exist or be empty.

    Raises:
        MissingDependencyError: torch or transformers is not installed (the `train` extra).
        ModelError: `src` is not a complete CTranslate2 Whisper model.
        OutputError: `dst` is not empty or cannot be written.
    """
    for package in ("torch", "transformers"):
        _require(package)
    source, target = Path(src), Path(dst)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise OutputError(f"{target} already exists and is not empty", hint="choose a new folder")
    started = time.perf_counter()
    model_bin = read_ct2_model(source)
    ct2_config = _read_json(source / "config.json")
    tokens = _special_tokens(_read_json(source / "tokenizer.json"))
    dims = _dimensions(model_bin)
    state = _state_dict(model_bin, dims)
    config, generation = _configs(dims, tokens, ct2_config)

    import torch
    from transformers import WhisperForConditionalGeneration

    # Build on the meta device: the weights come from `state`, random init would be wasted.
    with torch.device("meta"):
        model = WhisperForConditionalGeneration(config)
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        raise ModelError(
            f"the weights of {source} do not fit a Whisper model: {exc}", hint=_FOLDER_HINT
        ) from exc
    if dims.tied:
        model.tie_weights()
    model.generation_config = generation
    model.eval()
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a library does not draw on the caller's terminal
    created = not target.exists()
    try:
        target.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(str(target))
        _build_processor(source, dims, tokens, target)
    except BaseException as exc:
        if created:  # never leave a half-written checkpoint that looks like a model
            shutil.rmtree(target, ignore_errors=True)
        # A full disk surfaces as safetensors' own error type, not always as an OSError.
        failure = write_failure(exc) if isinstance(exc, Exception) else None
        if failure is not None:
            raise OutputError(
                f"cannot write the checkpoint to {target}: {failure.strerror or failure}",
                hint="check free disk space (a base model needs about 300 MB) and permissions",
            ) from exc
        raise
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    log.info("imported %s into %s in %.1f s", source, target, time.perf_counter() - started)
    return target


# --- the cache ----------------------------------------------------------------------------


# Bytes of model.bin read for its fingerprint, at its start, middle and end.
_SAMPLE_BYTES = 1 << 20


def import_fingerprint(src: Path) -> str:
    """A short hash of what the model holds, not of where or when it was installed.

    Size plus three 1 MiB samples of model.bin (hashing all of a large-v3 would take seconds
    at every load): a reinstalled package or a copied folder maps to the same import instead
    of another 150 MB to 3 GB copy in the cache, and different weights differ in the samples.
    """
    digest = hashlib.sha256(f"yuyin-importer-{IMPORTER_VERSION}".encode())
    try:
        with (src / "model.bin").open("rb") as model_bin:
            size = os.fstat(model_bin.fileno()).st_size
            digest.update(f"model.bin:{size}".encode())
            for at in (0, max(0, size // 2 - _SAMPLE_BYTES // 2), max(0, size - _SAMPLE_BYTES)):
                model_bin.seek(at)
                digest.update(model_bin.read(_SAMPLE_BYTES))
        for name in ("config.json", "tokenizer.json"):
            digest.update(name.encode() + (src / name).read_bytes())
    except OSError as exc:
        raise ModelError(f"cannot read the model in {src}: {exc}", hint=_FOLDER_HINT) from exc
    return digest.hexdigest()[:12]


def cached_import(
    src: str | os.PathLike[str], cache_dir: str | os.PathLike[str], *, name: str | None = None
) -> Path:
    """Import a CTranslate2 Whisper folder once into `cache_dir/hf/<name>-<hash>`; reuse it.

    The folder is built in a staging folder and renamed into place, so readers never see a
    half-written checkpoint and two processes importing at once both end with a whole one.

    Args:
        src: a CTranslate2 Whisper folder.
        cache_dir: yuyin's cache folder (e.g. `yuyin.engines.default_cache_dir()`).
        name: the model's name for the folder (default: the folder's name).

    Raises:
        MissingDependencyError, ModelError, OutputError: see `import_ctranslate2_whisper`.
    """
    source = Path(src)
    label = re.sub(r"[^\w.-]+", "_", name or source.name).strip("_") or "model"
    target = Path(cache_dir) / "hf" / f"{label}-{import_fingerprint(source)}"

    def build(folder: Path) -> dict[str, Any]:
        import_ctranslate2_whisper(source, folder)
        return {"source": str(source), "importer": IMPORTER_VERSION}

    return cached_build(target, build, what="the imported model")

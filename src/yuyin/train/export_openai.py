"""Export a Hugging Face Whisper checkpoint to openai-whisper's checkpoint file (issue 13).

openai-whisper's `whisper.load_model(path)` reads one `torch.save`d dictionary::

    "dims"              ModelDimensions' fields: n_mels, n_audio_ctx, n_audio_state,
                        n_audio_head, n_audio_layer, n_vocab, n_text_ctx, n_text_state,
                        n_text_head, n_text_layer
    "model_state_dict"  the `Whisper` module's parameters and persistent buffers

and ignores other keys; this exporter adds "alignment_heads", the cross-attention heads
that word timing uses, in the form `Whisper.set_alignment_heads` takes (the base85 text of
a gzipped boolean [n_text_layer, n_text_head] array), because `load_model` only knows the
heads of its own downloadable models and otherwise falls back to every head of the upper
half of the decoder.

Parameter names (`E` = encoder, `D` = decoder, `i` = layer; whisper.cpp uses the same
openai-whisper names, so `yuyin.train.export_ggml` starts from `read_openai_weights` too)::

    model.E.conv1, conv2                         E.conv1, E.conv2
    model.E.embed_positions.weight               E.positional_embedding (a buffer)
    model.E.layer_norm                           E.ln_post
    model.{E,D}.layers.i.self_attn.{q,k,v,out}_proj   {E,D}.blocks.i.attn.{query,key,value,out}
    model.{E,D}.layers.i.self_attn_layer_norm    {E,D}.blocks.i.attn_ln
    model.D.layers.i.encoder_attn.{q,k,v,out}_proj    D.blocks.i.cross_attn.{...}
    model.D.layers.i.encoder_attn_layer_norm     D.blocks.i.cross_attn_ln
    model.{E,D}.layers.i.fc1, fc2                {E,D}.blocks.i.mlp.0, mlp.2
    model.{E,D}.layers.i.final_layer_norm        {E,D}.blocks.i.mlp_ln
    model.D.embed_tokens.weight                  D.token_embedding.weight
    model.D.embed_positions.weight               D.positional_embedding
    model.D.layer_norm                           D.ln
    proj_out.weight                              (none: openai-whisper ties it to the embedding)

The architecture openai-whisper can hold is narrower than transformers': GELU, no embedding
scale, a 4x feed-forward, one width for encoder and decoder, tied output projection. A
checkpoint outside it is refused with the reason.
"""

from __future__ import annotations

import base64
import gzip
import importlib.util
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from yuyin.errors import MissingDependencyError, ModelError
from yuyin.languages import MULTILINGUAL_VOCAB_SIZE
from yuyin.train.staging import staged_output_dir

__all__ = [
    "EXPORTER_VERSION",
    "OPENAI_CHECKPOINT_NAME",
    "OpenAIWhisperWeights",
    "encode_alignment_heads",
    "export_openai_whisper",
    "read_openai_weights",
]

log = logging.getLogger(__name__)

#: Bumped whenever the exported file changes, so cached exports are redone.
EXPORTER_VERSION = 1
#: The file `export_openai_whisper` writes inside its output folder.
OPENAI_CHECKPOINT_NAME = "model.pt"

_HINT = (
    "export a Hugging Face Whisper folder (config.json, generation_config.json, "
    "model.safetensors), such as the one `yuyin models export MODEL --format hf` writes"
)

# (Hugging Face pattern, openai-whisper replacement), applied in order to each name.
_RENAMES: tuple[tuple[str, str], ...] = (
    (r"^model\.(encoder|decoder)\.layers\.(\d+)\.", r"\1.blocks.\2."),
    (r"^model\.encoder\.embed_positions\.weight$", "encoder.positional_embedding"),
    (r"^model\.decoder\.embed_positions\.weight$", "decoder.positional_embedding"),
    (r"^model\.decoder\.embed_tokens\.", "decoder.token_embedding."),
    (r"^model\.encoder\.layer_norm\.", "encoder.ln_post."),
    (r"^model\.decoder\.layer_norm\.", "decoder.ln."),
    (r"^model\.encoder\.(conv[12])\.", r"encoder.\1."),
    (r"\.self_attn_layer_norm\.", ".attn_ln."),
    (r"\.encoder_attn_layer_norm\.", ".cross_attn_ln."),
    (r"\.self_attn\.", ".attn."),
    (r"\.encoder_attn\.", ".cross_attn."),
    (r"\.q_proj\.", ".query."),
    (r"\.k_proj\.", ".key."),
    (r"\.v_proj\.", ".value."),
    (r"\.out_proj\.", ".out."),
    (r"\.fc1\.", ".mlp.0."),
    (r"\.fc2\.", ".mlp.2."),
    (r"\.final_layer_norm\.", ".mlp_ln."),
)


@dataclass(frozen=True, slots=True)
class OpenAIWhisperWeights:
    """A Whisper checkpoint in openai-whisper's terms: dimensions, named arrays, heads."""

    dims: dict[str, int]
    state: dict[str, NDArray[Any]]
    alignment_heads: tuple[tuple[int, int], ...]

    @property
    def multilingual(self) -> bool:
        """Whether the vocabulary has the language tokens (openai-whisper's own test)."""
        return self.dims["n_vocab"] >= MULTILINGUAL_VOCAB_SIZE


def _require(package: str, feature: str) -> None:
    if importlib.util.find_spec(package) is None:
        raise MissingDependencyError(package, "train", feature)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(f"{path} is missing", hint=_HINT) from exc
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}", hint=_HINT) from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path} does not hold a JSON object", hint=_HINT)
    return data


def _weight_files(checkpoint: Path) -> list[Path]:
    single = checkpoint / "model.safetensors"
    if single.is_file():
        return [single]
    index = checkpoint / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(_read_json(index).get("weight_map", {}).values()))
        return [checkpoint / str(name) for name in shards]
    raise ModelError(
        f"{checkpoint} holds no model.safetensors",
        hint="save the model with `save_pretrained(..., safe_serialization=True)`; " + _HINT,
    )


def _read_safetensors(checkpoint: Path) -> dict[str, NDArray[Any]]:
    _require("safetensors", "exporting a Hugging Face checkpoint")
    from safetensors import safe_open

    arrays: dict[str, NDArray[Any]] = {}
    for file in _weight_files(checkpoint):
        try:
            with safe_open(str(file), framework="numpy") as f:
                for name in f.keys():  # noqa: SIM118 (safe_open is not a mapping)
                    arrays[name] = f.get_tensor(name)
        except (OSError, ValueError, TypeError) as exc:
            # bfloat16 has no numpy type: the reader fails on such checkpoints.
            raise ModelError(
                f"cannot read the weights in {file}: {exc}",
                hint="save the checkpoint in float32 or float16",
            ) from exc
    return arrays


def _openai_name(name: str) -> str:
    for pattern, replacement in _RENAMES:
        name = re.sub(pattern, replacement, name)
    return name


def _dims(config: dict[str, Any], path: Path) -> dict[str, int]:
    if config.get("model_type") != "whisper":
        raise ModelError(f"{path} is not a Whisper model config", hint=_HINT)
    d_model = int(config["d_model"])
    limits = {
        "activation_function": (config.get("activation_function", "gelu"), "gelu"),
        "scale_embedding": (bool(config.get("scale_embedding", False)), False),
        "encoder_ffn_dim": (int(config.get("encoder_ffn_dim", 4 * d_model)), 4 * d_model),
        "decoder_ffn_dim": (int(config.get("decoder_ffn_dim", 4 * d_model)), 4 * d_model),
        "tie_word_embeddings": (bool(config.get("tie_word_embeddings", True)), True),
    }
    for key, (value, expected) in limits.items():
        if value != expected:
            raise ModelError(
                f"{path}: {key}={value!r}, but openai-whisper and whisper.cpp only hold "
                f"Whisper models with {key}={expected!r}",
                hint="only standard Whisper architectures can be exported",
            )
    try:
        return {
            "n_mels": int(config["num_mel_bins"]),
            "n_audio_ctx": int(config["max_source_positions"]),
            "n_audio_state": d_model,
            "n_audio_head": int(config["encoder_attention_heads"]),
            "n_audio_layer": int(config["encoder_layers"]),
            "n_vocab": int(config["vocab_size"]),
            "n_text_ctx": int(config["max_target_positions"]),
            "n_text_state": d_model,
            "n_text_head": int(config["decoder_attention_heads"]),
            "n_text_layer": int(config["decoder_layers"]),
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{path} lacks the Whisper dimension {exc}", hint=_HINT) from exc


def _expected_shapes(dims: dict[str, int]) -> dict[str, tuple[int, ...]]:
    """Every tensor openai-whisper's `Whisper(dims)` loads, with its shape."""
    state, mels = dims["n_audio_state"], dims["n_mels"]
    shapes: dict[str, tuple[int, ...]] = {
        "encoder.conv1.weight": (state, mels, 3),
        "encoder.conv1.bias": (state,),
        "encoder.conv2.weight": (state, state, 3),
        "encoder.conv2.bias": (state,),
        "encoder.positional_embedding": (dims["n_audio_ctx"], state),
        "encoder.ln_post.weight": (state,),
        "encoder.ln_post.bias": (state,),
        "decoder.token_embedding.weight": (dims["n_vocab"], state),
        "decoder.positional_embedding": (dims["n_text_ctx"], state),
        "decoder.ln.weight": (state,),
        "decoder.ln.bias": (state,),
    }
    sides = (("encoder", dims["n_audio_layer"], ("attn",)),
             ("decoder", dims["n_text_layer"], ("attn", "cross_attn")))  # fmt: skip
    for side, layers, attentions in sides:
        for i in range(layers):
            block = f"{side}.blocks.{i}"
            for attn in attentions:
                for proj in ("query", "key", "value", "out"):
                    shapes[f"{block}.{attn}.{proj}.weight"] = (state, state)
                    if proj != "key":  # Whisper's key projections have no bias
                        shapes[f"{block}.{attn}.{proj}.bias"] = (state,)
                shapes[f"{block}.{attn}_ln.weight"] = (state,)
                shapes[f"{block}.{attn}_ln.bias"] = (state,)
            shapes[f"{block}.mlp.0.weight"] = (4 * state, state)
            shapes[f"{block}.mlp.0.bias"] = (4 * state,)
            shapes[f"{block}.mlp.2.weight"] = (state, 4 * state)
            shapes[f"{block}.mlp.2.bias"] = (state,)
            shapes[f"{block}.mlp_ln.weight"] = (state,)
            shapes[f"{block}.mlp_ln.bias"] = (state,)
    return shapes


def _alignment_heads(checkpoint: Path, dims: dict[str, int]) -> tuple[tuple[int, int], ...]:
    generation = checkpoint / "generation_config.json"
    heads = _read_json(generation).get("alignment_heads") if generation.is_file() else None
    if not heads:
        # openai-whisper's default: every head of the upper half of the decoder.
        layers, per_layer = dims["n_text_layer"], dims["n_text_head"]
        return tuple((i, h) for i in range(layers // 2, layers) for h in range(per_layer))
    pairs = tuple((int(layer), int(head)) for layer, head in heads)
    for layer, head in pairs:
        if not (0 <= layer < dims["n_text_layer"] and 0 <= head < dims["n_text_head"]):
            raise ModelError(f"{generation}: alignment head {[layer, head]} is out of range")
    return pairs


def encode_alignment_heads(
    heads: tuple[tuple[int, int], ...], n_text_layer: int, n_text_head: int
) -> bytes:
    """The heads as `Whisper.set_alignment_heads` takes them (base85 of a gzipped bool mask)."""
    mask = np.zeros((n_text_layer, n_text_head), dtype=bool)
    for layer, head in heads:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes(), mtime=0))


def read_openai_weights(checkpoint: Path) -> OpenAIWhisperWeights:
    """Read a Hugging Face Whisper folder as openai-whisper's dimensions and named arrays.

    Args:
        checkpoint: a folder with config.json and model.safetensors (float32 or float16).

    Raises:
        MissingDependencyError: safetensors is not installed (the `train` extra).
        ModelError: missing or unreadable files, an architecture openai-whisper cannot
            hold, or tensors missing, extra or of the wrong shape.
    """
    folder = Path(checkpoint)
    if not folder.is_dir():
        raise ModelError(f"{folder} is not a folder", hint=_HINT)
    dims = _dims(_read_json(folder / "config.json"), folder / "config.json")
    raw = _read_safetensors(folder)
    embedding = raw.get("model.decoder.embed_tokens.weight")
    projection = raw.pop("proj_out.weight", None)
    if projection is not None and (embedding is None or not np.array_equal(projection, embedding)):
        raise ModelError(
            f"{folder}: proj_out.weight differs from the token embedding",
            hint="openai-whisper and whisper.cpp tie the output projection to the embedding",
        )
    state = {_openai_name(name): array for name, array in raw.items()}
    expected = _expected_shapes(dims)
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise ModelError(
            f"{folder}: the weights do not fit Whisper's layout "
            f"(missing {missing[:3]}, unexpected {extra[:3]})",
            hint="only standard Whisper checkpoints can be exported",
        )
    for name, shape in expected.items():
        if tuple(state[name].shape) != shape:
            raise ModelError(
                f"{folder}: {name} has shape {tuple(state[name].shape)}, expected {shape}",
                hint="config.json does not match the weights",
            )
        if state[name].dtype not in (np.float32, np.float16):
            raise ModelError(f"{folder}: {name} is {state[name].dtype}, not float32/float16")
    ordered = {name: state[name] for name in expected}
    return OpenAIWhisperWeights(dims, ordered, _alignment_heads(folder, dims))


def export_openai_whisper(checkpoint: Path, output_dir: Path) -> Path:
    """Write a Hugging Face Whisper checkpoint as openai-whisper's `model.pt` in `output_dir`.

    The result loads with `whisper.load_model(path)`; the weights keep their precision.

    Args:
        checkpoint: a Hugging Face Whisper folder (e.g. what the importer wrote).
        output_dir: the folder to create; it must not exist or be empty.

    Returns:
        The path of the written checkpoint file.

    Raises:
        MissingDependencyError: torch or safetensors is not installed.
        ModelError: see `read_openai_weights`.
        OutputError: `output_dir` is not empty or cannot be written.
    """
    _require("torch", "exporting to openai-whisper")
    import torch

    weights = read_openai_weights(Path(checkpoint))
    dims = weights.dims
    payload = {
        "dims": dict(dims),
        "model_state_dict": {
            name: torch.from_numpy(np.ascontiguousarray(array))
            for name, array in weights.state.items()
        },
        "alignment_heads": encode_alignment_heads(
            weights.alignment_heads, dims["n_text_layer"], dims["n_text_head"]
        ),
    }
    with staged_output_dir(Path(output_dir)) as staging:
        torch.save(payload, staging / OPENAI_CHECKPOINT_NAME)
    log.info("exported %s to openai-whisper in %s", checkpoint, output_dir)
    return Path(output_dir) / OPENAI_CHECKPOINT_NAME

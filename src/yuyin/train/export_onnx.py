"""Export a Hugging Face Whisper checkpoint to the ONNX layout sherpa-onnx runs (issue 13).

`sherpa_onnx.OfflineRecognizer.from_whisper(encoder=, decoder=, tokens=)` takes three files,
which this module writes into one folder:

`encoder.onnx`
    input `mel` (batch, n_mels, frames), log-mel features; frames may be fewer than 3000
    (sherpa-onnx pads only a tail after the speech), so the position embeddings are cut to
    the length the convolutions give. Outputs `n_layer_cross_k` and `n_layer_cross_v`
    (decoder layers, batch, frames / 2, d_model): every decoder layer's cross-attention
    keys and values, computed once per window. The model's metadata carries what the
    runtime reads (`n_mels`, `n_text_layer`, `n_text_ctx`, `n_text_state`, `n_vocab`,
    `sot`, `eot`, `blank_id`, `translate`, `transcribe`, `is_multilingual`,
    `no_timestamps`, `no_speech`, `sot_sequence`, `all_language_tokens`,
    `all_language_codes`, `n_alignment_heads`) plus the other dimensions for people.
`decoder.onnx`
    inputs `tokens` (batch, n) int64, `in_n_layer_self_k_cache` and
    `in_n_layer_self_v_cache` (decoder layers, batch, n_text_ctx, d_model), the two
    cross tensors, and `offset` (1,) int64, the position of the first token. Outputs
    `logits` (batch, n, vocabulary), the two caches with this step's keys and values
    written at `offset`, and `cross_attention_weights` (batch, alignment heads, n,
    frames / 2): the attention of the checkpoint's alignment heads, from which
    sherpa-onnx finds token times by dynamic time warping.
`tokens.txt`
    one `base64(token bytes) id` line per byte-level BPE token; special tokens are left
    out so the runtime never prints them.

The attention is written out here (not transformers' modules called), so the traced graph
has no cache objects or version-dependent branches, and the causal mask is built from
`offset`, which makes one graph right for the whole prompt and for each later token.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yuyin.errors import MissingDependencyError, ModelError
from yuyin.languages import MULTILINGUAL_VOCAB_SIZE
from yuyin.train.staging import staged_output_dir

__all__ = [
    "EXPORTER_VERSION",
    "ONNX_FILES",
    "OnnxWhisperInfo",
    "export_onnx",
    "read_checkpoint_info",
    "token_bytes",
    "write_tokens",
]

log = logging.getLogger(__name__)

#: Bumped whenever the exported graphs change, so cached exports are redone.
EXPORTER_VERSION = 1
#: The files `export_onnx` writes, by role.
ONNX_FILES = {"encoder": "encoder.onnx", "decoder": "decoder.onnx", "tokens": "tokens.txt"}
_OPSET = 17
_FRAMES = 3000  # one 30 s window of 10 ms mel frames


def _byte_decoder() -> dict[str, int]:
    """The inverse of GPT-2's byte-level alphabet: each visible character back to its byte."""
    visible = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    mapping = {chr(b): b for b in visible}
    extra = 0
    for b in range(256):
        if b not in visible:
            mapping[chr(256 + extra)] = b
            extra += 1
    return mapping


_BYTE_DECODER = _byte_decoder()


def token_bytes(token: str) -> bytes:
    """The raw bytes a byte-level BPE token (`Ġthe`, `åľº`) stands for.

    Raises:
        ModelError: a character outside the byte-level alphabet.
    """
    try:
        return bytes(_BYTE_DECODER[c] for c in token)
    except KeyError as exc:
        raise ModelError(
            f"token {token!r} is not a byte-level BPE token",
            hint="only Whisper tokenizers (GPT-2 byte-level BPE) can be exported",
        ) from exc


@dataclass(frozen=True, slots=True)
class OnnxWhisperInfo:
    """What the export found in the checkpoint: the special tokens and model sizes."""

    metadata: dict[str, str]
    vocabulary: dict[int, bytes]
    alignment_heads: tuple[tuple[int, int], ...]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(
            f"{path} is missing",
            hint="pass a Hugging Face Whisper checkpoint folder (config.json, "
            "generation_config.json, tokenizer.json, weights)",
        ) from exc
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path} is not a JSON object")
    return data


def read_checkpoint_info(checkpoint: Path) -> OnnxWhisperInfo:
    """Collect the ONNX metadata and the token table from a checkpoint's JSON files.

    Args:
        checkpoint: a Hugging Face Whisper folder.

    Raises:
        ModelError: a file is missing, or the tokenizer lacks Whisper's special tokens.
    """
    config = _read_json(checkpoint / "config.json")
    if config.get("model_type") != "whisper":
        raise ModelError(
            f"{checkpoint} is not a Whisper checkpoint (model_type {config.get('model_type')!r})",
            hint="export needs a Hugging Face Whisper folder, an embedded model name or a "
            "CTranslate2 Whisper folder",
        )
    generation = _read_json(checkpoint / "generation_config.json")
    tokenizer = _read_json(checkpoint / "tokenizer.json")
    added = {str(t["content"]): int(t["id"]) for t in tokenizer.get("added_tokens", [])}
    vocab = tokenizer.get("model", {}).get("vocab", {})

    def special(*names: str) -> int:
        for name in names:
            if name in added:
                return added[name]
        raise ModelError(
            f"{checkpoint / 'tokenizer.json'} has no {names[0]} token",
            hint="use the tokenizer.json of the Whisper checkpoint the weights came from",
        )

    sot, translate = special("<|startoftranscript|>"), special("<|translate|>")
    languages = sorted((i, name.strip("<|>")) for name, i in added.items() if sot < i < translate)
    by_size = config["vocab_size"] >= MULTILINGUAL_VOCAB_SIZE
    multilingual = bool(generation.get("is_multilingual", by_size))
    transcribe = special("<|transcribe|>")
    english = added.get("<|en|>")
    sot_sequence = [sot, english, transcribe] if multilingual and english else [sot]
    specials = set(added.values())
    vocabulary = {int(i): token_bytes(str(t)) for t, i in vocab.items() if int(i) not in specials}
    heads = tuple((int(a), int(b)) for a, b in generation.get("alignment_heads") or [])
    metadata: dict[str, Any] = {
        "model_type": "whisper-yuyin",
        "version": "1",
        "maintainer": "yuyin",
        "n_mels": config["num_mel_bins"],
        "n_audio_ctx": config["max_source_positions"],
        "n_audio_state": config["d_model"],
        "n_audio_head": config["encoder_attention_heads"],
        "n_audio_layer": config["encoder_layers"],
        "n_vocab": config["vocab_size"],
        "n_text_ctx": config["max_target_positions"],
        "n_text_state": config["d_model"],
        "n_text_head": config["decoder_attention_heads"],
        "n_text_layer": config["decoder_layers"],
        "sot_sequence": ",".join(map(str, sot_sequence)),
        "all_language_tokens": ",".join(str(i) for i, _ in languages),
        "all_language_codes": ",".join(code for _, code in languages),
        "sot": sot,
        "sot_index": 0,
        "eot": special("<|endoftext|>"),
        # The runtime wants the id of a lone space ("Ġ" in byte-level BPE).
        "blank_id": int(vocab.get("Ġ", 220)),
        "is_multilingual": int(multilingual),
        "no_speech": special("<|nospeech|>", "<|nocaptions|>"),
        "transcribe": transcribe,
        "translate": translate,
        "sot_prev": special("<|startofprev|>"),
        "sot_lm": special("<|startoflm|>"),
        "no_timestamps": special("<|notimestamps|>"),
        "n_alignment_heads": len(heads),
    }
    return OnnxWhisperInfo({k: str(v) for k, v in metadata.items()}, vocabulary, heads)


def write_tokens(vocabulary: dict[int, bytes], path: Path) -> None:
    """Write sherpa-onnx's Whisper `tokens.txt`: `base64(bytes) id` per line, in id order.

    Args:
        vocabulary: token id -> the bytes it decodes to; empty tokens are skipped (a line
            needs two fields).
        path: the file to write.
    """
    lines = [
        f"{base64.b64encode(raw).decode('ascii')} {i}\n"
        for i, raw in sorted(vocabulary.items())
        if raw
    ]
    path.write_text("".join(lines), encoding="utf-8")


# --- the graphs ------------------------------------------------------------------------------


def _modules(n_heads_encoder: int, n_heads_decoder: int, heads: tuple[tuple[int, int], ...]) -> Any:
    """The encoder and decoder wrappers, defined here so torch is imported only when used."""
    import torch
    from torch import Tensor, nn
    from torch.nn import functional

    def attend(
        q: Tensor, k: Tensor, v: Tensor, n_head: int, mask: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        batch, n_q, width = q.shape
        head = width // n_head
        qh = q.reshape(batch, n_q, n_head, head).transpose(1, 2) * head**-0.5
        kh = k.reshape(batch, k.shape[1], n_head, head).transpose(1, 2)
        vh = v.reshape(batch, v.shape[1], n_head, head).transpose(1, 2)
        scores = qh @ kh.transpose(-1, -2)
        if mask is not None:
            scores = scores + mask
        weights = torch.softmax(scores.float(), dim=-1).to(q.dtype)
        out = (weights @ vh).transpose(1, 2).reshape(batch, n_q, width)
        return out, weights

    class Encoder(nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.encoder = model.model.encoder
            self.decoder_layers = model.model.decoder.layers

        def forward(self, mel: Tensor) -> tuple[Tensor, Tensor]:
            enc = self.encoder
            x = functional.gelu(enc.conv1(mel))
            x = functional.gelu(enc.conv2(x)).permute(0, 2, 1)
            x = x + enc.embed_positions.weight[: x.shape[1]]
            for layer in enc.layers:
                h = layer.self_attn_layer_norm(x)
                attn = layer.self_attn
                out, _ = attend(
                    attn.q_proj(h), attn.k_proj(h), attn.v_proj(h), n_heads_encoder, None
                )
                x = x + attn.out_proj(out)
                x = x + layer.fc2(functional.gelu(layer.fc1(layer.final_layer_norm(x))))
            x = enc.layer_norm(x)
            keys = [layer.encoder_attn.k_proj(x) for layer in self.decoder_layers]
            values = [layer.encoder_attn.v_proj(x) for layer in self.decoder_layers]
            return torch.stack(keys), torch.stack(values)

    class Decoder(nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.decoder = model.model.decoder
            self.proj_out = model.proj_out

        def forward(
            self,
            tokens: Tensor,
            self_k: Tensor,
            self_v: Tensor,
            cross_k: Tensor,
            cross_v: Tensor,
            offset: Tensor,
        ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
            dec = self.decoder
            start = offset[0]
            end = start + tokens.shape[1]
            x = dec.embed_tokens(tokens) + dec.embed_positions.weight[start:end]
            # Query i sits at position start + i and may see keys 0 .. start + i.
            query_at = torch.arange(tokens.shape[1], device=tokens.device) + start
            key_at = torch.arange(self_k.shape[2], device=tokens.device)[:end]
            blocked = key_at.unsqueeze(0) > query_at.unsqueeze(1)
            mask = torch.zeros(blocked.shape, dtype=x.dtype, device=x.device).masked_fill(
                blocked, torch.finfo(x.dtype).min
            )
            keys, values, alignment = [], [], []
            for i, layer in enumerate(dec.layers):
                h = layer.self_attn_layer_norm(x)
                attn = layer.self_attn
                k_all = torch.cat([self_k[i, :, :start], attn.k_proj(h)], dim=1)
                v_all = torch.cat([self_v[i, :, :start], attn.v_proj(h)], dim=1)
                out, _ = attend(attn.q_proj(h), k_all, v_all, n_heads_decoder, mask)
                x = x + attn.out_proj(out)
                keys.append(torch.cat([k_all, self_k[i, :, end:]], dim=1))
                values.append(torch.cat([v_all, self_v[i, :, end:]], dim=1))
                h = layer.encoder_attn_layer_norm(x)
                cross = layer.encoder_attn
                out, weights = attend(
                    cross.q_proj(h), cross_k[i], cross_v[i], n_heads_decoder, None
                )
                x = x + cross.out_proj(out)
                picked = [head for lay, head in heads if lay == i]
                if picked:
                    alignment.append(weights[:, picked])
                x = x + layer.fc2(functional.gelu(layer.fc1(layer.final_layer_norm(x))))
            x = dec.layer_norm(x)
            # weight @ x, not x @ weight.T: constant folding would store a transposed copy
            # of the (tied) embedding matrix, doubling the file.
            logits = torch.matmul(self.proj_out.weight, x.transpose(1, 2)).transpose(1, 2)
            logits = logits.float()
            if alignment:
                attention = torch.cat(alignment, dim=1).float()
            else:  # a checkpoint without alignment heads: one empty head keeps the layout
                attention = torch.zeros(
                    tokens.shape[0], 1, tokens.shape[1], cross_k.shape[2], device=x.device
                )
            return logits, torch.stack(keys), torch.stack(values), attention

    return Encoder, Decoder


def _export(module: Any, args: tuple[Any, ...], path: Path, **kwargs: Any) -> None:
    import torch

    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of torch.export (which needs
        # onnxscript and cannot slice by a tensor `offset` without graph breaks); it is the
        # route that works here and offline. Its deprecation notices and the tracer's
        # shape warnings (the graph is checked by transcribing with it) are not news.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, args, str(path), dynamo=False, opset_version=_OPSET, do_constant_folding=True,
            **kwargs,
        )  # fmt: skip


def _add_metadata(path: Path, metadata: dict[str, str]) -> None:
    import onnx

    model = onnx.load(str(path))
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def _require(package: str) -> None:
    if importlib.util.find_spec(package) is None:
        raise MissingDependencyError(package, "sherpa-onnx", "exporting Whisper to ONNX")


def export_onnx(checkpoint: str | os.PathLike[str], output_dir: str | os.PathLike[str]) -> Path:
    """Write `encoder.onnx`, `decoder.onnx` and `tokens.txt` for sherpa-onnx into `output_dir`.

    The files are built in a staging folder beside `output_dir`, renamed into place when all
    three are whole.

    Args:
        checkpoint: a Hugging Face Whisper folder (`yuyin.train.cached_import` makes one from
            an embedded or CTranslate2 model).
        output_dir: a missing or empty folder.

    Returns:
        `output_dir`.

    Raises:
        MissingDependencyError: torch, transformers or onnx is missing (`sherpa-onnx` extra).
        ModelError: the checkpoint is not a loadable Whisper model.
        OutputError: `output_dir` is not empty or cannot be written.
    """
    for package in ("torch", "transformers", "onnx"):
        _require(package)
    source, target = Path(checkpoint), Path(output_dir)
    info = read_checkpoint_info(source)
    model = _load(source)
    with staged_output_dir(target) as staging:
        _write(model, info, staging)
    log.info("exported %s to ONNX in %s", source, target)
    return target


def _load(checkpoint: Path) -> Any:
    from transformers import WhisperForConditionalGeneration
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model = WhisperForConditionalGeneration.from_pretrained(
            str(checkpoint), local_files_only=True
        )
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(
            f"cannot load the Whisper checkpoint in {checkpoint}: {exc}",
            hint="it needs config.json and the weights (model.safetensors)",
        ) from exc
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    return model.float().eval()


def _write(model: Any, info: OnnxWhisperInfo, folder: Path) -> None:
    import torch

    config = model.config
    encoder_cls, decoder_cls = _modules(
        config.encoder_attention_heads, config.decoder_attention_heads, info.alignment_heads
    )
    encoder, decoder = encoder_cls(model).eval(), decoder_cls(model).eval()
    layers, width = config.decoder_layers, config.d_model
    with torch.no_grad():
        mel = torch.zeros(1, config.num_mel_bins, _FRAMES)
        cross_k, cross_v = encoder(mel)
        cache = torch.zeros(layers, 1, config.max_target_positions, width)
        # Traced at a later step (offset 3, one token) so no shape is frozen to the prompt's.
        decoder_args = (
            torch.tensor([[int(info.metadata["sot"])]], dtype=torch.int64),
            cache,
            cache.clone(),
            cross_k,
            cross_v,
            torch.tensor([3], dtype=torch.int64),
        )
        encoder_path = folder / ONNX_FILES["encoder"]
        _export(
            encoder, (mel,), encoder_path,
            input_names=["mel"], output_names=["n_layer_cross_k", "n_layer_cross_v"],
            dynamic_axes={
                "mel": {0: "n_audio", 2: "n_frames"},
                "n_layer_cross_k": {1: "n_audio", 2: "n_audio_ctx"},
                "n_layer_cross_v": {1: "n_audio", 2: "n_audio_ctx"},
            },
        )  # fmt: skip
        _export(
            decoder, decoder_args, folder / ONNX_FILES["decoder"],
            input_names=[
                "tokens", "in_n_layer_self_k_cache", "in_n_layer_self_v_cache",
                "n_layer_cross_k", "n_layer_cross_v", "offset",
            ],
            output_names=[
                "logits", "out_n_layer_self_k_cache", "out_n_layer_self_v_cache",
                "cross_attention_weights",
            ],
            dynamic_axes={
                "tokens": {0: "n_audio", 1: "n_tokens"},
                "in_n_layer_self_k_cache": {1: "n_audio"},
                "in_n_layer_self_v_cache": {1: "n_audio"},
                "n_layer_cross_k": {1: "n_audio", 2: "n_audio_ctx"},
                "n_layer_cross_v": {1: "n_audio", 2: "n_audio_ctx"},
                "logits": {0: "n_audio", 1: "n_tokens"},
                "out_n_layer_self_k_cache": {1: "n_audio"},
                "out_n_layer_self_v_cache": {1: "n_audio"},
                "cross_attention_weights": {0: "n_audio", 2: "n_tokens", 3: "n_audio_ctx"},
            },
        )  # fmt: skip
    _add_metadata(encoder_path, info.metadata)
    write_tokens(info.vocabulary, folder / ONNX_FILES["tokens"])

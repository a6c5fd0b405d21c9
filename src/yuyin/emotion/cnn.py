"""The small CNN emotion model (PyTorch, the `train` extra): 1-D convolutions over time.

Input is a window of frame features (1 s by default), standardised with the training set's
per-column mean and deviation (kept in the network as buffers, so they are saved with it).
Three convolution blocks, mean and max pooling over time, dropout, one linear layer. A clip's
probabilities are the mean of its windows'. Training is seeded and stops early on the loss of
speakers held out from the training data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from yuyin.emotion.features import FeatureOptions, single_threaded, windows
from yuyin.emotion.models import EmotionModel, EpochCallback, TrainOptions

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["CnnModel", "EmotionCnn", "fit_cnn"]

_DROPOUT = 0.3
_WEIGHT_DECAY = 1e-4


class EmotionCnn(nn.Module):
    """Conv1d blocks over (batch, frames, dims) windows, pooled over time, then a classifier."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, dims: int, n_classes: int, channels: int = 64) -> None:
        super().__init__()
        self.channels = channels
        self.register_buffer("mean", torch.zeros(dims))
        self.register_buffer("std", torch.ones(dims))
        self.conv = nn.Sequential(
            nn.Conv1d(dims, channels, kernel_size=5, padding=2),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
            nn.MaxPool1d(2),
            nn.Conv1d(channels, channels, kernel_size=5, padding=2),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
            nn.MaxPool1d(2),
            nn.Conv1d(channels, channels, kernel_size=3, padding=1),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(_DROPOUT), nn.Linear(2 * channels, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits shaped (batch, classes) for windows shaped (batch, frames, dims)."""
        h = self.conv(((x - self.mean) / self.std).transpose(1, 2))
        return self.head(torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1))  # type: ignore[no-any-return]


class CnnModel(EmotionModel):
    """A trained `EmotionCnn` with its classes and feature settings.

    Attributes:
        network: the network, in evaluation mode.
        history: per-epoch training record (epoch, train_loss, val_loss, val_uar).
    """

    kind = "cnn"

    def __init__(
        self,
        network: EmotionCnn,
        classes: Sequence[str],
        *,
        history: Sequence[dict[str, float]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(classes, **kwargs)
        self.network = network.eval()
        self.history = list(history)

    @property
    def channels(self) -> int:
        """Convolution channels (needed to rebuild the network from its weights)."""
        return self.network.channels

    def predict_proba(self, clips: Sequence[NDArray[np.float32]]) -> NDArray[np.float64]:
        """Class probabilities shaped (clips, classes): the mean over each clip's windows."""
        out = np.zeros((len(clips), len(self.classes)), dtype=np.float64)
        with torch.inference_mode(), single_threaded():
            for i, frames in enumerate(clips):
                batch = torch.from_numpy(windows(frames, self.features))
                probs = torch.softmax(self.network(batch), dim=1).mean(dim=0)
                out[i] = probs.double().numpy()
        return np.asarray(out / out.sum(axis=1, keepdims=True), dtype=np.float64)


def _split_speakers(
    speakers: Sequence[str], fraction: float, rng: np.random.Generator
) -> NDArray[np.bool_]:
    """A validation mask holding out whole speakers (random clips when speakers are unknown)."""
    names = sorted(set(speakers))
    if len(names) >= 2 and "" not in names:
        held = max(1, round(fraction * len(names)))
        chosen = set(rng.permutation(names)[: min(held, len(names) - 1)].tolist())
        return np.asarray([s in chosen for s in speakers])
    mask = np.zeros(len(speakers), dtype=bool)
    mask[rng.permutation(len(speakers))[: max(1, round(fraction * len(speakers)))]] = True
    return mask


def _windows(
    clips: Sequence[NDArray[np.float32]], y: NDArray[np.int64], features: FeatureOptions
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(windows, their labels, the index of their clip)."""
    parts = [windows(c, features) for c in clips]
    owner = np.concatenate([np.full(len(p), i) for i, p in enumerate(parts)])
    return (
        torch.from_numpy(np.concatenate(parts)),
        torch.from_numpy(y[owner]),
        torch.from_numpy(owner),
    )


def _uar(truth: NDArray[np.int64], predicted: NDArray[np.int64]) -> float:
    """Unweighted average recall over the classes present in `truth`."""
    recalls = [float(np.mean(predicted[truth == c] == c)) for c in np.unique(truth)]
    return float(np.mean(recalls)) if recalls else 0.0


def fit_cnn(
    clips: Sequence[NDArray[np.float32]],
    y: NDArray[np.int64],
    speakers: Sequence[str],
    classes: Sequence[str],
    *,
    label_set: str,
    features: FeatureOptions,
    options: TrainOptions,
    on_epoch: EpochCallback | None = None,
) -> CnnModel:
    """Train the CNN on frame matrices with class indices `y`; see `fit_model`."""
    rng = np.random.default_rng(options.seed)
    torch.manual_seed(options.seed)
    held = _split_speakers(speakers, options.validation_fraction, rng)
    train_idx, val_idx = np.flatnonzero(~held), np.flatnonzero(held)
    x_train, y_train, _ = _windows([clips[i] for i in train_idx.tolist()], y[train_idx], features)
    x_val, y_val, val_owner = _windows([clips[i] for i in val_idx.tolist()], y[val_idx], features)
    network = EmotionCnn(features.frame_dims, len(classes), options.channels)
    flat = x_train.reshape(-1, x_train.shape[-1])
    network.mean.copy_(flat.mean(dim=0))
    network.std.copy_(flat.std(dim=0).clamp_min(1e-3))
    # Class weights against imbalance: each class counts as much as the others.
    counts = torch.bincount(y_train, minlength=len(classes)).float()
    weights = torch.where(counts > 0, counts.sum() / (len(classes) * counts.clamp_min(1)), 0.0)
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    optimiser = torch.optim.Adam(
        network.parameters(), lr=options.learning_rate, weight_decay=_WEIGHT_DECAY
    )
    best_loss, best_state, stale, history = float("inf"), network.state_dict(), 0, []
    order = torch.Generator().manual_seed(options.seed)
    y_clips = y[val_idx]
    for epoch in range(1, options.max_epochs + 1):
        network.train()
        total = 0.0
        for batch in torch.split(torch.randperm(len(x_train), generator=order), options.batch_size):
            if len(batch) < 2:  # BatchNorm needs two windows
                continue
            optimiser.zero_grad()
            loss = loss_fn(network(x_train[batch]), y_train[batch])
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(batch)
        network.eval()
        with torch.inference_mode():
            logits = network(x_val)
            val_loss = float(nn.functional.cross_entropy(logits, y_val, weight=weights))
            probs = torch.softmax(logits, dim=1).numpy()
        clip_probs = np.stack(
            [probs[val_owner.numpy() == i].mean(axis=0) for i in range(len(val_idx))]
        )
        val_uar = _uar(y_clips, np.argmax(clip_probs, axis=1))
        record = {"epoch": epoch, "train_loss": total / len(x_train), "val_loss": val_loss}
        history.append({**record, "val_uar": val_uar})
        if on_epoch is not None:
            on_epoch(epoch, record["train_loss"], val_loss, val_uar)
        if val_loss < best_loss - 1e-4:
            best_loss, stale = val_loss, 0
            best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
        else:
            stale += 1
            if stale >= options.patience:
                break
    network.load_state_dict(best_state)
    return CnnModel(network, classes, history=history, label_set=label_set, features=features)


def build_cnn(
    state: dict[str, torch.Tensor], classes: Sequence[str], channels: int, **kwargs: Any
) -> CnnModel:
    """A `CnnModel` from saved weights (see `yuyin.emotion.store`)."""
    features: FeatureOptions = kwargs["features"]
    network = EmotionCnn(features.frame_dims, len(classes), channels)
    network.load_state_dict(state)
    return CnnModel(network, classes, **kwargs)

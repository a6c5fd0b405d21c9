"""Training batches for Whisper: stacked inputs and labels padded with -100 (needs torch only)."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["Collator"]


class Collator:
    """Stacks a batch; pads labels with -100 (ignored by the loss)."""

    def __init__(self, decoder_start_token_id: int) -> None:
        self.decoder_start_token_id = decoder_start_token_id

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """One batch: `input_features` (or `encoder_outputs`) and `labels`."""
        batch: dict[str, Any] = {}
        if "encoder_hidden" in items[0]:
            # A tuple, as the model returns it: the Trainer moves it to the device as is.
            batch["encoder_outputs"] = (torch.stack([i["encoder_hidden"] for i in items]),)
        else:
            batch["input_features"] = torch.stack([i["input_features"] for i in items])
        longest = max(len(i["labels"]) for i in items)
        labels = torch.full((len(items), longest), -100, dtype=torch.long)
        for row, item in enumerate(items):
            labels[row, : len(item["labels"])] = torch.tensor(item["labels"], dtype=torch.long)
        # The model prepends the start token itself when it shifts labels right.
        if bool((labels[:, 0] == self.decoder_start_token_id).all()):
            labels = labels[:, 1:]
        batch["labels"] = labels
        return batch

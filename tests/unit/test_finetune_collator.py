"""The training batch: labels padded with -100, the start token left to the model."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from yuyin.finetune.batching import Collator  # noqa: E402

SOT = 50257


def test_labels_are_padded_with_minus_100_and_lose_the_start_token():
    items = [
        {"input_features": torch.zeros(80, 3000), "labels": [SOT, 50362, 11, 12, 50256]},
        {"input_features": torch.ones(80, 3000), "labels": [SOT, 50362, 13, 50256]},
    ]
    batch = Collator(SOT)(items)
    assert batch["input_features"].shape == (2, 80, 3000)
    assert batch["labels"].tolist() == [[50362, 11, 12, 50256], [50362, 13, 50256, -100]]
    assert batch["labels"].dtype == torch.long


def test_the_start_token_stays_when_not_every_row_begins_with_it():
    items = [
        {"input_features": torch.zeros(80, 3000), "labels": [SOT, 1]},
        {"input_features": torch.zeros(80, 3000), "labels": [2, 3]},
    ]
    assert Collator(SOT)(items)["labels"].tolist() == [[SOT, 1], [2, 3]]


def test_cached_encoder_outputs_go_in_as_the_models_tuple():
    hidden = [torch.full((1500, 384), float(k)) for k in range(3)]
    items = [{"encoder_hidden": h, "labels": [SOT, 7]} for h in hidden]
    batch = Collator(SOT)(items)
    assert "input_features" not in batch
    (stacked,) = batch["encoder_outputs"]
    assert stacked.shape == (3, 1500, 384)
    assert stacked[2, 0, 0].item() == 2.0
    assert batch["labels"].tolist() == [[7], [7], [7]]

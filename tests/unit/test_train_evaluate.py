"""The whole-split loss: every token a target once, the same number as a loop over positions."""

from __future__ import annotations

import math

import pytest
import torch

from gpt.config import preset
from gpt.model import GPT
from gpt.train.evaluate import whole_split_loss


@pytest.mark.parametrize("n_tokens", [17, 40, 41, 100])  # one window + 1, partial last window, exact fit
def test_it_equals_the_mean_over_every_target_of_back_to_back_windows(n_tokens: int) -> None:
    torch.manual_seed(0)
    model = GPT(preset("tiny")).eval()  # context 16
    ids = torch.randint(0, 64, (n_tokens,))
    block, losses = model.config.block_size, []
    for start in range(0, n_tokens - 1, block):
        x = ids[start : min(start + block, n_tokens - 1)]
        y = ids[start + 1 : start + 1 + x.numel()]
        logits, _ = model(x[None])
        losses += torch.nn.functional.cross_entropy(logits[0], y, reduction="none").tolist()
    assert len(losses) == n_tokens - 1
    assert whole_split_loss(model, ids, batch_size=2) == pytest.approx(sum(losses) / len(losses), rel=1e-5)


def test_an_untrained_model_scores_about_ln_vocab_and_training_mode_is_kept() -> None:
    model = GPT(preset("tiny")).train()
    loss = whole_split_loss(model, torch.randint(0, 64, (300,)))
    assert abs(loss - math.log(64)) < 0.2 and model.training


def test_a_split_of_one_token_is_refused() -> None:
    with pytest.raises(ValueError, match="at least two tokens"):
        whole_split_loss(GPT(preset("tiny")), torch.tensor([3]))

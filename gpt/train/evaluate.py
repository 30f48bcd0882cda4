"""The loss over a whole split: every token predicted once, not a handful of random batches."""

from __future__ import annotations

import torch

from gpt.model import GPT


@torch.no_grad()
def whole_split_loss(model: GPT, ids: torch.Tensor, batch_size: int = 32) -> float:
    """Mean next-token loss over every token of ``ids`` (a 1-D split) after the first.

    The split is cut into back-to-back windows of the model's context, so each token is a target
    exactly once, predicted from the tokens before it in its window (at most ``block_size`` of them;
    the first of each window from none but itself). That is the usual "whole validation set" figure:
    it has no sampling noise, and it is a little higher than an estimate from random windows, whose
    targets sit on average halfway into the context.
    """
    block = model.config.block_size
    n_targets = ids.numel() - 1
    if n_targets < 1:
        raise ValueError("a split needs at least two tokens for one prediction")
    was_training = model.training
    model.eval()
    device = model.wte.weight.device
    full_windows = n_targets // block
    batches = [
        (list(range(first, min(first + batch_size, full_windows))), block)
        for first in range(0, full_windows, batch_size)
    ]
    if n_targets % block:
        batches.append(([full_windows], n_targets % block))  # the shorter last window
    total = 0.0
    for windows, size in batches:
        x = torch.stack([ids[w * block : w * block + size] for w in windows]).to(device)
        y = torch.stack([ids[w * block + 1 : w * block + 1 + size] for w in windows]).to(device)
        logits, _ = model(x)
        total += float(torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum"))
    model.train(was_training)
    return total / n_targets

"""Lab 5: from averaging the past to attention (Karpathy's "mathematical trick").

Three ways to give position t the mean of positions 0..t — a loop, a matmul with a normalised
lower-triangular matrix, and a softmax over masked zero scores — must agree. Replacing the zero
scores by q . k makes the weights depend on the data: that is self-attention.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gpt.attention import AttentionSteps, attention_steps
from gpt.labs._rng import seeded

KARPATHY_SEED = 1337
LECTURE_HEAD_SIZE = 16  # version 4's head
# What the lecture prints, at 4 decimals: x[0, 0] of randn(4, 8, 2), and rows of version 4's (unscaled)
# weights on batch 0 of randn(4, 8, 32), by row index.
LECTURE_X_0_0 = (0.1808, -0.0700)
LECTURE_HEAD_WEIGHTS_ROWS: dict[int, tuple[float, ...]] = {1: (0.1574, 0.8426), 2: (0.2088, 0.1646, 0.6266)}


def is_lecture_example(seed: int, head_size: int, scale: bool) -> bool:
    """The lecture's version 4 (its seed, head size 16, no scaling): LECTURE_HEAD_WEIGHTS_ROWS apply."""
    return seed == KARPATHY_SEED and head_size == LECTURE_HEAD_SIZE and not scale


def karpathy_x(batch: int = 4, time: int = 8, channels: int = 2, seed: int = KARPATHY_SEED) -> torch.Tensor:
    """``torch.manual_seed(1337); x = torch.randn(B, T, C)``."""
    with seeded(seed):
        return torch.randn(batch, time, channels)


def average_loop(x: torch.Tensor) -> torch.Tensor:
    """Version 1: explicit loop. x: (..., T, C) -> (..., T, C), row t = mean of rows 0..t."""
    out = torch.zeros_like(x)
    for t in range(x.shape[-2]):
        out[..., t, :] = x[..., : t + 1, :].mean(dim=-2)
    return out


def tril_weights(t: int) -> torch.Tensor:
    """Version 2's (T, T) matrix: lower-triangular ones, each row divided by its sum."""
    wei = torch.tril(torch.ones(t, t))
    return wei / wei.sum(dim=1, keepdim=True)


def average_matmul(x: torch.Tensor) -> torch.Tensor:
    """Version 2: (T, T) @ (..., T, C); the weights broadcast over the batch."""
    return tril_weights(x.shape[-2]) @ x


def average_softmax(x: torch.Tensor) -> AttentionSteps:
    """Version 3: all-zero scores, future masked to -inf, softmax -> uniform weights over the past.

    Zero scores are what ``attention_steps`` computes from all-zero queries, so this is attention
    with nothing to prefer.
    """
    zeros = torch.zeros_like(x)
    return attention_steps(zeros, zeros, x, scale=False, causal=True)


@dataclass(frozen=True)
class ThreeWays:
    loop: torch.Tensor
    matmul: torch.Tensor
    softmax: torch.Tensor
    weights: torch.Tensor  # (T, T) the shared averaging matrix
    all_close: bool
    max_abs_diff: float


def three_ways(x: torch.Tensor) -> ThreeWays:
    loop = average_loop(x)
    matmul = average_matmul(x)
    soft = average_softmax(x)
    diff = max(float((loop - matmul).abs().max()), float((loop - soft.context_vec).abs().max()))
    close = torch.allclose(loop, matmul, atol=1e-6) and torch.allclose(loop, soft.context_vec, atol=1e-6)
    return ThreeWays(loop, matmul, soft.context_vec, tril_weights(x.shape[-2]), close, diff)


@dataclass(frozen=True)
class HeadDemo:
    x: torch.Tensor  # (B, T, C)
    queries: torch.Tensor  # (B, T, hs)
    keys: torch.Tensor  # (B, T, hs)
    values: torch.Tensor  # (B, T, hs)
    steps: AttentionSteps  # weights (B, T, T)


def _head(x: torch.Tensor, head_size: int, scale: bool) -> HeadDemo:
    channels = x.shape[-1]
    key, query, value = (nn.Linear(channels, head_size, bias=False) for _ in range(3))  # the lecture's order
    with torch.no_grad():
        k, q, v = key(x), query(x), value(x)
    return HeadDemo(x, q, k, v, attention_steps(q, k, v, scale=scale, causal=True))


def head_on(x: torch.Tensor, head_size: int, *, seed: int, scale: bool) -> HeadDemo:
    """A single causal head with seeded key/query/value layers applied to given x (..., T, C)."""
    if head_size < 1:
        raise ValueError("head size must be at least 1")
    with seeded(seed):
        return _head(x, head_size, scale)


def karpathy_head(
    *,
    seed: int = KARPATHY_SEED,
    batch: int = 4,
    time: int = 8,
    channels: int = 32,
    head_size: int = LECTURE_HEAD_SIZE,
    scale: bool,
) -> HeadDemo:
    """Version 4 exactly as in the lecture: seed, x = randn(B, T, C), then key/query/value layers."""
    with seeded(seed):
        x = torch.randn(batch, time, channels)
        return _head(x, head_size, scale)

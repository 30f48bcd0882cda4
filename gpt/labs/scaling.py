"""Lab 6: why the scores are divided by sqrt(d_k).

For q, k with independent unit-variance entries, q . k is a sum of d_k products of variance 1,
so its variance is d_k. Large scores push softmax towards one-hot; dividing by sqrt(d_k) brings
the variance back to 1 whatever the head size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

KARPATHY_SCORES: tuple[float, ...] = (0.1, -0.2, 0.3, -0.2, 0.5)  # the lecture's softmax example
LECTURE_SHARPEN_FACTOR = 8  # the lecture multiplies the scores by 8
# What the lecture prints, at 4 decimals: softmax(KARPATHY_SCORES) and softmax(8 * KARPATHY_SCORES).
LECTURE_SOFTMAX: tuple[float, ...] = (0.1925, 0.1426, 0.2351, 0.1426, 0.2872)
LECTURE_SHARPENED: tuple[float, ...] = (0.0326, 0.0030, 0.1615, 0.0030, 0.8000)


@dataclass(frozen=True)
class ScoreSample:
    head_size: int
    raw_scores: torch.Tensor  # (n,) q . k
    scaled_scores: torch.Tensor  # (n,) q . k / sqrt(head_size)
    var_raw: float
    var_scaled: float


def score_sample(head_size: int, n_samples: int, seed: int = 0) -> ScoreSample:
    """Draw n independent pairs q, k ~ N(0, I_{head_size}) and measure the variance of their scores."""
    if head_size < 1 or n_samples < 2:
        raise ValueError("head size must be >= 1 and at least 2 samples are needed")
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(n_samples, head_size, generator=gen, dtype=torch.float64)
    k = torch.randn(n_samples, head_size, generator=gen, dtype=torch.float64)
    raw = (q * k).sum(dim=-1)  # (n,)
    scaled = raw / math.sqrt(head_size)
    return ScoreSample(head_size, raw, scaled, float(raw.var()), float(scaled.var()))


def variance_curve(head_sizes: Sequence[int], n_samples: int, seed: int = 0) -> list[ScoreSample]:
    return [score_sample(h, n_samples, seed) for h in head_sizes]


def sharpen(scores: Sequence[float], factor: float) -> torch.Tensor:
    """softmax(factor * scores): the larger the factor, the closer to one-hot."""
    return torch.softmax(torch.tensor(list(scores), dtype=torch.float32) * factor, dim=-1)


def entropy_bits(probs: torch.Tensor) -> float:
    """How spread a distribution is: log2(n) bits for uniform, 0 for one-hot."""
    p = probs[probs > 0]
    return float(-(p * torch.log2(p)).sum())

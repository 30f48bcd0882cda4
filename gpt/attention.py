"""The attention computation written as the steps a teacher shows, one function.

softmax(mask(Q K^T / sqrt(d_k))) V

The model's inspection path, the lazy per-head views of a trace and the labs all call
``attention_steps``; the training path calls PyTorch's fused kernel, and a test proves
the two agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class AttentionSteps:
    """Every intermediate of one attention computation. Shapes are (..., T, T) or (..., T, hs)."""

    raw_scores: torch.Tensor  # Q K^T
    scaled_scores: torch.Tensor  # Q K^T / sqrt(d_k)   (equal to raw_scores when scaling is off)
    masked_scores: torch.Tensor  # -inf above the diagonal (equal to scaled_scores when unmasked)
    attn_weights: torch.Tensor  # softmax over the last dim, before dropout
    context_vec: torch.Tensor  # attn_weights @ V
    d_k: int  # head size the scores were divided by the square root of


def causal_mask(t: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Boolean (T, T) mask, True where a query may NOT look (keys in its future)."""
    return torch.triu(torch.ones(t, t, dtype=torch.bool, device=device), diagonal=1)


def attention_steps(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: bool = True,
    causal: bool = True,
) -> AttentionSteps:
    """Scaled dot-product attention, keeping every step. q, k, v: (..., T, d_k)."""
    d_k = q.shape[-1]
    raw_scores = q @ k.transpose(-2, -1)  # (..., T, T)
    scaled_scores = raw_scores / math.sqrt(d_k) if scale else raw_scores
    if causal:
        mask = causal_mask(q.shape[-2], device=q.device)
        masked_scores = scaled_scores.masked_fill(mask, float("-inf"))
    else:
        masked_scores = scaled_scores
    attn_weights = torch.softmax(masked_scores, dim=-1)
    context_vec = attn_weights @ v  # (..., T, d_k)
    return AttentionSteps(raw_scores, scaled_scores, masked_scores, attn_weights, context_vec, d_k)

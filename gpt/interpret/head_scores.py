"""Numbers that say what kind of head a head is, from its attention weights.

All functions take weights of shape (..., T, T) (rows: queries, columns: keys; rows sum
to 1) and return one score per head in [0, 1] (entropy is in nats).
"""

from __future__ import annotations

import math

import torch

# A head counts as an induction head from this induction score on: on the repeated sequence it
# then puts at least 0.4 of its attention on the one right token (the value TransformerLens's
# induction demos use; a head spreading its attention evenly scores below 1/period).
INDUCTION_HEAD_MIN_SCORE = 0.4


def previous_token_score(weights: torch.Tensor) -> torch.Tensor:
    """Mean weight each query puts on the token just before it (queries 1..T-1)."""
    if weights.shape[-1] < 2:
        return torch.zeros(weights.shape[:-2])
    return torch.diagonal(weights, offset=-1, dim1=-2, dim2=-1).mean(dim=-1)


def first_token_score(weights: torch.Tensor) -> torch.Tensor:
    """Mean weight queries 1..T-1 put on token 0 (an 'attention sink')."""
    if weights.shape[-1] < 2:
        return torch.zeros(weights.shape[:-2])
    return weights[..., 1:, 0].mean(dim=-1)


def self_score(weights: torch.Tensor) -> torch.Tensor:
    """Mean weight each query puts on itself."""
    return torch.diagonal(weights, dim1=-2, dim2=-1).mean(dim=-1)


def induction_score(weights: torch.Tensor, period: int) -> torch.Tensor:
    """For a sequence that repeats with ``period`` (A B C ... A B C ...), the mean weight a
    query in the repeat puts on the token that FOLLOWED its previous occurrence: the
    signature of an induction head ("last time after A came B, so look at B")."""
    T = weights.shape[-1]
    if period < 1 or T <= period:
        return torch.zeros(weights.shape[:-2])
    queries = torch.arange(period, T)
    keys = queries - period + 1
    return weights[..., queries, keys].mean(dim=-1)


def entropy(weights: torch.Tensor) -> torch.Tensor:
    """Mean entropy (nats) of the query rows; low = focused, high = spread out."""
    p = weights.clamp_min(1e-12)
    return -(weights * p.log()).sum(dim=-1).mean(dim=-1)


def max_entropy(t: int) -> float:
    """Mean entropy of uniform causal attention over T tokens (row i spreads over i+1 keys)."""
    return sum(math.log(i + 1) for i in range(t)) / max(t, 1)


def repeated_random_tokens(vocab_size: int, period: int, repeats: int = 2, seed: int = 0) -> list[int]:
    """A random token sequence repeated ``repeats`` times, to reveal induction heads."""
    if period < 1 or repeats < 2:
        raise ValueError("need a period of at least 1 and at least 2 repeats")
    g = torch.Generator().manual_seed(seed)
    block = torch.randint(0, vocab_size, (period,), generator=g).tolist()
    return block * repeats


def head_scores(weights: torch.Tensor, period: int | None = None) -> dict[str, torch.Tensor]:
    """All scores for (..., T, T) weights; induction only when the input repeats with ``period``."""
    scores = {
        "previous_token": previous_token_score(weights),
        "first_token": first_token_score(weights),
        "self": self_score(weights),
        "entropy": entropy(weights),
    }
    if period:
        scores["induction"] = induction_score(weights, period)
    return scores

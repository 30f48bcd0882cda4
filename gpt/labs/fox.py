"""Lab 4: the one-hot + toy-position example and the "fox" query of Siddharth T.'s article
("Lets build a GPT style LLM from scratch - Part 2a"; the citation is in ``gpt.labs.catalog``).

The article prints its arithmetic; we redo it exactly and keep the printed values next to it,
because several printed scores do not match their own sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from gpt.attention import attention_steps

FOUR_WORDS: tuple[str, ...] = ("The", "quick", "brown", "fox")
TOY_POSITION_STEP = 0.1  # position p gets the constant vector 0.1 * (p + 1)
# The article's one-hot + position inputs for the four words, as it prints them.
ARTICLE_TOY_INPUTS: tuple[tuple[float, ...], ...] = (
    (1.1, 0.1, 0.1, 0.1),
    (0.2, 1.2, 0.2, 0.2),
    (0.3, 0.3, 1.3, 0.3),
    (0.4, 0.4, 0.4, 1.4),
)

FOX_TOKENS: tuple[str, ...] = ("The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog")
FOX_QUERY: tuple[float, ...] = (0.2, 0.3, 0.1, 0.4)
FOX_KEYS: tuple[tuple[float, ...], ...] = (
    (0.1, 0.2, 0.3, 0.4),
    (0.4, 0.1, 0.3, 0.2),
    (0.2, 0.3, 0.4, 0.1),
    (0.3, 0.4, 0.2, 0.1),
    (0.1, 0.3, 0.2, 0.4),
    (0.4, 0.2, 0.1, 0.3),
    (0.2, 0.1, 0.4, 0.3),
    (0.3, 0.2, 0.1, 0.4),
    (0.1, 0.4, 0.3, 0.2),
)
# What the article prints for the dot products and the softmax weights.
ARTICLE_SCORES: tuple[float, ...] = (0.28, 0.24, 0.27, 0.28, 0.29, 0.27, 0.26, 0.28, 0.26)
ARTICLE_WEIGHTS: tuple[float, ...] = (0.11, 0.09, 0.10, 0.11, 0.12, 0.10, 0.10, 0.11, 0.10)


@dataclass(frozen=True)
class ToyPositions:
    one_hot: torch.Tensor  # (n, n)
    positions: torch.Tensor  # (n, n) row p = step * (p + 1)
    combined: torch.Tensor  # (n, n)


def toy_positions(n_words: int, step: float = TOY_POSITION_STEP) -> ToyPositions:
    """One-hot word vectors plus the article's constant-per-position vectors."""
    if n_words < 1:
        raise ValueError("need at least one word")
    hot = torch.eye(n_words, dtype=torch.float64)
    pos = (torch.arange(n_words, dtype=torch.float64) + 1).unsqueeze(1) * step * torch.ones(1, n_words)
    return ToyPositions(hot, pos, hot + pos)


@dataclass(frozen=True)
class FoxQuery:
    attn_scores: torch.Tensor  # (T,) q . k_i, exact
    attn_weights: torch.Tensor  # (T,) softmax of the exact scores
    context_vec: torch.Tensor  # (d_v,)
    score_error: torch.Tensor  # (T,) printed - exact; non-zero where the article's arithmetic slipped
    weights_of_printed_scores: torch.Tensor  # (T,) softmax of the article's own (wrong) scores
    printed_weights_sum: float  # the article's weights add up to this, not 1


def fox_query(
    query: Sequence[float],
    keys: Sequence[Sequence[float]],
    values: Sequence[Sequence[float]],
    *,
    scale: bool = False,
    printed_scores: Sequence[float] = ARTICLE_SCORES,
    printed_weights: Sequence[float] = ARTICLE_WEIGHTS,
) -> FoxQuery:
    """One query against all keys in float64 (the article does not scale; ``scale`` divides by sqrt(d))."""
    q = torch.tensor([list(query)], dtype=torch.float64)  # (1, d)
    k = torch.tensor([list(row) for row in keys], dtype=torch.float64)  # (T, d)
    v = torch.tensor([list(row) for row in values], dtype=torch.float64)  # (T, d_v)
    if q.shape[1] != k.shape[1] or k.shape[0] != v.shape[0]:
        raise ValueError("the query and the keys need the same length, and there must be one value per key")
    steps = attention_steps(q, k, v, scale=scale, causal=False)
    printed = torch.tensor(list(printed_scores), dtype=torch.float64)
    scores = steps.raw_scores[0]
    same_length = printed.shape[0] == scores.shape[0]
    return FoxQuery(
        attn_scores=scores,
        attn_weights=steps.attn_weights[0],
        context_vec=steps.context_vec[0],
        score_error=(printed - scores) if same_length else torch.full_like(scores, float("nan")),
        weights_of_printed_scores=torch.softmax(printed, dim=-1),
        printed_weights_sum=float(sum(printed_weights)),
    )

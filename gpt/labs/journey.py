"""Lab 1: self-attention on "Your journey starts with one step" (Raschka, ch. 3.3-3.6).

The book builds attention up in stages; every stage here is one function, in the book's order:
simplified attention (q = k = v = the inputs, no scaling), trainable W_q/W_k/W_v, causal
masking (two ways), dropout on the weights, and two heads side by side. Every
softmax(QK^T/sqrt(d))V goes through ``gpt.attention.attention_steps``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gpt.attention import AttentionSteps, attention_steps, causal_mask
from gpt.labs._rng import seeded

JOURNEY_TOKENS: tuple[str, ...] = ("Your", "journey", "starts", "with", "one", "step")
# The book's 3-dimensional embeddings, one row per token.
JOURNEY_INPUTS: tuple[tuple[float, float, float], ...] = (
    (0.43, 0.15, 0.89),
    (0.55, 0.87, 0.66),
    (0.57, 0.85, 0.64),
    (0.22, 0.58, 0.33),
    (0.77, 0.25, 0.10),
    (0.05, 0.80, 0.55),
)
BOOK_RAND_SEED = 123  # ch. 3.4.1: torch.rand weights
BOOK_LINEAR_SEED = 789  # ch. 3.4.2 / 3.5: nn.Linear weights (SelfAttention_v2)
BOOK_DROPOUT_SEED = 123  # ch. 3.5.2
BOOK_HEADS_SEED = 123  # ch. 3.6.1
BOOK_QUERY_INDEX = 1  # the book's query x(2) is "journey"
BOOK_D_OUT = 2  # size of q, k, v in 3.4-3.6
BOOK_HEADS = 2  # 3.6.1: two heads side by side
BOOK_DROPOUT_P = 0.5  # 3.5.2

# ---- what the book prints, at its 4 decimals: the page's "book check" lines and the tests ------
# 3.3.1, query x(2) = "journey": scores, scores / their sum, softmax, context vector z(2)
BOOK_SCORES_QUERY_2 = (0.9544, 1.4950, 1.4754, 0.8434, 0.7070, 1.0865)
BOOK_NAIVE_WEIGHTS_QUERY_2 = (0.1455, 0.2278, 0.2249, 0.1285, 0.1077, 0.1656)
BOOK_WEIGHTS_QUERY_2 = (0.1385, 0.2379, 0.2333, 0.1240, 0.1082, 0.1581)
BOOK_CONTEXT_QUERY_2 = (0.4419, 0.6515, 0.5683)
# 3.3.2, every token as the query: rows of softmax(X X^T) by row index, and all context vectors
BOOK_ALL_WEIGHTS_ROWS: dict[int, tuple[float, ...]] = {
    0: (0.2098, 0.2006, 0.1981, 0.1242, 0.1220, 0.1452),
    5: (0.1385, 0.2184, 0.2128, 0.1420, 0.0988, 0.1896),
}
BOOK_ALL_CONTEXT: tuple[tuple[float, ...], ...] = (
    (0.4421, 0.5931, 0.5790),
    (0.4419, 0.6515, 0.5683),
    (0.4431, 0.6496, 0.5671),
    (0.4304, 0.6298, 0.5510),
    (0.4671, 0.5910, 0.5266),
    (0.4177, 0.6503, 0.5645),
)
# 3.4.1, torch.rand weights (BOOK_RAND_SEED, d_out 2), query "journey"; 3.4.2 SelfAttention_v1's first row
BOOK_TRAINABLE_QUERY_2 = (0.4306, 1.4551)
BOOK_TRAINABLE_SCORES_2 = (1.2705, 1.8524, 1.8111, 1.0795, 0.5577, 1.5440)
BOOK_TRAINABLE_WEIGHTS_2 = (0.1500, 0.2264, 0.2199, 0.1311, 0.0906, 0.1820)
BOOK_TRAINABLE_CONTEXT_2 = (0.3061, 0.8210)
BOOK_TRAINABLE_CONTEXT_1 = (0.2996, 0.8053)
# 3.4.2 / 3.5.1, nn.Linear weights (BOOK_LINEAR_SEED): SelfAttention_v2's first row, causal weights by row
BOOK_LINEAR_CONTEXT_1 = (-0.0739, 0.0713)
BOOK_RENORMALISED_ROWS: dict[int, tuple[float, ...]] = {1: (0.5517, 0.4483, 0, 0, 0, 0)}
BOOK_CAUSAL_ROWS: dict[int, tuple[float, ...]] = {2: (0.3800, 0.3097, 0.3103, 0, 0, 0)}
# 3.5.2, dropout with p = BOOK_DROPOUT_P after BOOK_DROPOUT_SEED: on a 6x6 matrix of ones, and on the causal weights
BOOK_DROPOUT_ONES_ROWS: dict[int, tuple[float, ...]] = {0: (2, 2, 0, 2, 2, 0), 1: (0, 0, 0, 2, 0, 2)}
BOOK_DROPOUT_WEIGHTS_ROWS: dict[int, tuple[float, ...]] = {
    2: (0.7599, 0.6194, 0.6206, 0, 0, 0),
    5: (0, 0.3327, 0.3331, 0.3084, 0.3331, 0),
}
# 3.6.1, MultiHeadAttentionWrapper (BOOK_HEADS_SEED, d_out 2, two heads): first and last rows of the 6x4 result
BOOK_HEADS_CONTEXT_FIRST = (-0.4519, 0.2216, 0.4772, 0.1063)
BOOK_HEADS_CONTEXT_LAST = (-0.5299, -0.1081, 0.5077, 0.3493)


def journey_inputs() -> torch.Tensor:
    """The book's (6, 3) input embeddings."""
    return torch.tensor(JOURNEY_INPUTS, dtype=torch.float32)


def is_book_inputs(inputs: object) -> bool:
    """True for the book's six embeddings (a tensor, array or nested list, up to float rounding)."""
    values = np.asarray(inputs, dtype=np.float64)
    book = np.asarray(JOURNEY_INPUTS, dtype=np.float64)
    return values.shape == book.shape and bool(np.allclose(values, book))


def is_book_example(inputs: object, query_index: int) -> bool:
    """The book's inputs and its query "journey": the BOOK_*_QUERY_2 numbers apply."""
    return query_index == BOOK_QUERY_INDEX and is_book_inputs(inputs)


def is_book_trainable(inputs: object, seed: int, d_out: int) -> bool:
    """The book's 3.4.1 set-up: its inputs, torch.rand weights after BOOK_RAND_SEED, d_out 2."""
    return seed == BOOK_RAND_SEED and d_out == BOOK_D_OUT and is_book_inputs(inputs)


def is_book_heads(inputs: object, n_heads: int, d_out: int, seed: int) -> bool:
    """The book's 3.6.1 set-up: its inputs, two heads of d_out 2 after BOOK_HEADS_SEED."""
    return (n_heads, d_out, seed) == (BOOK_HEADS, BOOK_D_OUT, BOOK_HEADS_SEED) and is_book_inputs(inputs)


# ---- 3.3: no trainable weights ---------------------------------------------------------------


@dataclass(frozen=True)
class QueryView:
    """One query row of the simplified attention, with the two normalisations the book compares."""

    query_index: int
    attn_scores: torch.Tensor  # (T,)  x_i . x_q
    naive_weights: torch.Tensor  # (T,)  scores / sum(scores)
    attn_weights: torch.Tensor  # (T,)  softmax(scores)
    context_vec: torch.Tensor  # (d,)  sum_i weight_i x_i


def simplified_steps(inputs: torch.Tensor) -> AttentionSteps:
    """All queries at once: Q = K = V = inputs, no scaling, no mask. inputs: (T, d)."""
    return attention_steps(inputs, inputs, inputs, scale=False, causal=False)


def query_view(inputs: torch.Tensor, query_index: int) -> QueryView:
    """The book's single-query walk-through (the query "journey" is index 1)."""
    if not 0 <= query_index < inputs.shape[0]:
        raise ValueError(f"query index {query_index} outside 0..{inputs.shape[0] - 1}")
    steps = simplified_steps(inputs)
    scores = steps.raw_scores[query_index]  # (T,)
    return QueryView(
        query_index=query_index,
        attn_scores=scores,
        naive_weights=naive_normalise(scores),
        attn_weights=steps.attn_weights[query_index],
        context_vec=steps.context_vec[query_index],
    )


def naive_normalise(scores: torch.Tensor) -> torch.Tensor:
    """Divide by the sum: sums to 1 but can go negative (or blow up when the sum is near 0)."""
    return scores / scores.sum(dim=-1, keepdim=True)


def softmax_naive(scores: torch.Tensor) -> torch.Tensor:
    """exp(x) / sum exp(x) taken literally; overflows to inf (and then nan) for large scores."""
    return torch.exp(scores) / torch.exp(scores).sum(dim=-1, keepdim=True)


@dataclass(frozen=True)
class OverflowDemo:
    factor: float
    big_scores: torch.Tensor  # (T,) scores * factor
    naive: torch.Tensor  # (T,) softmax_naive: nan once exp overflows float32
    stable: torch.Tensor  # (T,) torch.softmax subtracts the max first and stays finite
    overflowed: bool


def overflow_demo(scores: torch.Tensor, factor: float) -> OverflowDemo:
    """Multiply the scores until exp() leaves float32's range (~88.7) and compare both softmaxes."""
    big = scores.to(torch.float32) * factor
    naive = softmax_naive(big)
    return OverflowDemo(factor, big, naive, torch.softmax(big, dim=-1), bool(torch.isnan(naive).any().item()))


# ---- 3.4: trainable weights ------------------------------------------------------------------


@dataclass(frozen=True)
class QKVWeights:
    """One head's projections, each (d_in, d_out), applied as x @ W."""

    w_query: torch.Tensor
    w_key: torch.Tensor
    w_value: torch.Tensor


def rand_qkv_weights(d_in: int, d_out: int, seed: int = BOOK_RAND_SEED) -> QKVWeights:
    """Ch. 3.4.1: three torch.rand(d_in, d_out) matrices right after torch.manual_seed(seed)."""
    with seeded(seed):
        w_query, w_key, w_value = (torch.rand(d_in, d_out) for _ in range(3))
    return QKVWeights(w_query, w_key, w_value)


def linear_qkv_weights(d_in: int, d_out: int, seed: int, n_heads: int = 1) -> list[QKVWeights]:
    """Ch. 3.4.2 / 3.6: nn.Linear(d_in, d_out, bias=False) for query, key, value, head after head.

    Creating the layers in the book's order after one seed gives the book's exact weights.
    """
    heads = []
    with seeded(seed):
        for _ in range(n_heads):
            layers = [nn.Linear(d_in, d_out, bias=False) for _ in range(3)]  # query, key, value
            w_query, w_key, w_value = (layer.weight.detach().T.contiguous() for layer in layers)
            heads.append(QKVWeights(w_query, w_key, w_value))
    return heads


@dataclass(frozen=True)
class ProjectedAttention:
    queries: torch.Tensor  # (T, d_out)
    keys: torch.Tensor  # (T, d_out)
    values: torch.Tensor  # (T, d_out)
    steps: AttentionSteps  # scaled by sqrt(d_out)


def project_and_attend(inputs: torch.Tensor, weights: QKVWeights, *, causal: bool) -> ProjectedAttention:
    """Q = X W_q, K = X W_k, V = X W_v, then scaled dot-product attention. inputs: (T, d_in)."""
    queries = inputs @ weights.w_query  # (T, d_out)
    keys = inputs @ weights.w_key  # (T, d_out)
    values = inputs @ weights.w_value  # (T, d_out)
    return ProjectedAttention(queries, keys, values, attention_steps(queries, keys, values, causal=causal))


# ---- 3.5: causal mask and dropout ------------------------------------------------------------


@dataclass(frozen=True)
class CausalComparison:
    unmasked_weights: torch.Tensor  # (T, T) softmax over all keys
    zeroed: torch.Tensor  # (T, T) future weights set to 0: rows no longer sum to 1
    renormalised: torch.Tensor  # (T, T) zeroed / row sums
    minus_inf_way: torch.Tensor  # (T, T) -inf before the softmax
    max_abs_diff: float


def causal_two_ways(projected: ProjectedAttention) -> CausalComparison:
    """The book's two routes to causal weights, which must agree (softmax is shift-invariant per row)."""
    q, k, v = projected.queries, projected.keys, projected.values
    unmasked = attention_steps(q, k, v, causal=False).attn_weights  # (T, T)
    zeroed = unmasked.masked_fill(causal_mask(q.shape[0]), 0.0)
    renormalised = zeroed / zeroed.sum(dim=-1, keepdim=True)
    minus_inf = attention_steps(q, k, v, causal=True).attn_weights
    diff = float((renormalised - minus_inf).abs().max().item())
    return CausalComparison(unmasked, zeroed, renormalised, minus_inf, diff)


def dropout_weights(attn_weights: torch.Tensor, p: float, seed: int = BOOK_DROPOUT_SEED) -> torch.Tensor:
    """Training-mode dropout: each weight zeroed with probability p, survivors scaled by 1/(1-p)."""
    if not 0.0 <= p < 1.0:
        raise ValueError("dropout rate must be in [0, 1)")
    with seeded(seed):
        return nn.Dropout(p).train()(attn_weights)


# ---- 3.6: two heads --------------------------------------------------------------------------


@dataclass(frozen=True)
class MultiHead:
    heads: list[ProjectedAttention]  # one per head, causal
    context_vec: torch.Tensor  # (T, n_heads * d_out): head outputs side by side


def multi_head(inputs: torch.Tensor, d_out: int, n_heads: int, seed: int = BOOK_HEADS_SEED) -> MultiHead:
    """The book's MultiHeadAttentionWrapper (no dropout): independent causal heads, outputs concatenated."""
    weights = linear_qkv_weights(inputs.shape[1], d_out, seed, n_heads)
    heads = [project_and_attend(inputs, w, causal=True) for w in weights]
    return MultiHead(heads, torch.cat([h.steps.context_vec for h in heads], dim=-1))

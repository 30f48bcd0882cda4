"""The neuron view, carried on to the weight: one query token, one key token, one head.

The raw score of a (query, key) cell is a dot product, so it is a sum of d_k products
q[d] * k[d], one per dimension: the bars show which dimensions made the match (they add up to
the score up to float rounding). Then the model's own chain for that cell, read from
``gpt.attention.attention_steps`` (the one home of the attention maths, so the numbers are the
model's exactly): divide by sqrt(d_k), the causal mask, and the softmax across the query's whole
row, which needs every key's score of that row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gpt.trace import LayerTrace


@dataclass(frozen=True)
class NeuronView:
    """Every number between q, k and one attention weight. Vectors are (d_k,) or (T,)."""

    head: int
    query: int
    key: int
    q: torch.Tensor  # (d_k,) the query token's query vector
    k: torch.Tensor  # (d_k,) the key token's key vector
    products: torch.Tensor  # (d_k,) q[d] * k[d]
    raw_score: float  # q . k as the model computed it (the products' sum, up to float rounding)
    divisor: float  # sqrt(d_k), or 1 with scaling switched off
    scaled_score: float  # raw_score / divisor
    masked: bool  # the key is after the query and the causal mask hides it
    row_scores: torch.Tensor  # (T,) the query's row after scaling and masking (-inf where hidden)
    row_weights: torch.Tensor  # (T,) softmax of that row
    weight: float  # row_weights[key]: the attention weight of this cell

    def order(self) -> list[int]:
        """Dimensions from the largest positive product to the most negative one."""
        return torch.argsort(self.products, descending=True).tolist()


def neuron_view(layer: LayerTrace, head: int, query: int, key: int) -> NeuronView:
    """The chain from q[d]*k[d] to the weight of (query, key) for one head of a traced layer."""
    if not 0 <= head < layer.n_head:
        raise ValueError(f"head {head} does not exist: this layer has heads 0..{layer.n_head - 1}")
    n_tokens = layer.q.shape[1]
    for name, index in (("query", query), ("key", key)):
        if not 0 <= index < n_tokens:
            raise ValueError(f"{name} position {index} is past the text: it has positions 0..{n_tokens - 1}")
    steps = layer.steps(head)  # the model's own steps for this head (gpt.attention.attention_steps)
    q_row, k_row = layer.q[head, query], layer.k[head, key]  # (d_k,)
    d_k = q_row.shape[0]
    return NeuronView(
        head=head,
        query=query,
        key=key,
        q=q_row,
        k=k_row,
        products=q_row * k_row,
        raw_score=float(steps.raw_scores[query, key]),
        divisor=math.sqrt(d_k) if layer.options.scale else 1.0,
        scaled_score=float(steps.scaled_scores[query, key]),
        masked=bool(torch.isneginf(steps.masked_scores[query, key])),
        row_scores=steps.masked_scores[query],
        row_weights=steps.attn_weights[query],
        weight=float(steps.attn_weights[query, key]),
    )

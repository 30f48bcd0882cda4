"""Which input tokens mattered for one prediction? Three common answers, which often disagree.

- the last layer's attention, averaged over its heads: where the final layer looked;
- attention rollout (Abnar & Zuidema 2020): each layer's head-averaged attention mixed half and
  half with the identity (the residual connection keeps a token's own vector), rows renormalised,
  multiplied through the layers: how attention could have routed information from each input;
- gradient x input: how much the target's logit would change, to first order, if a token's
  embedding were scaled towards zero.

Attention says where information *could* flow, not how much it changed the answer: values can be
tiny, heads can cancel, and MLPs and residual paths do much of the work. That is why the three differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gpt.model import GPT
from gpt.trace import Trace

RESIDUAL_SHARE = 0.5  # rollout's weight on the identity (the residual connection)


def head_averaged(trace: Trace) -> torch.Tensor:
    """(L, T, T) each layer's attention weights averaged over its heads, one layer at a time
    (all heads of all layers at once would be L x nh x T x T numbers: 600 MB for GPT-2 at 1,024 tokens)."""
    return torch.stack([layer.attn_weights().mean(dim=0) for layer in trace.layers])


def last_layer_attention(averaged: torch.Tensor) -> torch.Tensor:
    """(T, T) the last layer's head-averaged attention; ``averaged``: (L, T, T) from ``head_averaged``."""
    return averaged[-1]


def _mixed(layer: torch.Tensor, residual: float) -> torch.Tensor:
    """One layer of rollout: residual * I + (1 - residual) * A, rows renormalised to sum to 1."""
    eye = torch.eye(layer.shape[-1], dtype=torch.float64)
    mixed = residual * eye + (1.0 - residual) * layer.double()
    return mixed / mixed.sum(dim=-1, keepdim=True)


def attention_rollout(averaged: torch.Tensor, residual: float = RESIDUAL_SHARE) -> torch.Tensor:
    """(T, T) rollout of (L, T, T) head-averaged weights: row i says how much of each input token reached
    position i. Per layer A' = residual * I + (1 - residual) * A, rows renormalised; the rollout is
    A'_{L-1} @ ... @ A'_1 @ A'_0 (the first layer acts first)."""
    rollout = torch.eye(averaged.shape[-1], dtype=torch.float64)
    for layer in averaged:
        rollout = _mixed(layer, residual) @ rollout
    return rollout


def rollout_row(averaged: torch.Tensor, position: int, residual: float = RESIDUAL_SHARE) -> torch.Tensor:
    """(T,) row ``position`` of ``attention_rollout``, from the last layer down: T x T work per layer, not T^3."""
    row = torch.zeros(averaged.shape[-1], dtype=torch.float64)
    row[position] = 1.0
    for layer in reversed(averaged):
        row = row @ _mixed(layer, residual)
    return row


def gradient_x_input(
    model: GPT, token_ids: list[int], position: int, target: int, versus: int | None = None
) -> torch.Tensor:
    """(position + 1,) for each token up to ``position``: (d logit / d embedding) . embedding.

    The logit is ``target``'s (minus ``versus``'s) after ``position``; later tokens cannot change it,
    so only tokens 0..position are run. Signed: positive pushed the target up. Runs the fast path
    with gradients to the token embeddings only (the weights get none and are never changed).
    """
    if not 0 <= position < len(token_ids):
        raise ValueError(f"position {position} is past the text: it has positions 0..{len(token_ids) - 1}")
    unembed = model.lm_head.weight
    idx = torch.tensor([token_ids[: position + 1]], device=unembed.device)
    with torch.enable_grad():
        tok_emb = model.wte(idx).detach().requires_grad_(True)  # (1, t, C), a leaf of our own
        hidden = model.final_hidden(tok_emb)[0, position]  # (C,)
        direction = unembed[target] - unembed[versus] if versus is not None else unembed[target]
        score = hidden @ direction
        (grad,) = torch.autograd.grad(score, tok_emb)
    return (grad * tok_emb.detach()).sum(dim=-1)[0].double()  # (t,)


@dataclass(frozen=True)
class Importance:
    """The three answers for one prediction, over tokens 0..position. Each (position + 1,)."""

    last_layer: torch.Tensor  # the last layer's head-averaged attention row (sums to 1)
    rollout: torch.Tensor  # the rollout row (sums to 1)
    grad_x_input: torch.Tensor  # signed gradient x input

    def shares(self) -> dict[str, torch.Tensor]:
        """Each answer as shares that add up to 1 (gradient x input by its absolute values)."""
        magnitude = self.grad_x_input.abs()
        total = float(magnitude.sum())
        grad_share = magnitude / total if total > 0 else magnitude
        return {
            "last-layer attention": self.last_layer,
            "attention rollout": self.rollout,
            "gradient × input": grad_share,
        }


def input_importance(model: GPT, trace: Trace, position: int, target: int, versus: int | None = None) -> Importance:
    """The three answers for the prediction after ``position`` of ``trace``'s text."""
    averaged = head_averaged(trace)  # (L, T, T)
    last = last_layer_attention(averaged)[position, : position + 1].double()
    roll = rollout_row(averaged, position)[: position + 1]
    return Importance(last, roll, gradient_x_input(model, trace.token_ids, position, target, versus))

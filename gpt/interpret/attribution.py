"""Direct logit attribution: how much each part of the model wrote the score of one token.

The last residual vector is a sum: token embedding + position embedding + every head's output +
every attention bias + every MLP's output. The logit is ln_f of that sum dotted with the token's
unembedding row. LayerNorm is linear once its scale is fixed, so with the scale frozen at the value
it actually had at this position (the standard linearisation), the logit splits exactly into one
term per part, plus the term of ln_f's own bias:

    logit = sum_parts  (centre(part) / sigma) . (gamma * u)  +  beta . u

where u is the target's unembedding row (or the difference of two rows), gamma/beta ln_f's weight
and bias, sigma the frozen scale, and centre() subtracts the mean over the C dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gpt.model import GPT
from gpt.trace import LayerTrace, Trace

KINDS = ("token embedding", "position embedding", "head", "attention bias", "MLP", "final LayerNorm bias")


def head_outputs(model: GPT, layer: int, record: LayerTrace, position: int | None = None) -> torch.Tensor:
    """(nh, T, C), or (nh, C) at one ``position``: what each head writes into the residual stream,
    z_h @ W_o[:, h's columns]^T.

    The output projection is one (C, C) matrix applied to the heads side by side, so it splits
    into one (C, hs) slice per head; the heads' writes plus the bias add up to ``attn_out``.
    """
    w_o = model.h[layer].attn.c_proj.weight  # (C, C): out = concat @ w_o^T + b_o
    n_head, _, hs = record.context_vec.shape
    slices = w_o.view(w_o.shape[0], n_head, hs).permute(1, 0, 2)  # (nh, C, hs): head h's columns of w_o
    z = record.context_vec if position is None else record.context_vec[:, position : position + 1]  # (nh, t, hs)
    writes = z @ slices.transpose(1, 2)  # (nh, t, hs) @ (nh, hs, C) -> (nh, t, C)
    return writes if position is None else writes[:, 0]


def attention_bias(model: GPT, layer: int, n_embd: int) -> torch.Tensor:
    """(C,) the output projection's bias (zeros for a model without biases)."""
    bias = model.h[layer].attn.c_proj.bias
    return bias.detach() if bias is not None else torch.zeros(n_embd)


@dataclass(frozen=True)
class Term:
    """One part's share of the logit."""

    name: str  # e.g. "L1 H3", "L0 MLP", "token embedding"
    kind: str  # one of KINDS
    layer: int | None
    head: int | None
    value: float


@dataclass(frozen=True)
class Attribution:
    """The logit (or logit difference) at one position, split into the parts that wrote it."""

    position: int
    target: int
    versus: int | None  # None: the target's logit; else logit(target) - logit(versus)
    logit: float  # what the model computed (from the trace's ln_f output)
    sigma: float  # the frozen LayerNorm scale at this position
    terms: list[Term]  # every part, in model order; the final LayerNorm bias last

    @property
    def total(self) -> float:
        """The sum of every term: equal to ``logit`` up to float rounding."""
        return sum(t.value for t in self.terms)

    def head_matrix(self) -> torch.Tensor:
        """(n_layer, n_head) the heads' terms as a grid."""
        heads = [t for t in self.terms if t.kind == "head"]
        n_layer = 1 + max(t.layer for t in heads)
        n_head = 1 + max(t.head for t in heads)
        grid = torch.zeros(n_layer, n_head, dtype=torch.float64)
        for t in heads:
            grid[t.layer, t.head] = t.value
        return grid


def _direction(model: GPT, target: int, versus: int | None) -> torch.Tensor:
    unembed = model.lm_head.weight
    vocab = unembed.shape[0]
    for token in (target, versus):
        if token is not None and not 0 <= token < vocab:
            raise ValueError(f"token id {token} does not exist: this model's ids are 0..{vocab - 1}")
    u = unembed[target].double()
    return u - unembed[versus].double() if versus is not None else u


@torch.no_grad()
def direct_logit_attribution(
    model: GPT, trace: Trace, position: int, target: int, versus: int | None = None
) -> Attribution:
    """Split the logit of ``target`` (minus that of ``versus``) after ``position`` into one term per part.

    Works in float64 on the trace's own float32 numbers, so the terms add up to the model's logit to
    float32 rounding (tests check 1e-4). Knocked-out heads contribute what they actually handed on.
    """
    if not 0 <= position < trace.n_tokens:
        raise ValueError(f"position {position} is past the text: it has positions 0..{trace.n_tokens - 1}")
    u = _direction(model, target, versus)  # (C,)
    ln_f = model.ln_f
    final = trace.layers[-1].resid_out[position].double() if trace.layers else trace.embeddings[position].double()
    sigma = torch.sqrt(final.var(unbiased=False) + ln_f.eps)  # LayerNorm's scale, frozen at its actual value
    gamma = ln_f.weight.double() if ln_f.weight is not None else torch.ones_like(u)
    readout = gamma * u / sigma  # (C,): what one centred unit of residual adds to the logit

    def share(vector: torch.Tensor) -> float:
        v = vector.double()
        return float((v - v.mean()) @ readout)

    terms = [
        Term("token embedding", "token embedding", None, None, share(trace.tok_emb[position])),
        Term("position embedding", "position embedding", None, None, share(trace.pos_emb[position])),
    ]
    n_embd = trace.embeddings.shape[-1]
    for layer, record in enumerate(trace.layers):
        writes = head_outputs(model, layer, record, position)  # (nh, C)
        terms += [Term(f"L{layer} H{h}", "head", layer, h, share(writes[h])) for h in range(writes.shape[0])]
        bias = share(attention_bias(model, layer, n_embd))
        terms.append(Term(f"L{layer} attn bias", "attention bias", layer, None, bias))
        mlp = record.resid_out[position] - record.resid_mid[position]  # what the MLP added
        terms.append(Term(f"L{layer} MLP", "MLP", layer, None, share(mlp)))
    beta = float(ln_f.bias.double() @ u) if ln_f.bias is not None else 0.0
    terms.append(Term("final LayerNorm bias", "final LayerNorm bias", None, None, beta))
    logit = float(trace.final_norm[position].double() @ u)  # the model's own score, for comparison
    return Attribution(position, target, versus, logit, float(sigma), terms)

"""Head knockout: a causal test of what a head does, by running the model without it.

The knocked-out trace comes from the inspection path (``GPT.trace`` with a ``Knockout`` in its
``TraceOptions``); training and the fast path never see a knockout. A head's effect is read as the
change in log-probability of a token, or in the loss on a text; "rank" knocks out each head alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gpt.model import GPT
from gpt.trace import ABLATIONS, Knockout, Trace, TraceOptions

Head = tuple[int, int]  # (layer, head)


def knockout_options(heads: Sequence[Head], kind: str = ABLATIONS[0], base: TraceOptions | None = None) -> TraceOptions:
    """``base``'s switches (scale, mask) with ``heads`` knocked out."""
    base = base or TraceOptions()
    return TraceOptions(scale=base.scale, causal=base.causal, knockout=Knockout(tuple(heads), kind))


def check_heads(heads: Sequence[Head], n_layer: int, n_head: int) -> tuple[list[Head], list[Head]]:
    """(heads this model has, heads it does not have), each without repeats, in order."""
    known, unknown = [], []
    for layer, head in dict.fromkeys((int(a), int(b)) for a, b in heads):
        (known if 0 <= layer < n_layer and 0 <= head < n_head else unknown).append((layer, head))
    return known, unknown


def log_prob(trace: Trace, position: int, token: int) -> float:
    """log P(token | tokens 0..position), as the trace's model computed it."""
    return float(torch.log_softmax(trace.logits_at(position).double(), dim=-1)[token])


def sequence_loss(trace: Trace, start: int = 0) -> float:
    """Mean cross-entropy (nats) of predicting each next token of the trace's own text, for the
    predictions made at positions ``start``..T-2 (a text of T tokens has T-1 targets)."""
    ids = torch.tensor(trace.token_ids)
    if start >= len(ids) - 1:
        raise ValueError(f"no next token to predict from position {start} of a {len(ids)}-token text")
    with torch.no_grad():
        logits = trace.final_norm[start:-1] @ trace.lm_head_weight.T  # (n, vocab)
    return float(F.cross_entropy(logits.double(), ids[start + 1 :]))


def second_half_loss(trace: Trace, period: int) -> float:
    """The induction test: mean loss on the second copy of a sequence shown twice (period tokens each).

    Counted from the second token of the copy: the first cannot be known from what came before."""
    return sequence_loss(trace, start=period)


@dataclass(frozen=True)
class Change:
    """A number before and after a knockout."""

    before: float
    after: float

    @property
    def delta(self) -> float:
        return self.after - self.before


def token_change(before: Trace, after: Trace, position: int, token: int) -> Change:
    """The log-probability of ``token`` after ``position``, without and with the knockout."""
    return Change(log_prob(before, position, token), log_prob(after, position, token))


def loss_change(before: Trace, after: Trace, start: int = 0) -> Change:
    """The loss on the text (predictions from ``start`` on), without and with the knockout."""
    return Change(sequence_loss(before, start), sequence_loss(after, start))


@dataclass(frozen=True)
class HeadEffect:
    layer: int
    head: int
    change: Change


def rank_heads(
    model: GPT,
    base: Trace,
    measure: Callable[[Trace], float],
    kind: str = ABLATIONS[0],
    progress: Callable[[int, int], None] | None = None,
    step_guard: Callable[[], AbstractContextManager] | None = None,
) -> list[HeadEffect]:
    """Knock out every head alone and measure ``measure`` on each knocked-out trace of ``base``'s tokens.

    Sorted by the size of the change, biggest first. Each run reuses ``base``'s layers before the
    knocked-out head, which cannot change. ``progress(done, total)`` is called after each head;
    ``step_guard`` is entered around each head's run (a shared server's compute slot).
    """
    guard = step_guard or nullcontext
    cfg = model.config
    before = measure(base)
    heads = [(layer, head) for layer in range(cfg.n_layer) for head in range(cfg.n_head)]
    effects = []
    for done, (layer, head) in enumerate(heads, start=1):
        options = knockout_options([(layer, head)], kind, base.options)
        with guard():
            after = measure(model.trace(base.token_ids, options, reuse=base))
        effects.append(HeadEffect(layer, head, Change(before, after)))
        if progress is not None:
            progress(done, len(heads))
    return sorted(
        effects, key=lambda e: abs(e.change.delta) if math.isfinite(e.change.delta) else math.inf, reverse=True
    )

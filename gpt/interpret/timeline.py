"""A generation replayed step by step: what each drawn token was drawn from, and what the model
looked at while writing it.

Step s (1-based) drew token s from the distribution after the prompt and tokens 1..s-1. Causal
attention makes every row of a trace depend only on the tokens up to it, so one trace of the whole
generated text (cut to the context) holds every step's logits and attention rows: step s reads the
row of its context's last position. Past the model's context the window slides and every position
changes, so such a step gets a trace of its own window (``step_window``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from gpt.generate import SamplingSettings, next_token_probs

# A head "dominates" the first token when at least half of its attention goes there: the attention
# sink of trained GPTs (a place to put attention when nothing else is relevant; BertViz issue 131).
SINK_SHARE = 0.5


def step_window(ids: Sequence[int], n_prompt: int, step: int, block_size: int) -> tuple[tuple[int, ...], int]:
    """(the tokens to trace, the position whose row and logits step ``step`` used) for ``ids`` = prompt +
    generated tokens. Every step whose context fits shares one trace of the first ``block_size`` tokens."""
    n_generated = len(ids) - n_prompt
    if not 1 <= step <= n_generated:
        raise ValueError(f"step {step} does not exist: this generation has steps 1..{n_generated}")
    length = n_prompt + step - 1  # tokens the step saw before drawing
    if length <= block_size:
        return tuple(ids[: min(len(ids), block_size)]), length - 1
    return tuple(ids[length - block_size : length]), block_size - 1


def sink_heads(rows: torch.Tensor) -> list[tuple[int, float]]:
    """(head, weight on position 0) of every head whose attention row (heads, T) is dominated by the
    first token. Rows of fewer than 3 tokens have none: there, even attention spread evenly gives the
    first token half."""
    if rows.shape[-1] < 3:
        return []
    first = rows[:, 0].tolist()
    return [(h, float(w)) for h, w in enumerate(first) if w >= SINK_SHARE]


@dataclass(frozen=True)
class CutOffView:
    """The most likely tokens of one step, before and after the cut-off, best first."""

    ids: list[int]
    ranks: list[int]  # 1-based rank under temperature alone
    before: list[float]  # after temperature, before top-k / top-p
    after: list[float]  # what the token was drawn from (renormalised over the kept tokens)
    kept: int  # tokens the cut-off keeps (ranks 1..kept)
    drawn: int | None  # index into ``ids`` of the drawn token, None when there is none


def cut_off_view(logits: torch.Tensor, settings: SamplingSettings, shown: int, drawn: int | None) -> CutOffView:
    """The ``shown`` most likely tokens, plus ``drawn`` (a token id) if it ranks lower, with their
    probabilities after temperature (``before``) and after the cut-off (``after``)."""
    before = next_token_probs(logits, SamplingSettings(temperature=settings.temperature))
    after = next_token_probs(logits, settings)
    # Ranked by the scores themselves (the order every temperature keeps, also T=0's): both cut-offs
    # keep the most likely tokens, so the kept ones come first.
    order = torch.argsort(logits.float(), descending=True, stable=True)
    ranks = list(range(1, min(shown, order.numel()) + 1))
    ids = [int(i) for i in order[: len(ranks)]]
    if drawn is not None and drawn not in ids:
        ids.append(int(drawn))
        ranks.append(int((order == drawn).nonzero()[0, 0]) + 1)
    return CutOffView(
        ids=ids,
        ranks=ranks,
        before=[float(before[i]) for i in ids],
        after=[float(after[i]) for i in ids],
        kept=int((after > 0).sum()),
        drawn=ids.index(drawn) if drawn is not None else None,
    )

"""Lab 3: input/target pairs cut from a token stream with a sliding window (ch. 2.6).

Each input is ``max_length`` token IDs; its target is the same window shifted one token right,
so position t of the target is the next token after position t of the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gpt.data import DataError
from gpt.data import sliding_windows as window_tensors

# Opening of Edith Wharton's "The Verdict" (1908, public domain), the text the book samples from.
VERDICT_OPENING = (
    "I HAD always thought Jack Gisburn rather a cheap genius--though a good fellow enough--so it was no "
    "great surprise to me to hear that, in the height of his glory, he had dropped his painting, married a "
    "rich widow, and established himself in a villa on the Riviera."
)


@dataclass(frozen=True)
class WindowPair:
    start: int  # index of the first input token in the stream
    input_ids: tuple[int, ...]  # (max_length,)
    target_ids: tuple[int, ...]  # (max_length,) = input shifted by one


def sliding_windows(token_ids: Sequence[int], max_length: int, stride: int) -> list[WindowPair]:
    """The windows of ``gpt.data.sliding_windows`` (the training code's own), with their start offsets.

    Too short a text gives no window at all rather than an error: the lab says so on the page.
    """
    if max_length < 1 or stride < 1:
        raise ValueError("max_length and stride must be at least 1")
    try:
        inputs, targets = window_tensors(list(token_ids), max_length, stride)  # (N, max_length) each
    except DataError:
        return []
    return [
        WindowPair(row * stride, tuple(inputs[row].tolist()), tuple(targets[row].tolist()))
        for row in range(inputs.shape[0])
    ]


def overlap(max_length: int, stride: int) -> int:
    """Tokens two consecutive inputs share: max_length - stride, or 0 once stride >= max_length."""
    return max(0, max_length - stride)


def skipped(max_length: int, stride: int) -> int:
    """Tokens between consecutive windows that no input ever sees (stride > max_length)."""
    return max(0, stride - max_length)

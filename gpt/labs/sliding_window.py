"""Lab 3: input/target pairs cut from a token stream with a sliding window (ch. 2.6).

Each input is ``max_length`` token IDs; its target is the same window shifted one token right,
so position t of the target is the next token after position t of the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gpt.train.data import DataError
from gpt.train.data import sliding_windows as window_tensors

# Opening of Edith Wharton's "The Verdict" (1908, public domain), the text the book samples from.
VERDICT_OPENING = (
    "I HAD always thought Jack Gisburn rather a cheap genius--though a good fellow enough--so it was no "
    "great surprise to me to hear that, in the height of his glory, he had dropped his painting, married a "
    "rich widow, and established himself in a villa on the Riviera."
)
BOOK_TOKENIZER = "gpt2"
BOOK_MAX_LENGTH = 4
BOOK_STRIDES: tuple[int, ...] = (1, 4)  # the book prints a batch for each
# What the book prints for VERDICT_OPENING with GPT-2's tokenizer and max_length 4.
# stride 1: the first two (input, target) pairs
BOOK_STRIDE_1_PAIRS: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...] = (
    ((40, 367, 2885, 1464), (367, 2885, 1464, 1807)),
    ((367, 2885, 1464, 1807), (2885, 1464, 1807, 3619)),
)
# stride 4: the first batch of eight inputs, and the last of their targets
BOOK_STRIDE_4_INPUTS: tuple[tuple[int, ...], ...] = (
    (40, 367, 2885, 1464),
    (1807, 3619, 402, 271),
    (10899, 2138, 257, 7026),
    (15632, 438, 2016, 257),
    (922, 5891, 1576, 438),
    (568, 340, 373, 645),
    (1049, 5975, 284, 502),
    (284, 3285, 326, 11),
)
BOOK_STRIDE_4_LAST_TARGET: tuple[int, ...] = (3285, 326, 11, 287)


def is_book_example(tokenizer: str, text: str, max_length: int, stride: int) -> bool:
    """The book's set-up, so the first pair is BOOK_STRIDE_1_PAIRS[0] (the same for both strides)."""
    return (
        tokenizer == BOOK_TOKENIZER
        and text == VERDICT_OPENING
        and max_length == BOOK_MAX_LENGTH
        and stride in BOOK_STRIDES
    )


@dataclass(frozen=True)
class WindowPair:
    start: int  # index of the first input token in the stream
    input_ids: tuple[int, ...]  # (max_length,)
    target_ids: tuple[int, ...]  # (max_length,) = input shifted by one


def sliding_windows(token_ids: Sequence[int], max_length: int, stride: int) -> list[WindowPair]:
    """The windows of ``gpt.train.data.sliding_windows`` (the training code's own), with their start offsets.

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

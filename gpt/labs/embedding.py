"""Lab 2: an embedding layer is a row lookup, i.e. one-hot rows times the weight matrix (ch. 2.7)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from gpt.labs._rng import seeded

BOOK_SEED = 123
BOOK_VOCAB_SIZE = 6
BOOK_DIM = 3
BOOK_IDS: tuple[int, ...] = (2, 3, 5, 1)
# The weight the book prints for nn.Embedding(6, 3) after torch.manual_seed(123), at its 4 decimals.
BOOK_WEIGHTS: tuple[tuple[float, ...], ...] = (
    (0.3374, -0.1778, -0.1690),
    (0.9178, 1.5810, 1.3010),
    (1.2753, -0.2010, -0.1606),
    (-0.4015, 0.9666, -1.1481),
    (-1.1589, 0.3255, -0.6315),
    (-2.8400, -0.7849, -1.4096),
)


def is_book_example(vocab_size: int, dim: int, seed: int) -> bool:
    """The book's layer: its vocabulary size, embedding size and seed, so W is BOOK_WEIGHTS."""
    return (vocab_size, dim, seed) == (BOOK_VOCAB_SIZE, BOOK_DIM, BOOK_SEED)


def embedding_weights(vocab_size: int, dim: int, seed: int = BOOK_SEED) -> torch.Tensor:
    """The weight of ``nn.Embedding(vocab_size, dim)`` created right after ``torch.manual_seed(seed)``."""
    if vocab_size < 1 or dim < 1:
        raise ValueError("vocabulary size and embedding size must be at least 1")
    with seeded(seed):
        return nn.Embedding(vocab_size, dim).weight.detach().clone()  # (V, d)


def one_hot(ids: Sequence[int], vocab_size: int) -> torch.Tensor:
    """(n, V) float matrix with a single 1 per row, at the token's ID."""
    check_ids(ids, vocab_size)
    return torch.nn.functional.one_hot(torch.tensor(list(ids), dtype=torch.long), vocab_size).float()


def check_ids(ids: Sequence[int], vocab_size: int) -> None:
    bad = [i for i in ids if not 0 <= int(i) < vocab_size]
    if bad:
        raise ValueError(f"token IDs {bad} are outside the vocabulary 0..{vocab_size - 1}")


@dataclass(frozen=True)
class Lookup:
    ids: tuple[int, ...]
    weight: torch.Tensor  # (V, d)
    looked_up: torch.Tensor  # (n, d)  weight[ids]
    one_hot: torch.Tensor  # (n, V)
    via_matmul: torch.Tensor  # (n, d)  one_hot @ weight
    max_abs_diff: float


def lookup(weight: torch.Tensor, ids: Sequence[int]) -> Lookup:
    """Embed ``ids`` both ways and measure how far apart the results are (exactly 0 in float32)."""
    ids = tuple(int(i) for i in ids)
    hot = one_hot(ids, weight.shape[0])
    looked_up = nn.functional.embedding(torch.tensor(ids, dtype=torch.long), weight)
    via_matmul = hot @ weight
    return Lookup(ids, weight, looked_up, hot, via_matmul, float((looked_up - via_matmul).abs().max().item()))

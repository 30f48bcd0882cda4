"""Lab 8: "Life is short, eat dessert first" (Sebastian Raschka's self-attention article; see ``gpt.labs.catalog``).

The article builds a dictionary from the sentence's own words (sorted), maps the sentence to
integer IDs and embeds it in 3 dimensions (6 words -> a 6x3 matrix). It stops there and names no
seed; we seed with 123 as the book does, and continue with one attention head whose weights are
``torch.rand(d_out, d)`` matrices applied as x @ W^T.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import torch

from gpt.attention import AttentionSteps, attention_steps
from gpt.labs._rng import seeded
from gpt.labs.embedding import embedding_weights

DESSERT_SENTENCE = "Life is short, eat dessert first"
# What the article prints: its dictionary of the sentence's words, and the sentence as IDs.
ARTICLE_DICTIONARY: Mapping[str, int] = MappingProxyType(
    {"Life": 0, "dessert": 1, "eat": 2, "first": 3, "is": 4, "short": 5}
)
ARTICLE_IDS: tuple[int, ...] = (0, 4, 5, 2, 1, 3)
DESSERT_SEED = 123
EMBED_DIM = 3


def words(sentence: str) -> list[str]:
    """Split on whitespace and drop punctuation around the words ("short," -> "short")."""
    return [w for w in (re.sub(r"^\W+|\W+$", "", part) for part in sentence.split()) if w]


def build_dictionary(sentence: str) -> dict[str, int]:
    """Each distinct word -> its rank in sorted order (Python sorts capitals first: "Life" is 0)."""
    return {w: i for i, w in enumerate(sorted(set(words(sentence))))}


def sentence_ids(sentence: str, dictionary: dict[str, int]) -> list[int]:
    return [dictionary[w] for w in words(sentence)]


@dataclass(frozen=True)
class DessertAttention:
    w_query: torch.Tensor  # (d_k, d)
    w_key: torch.Tensor  # (d_k, d)
    w_value: torch.Tensor  # (d_v, d)
    queries: torch.Tensor  # (T, d_k)
    keys: torch.Tensor  # (T, d_k)
    values: torch.Tensor  # (T, d_v)
    steps: AttentionSteps


def dessert_embedding(vocab_size: int, dim: int = EMBED_DIM, seed: int = DESSERT_SEED) -> torch.Tensor:
    return embedding_weights(vocab_size, dim, seed)


def dessert_attention(
    embedded: torch.Tensor, d_k: int, d_v: int, *, seed: int = DESSERT_SEED, causal: bool = False
) -> DessertAttention:
    """One head on the embedded sentence (T, d); weights drawn with torch.rand after seeding."""
    if d_k < 1 or d_v < 1:
        raise ValueError("head sizes must be at least 1")
    d = embedded.shape[1]
    with seeded(seed):
        w_query, w_key, w_value = torch.rand(d_k, d), torch.rand(d_k, d), torch.rand(d_v, d)
    queries, keys, values = embedded @ w_query.T, embedded @ w_key.T, embedded @ w_value.T
    steps = attention_steps(queries, keys, values, scale=True, causal=causal)
    return DessertAttention(w_query, w_key, w_value, queries, keys, values, steps)

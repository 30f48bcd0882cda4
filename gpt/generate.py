"""Sampling the next token: temperature, top-k, top-p, a seed, and what was chosen at each step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

MAX_NEW_TOKENS = 512  # generation is cheap per token but a classroom server is shared


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 1.0  # <1 sharpens, >1 flattens; 0 means always take the most likely token
    top_k: int | None = None  # keep only the k most likely tokens
    top_p: float | None = None  # keep the smallest set whose probabilities add up to p
    seed: int = 1337  # the same seed gives the same text (reproducible demos)

    def __post_init__(self) -> None:
        if not 0.0 <= self.temperature <= 100.0:
            raise ValueError(f"temperature must be between 0 and 100, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {self.top_k}")
        if self.top_p is not None and not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")


@dataclass(frozen=True)
class GenerationStep:
    token_id: int  # the token that was chosen
    prob: float  # its probability after temperature/top-k/top-p
    alternatives: list[tuple[int, float]]  # the most likely candidates at this step, best first


def next_token_probs(logits: torch.Tensor, settings: SamplingSettings) -> torch.Tensor:
    """(vocab,) logits -> (vocab,) probabilities after temperature, top-k and top-p."""
    logits = logits.float()
    if settings.temperature == 0.0:
        probs = torch.zeros_like(logits)
        probs[int(torch.argmax(logits))] = 1.0
        return probs
    logits = logits / settings.temperature
    if settings.top_k is not None and settings.top_k < logits.numel():
        kth = torch.topk(logits, settings.top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    if settings.top_p is not None and settings.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        cumulative = torch.cumsum(sorted_probs, dim=-1)
        drop_sorted = cumulative - sorted_probs >= settings.top_p  # keep the token that crosses p
        drop = torch.zeros_like(drop_sorted).scatter(0, order, drop_sorted)
        probs = probs.masked_fill(drop, 0.0)
        probs = probs / probs.sum()
    return probs


def top_alternatives(probs: torch.Tensor, k: int) -> list[tuple[int, float]]:
    values, ids = torch.topk(probs, min(k, probs.numel()))
    return [(int(i), float(p)) for i, p in zip(ids, values)]


@torch.no_grad()
def generate(
    model: torch.nn.Module,
    prompt_ids: Sequence[int],
    max_new_tokens: int,
    settings: SamplingSettings | None = None,
    n_alternatives: int = 5,
) -> list[GenerationStep]:
    """Sample tokens one at a time; the context is cropped to the model's block size."""
    if not prompt_ids:
        raise ValueError("generation needs at least one prompt token")
    if not 0 <= max_new_tokens <= MAX_NEW_TOKENS:
        raise ValueError(f"max_new_tokens must be between 0 and {MAX_NEW_TOKENS}")
    settings = settings or SamplingSettings()
    block_size = model.config.block_size
    device = next(model.parameters()).device
    generator = torch.Generator(device="cpu").manual_seed(settings.seed)
    ids = list(prompt_ids)
    steps = []
    for _ in range(max_new_tokens):
        context = torch.tensor([ids[-block_size:]], device=device)
        logits, _ = model(context)
        probs = next_token_probs(logits[0, -1].cpu(), settings)
        token_id = int(torch.multinomial(probs, 1, generator=generator))
        steps.append(GenerationStep(token_id, float(probs[token_id]), top_alternatives(probs, n_alternatives)))
        ids.append(token_id)
    return steps

"""Sampling the next token: temperature, top-k, top-p, a seed, and what was chosen at each step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch

from gpt.model import GPT, KVCache

MAX_NEW_TOKENS = 512  # generation is cheap per token but a classroom server is shared
# A shared server's cap on one request: tokens of context x tokens generated. 65,536 lets the
# Next-token page make its 50 tokens after a full GPT-2 context (1,024 x 50 = 51,200).
MAX_GENERATION_WORK = 65_536


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


def generation_work(n_prompt: int, max_new_tokens: int, block_size: int) -> int:
    """What a generation costs in MAX_GENERATION_WORK's unit: tokens of context x tokens generated."""
    return min(n_prompt + max_new_tokens, block_size) * max_new_tokens


def check_generation(n_prompt: int, max_new_tokens: int, block_size: int, max_work: int | None = None) -> None:
    """Refuse, with a message for a person, a generation that is empty, too long or too much work."""
    if n_prompt < 1:
        raise ValueError("generation needs at least one prompt token")
    if not 0 <= max_new_tokens <= MAX_NEW_TOKENS:
        raise ValueError(f"max_new_tokens must be between 0 and {MAX_NEW_TOKENS}")
    work = generation_work(n_prompt, max_new_tokens, block_size)
    if max_work is not None and work > max_work:
        context = min(n_prompt + max_new_tokens, block_size)
        raise ValueError(
            f"Generating {max_new_tokens} tokens after {context:,} tokens of context is more than this "
            f"server allows for one request (context x new tokens at most {max_work:,}, here {work:,}). "
            "Generate fewer tokens or use a shorter text."
        )


def next_logits(model: GPT, ids: list[int], cache: KVCache) -> torch.Tensor:
    """(vocab,) logits after ``ids`` cropped to the context, reusing ``cache`` when it is still exact.

    Within the context only the tokens after the cached ones are computed. Past it, the window
    slides and every position changes, so the cropped window is recomputed from scratch (a
    rolled cache would keep keys made at old positions: not the same maths as ``forward``).
    """
    block_size = model.config.block_size
    window = ids[-block_size:]
    if len(ids) > block_size or cache.length >= len(window):
        cache.length = 0  # the window moved (or nothing is new): start again, in the same buffers
    device = model.wte.weight.device
    return model.forward_cached(torch.tensor([window[cache.length :]], device=device), cache)[0]


@torch.no_grad()
def generate(
    model: GPT,
    prompt_ids: Sequence[int],
    max_new_tokens: int,
    settings: SamplingSettings | None = None,
    n_alternatives: int = 5,
    step_guard: Callable[[], AbstractContextManager] | None = None,
    max_work: int | None = None,
    forced: Sequence[int] = (),
) -> list[GenerationStep]:
    """Sample tokens one at a time, with a KV cache; the context is cropped to the model's block size.

    ``step_guard`` is entered around each step's model call (a shared server's compute slot),
    so a long generation lets other requests in between its steps. ``max_work`` caps
    ``generation_work`` (see MAX_GENERATION_WORK); the check happens before any computing.
    ``forced``: tokens taken, in order, for the first steps instead of drawn (a branch chosen in the
    sampling tree); they use no random numbers, so what follows them is exactly what generating
    after prompt + forced with the same seed writes.
    """
    check_generation(len(prompt_ids), max_new_tokens, model.config.block_size, max_work)
    if len(forced) > max_new_tokens:
        raise ValueError(f"{len(forced)} forced tokens do not fit in {max_new_tokens} new tokens")
    if any(not 0 <= int(t) < model.config.vocab_size for t in forced):
        raise ValueError(f"a forced token is not in this model's vocabulary (ids 0..{model.config.vocab_size - 1})")
    settings = settings or SamplingSettings()
    guard = step_guard or nullcontext
    generator = torch.Generator(device="cpu").manual_seed(settings.seed)
    ids = list(prompt_ids)
    steps = []
    # Room for what this call will read, not the whole context: a short prompt keeps a small cache.
    cache = model.new_kv_cache(capacity=len(ids) + max_new_tokens)
    for i in range(max_new_tokens):
        with guard():
            logits = next_logits(model, ids, cache)
        probs = next_token_probs(logits.cpu(), settings)
        if i < len(forced):
            token_id = int(forced[i])
        else:
            token_id = int(torch.multinomial(probs, 1, generator=generator))
        steps.append(GenerationStep(token_id, float(probs[token_id]), top_alternatives(probs, n_alternatives)))
        ids.append(token_id)
    return steps

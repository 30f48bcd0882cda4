"""KV-cached generation is the same maths as the plain loop: same tokens, same probabilities, same seed."""

from __future__ import annotations

import contextlib

import pytest
import torch

from gpt import (
    GPT,
    MAX_GENERATION_WORK,
    GenerationStep,
    SamplingSettings,
    generate,
    next_token_probs,
    preset,
)
from gpt.generate import top_alternatives


def make_model(seed: int = 0, **overrides) -> GPT:
    torch.manual_seed(seed)
    return GPT(preset("tiny", **overrides)).eval()


@torch.no_grad()
def uncached_generate(model: GPT, prompt: list[int], n: int, settings: SamplingSettings) -> list[GenerationStep]:
    """The loop generate() ran before the cache: the whole cropped context through ``forward`` every step."""
    block_size = model.config.block_size
    generator = torch.Generator(device="cpu").manual_seed(settings.seed)
    ids, steps = list(prompt), []
    for _ in range(n):
        logits, _ = model(torch.tensor([ids[-block_size:]]))
        probs = next_token_probs(logits[0, -1], settings)
        token_id = int(torch.multinomial(probs, 1, generator=generator))
        steps.append(GenerationStep(token_id, float(probs[token_id]), top_alternatives(probs, 5)))
        ids.append(token_id)
    return steps


def assert_same_steps(cached: list[GenerationStep], plain: list[GenerationStep]) -> None:
    assert [s.token_id for s in cached] == [s.token_id for s in plain]
    for a, b in zip(cached, plain):
        assert a.prob == pytest.approx(b.prob, abs=1e-5)
        assert [t for t, _ in a.alternatives] == [t for t, _ in b.alternatives]
        assert [p for _, p in a.alternatives] == pytest.approx([p for _, p in b.alternatives], abs=1e-5)


@pytest.mark.parametrize("pos_encoding", ["learned", "sinusoidal"])
@pytest.mark.parametrize("prompt_len", [1, 5, 20])  # the tiny preset's context is 16: 20 starts past it
def test_cached_generation_matches_the_uncached_loop_past_the_context(pos_encoding: str, prompt_len: int) -> None:
    model = make_model(seed=prompt_len, pos_encoding=pos_encoding)
    assert model.config.block_size < prompt_len + 30  # the run must cross the context
    prompt = torch.randint(0, model.config.vocab_size, (prompt_len,), generator=torch.Generator().manual_seed(1))
    settings = SamplingSettings(temperature=1.3, seed=11)  # flat: many different tokens get drawn
    cached = generate(model, prompt.tolist(), 30, settings)
    assert_same_steps(cached, uncached_generate(model, prompt.tolist(), 30, settings))


def test_cached_logits_equal_forward_at_every_position() -> None:
    model = make_model(seed=3)
    idx = torch.randint(0, 64, (1, 16))
    full, _ = model(idx)
    cache = model.new_kv_cache()
    first = model.forward_cached(idx[:, :6], cache)  # a prompt in one go, then one token at a time
    torch.testing.assert_close(first, full[:, 5], atol=1e-5, rtol=0)
    for t in range(6, 16):
        step = model.forward_cached(idx[:, t : t + 1], cache)
        torch.testing.assert_close(step, full[:, t], atol=1e-5, rtol=0)
    assert cache.length == 16


def test_a_cache_refuses_more_tokens_than_it_has_room_for() -> None:
    model = make_model()
    assert model.new_kv_cache(capacity=10_000).capacity == model.config.block_size  # never past the context
    cache = model.new_kv_cache(capacity=5)
    model.forward_cached(torch.zeros(1, 5, dtype=torch.long), cache)
    with pytest.raises(ValueError, match="do not fit"):
        model.forward_cached(torch.zeros(1, 1, dtype=torch.long), cache)


def test_the_step_guard_is_held_around_every_step_and_released_between() -> None:
    entered: list[int] = []
    held = [False]

    @contextlib.contextmanager
    def guard():
        assert not held[0], "a step began while the previous one still held the guard"
        held[0] = True
        entered.append(len(entered))
        yield
        held[0] = False

    generate(make_model(), [1, 2, 3], 7, step_guard=guard)
    assert len(entered) == 7 and not held[0]


def test_too_much_work_is_refused_before_computing() -> None:
    model = make_model()
    calls = []

    @contextlib.contextmanager
    def guard():
        calls.append(1)
        yield

    with pytest.raises(ValueError, match="Generate fewer tokens or use a shorter text"):
        generate(model, [1, 2], 10, step_guard=guard, max_work=15)
    assert calls == []
    assert len(generate(model, [1, 2], 10, max_work=16 * 10)) == 10  # exactly at the cap is allowed
    assert 1024 * 50 <= MAX_GENERATION_WORK  # the Next-token page's 50 tokens after GPT-2's full context

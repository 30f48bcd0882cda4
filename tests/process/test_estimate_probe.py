"""Estimates before a launch: sizes, memory, the measured speed probe, devices, corpus checks."""

from __future__ import annotations

import pytest

from gpt.config import preset
from gpt.model import GPT
from gpt.train import ProbeQueue, ProbeRequest, ProbeResult
from gpt.train.device import list_devices
from gpt.train.estimate import (
    EstimateError,
    corpus_stats,
    count_params,
    estimate_run_seconds,
    measure_step_time,
    memory_estimate,
    probe_in_subprocess,
)
from ui.process_wide import BoundedStore

TINY = preset("tiny")


def test_parameter_count_matches_the_real_model() -> None:
    for cfg in (TINY, preset("shakespeare-char")):
        assert count_params(cfg) == GPT(cfg).num_params()
    assert 120e6 < count_params(preset("gpt2")) < 130e6  # GPT-2 small: 124 M


def test_memory_estimate_counts_weights_optimizer_and_activations() -> None:
    cfg = preset("shakespeare-char")
    small, big = memory_estimate(cfg, 4), memory_estimate(cfg, 64)
    assert small.weights_bytes == 4 * count_params(cfg)
    assert small.training_state_bytes == 4 * small.weights_bytes  # weights, grads, two AdamW moments
    assert big.activation_bytes == 16 * small.activation_bytes  # activations grow with the batch
    assert big.total_bytes > small.total_bytes > small.training_state_bytes


def test_the_probe_times_real_training_steps() -> None:
    result = measure_step_time(TINY, batch_size=4, device="cpu", steps=2)
    assert result.device == "cpu" and result.steps_timed == 2
    assert 0 < result.seconds_per_iter < 10
    assert result.tokens_per_s == pytest.approx(4 * TINY.block_size / result.seconds_per_iter)
    assert result.peak_memory_bytes is None


@pytest.mark.slow
def test_the_probe_runs_in_a_child_process() -> None:
    result = probe_in_subprocess(TINY, batch_size=2, device="cpu", steps=2)
    assert result.seconds_per_iter > 0 and result.tokens_per_s > 0
    assert result.device == "cpu"


@pytest.mark.slow
def test_the_background_queue_runs_the_real_child_probe() -> None:
    queue = ProbeQueue(BoundedStore(max_entries=4))  # the app's kind of store
    request = ProbeRequest.of(TINY, 2, "cpu")
    assert queue.request(request).place == 0  # returned at once: the child runs in the background
    assert queue.wait_idle(120)
    result = queue.status(request).outcome
    assert isinstance(result, ProbeResult) and result.seconds_per_iter > 0 and result.device == "cpu"


def test_the_child_process_probe_reports_bad_requests() -> None:
    with pytest.raises(EstimateError, match="batch size"):
        probe_in_subprocess(TINY, batch_size=0, device="cpu")
    with pytest.raises(EstimateError, match="at least 1"):
        measure_step_time(TINY, batch_size=0)


def test_unavailable_devices_are_refused_clearly() -> None:
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(EstimateError, match="no CUDA GPU"):
            measure_step_time(TINY, 2, device="cuda")


def test_run_time_adds_evaluations_to_the_steps() -> None:
    steps_only = 1000 * 0.01
    total = estimate_run_seconds(0.01, 1000, eval_interval=100, eval_iters=10)
    assert total > steps_only
    assert estimate_run_seconds(0.01, 2000, 100, 10) > total


def test_devices_always_include_the_cpu_with_its_threads() -> None:
    devices = list_devices()
    cpu = [d for d in devices if d.key == "cpu"]
    assert len(cpu) == 1 and "threads" in cpu[0].label
    assert devices[-1].key == "cpu"  # GPUs first when there are any


def test_corpus_stats_and_a_corpus_too_short_for_the_context() -> None:
    stats = corpus_stats("abcab" * 100, "char", block_size=8)
    assert (stats.chars, stats.tokens, stats.vocab_size) == (500, 500, 3)
    assert corpus_stats("hello", "gpt2").vocab_size == 50257
    with pytest.raises(EstimateError, match="too short.*smaller context length"):
        corpus_stats("short text", "char", block_size=64)


def test_one_tokenization_answers_for_every_context_length() -> None:
    stats = corpus_stats("abcab" * 100, "char")  # 450 training tokens, 50 validation tokens
    assert (stats.train_tokens, stats.val_tokens) == (450, 50)
    stats.check_block(49)  # 49 inputs + 1 shifted target fit in the 50 validation tokens
    with pytest.raises(EstimateError, match="validation split has 50 tokens but one window needs block_size"):
        stats.check_block(50)

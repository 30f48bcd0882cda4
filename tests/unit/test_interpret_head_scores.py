"""Head-type scores recognise the patterns they are named after."""

from __future__ import annotations

import pytest
import torch

from gpt.interpret.head_scores import (
    entropy,
    first_token_score,
    head_scores,
    induction_score,
    max_entropy,
    previous_token_score,
    repeated_random_tokens,
)


def one_hot_pattern(targets: list[int]) -> torch.Tensor:
    T = len(targets)
    w = torch.zeros(T, T)
    w[torch.arange(T), torch.tensor(targets)] = 1.0
    return w


def test_a_previous_token_head_scores_one() -> None:
    w = one_hot_pattern([0, 0, 1, 2, 3])
    assert previous_token_score(w) == pytest.approx(1.0)
    assert first_token_score(w) == pytest.approx(0.25)


def test_an_attention_sink_scores_one_on_first_token() -> None:
    w = one_hot_pattern([0, 0, 0, 0])
    assert first_token_score(w) == pytest.approx(1.0)
    assert entropy(w) == pytest.approx(0.0, abs=1e-6)


def test_an_induction_head_scores_one_on_a_repeated_sequence() -> None:
    period = 4
    # query t (t >= period) looks at t - period + 1: the token after the previous occurrence
    targets = list(range(period)) + [t - period + 1 for t in range(period, 2 * period)]
    targets[:period] = [0, 0, 1, 2]
    w = one_hot_pattern(targets)
    assert induction_score(w, period) == pytest.approx(1.0)
    assert previous_token_score(w) < 0.6


def test_uniform_causal_attention_has_maximal_entropy() -> None:
    T = 6
    w = torch.tril(torch.ones(T, T))
    w = w / w.sum(-1, keepdim=True)
    assert entropy(w) == pytest.approx(max_entropy(T), rel=1e-5)


def test_scores_work_per_head_and_repeated_tokens_repeat() -> None:
    w = torch.softmax(torch.randn(3, 2, 8, 8), -1)
    scores = head_scores(w, period=4)
    assert scores["induction"].shape == (3, 2)
    seq = repeated_random_tokens(100, 5, repeats=3, seed=1)
    assert seq[:5] == seq[5:10] == seq[10:] and len(seq) == 15

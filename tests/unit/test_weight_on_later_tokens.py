"""Unit: the no-mask what-if's "weight on later tokens" is a 0-1 average per query row."""

from __future__ import annotations

import pytest
import torch

from gpt.interpret import explain


def test_weight_on_later_tokens_is_a_per_row_average_between_0_and_1() -> None:
    t = 6
    causal = torch.tril(torch.ones(t, t))
    causal = causal / causal.sum(-1, keepdim=True)
    assert explain.upper_triangle_mass(causal) == 0.0
    uniform = torch.full((t, t), 1.0 / t)  # no mask: row i puts (T-1-i)/T on later tokens
    assert explain.upper_triangle_mass(uniform) == pytest.approx((t - 1) / (2 * t))
    one_hot_last = torch.zeros(t, t)
    one_hot_last[:, -1] = 1.0  # every row looks at the last token: all but the last row put 1 there
    assert explain.upper_triangle_mass(one_hot_last) == pytest.approx((t - 1) / t)
    assert explain.upper_triangle_mass(uniform.expand(2, 3, t, t)) == pytest.approx((t - 1) / (2 * t))
    assert "0.42 of its attention on tokens after it" in explain.LATER_WEIGHT_TEXT.format(value=0.4167)

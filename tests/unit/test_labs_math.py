"""Labs 6, 7 and the predict-then-reveal score: scaling, sinusoidal shifts."""

from __future__ import annotations

import math

import pytest
import torch

from gpt.labs import LABS, lab_by_id, positional, predict, scaling


def test_score_variance_grows_with_head_size_and_scaling_fixes_it():
    for head_size in (4, 16, 64):
        s = scaling.score_sample(head_size, 20000, seed=1)
        assert s.var_raw == pytest.approx(head_size, rel=0.1)
        assert s.var_scaled == pytest.approx(1.0, rel=0.1)
        assert torch.allclose(s.scaled_scores * math.sqrt(head_size), s.raw_scores)


def test_softmax_sharpening_matches_the_lecture():
    soft = scaling.sharpen(scaling.KARPATHY_SCORES, 1)
    sharp = scaling.sharpen(scaling.KARPATHY_SCORES, scaling.LECTURE_SHARPEN_FACTOR)
    assert torch.allclose(soft, torch.tensor(scaling.LECTURE_SOFTMAX), atol=5e-5)
    assert torch.allclose(sharp, torch.tensor(scaling.LECTURE_SHARPENED), atol=5e-5)
    assert scaling.entropy_bits(sharp) < scaling.entropy_bits(soft) < math.log2(5)


def test_sinusoid_values_by_formula():
    pe = positional.pe_matrix(10, 8)
    pos, i = 7, 1  # columns 2 and 3
    w = 10000 ** (-2 * i / 8)
    assert float(pe[pos, 2]) == pytest.approx(math.sin(pos * w), abs=1e-6)
    assert float(pe[pos, 3]) == pytest.approx(math.cos(pos * w), abs=1e-6)


@pytest.mark.parametrize(("n", "d", "k"), [(50, 16, 3), (100, 64, 17), (8, 2, 0)])
def test_shift_is_one_rotation_for_every_position(n, d, k):
    check = positional.verify_shift(n, d, k)
    assert check.max_abs_error < 1e-4  # float32 encoding vs the exact identity
    assert check.orthogonality_error < 1e-12
    assert check.error_per_position.shape == (n - k,)
    # a wrong offset does not map the rows: the check can fail
    if k > 0:
        wrong = positional.shift_matrix(k + 1, d)
        pe = positional.pe_matrix(n, d).double()
        assert float((pe[: n - k] @ wrong.T - pe[k:]).abs().max()) > 1e-2


def test_positional_rejects_odd_sizes():
    with pytest.raises(ValueError):
        positional.pe_matrix(4, 5)
    with pytest.raises(ValueError):
        positional.verify_shift(4, 4, 4)


def test_score_and_largest_label():
    s = predict.Score().record(True).record(False).record(True)
    assert (s.attempts, s.correct) == (3, 2) and s.text().startswith("2 / 3")
    assert predict.Score().text() == "no guesses yet"
    assert predict.largest_label([0.1, 0.7, 0.7], ["a", "b", "c"]) == "b"


def test_lab_ids_are_unique_and_unknown_falls_back():
    ids = [lab.lab_id for lab in LABS]
    assert len(ids) == len(set(ids)) == 10
    assert lab_by_id("bigram").lab_id == "bigram"
    assert lab_by_id("nope") is LABS[0] and lab_by_id(None) is LABS[0]

"""Labs 2, 3, 9: embedding lookup, sliding windows, bigram baseline."""

from __future__ import annotations

import pytest
import torch

from gpt.catalog import DEFAULT_CORPUS
from gpt.labs import bigram, embedding, sliding_window
from gpt.tokenizers import get_tokenizer


def test_embedding_weights_match_the_book():
    w = embedding.embedding_weights(6, 3, 123)
    printed = [
        [0.3374, -0.1778, -0.1690],
        [0.9178, 1.5810, 1.3010],
        [1.2753, -0.2010, -0.1606],
        [-0.4015, 0.9666, -1.1481],
        [-1.1589, 0.3255, -0.6315],
        [-2.8400, -0.7849, -1.4096],
    ]
    assert torch.allclose(w, torch.tensor(printed), atol=5e-5)


def test_lookup_equals_one_hot_matmul_and_picks_rows():
    w = embedding.embedding_weights(6, 3, 123)
    res = embedding.lookup(w, [2, 3, 5, 1])
    assert torch.equal(res.looked_up, w[[2, 3, 5, 1]])
    assert res.max_abs_diff == 0.0
    assert res.one_hot.sum(dim=1).tolist() == [1.0] * 4 and res.one_hot[0, 2] == 1.0
    assert torch.allclose(res.looked_up[2], torch.tensor([-2.8400, -0.7849, -1.4096]), atol=5e-5)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        embedding.lookup(w, [6])


def test_sliding_windows_reproduce_the_books_batch():
    ids = get_tokenizer("gpt2").encode(sliding_window.VERDICT_OPENING)
    first = sliding_window.sliding_windows(ids, 4, 1)[:2]
    assert first[0].input_ids == (40, 367, 2885, 1464) and first[0].target_ids == (367, 2885, 1464, 1807)
    assert first[1].input_ids == (367, 2885, 1464, 1807) and first[1].target_ids == (2885, 1464, 1807, 3619)
    no_overlap = sliding_window.sliding_windows(ids, 4, 4)
    printed_inputs = [
        (40, 367, 2885, 1464),
        (1807, 3619, 402, 271),
        (10899, 2138, 257, 7026),
        (15632, 438, 2016, 257),
        (922, 5891, 1576, 438),
        (568, 340, 373, 645),
        (1049, 5975, 284, 502),
        (284, 3285, 326, 11),
    ]
    assert [p.input_ids for p in no_overlap[:8]] == printed_inputs
    assert no_overlap[7].target_ids == (3285, 326, 11, 287)


def test_windows_against_independent_slicing_and_overlap_counts():
    ids = list(range(100, 120))
    pairs = sliding_window.sliding_windows(ids, 5, 3)
    expected = [(ids[s : s + 5], ids[s + 1 : s + 6]) for s in range(0, len(ids) - 5, 3)]
    assert [(list(p.input_ids), list(p.target_ids)) for p in pairs] == expected
    assert [p.start for p in pairs] == list(range(0, 15, 3))
    assert sliding_window.overlap(5, 3) == 2 and sliding_window.overlap(4, 4) == 0
    assert sliding_window.skipped(4, 6) == 2
    assert sliding_window.sliding_windows([1, 2, 3], 4, 1) == []
    with pytest.raises(ValueError):
        sliding_window.sliding_windows(ids, 0, 1)


@pytest.fixture(scope="module")
def shakespeare_bigram() -> bigram.BigramModel:
    return bigram.train_bigram(DEFAULT_CORPUS.read_text(encoding="utf-8"))


def test_bigram_trains_to_about_2_5(shakespeare_bigram):
    m = shakespeare_bigram
    assert m.loss_curve[0] == pytest.approx(m.initial_loss)  # all-zero logits: uniform guess, ln V
    assert 2.4 < m.train_loss < 2.6
    assert m.train_loss - m.best_train_loss < 0.01  # close to the best any bigram can reach
    assert m.val_loss < m.initial_loss


def test_bigram_best_loss_equals_independent_count_estimate():
    text = "abababababbbaaab" * 3
    m = bigram.train_bigram(text, steps=400, lr=0.3, val_fraction=0.2)
    ids = [m.chars.index(c) for c in text[: int(len(text) * 0.8)]]
    counts = torch.zeros(2, 2, dtype=torch.float64)
    for a, b in zip(ids, ids[1:]):
        counts[a, b] += 1
    probs = counts / counts.sum(1, keepdim=True)
    nll = -sum(torch.log(probs[a, b]) for a, b in zip(ids, ids[1:])) / (len(ids) - 1)
    assert m.best_train_loss == pytest.approx(float(nll))
    assert m.train_loss == pytest.approx(float(nll), abs=1e-3)


def test_bigram_ignores_context(shakespeare_bigram):
    m = shakespeare_bigram
    assert bigram.same_prediction(m, "the", "she")  # both end in "e"
    text = bigram.sample(m, "ROMEO:", 50, seed=1)
    assert text.startswith("ROMEO:") and len(text) == 56
    assert text == bigram.sample(m, "ROMEO:", 50, seed=1)
    with pytest.raises(ValueError):
        bigram.next_char_probs(m, "€")

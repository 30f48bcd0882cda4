"""Labs 2, 3, 9: embedding lookup, sliding windows, bigram baseline."""

from __future__ import annotations

import pytest
import torch

from gpt.labs import bigram, embedding, sliding_window
from gpt.paths import DEFAULT_CORPUS
from gpt.tokenizers import get_tokenizer


def test_embedding_weights_match_the_book():
    w = embedding.embedding_weights(embedding.BOOK_VOCAB_SIZE, embedding.BOOK_DIM, embedding.BOOK_SEED)
    assert w.shape == (len(embedding.BOOK_WEIGHTS), len(embedding.BOOK_WEIGHTS[0]))
    assert torch.allclose(w, torch.tensor(embedding.BOOK_WEIGHTS), atol=5e-5)
    vocab, dim, seed = embedding.BOOK_VOCAB_SIZE, embedding.BOOK_DIM, embedding.BOOK_SEED
    assert embedding.is_book_example(vocab, dim, seed)
    assert not embedding.is_book_example(vocab + 1, dim, seed)
    assert not embedding.is_book_example(vocab, dim + 1, seed)
    assert not embedding.is_book_example(vocab, dim, seed + 1)


def test_lookup_equals_one_hot_matmul_and_picks_rows():
    w = embedding.embedding_weights(embedding.BOOK_VOCAB_SIZE, embedding.BOOK_DIM, embedding.BOOK_SEED)
    res = embedding.lookup(w, embedding.BOOK_IDS)
    assert torch.equal(res.looked_up, w[list(embedding.BOOK_IDS)])
    assert res.max_abs_diff == 0.0
    assert res.one_hot.sum(dim=1).tolist() == [1.0] * 4 and res.one_hot[0, embedding.BOOK_IDS[0]] == 1.0
    printed_row = embedding.BOOK_WEIGHTS[embedding.BOOK_IDS[2]]  # ID 5: the last row
    assert torch.allclose(res.looked_up[2], torch.tensor(printed_row), atol=5e-5)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        embedding.lookup(w, [6])


def test_sliding_windows_reproduce_the_books_batch():
    ids = get_tokenizer(sliding_window.BOOK_TOKENIZER).encode(sliding_window.VERDICT_OPENING)
    length, (overlapping, disjoint) = sliding_window.BOOK_MAX_LENGTH, sliding_window.BOOK_STRIDES
    first = sliding_window.sliding_windows(ids, length, overlapping)[:2]
    assert len(sliding_window.BOOK_STRIDE_1_PAIRS) == 2
    for pair, (printed_input, printed_target) in zip(first, sliding_window.BOOK_STRIDE_1_PAIRS, strict=True):
        assert pair.input_ids == printed_input and pair.target_ids == printed_target
    no_overlap = sliding_window.sliding_windows(ids, length, disjoint)
    assert len(sliding_window.BOOK_STRIDE_4_INPUTS) == 8
    assert [p.input_ids for p in no_overlap[:8]] == list(sliding_window.BOOK_STRIDE_4_INPUTS)
    assert no_overlap[7].target_ids == sliding_window.BOOK_STRIDE_4_LAST_TARGET


def test_sliding_window_book_example_predicate():
    text, tok, length = sliding_window.VERDICT_OPENING, sliding_window.BOOK_TOKENIZER, sliding_window.BOOK_MAX_LENGTH
    for stride in sliding_window.BOOK_STRIDES:
        assert sliding_window.is_book_example(tok, text, length, stride)
        assert not sliding_window.is_book_example("char", text, length, stride)
        assert not sliding_window.is_book_example(tok, text + " More.", length, stride)
        assert not sliding_window.is_book_example(tok, text, length + 1, stride)
    assert not sliding_window.is_book_example(tok, text, length, 2)


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

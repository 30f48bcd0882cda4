"""Labs 1, 4, 5, 8: the attention worked examples reproduce their sources' printed numbers.

The printed numbers live next to each lab's maths (``gpt.labs.<lab>.BOOK_*``, ``ARTICLE_*``, ``LECTURE_*``),
where the page's "book check" lines read them too.
"""

from __future__ import annotations

import math

import pytest
import torch

from gpt.labs import averaging, dessert, fox, journey


def close4(actual: torch.Tensor, printed) -> None:
    """Equal to the source's printed values at its 4 decimals."""
    assert torch.allclose(actual.double(), torch.tensor(printed, dtype=torch.float64), atol=5e-5, rtol=0), actual


# ---- lab 1 -----------------------------------------------------------------------------------


def test_journey_scores_and_softmax_match_the_book():
    assert journey.JOURNEY_TOKENS[journey.BOOK_QUERY_INDEX] == "journey"
    view = journey.query_view(journey.journey_inputs(), journey.BOOK_QUERY_INDEX)
    close4(view.attn_scores, journey.BOOK_SCORES_QUERY_2)
    close4(view.attn_weights, journey.BOOK_WEIGHTS_QUERY_2)
    close4(view.naive_weights, journey.BOOK_NAIVE_WEIGHTS_QUERY_2)
    close4(view.context_vec, journey.BOOK_CONTEXT_QUERY_2)


def test_journey_matches_a_hand_recomputation():
    x = journey.journey_inputs()
    q = x[1]
    scores = torch.tensor([sum(float(a) * float(b) for a, b in zip(row, q)) for row in x])
    exps = [math.exp(s) for s in scores.tolist()]
    weights = torch.tensor([e / sum(exps) for e in exps])
    view = journey.query_view(x, 1)
    assert torch.allclose(view.attn_scores, scores, atol=1e-6)
    assert torch.allclose(view.attn_weights, weights, atol=1e-6)
    assert torch.allclose(view.context_vec, weights @ x, atol=1e-6)


def test_full_matrix_and_all_context_vectors_match_the_book():
    steps = journey.simplified_steps(journey.journey_inputs())
    assert sorted(journey.BOOK_ALL_WEIGHTS_ROWS) == [0, 5]
    for row, printed in journey.BOOK_ALL_WEIGHTS_ROWS.items():
        close4(steps.attn_weights[row], printed)
    assert len(journey.BOOK_ALL_CONTEXT) == 6
    close4(steps.context_vec, journey.BOOK_ALL_CONTEXT)
    assert torch.allclose(steps.attn_weights.sum(-1), torch.ones(6))


def test_naive_softmax_overflows_but_torch_softmax_does_not():
    scores = journey.query_view(journey.journey_inputs(), 1).attn_scores
    small = journey.overflow_demo(scores, 1.0)
    assert not small.overflowed and torch.allclose(small.naive, small.stable, atol=1e-6)
    big = journey.overflow_demo(scores, 100.0)  # exp(149.5) overflows float32
    assert big.overflowed and torch.isnan(big.naive).any()
    assert torch.isfinite(big.stable).all() and abs(float(big.stable.sum()) - 1) < 1e-6


def test_trainable_weights_reproduce_section_3_4():
    x = journey.journey_inputs()
    w = journey.rand_qkv_weights(3, journey.BOOK_D_OUT, journey.BOOK_RAND_SEED)
    proj = journey.project_and_attend(x, w, causal=False)
    close4(proj.queries[1], journey.BOOK_TRAINABLE_QUERY_2)
    close4(proj.steps.raw_scores[1], journey.BOOK_TRAINABLE_SCORES_2)
    close4(proj.steps.attn_weights[1], journey.BOOK_TRAINABLE_WEIGHTS_2)
    close4(proj.steps.context_vec[1], journey.BOOK_TRAINABLE_CONTEXT_2)
    close4(proj.steps.context_vec[0], journey.BOOK_TRAINABLE_CONTEXT_1)


def test_linear_weights_and_causal_mask_reproduce_section_3_5():
    x = journey.journey_inputs()
    (w,) = journey.linear_qkv_weights(3, journey.BOOK_D_OUT, journey.BOOK_LINEAR_SEED)
    proj = journey.project_and_attend(x, w, causal=False)
    close4(proj.steps.context_vec[0], journey.BOOK_LINEAR_CONTEXT_1)
    both = journey.causal_two_ways(proj)
    assert sorted(journey.BOOK_RENORMALISED_ROWS) == [1] and sorted(journey.BOOK_CAUSAL_ROWS) == [2]
    close4(both.renormalised[1], journey.BOOK_RENORMALISED_ROWS[1])
    close4(both.minus_inf_way[2], journey.BOOK_CAUSAL_ROWS[2])
    assert both.max_abs_diff < 1e-6
    assert not torch.allclose(both.zeroed.sum(-1), torch.ones(6))  # zeroing alone breaks the row sums
    assert torch.allclose(both.renormalised.sum(-1), torch.ones(6))


def test_dropout_reproduces_the_books_pattern_and_scales_survivors():
    p, seed = journey.BOOK_DROPOUT_P, journey.BOOK_DROPOUT_SEED
    dropped = journey.dropout_weights(torch.ones(6, 6), p, seed)
    assert sorted(journey.BOOK_DROPOUT_ONES_ROWS) == [0, 1]
    assert dropped[0].tolist() == list(journey.BOOK_DROPOUT_ONES_ROWS[0])
    assert dropped[1].tolist() == list(journey.BOOK_DROPOUT_ONES_ROWS[1])
    assert torch.equal(journey.dropout_weights(torch.ones(6, 6), 0.0), torch.ones(6, 6))
    (w,) = journey.linear_qkv_weights(3, journey.BOOK_D_OUT, journey.BOOK_LINEAR_SEED)
    causal = journey.project_and_attend(journey.journey_inputs(), w, causal=True).steps.attn_weights
    on_weights = journey.dropout_weights(causal, p, seed)  # the book's sect. 3.5.2 printout
    assert sorted(journey.BOOK_DROPOUT_WEIGHTS_ROWS) == [2, 5]
    close4(on_weights[2], journey.BOOK_DROPOUT_WEIGHTS_ROWS[2])
    close4(on_weights[5], journey.BOOK_DROPOUT_WEIGHTS_ROWS[5])
    with pytest.raises(ValueError):
        journey.dropout_weights(torch.ones(2, 2), 1.0)


def test_two_heads_reproduce_section_3_6():
    mh = journey.multi_head(
        journey.journey_inputs(), d_out=journey.BOOK_D_OUT, n_heads=journey.BOOK_HEADS, seed=journey.BOOK_HEADS_SEED
    )
    assert mh.context_vec.shape == (6, 4)
    close4(mh.context_vec[0], journey.BOOK_HEADS_CONTEXT_FIRST)
    close4(mh.context_vec[5], journey.BOOK_HEADS_CONTEXT_LAST)


def test_book_example_predicates():
    x = journey.journey_inputs()
    q, seed, d_out, heads = journey.BOOK_QUERY_INDEX, journey.BOOK_RAND_SEED, journey.BOOK_D_OUT, journey.BOOK_HEADS
    assert journey.is_book_inputs(x) and journey.is_book_inputs(journey.JOURNEY_INPUTS)
    assert journey.is_book_example(x.numpy().astype("float64"), q) and not journey.is_book_example(x, q + 1)
    assert journey.is_book_trainable(x, seed, d_out) and not journey.is_book_trainable(x, seed, d_out + 1)
    assert not journey.is_book_trainable(x, seed + 1, d_out)
    assert journey.is_book_heads(x, heads, d_out, journey.BOOK_HEADS_SEED)
    assert not journey.is_book_heads(x, heads + 1, d_out, journey.BOOK_HEADS_SEED)
    edited = x.clone()
    edited[0, 0] = 2.0
    assert not journey.is_book_inputs(edited) and not journey.is_book_example(edited, q)
    assert not journey.is_book_trainable(edited, seed, d_out)
    assert not journey.is_book_heads(edited, heads, d_out, journey.BOOK_HEADS_SEED)
    assert not journey.is_book_inputs(x[:5])  # another shape is never the book's example


def test_editing_an_input_changes_the_result_and_bad_query_is_rejected():
    x = journey.journey_inputs()
    x[0, 0] = 2.0
    assert journey.query_view(x, 1).attn_scores[0] != pytest.approx(journey.BOOK_SCORES_QUERY_2[0], abs=1e-3)
    with pytest.raises(ValueError):
        journey.query_view(x, 6)


# ---- lab 4 -----------------------------------------------------------------------------------


def test_toy_positions_match_the_article():
    toy = fox.toy_positions(4)
    assert torch.allclose(toy.combined, torch.tensor(fox.ARTICLE_TOY_INPUTS, dtype=torch.float64))


def test_fox_exact_arithmetic_and_the_articles_slips():
    res = fox.fox_query(fox.FOX_QUERY, fox.FOX_KEYS, fox.FOX_KEYS)
    exact = [0.27, 0.22, 0.21, 0.24, 0.29, 0.27, 0.23, 0.29, 0.25]  # redone by hand
    assert torch.allclose(res.attn_scores, torch.tensor(exact, dtype=torch.float64), atol=1e-12)
    wrong = [i for i, e in enumerate(res.score_error.tolist()) if abs(e) > 1e-9]
    assert wrong == [0, 1, 2, 3, 6, 7, 8]  # only "jumps" and "over" are printed correctly
    assert res.printed_weights_sum == pytest.approx(0.94)
    assert float(res.attn_weights.sum()) == pytest.approx(1.0)
    assert fox.FOX_TOKENS[int(res.attn_weights.argmax())] in {"jumps", "lazy"}  # tied at 0.29


# ---- lab 5 -----------------------------------------------------------------------------------


def test_three_ways_to_average_agree():
    x = averaging.karpathy_x()
    ways = averaging.three_ways(x)
    assert ways.all_close and ways.max_abs_diff < 1e-6
    assert torch.allclose(ways.loop[0, 1], (x[0, 0] + x[0, 1]) / 2)
    close4(x[0, 0], averaging.LECTURE_X_0_0)


def test_karpathy_head_weights_are_data_dependent():
    demo = averaging.karpathy_head(scale=False)
    assert demo.queries.shape[-1] == averaging.LECTURE_HEAD_SIZE
    w = demo.steps.attn_weights[0]
    assert sorted(averaging.LECTURE_HEAD_WEIGHTS_ROWS) == [1, 2]
    close4(w[1, :2], averaging.LECTURE_HEAD_WEIGHTS_ROWS[1])
    close4(w[2, :3], averaging.LECTURE_HEAD_WEIGHTS_ROWS[2])
    size = averaging.LECTURE_HEAD_SIZE
    assert averaging.is_lecture_example(averaging.KARPATHY_SEED, size, False)
    assert not averaging.is_lecture_example(averaging.KARPATHY_SEED, size, True)
    assert not averaging.is_lecture_example(averaging.KARPATHY_SEED, size // 2, False)
    assert not averaging.is_lecture_example(averaging.KARPATHY_SEED + 1, size, False)
    assert not torch.allclose(w, averaging.tril_weights(8))


# ---- lab 8 -----------------------------------------------------------------------------------


def test_dessert_dictionary_ids_and_embedding():
    dc = dessert.build_dictionary(dessert.DESSERT_SENTENCE)
    assert dc == dict(dessert.ARTICLE_DICTIONARY)
    assert dessert.sentence_ids(dessert.DESSERT_SENTENCE, dc) == list(dessert.ARTICLE_IDS)
    emb = dessert.dessert_embedding(len(dc))
    assert emb.shape == (6, 3)
    embedded = emb[torch.tensor(dessert.ARTICLE_IDS)]
    att = dessert.dessert_attention(embedded, 2, 4)
    assert att.steps.context_vec.shape == (6, 4)
    q, k = embedded @ att.w_query.T, embedded @ att.w_key.T
    manual = torch.softmax(q @ k.T / math.sqrt(2), dim=-1)
    assert torch.allclose(att.steps.attn_weights, manual, atol=1e-6)

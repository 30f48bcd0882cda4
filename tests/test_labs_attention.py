"""Labs 1, 4, 5, 8: the attention worked examples reproduce their sources' printed numbers."""

from __future__ import annotations

import math

import pytest
import torch

from gpt.labs import averaging, dessert, fox, journey


def close4(actual: torch.Tensor, printed: list) -> None:
    """Equal to the source's printed values at its 4 decimals."""
    assert torch.allclose(actual.double(), torch.tensor(printed, dtype=torch.float64), atol=5e-5, rtol=0), actual


# ---- lab 1 -----------------------------------------------------------------------------------


def test_journey_scores_and_softmax_match_the_book():
    view = journey.query_view(journey.journey_inputs(), 1)
    close4(view.attn_scores, [0.9544, 1.4950, 1.4754, 0.8434, 0.7070, 1.0865])
    close4(view.attn_weights, [0.1385, 0.2379, 0.2333, 0.1240, 0.1082, 0.1581])
    close4(view.naive_weights, [0.1455, 0.2278, 0.2249, 0.1285, 0.1077, 0.1656])
    close4(view.context_vec, [0.4419, 0.6515, 0.5683])


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
    close4(steps.attn_weights[0], [0.2098, 0.2006, 0.1981, 0.1242, 0.1220, 0.1452])
    close4(steps.attn_weights[5], [0.1385, 0.2184, 0.2128, 0.1420, 0.0988, 0.1896])
    close4(
        steps.context_vec,
        [
            [0.4421, 0.5931, 0.5790],
            [0.4419, 0.6515, 0.5683],
            [0.4431, 0.6496, 0.5671],
            [0.4304, 0.6298, 0.5510],
            [0.4671, 0.5910, 0.5266],
            [0.4177, 0.6503, 0.5645],
        ],
    )
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
    w = journey.rand_qkv_weights(3, 2, 123)
    proj = journey.project_and_attend(x, w, causal=False)
    close4(proj.queries[1], [0.4306, 1.4551])
    close4(proj.steps.raw_scores[1], [1.2705, 1.8524, 1.8111, 1.0795, 0.5577, 1.5440])
    close4(proj.steps.attn_weights[1], [0.1500, 0.2264, 0.2199, 0.1311, 0.0906, 0.1820])
    close4(proj.steps.context_vec[1], [0.3061, 0.8210])
    close4(proj.steps.context_vec[0], [0.2996, 0.8053])


def test_linear_weights_and_causal_mask_reproduce_section_3_5():
    x = journey.journey_inputs()
    (w,) = journey.linear_qkv_weights(3, 2, 789)
    proj = journey.project_and_attend(x, w, causal=False)
    close4(proj.steps.context_vec[0], [-0.0739, 0.0713])
    both = journey.causal_two_ways(proj)
    close4(both.renormalised[1], [0.5517, 0.4483, 0, 0, 0, 0])
    close4(both.minus_inf_way[2], [0.3800, 0.3097, 0.3103, 0, 0, 0])
    assert both.max_abs_diff < 1e-6
    assert not torch.allclose(both.zeroed.sum(-1), torch.ones(6))  # zeroing alone breaks the row sums
    assert torch.allclose(both.renormalised.sum(-1), torch.ones(6))


def test_dropout_reproduces_the_books_pattern_and_scales_survivors():
    dropped = journey.dropout_weights(torch.ones(6, 6), 0.5, 123)
    assert dropped[0].tolist() == [2.0, 2.0, 0.0, 2.0, 2.0, 0.0]
    assert dropped[1].tolist() == [0.0, 0.0, 0.0, 2.0, 0.0, 2.0]
    assert torch.equal(journey.dropout_weights(torch.ones(6, 6), 0.0), torch.ones(6, 6))
    (w,) = journey.linear_qkv_weights(3, 2, 789)
    causal = journey.project_and_attend(journey.journey_inputs(), w, causal=True).steps.attn_weights
    on_weights = journey.dropout_weights(causal, 0.5, 123)  # the book's sect. 3.5.2 printout
    close4(on_weights[2], [0.7599, 0.6194, 0.6206, 0, 0, 0])
    close4(on_weights[5], [0, 0.3327, 0.3331, 0.3084, 0.3331, 0])
    with pytest.raises(ValueError):
        journey.dropout_weights(torch.ones(2, 2), 1.0)


def test_two_heads_reproduce_section_3_6():
    mh = journey.multi_head(journey.journey_inputs(), d_out=2, n_heads=2, seed=123)
    assert mh.context_vec.shape == (6, 4)
    close4(mh.context_vec[0], [-0.4519, 0.2216, 0.4772, 0.1063])
    close4(mh.context_vec[5], [-0.5299, -0.1081, 0.5077, 0.3493])


def test_editing_an_input_changes_the_result_and_bad_query_is_rejected():
    x = journey.journey_inputs()
    x[0, 0] = 2.0
    assert journey.query_view(x, 1).attn_scores[0] != pytest.approx(0.9544, abs=1e-3)
    with pytest.raises(ValueError):
        journey.query_view(x, 6)


# ---- lab 4 -----------------------------------------------------------------------------------


def test_toy_positions_match_the_article():
    toy = fox.toy_positions(4)
    assert torch.allclose(toy.combined[0], torch.tensor([1.1, 0.1, 0.1, 0.1], dtype=torch.float64))
    assert torch.allclose(toy.combined[3], torch.tensor([0.4, 0.4, 0.4, 1.4], dtype=torch.float64))


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
    close4(x[0, 0], [0.1808, -0.0700])


def test_karpathy_head_weights_are_data_dependent():
    demo = averaging.karpathy_head(scale=False)
    w = demo.steps.attn_weights[0]
    close4(w[1, :2], [0.1574, 0.8426])
    close4(w[2, :3], [0.2088, 0.1646, 0.6266])
    assert not torch.allclose(w, averaging.tril_weights(8))


# ---- lab 8 -----------------------------------------------------------------------------------


def test_dessert_dictionary_ids_and_embedding():
    dc = dessert.build_dictionary(dessert.DESSERT_SENTENCE)
    assert dc == {"Life": 0, "dessert": 1, "eat": 2, "first": 3, "is": 4, "short": 5}
    assert dessert.sentence_ids(dessert.DESSERT_SENTENCE, dc) == [0, 4, 5, 2, 1, 3]
    emb = dessert.dessert_embedding(len(dc))
    assert emb.shape == (6, 3)
    embedded = emb[torch.tensor([0, 4, 5, 2, 1, 3])]
    att = dessert.dessert_attention(embedded, 2, 4)
    assert att.steps.context_vec.shape == (6, 4)
    q, k = embedded @ att.w_query.T, embedded @ att.w_key.T
    manual = torch.softmax(q @ k.T / math.sqrt(2), dim=-1)
    assert torch.allclose(att.steps.attn_weights, manual, atol=1e-6)

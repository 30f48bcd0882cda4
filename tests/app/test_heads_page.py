"""AppTest: the All heads page shows every head, enlarges one, ranks heads and runs the induction test."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from gpt.interpret import INDUCTION_HEAD_MIN_SCORE
from gpt.interpret.model_report import INDUCTION_DEMO
from tests import helpers
from tests.app.test_attention_page import BAD_INPUTS, chart, z
from tests.app.test_attention_page import open_page as open_attention_or_heads
from tests.helpers import decode_array

SENTENCE = "The cat sat on the mat"  # 22 characters = 22 tokens for the char model
N_LAYER = N_HEAD = 4  # random:shakespeare-char


def open_page(sentence: str = SENTENCE, **params: object) -> AppTest:
    return open_attention_or_heads(sentence, page="heads", **params)


def head_table(at: AppTest):
    return at.dataframe[-1].value


def test_grid_shows_every_layer_and_head_and_matches_the_enlarged_head() -> None:
    at = open_page(layer=2, head=1)
    grid = chart(at, "heads_grid")
    tiled = decode_array(grid["data"][0]["z"])
    t = len(SENTENCE)
    assert tiled.shape == (N_LAYER * (t + 1) - 1, N_HEAD * (t + 1) - 1)
    assert grid["layout"]["yaxis"]["ticktext"] == [f"layer {i}" for i in range(N_LAYER)]
    assert grid["layout"]["xaxis"]["ticktext"] == [f"head {i}" for i in range(N_HEAD)]
    tile = tiled[2 * (t + 1) : 2 * (t + 1) + t, 1 * (t + 1) : 1 * (t + 1) + t]
    assert np.allclose(tile, z(at, "heads_selected"), atol=1e-6)
    frame = grid["layout"]["shapes"][0]
    assert (frame["x0"], frame["y0"]) == (t + 1 - 0.5, 2 * (t + 1) - 0.5)  # red frame on the selection


def test_layer_and_head_sliders_change_the_enlarged_view() -> None:
    at = open_page()
    before = z(at, "heads_selected")
    at.select_slider(key="w_head").set_value(3).run()
    after_head = z(at, "heads_selected")
    assert not np.allclose(before, after_head)
    at.select_slider(key="w_layer").set_value(1).run()
    assert not np.allclose(after_head, z(at, "heads_selected"))
    assert "Layer 1, head 3" in chart(at, "heads_selected")["layout"]["title"]["text"]


def test_head_table_has_every_head_and_sorts_by_the_chosen_score() -> None:
    at = open_page()
    table = head_table(at)
    assert len(table) == N_LAYER * N_HEAD
    assert {"layer", "head", "entropy", "previous_token", "first_token", "self", "top_key"} <= set(table.columns)
    assert "induction" not in table.columns
    assert list(table["previous_token"]) == sorted(table["previous_token"], reverse=True)
    at.selectbox(key="heads_sort").set_value("entropy").run()
    table = head_table(at)
    assert list(table["entropy"]) == sorted(table["entropy"])  # entropy: lowest (most focused) first
    assert any(b.label == "Download head table (CSV)" for b in at.get("download_button"))


def test_repeated_sequence_button_reveals_induction_scores_and_can_go_back() -> None:
    at = open_page()
    at.button(key="heads_repeat").click().run()
    assert not at.exception
    assert "repeated" in at.info[0].value
    table = head_table(at)
    assert "induction" in table.columns and table["induction"].between(0, 1).all()
    assert list(table["induction"]) == sorted(table["induction"], reverse=True)
    labels = chart(at, "heads_selected")["layout"]["yaxis"]["ticktext"]
    tokens = [label.split(": ", 1)[1] for label in labels]
    half = len(tokens) // 2
    assert len(tokens) == 50 and tokens[:half] == tokens[half:]  # the same random tokens twice
    next(b for b in at.button if b.label == "Back to my sentence").click().run()
    assert "induction" not in head_table(at).columns
    assert len(chart(at, "heads_selected")["layout"]["yaxis"]["ticktext"]) == len(SENTENCE)


def test_open_in_step_by_step_carries_layer_and_head() -> None:
    at = open_page()
    at.select_slider(key="w_layer").set_value(3).run()
    at.select_slider(key="w_head").set_value(1).run()
    at.button(key="heads_open_steps").click().run()
    assert not at.exception
    assert at.subheader[0].value == "Step 8 of 11 · Softmax: scores become attention weights (layer 3, head 1)"


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_never_shows_a_traceback(name: str) -> None:
    at = open_page(BAD_INPUTS[name])
    if not at.get("plotly_chart"):
        assert name == "empty" and at.info
        return
    labels = chart(at, "heads_selected")["layout"]["yaxis"]["ticktext"]
    assert labels and all("<" not in label for label in labels)
    assert len(head_table(at)) == N_LAYER * N_HEAD


def test_induction_test_says_when_no_head_qualifies_and_names_the_threshold() -> None:
    at = open_page()
    at.button(key="heads_repeat").click().run()
    verdict = " ".join(str(w.value) for w in at.warning) + " ".join(str(s.value) for s in at.success)
    best = head_table(at)["induction"].max()
    if best < INDUCTION_HEAD_MIN_SCORE:  # the untrained model: no head can pass
        assert "No head of this model is an induction head" in verdict
        assert f"{best:.3f}" in verdict and f"{INDUCTION_HEAD_MIN_SCORE:.2f}" in verdict and "GPT-2" in verdict
    else:
        assert "Induction heads found" in verdict


def test_a_model_without_an_induction_head_is_sent_to_the_demo_that_has_one() -> None:
    at = open_page()  # the untrained char model
    at.button(key="heads_repeat").click().run()
    verdict = " ".join(str(w.value) for w in at.warning)
    assert "No head of this model is an induction head" in verdict
    assert INDUCTION_DEMO.partition(":")[2] in verdict


def test_the_induction_demo_passes_the_induction_test_on_the_page() -> None:
    at = helpers.open_page("heads", model=INDUCTION_DEMO, sentence=SENTENCE)
    at.button(key="heads_repeat").click().run()
    assert not at.exception
    verdict = " ".join(str(s.value) for s in at.success)
    assert "Induction heads found" in verdict and "layer 1 head 1" in verdict
    assert head_table(at)["induction"].max() >= INDUCTION_HEAD_MIN_SCORE


def test_open_in_step_by_step_from_the_repeated_sequence_opens_that_sequence() -> None:
    at = open_page()
    at.button(key="heads_repeat").click().run()
    repeated = chart(at, "heads_selected")["layout"]["yaxis"]["ticktext"]
    at.button(key="heads_open_steps").click().run()
    assert not at.exception
    assert at.subheader[0].value.startswith("Step 8 of 11")
    assert chart(at, "attn_step")["layout"]["yaxis"]["ticktext"] == repeated  # the same 50 tokens
    assert at.query_params["repeat"] == "0"  # a shared link keeps the sequence
    assert any("random sequence of 25 tokens, repeated" in str(i.value) for i in at.info)  # and says so

"""AppTest: the "Why this token?" page: its five views, its state in the URL, and bad input from a link."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from gpt import load_model
from gpt.interpret import knockout_options, log_prob
from tests import helpers
from tests.app.test_attention_page import chart
from tests.helpers import decode_array, texts

MODEL = "demo:shakespeare-char"  # trained: its layer 0 head 1 is a previous-token head
SENTENCE = "To be, or not to be"  # 19 characters = 19 tokens
N = len(SENTENCE)


def open_page(**params: object) -> AppTest:
    params = {"model": MODEL, "sentence": SENTENCE, **params}
    at = helpers.open_page("why", **params)
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def demo():
    loaded = load_model(MODEL)
    ids = loaded.tokenizer.encode(SENTENCE)
    return loaded, ids, loaded.model.trace(ids)


def warnings(at: AppTest) -> str:
    return " ".join(str(w.value) for w in [*at.warning, *at.error])


def test_the_lens_opens_by_default_and_its_last_row_is_the_models_prediction(demo) -> None:
    loaded, ids, trace = demo
    at = open_page()
    spec = chart(at, "why_lens")
    z = decode_array(spec["data"][0]["z"])
    assert z.shape == (2 * loaded.model.config.n_layer + 1, N)  # every point of the residual stream
    expected = torch.softmax(trace.logits.float(), dim=-1).max(dim=-1).values.numpy()
    assert np.allclose(z[-1], expected, atol=1e-6)
    assert spec["layout"]["yaxis"]["ticktext"][-1] == "layer 3 after the block"
    assert "Download numbers (CSV)" in [b.label for b in at.get("download_button")]


def test_position_and_target_are_in_the_url_and_drive_the_explanation(demo) -> None:
    loaded, ids, trace = demo
    at = open_page(why_view="attribution")
    at.slider(key="w_why_position").set_value(3).run()
    assert at.query_params["why_position"] == "3"
    runner_up = int(trace.logits_at(3).topk(2).indices[1])
    at.selectbox(key="w_why_target").set_value(runner_up).run()
    assert at.query_params["why_target"] == str(runner_up)
    logit, total = (float(m.value) for m in at.metric[:2])
    assert logit == pytest.approx(float(trace.logits_at(3)[runner_up]), abs=1e-4)
    assert total == pytest.approx(logit, abs=1e-4)  # the parts add up to the logit
    again = open_page(why_view="attribution", why_position=3, why_target=runner_up)  # the link opens the same view
    assert [m.value for m in again.metric] == [m.value for m in at.metric]


def test_the_last_position_follows_the_text_when_nothing_else_was_chosen() -> None:
    at = open_page()
    assert at.slider(key="w_why_position").value == N - 1 and "why_position" not in at.query_params
    at.sidebar.text_area(key="w_sentence").input(SENTENCE + " that").run()
    assert at.slider(key="w_why_position").value == N + 4


def test_knocking_out_the_previous_token_head_changes_the_prediction(demo) -> None:
    loaded, ids, trace = demo
    at = open_page(why_view="knockout", why_knockout="0.1")
    before, after = chart(at, "why_before"), chart(at, "why_after")
    assert before["data"][0]["x"] != after["data"][0]["x"]
    target = int(trace.logits_at(N - 1).argmax())
    knocked = loaded.model.trace(ids, knockout_options([(0, 1)], "mean"))
    expected = log_prob(knocked, N - 1, target) - log_prob(trace, N - 1, target)
    assert float(at.metric[1].value) == pytest.approx(log_prob(knocked, N - 1, target), abs=1e-3)
    assert at.metric[1].delta == f"{expected:+.3f}"
    assert "Induction test" in at.metric[3].label
    at.radio(key="w_why_ablation").set_value("zero").run()
    assert at.query_params["why_ablation"] == "zero" and at.query_params["why_knockout"] == "0.1"


def test_the_head_chosen_on_all_heads_can_be_knocked_out_and_brought_back() -> None:
    at = open_page(why_view="knockout", layer=2, head=3)
    assert "No head is knocked out yet" in texts(at)
    at.button(key="why_add_selected").click().run()
    assert at.query_params["why_knockout"] == "2.3"
    assert chart(at, "why_after")
    at.button(key="why_clear").click().run()
    assert "why_knockout" not in at.query_params


def test_rank_all_heads_ranks_every_head_by_its_effect() -> None:
    at = open_page(why_view="knockout")
    at.button(key="why_rank").click().run()
    assert not at.exception
    effects = at.session_state["why_rank_result"]["effects"]
    assert len(effects) == 16
    sizes = [abs(e.change.delta) for e in effects]
    assert sizes == sorted(sizes, reverse=True)
    assert chart(at, "why_ranking")["data"][0]["y"][0] == f"L{effects[0].layer} H{effects[0].head}"
    at.radio(key="why_rank_by").set_value("induction").run()
    at.button(key="why_rank").click().run()
    assert "induction-test loss" in chart(at, "why_ranking")["layout"]["title"]["text"]


def test_the_neuron_view_products_add_up_to_the_score_and_end_at_the_weight(demo) -> None:
    loaded, ids, trace = demo
    at = open_page(why_view="neuron", layer=0, head=1)
    at.selectbox(key="why_query").set_value(8).run()
    at.selectbox(key="why_key").set_value(7).run()
    steps = trace.layers[0].steps(1)
    bars = np.asarray(chart(at, "why_products")["data"][0]["x"], dtype=float)
    assert bars.sum() == pytest.approx(float(steps.raw_scores[8, 7]), abs=1e-3)
    assert f"{float(steps.attn_weights[8, 7]):.4f}" in at.latex[0].value
    row = np.asarray(chart(at, "why_row")["data"][0]["x"], dtype=float)
    assert np.allclose(row, steps.attn_weights[8, :9].numpy(), atol=1e-6)


def test_input_tokens_shows_three_answers_that_each_add_up_to_one() -> None:
    at = open_page(why_view="inputs", why_position=10)
    z = decode_array(chart(at, "why_inputs")["data"][0]["z"])
    assert z.shape == (3, 11) and np.allclose(z.sum(axis=1), 1.0, atol=1e-5)
    assert "Attention is not the same thing as importance" in texts(at)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"why_position": 99}, "Position 99 is past the text: it has positions 0 to 18"),
        ({"why_target": 99999}, "Token ID 99999 does not exist in this model (IDs 0 to 75)"),
        ({"why_versus": -3}, "Token ID \\-3 does not exist"),
        ({"why_knockout": "7.2,0.1", "why_view": "knockout"}, "layer 7 head 2: not in this model"),
        ({"why_knockout": "zero.one", "why_view": "knockout"}, "is not a head: write heads as layer.head"),
        ({"why_knockout": ",".join(f"{a}.{b}" for a in range(4) for b in range(4))}, "All 16 heads are knocked out"),
        ({"why_ablation": "resample"}, "is not an ablation (mean or zero)"),
        ({"why_view": "nope"}, "There is no view called"),
    ],
)
def test_bad_input_in_a_link_gets_a_message_and_the_page_still_works(params: dict, message: str) -> None:
    at = open_page(**params)
    assert message in warnings(at), warnings(at)
    assert at.get("plotly_chart")  # the page went on with a valid value


def test_every_view_works_with_the_gpt2_tokenizer_and_escapes_token_labels() -> None:
    for view in ("lens", "attribution", "knockout", "neuron", "inputs"):
        at = open_page(model="random:gpt2-bpe-small", sentence="<b>bold</b> & <script>x</script>", why_view=view)
        for element in at.get("plotly_chart"):
            spec = helpers.figure_json(element)
            labels = [
                *spec["layout"].get("yaxis", {}).get("ticktext", []),
                *spec["layout"].get("xaxis", {}).get("ticktext", []),
            ]
            assert all("<b>" not in str(label) and "<script" not in str(label) for label in labels), view


def test_presenter_mode_puts_the_view_first_and_keeps_the_choices() -> None:
    at = open_page(present=1, why_view="knockout", why_knockout="0.1")
    assert chart(at, "why_after") and at.slider(key="w_why_position")
    assert at.query_params["present"] == "1"

"""AppTest: the attention page walks through the steps, reacts to its widgets and survives bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from gpt.interpret import explain
from tests import helpers
from tests.helpers import decode_array, figure_json

MODEL = "random:shakespeare-char"
STEP = {s.id: i for i, s in enumerate(explain.STEPS)}  # index (slider value, session state)
URL_STEP = {s.id: i + 1 for i, s in enumerate(explain.STEPS)}  # what a link says: "Step n of 11"

BAD_INPUTS = {
    "empty": "",
    "spaces": "     ",
    "long": "to be or not to be " * 530,  # ~10,000 characters, far beyond the context
    "emoji_cjk_rtl": "🙂🚀 注意力机制 مرحبا بالعالم שלום",
    "control": "a\x00b\x07c\x1b[31m\r\n\td",
    "endoftext": "<|endoftext|> and more <|endoftext|>",
    "script": "<script>alert(1)</script><b>x</b>",
}


def chart(at: AppTest, key: str) -> dict:
    """The plotly spec of the chart drawn with ``key``."""
    for element in at.get("plotly_chart"):
        if element.proto.id.endswith(f"-{key}"):
            return figure_json(element)
    raise AssertionError(f"no chart with key {key!r}; have {[e.proto.id for e in at.get('plotly_chart')]}")


def z(at: AppTest, key: str = "attn_step") -> np.ndarray:
    return decode_array(chart(at, key)["data"][0]["z"])


def open_page(sentence: str = "The cat sat on the mat", page: str = "attention", **params: object) -> AppTest:
    """The page opened by a link carrying this model, sentence and any other shared values."""
    at = helpers.open_page(page, model=MODEL, sentence=sentence, **params)
    assert not at.exception, [e.value for e in at.exception]
    return at


def above_diagonal(values: np.ndarray) -> np.ndarray:
    return values[np.triu(np.ones_like(values, dtype=bool), k=1)]


def row_entropy(weights: np.ndarray) -> float:
    p = np.clip(weights, 1e-12, 1)
    return float(-(weights * np.log(p)).sum(-1).mean())


def test_first_step_shows_x_with_token_rows_and_formula() -> None:
    at = open_page()
    assert at.subheader[0].value.startswith("Step 1 of 11 · Input X")
    assert at.get("latex") and "LayerNorm" in at.get("latex")[0].proto.body
    spec = chart(at, "attn_step")
    assert z(at).shape == (22, 128)  # 22 characters x C = 128
    assert spec["layout"]["yaxis"]["ticktext"][:3] == ["0: T", "1: h", "2: e"]
    assert any(b.label == "Download numbers (CSV)" for b in at.get("download_button"))


def test_layer_head_and_step_widgets_change_the_figure() -> None:
    at = open_page(step=URL_STEP["attn_weights"])
    first = z(at)
    assert first.shape == (22, 22)
    assert at.subheader[0].value.endswith("(layer 0, head 0)")
    at.select_slider(key="w_head").set_value(2).run()
    by_head = z(at)
    assert not np.allclose(first, by_head)
    assert at.subheader[0].value.endswith("(layer 0, head 2)")
    at.select_slider(key="w_layer").set_value(3).run()
    assert not np.allclose(by_head, z(at))
    assert at.session_state["layer"] == 3 and at.session_state["head"] == 2
    at.select_slider(key="w_step").set_value(STEP["q"]).run()
    assert z(at).shape == (22, 32)  # (T, d_k)
    assert "Queries" in at.subheader[0].value


def test_previous_and_next_buttons_walk_the_steps_within_bounds() -> None:
    at = open_page(step=len(explain.STEPS))
    next_button = next(b for b in at.button if b.label.startswith("Next"))
    assert next_button.disabled
    prev_button = next(b for b in at.button if b.label == "Back")
    prev_button.click().run()
    assert at.session_state["step"] == len(explain.STEPS) - 2
    assert "Concatenate" in at.subheader[0].value
    next(b for b in at.button if b.label.startswith("Next")).click().run()
    assert at.session_state["step"] == len(explain.STEPS) - 1


def test_mask_step_draws_future_cells_as_masked_not_as_a_colour() -> None:
    at = open_page(step=URL_STEP["masked_scores"])
    spec = chart(at, "attn_step")
    values = decode_array(spec["data"][0]["z"])
    upper = np.triu(np.ones_like(values, dtype=bool), k=1)
    assert np.isnan(values[upper]).all() and np.isfinite(values[~upper]).all()
    overlay = spec["data"][1]
    assert "masked (future token)" in overlay["hovertemplate"]
    assert np.array_equal(np.array(overlay["text"]) == "−∞", upper)  # written only on masked cells
    assert np.array_equal(~np.isnan(decode_array(overlay["z"])), upper)  # exactly the future cells
    assert spec["data"][0]["colorscale"][0] != spec["data"][0]["colorscale"][-1]  # diverging for scores
    assert any("row" in str(i.body).lower() for i in at.info)  # the "read it like this" hint


def test_exact_numbers_table_on_request() -> None:
    at = open_page(step=URL_STEP["scaled_scores"])
    assert not at.dataframe
    at.toggle(key="attn_show_table").set_value(True).run()
    table = at.dataframe[0].value
    assert table.shape == (22, 22) and list(table.columns[:2]) == ["0: T", "1: h"]
    assert np.allclose(table.to_numpy(), z(at), equal_nan=True)


def test_scaling_step_states_d_k_and_its_square_root() -> None:
    at = open_page(step=URL_STEP["scaled_scores"])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["d_k (dimensions per head)"] == "32"
    assert metrics["√d_k (what the scores are divided by)"] == f"{math.sqrt(32):.3f}"


def test_no_mask_puts_weight_above_the_diagonal_and_changes_the_prediction() -> None:
    at = open_page(step=URL_STEP["attn_weights"])
    assert above_diagonal(z(at)).max() == 0
    at.toggle(key="w_no_mask").set_value(True).run()
    assert not at.exception
    assert above_diagonal(z(at)).min() > 0  # every future cell now gets some weight
    normal, changed = z(at, "attn_w_normal"), z(at, "attn_w_whatif")
    assert above_diagonal(normal).max() == 0 and above_diagonal(changed).min() > 0
    assert np.allclose(z(at, "attn_w_diff"), changed - normal, atol=1e-6)
    before = decode_array(chart(at, "attn_next_normal")["data"][0]["x"])
    after = decode_array(chart(at, "attn_next_whatif")["data"][0]["x"])
    assert len(before) == len(after) == 5 and not np.allclose(before, after)


def test_no_scaling_makes_the_same_head_sharper() -> None:
    at = open_page(step=URL_STEP["attn_weights"], layer=0, head=1)
    at.toggle(key="w_no_scale").set_value(True).run()
    normal, changed = z(at, "attn_w_normal"), z(at, "attn_w_whatif")
    assert row_entropy(changed) < row_entropy(normal)
    scaled = z(at)  # the walk-through now shows the unscaled weights too
    assert np.allclose(scaled, changed)


def test_deep_link_state_is_applied() -> None:
    at = open_page("Hello world", layer=1, head=2, step=4)
    assert at.subheader[0].value == "Step 4 of 11 · Values V: what each token hands over (layer 1, head 2)"
    assert at.select_slider(key="w_layer").value == 1 and at.select_slider(key="w_head").value == 2
    assert at.query_params["step"] == "4"  # the URL keeps counting steps from 1, as the heading does


def test_out_of_range_deep_link_is_clamped_not_an_error() -> None:
    at = open_page("Hello", layer=99, head=-4, step=500)
    assert at.session_state["layer"] == 3 and at.session_state["head"] == 0
    assert at.subheader[0].value.startswith("Step 11 of 11")


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_never_shows_a_traceback(name: str) -> None:
    at = open_page(BAD_INPUTS[name], step=URL_STEP["attn_weights"])
    if not at.get("plotly_chart"):  # nothing to show: the page says so instead of failing
        assert name == "empty" and at.info
        return
    labels = chart(at, "attn_step")["layout"]["yaxis"]["ticktext"]
    assert labels and all("<" not in label for label in labels)  # escaped: shown as text, not markup
    if name == "script":
        assert "0: &lt;" in labels


def test_empty_sentence_gets_a_message() -> None:
    at = open_page("")
    assert not at.get("plotly_chart")
    assert at.info and "Type a sentence" in at.info[0].value

"""AppTest: presenter mode (present=1) sizes figures for a projector, a clicker walks the lesson
across pages, and the palette and what-if switches travel in the link."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from gpt.interpret import explain
from tests import helpers
from tests.app.test_attention_page import MODEL, chart, z
from ui import presenter
from ui.palettes import PALETTES

SENTENCE = "The quick brown fox jumps over the lazy dog, and the dog sleeps on."  # 67 chars; 64 fit
LAST_STEP = len(explain.STEPS)  # as a link counts steps (from 1)


def open_page(page: str = "attention", **params: object) -> AppTest:
    at = helpers.open_page(page, model=MODEL, sentence=params.pop("sentence", "The cat sat on the mat"), **params)
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at: AppTest, key: str):
    return at.button(key=key)


def test_present_in_the_link_stays_in_the_url_as_the_lesson_moves_on() -> None:
    # (The sidebar switch itself is drawn by app.py, which AppTest runs only once per process: the
    # browser tests flip it.)
    at = open_page(present=1, step=2)
    button(at, "lesson_next").click().run()
    assert at.query_params["present"] == "1" and at.query_params["step"] == "3"


def test_presenter_figure_text_is_projector_sized_and_fits_one_screen() -> None:
    at = open_page(present=1, sentence=SENTENCE, step=explain.STEP_IDS.index("attn_weights") + 1)
    spec = chart(at, "attn_step")
    layout = spec["layout"]
    assert layout["font"]["size"] >= 16 and layout["hoverlabel"]["font"]["size"] >= 16
    for axis in ("xaxis", "yaxis"):  # per axis too: Streamlit's theme sets axis fonts of its own
        assert layout[axis]["tickfont"]["size"] >= 16 and layout[axis]["title"]["font"]["size"] >= 16
    assert spec["data"][0]["colorbar"]["tickfont"]["size"] >= 16
    plot_height = layout["height"] - layout["margin"]["t"] - layout["margin"]["b"]
    assert layout["height"] <= presenter.MAIN_FIGURE_HEIGHT
    rows = z(at).shape[0]
    ticks = layout["yaxis"]["tickvals"]
    assert rows == 64 and 2 <= len(ticks) < rows  # every k-th label ...
    assert plot_height / len(ticks) >= presenter.MIN_TICK_SPACING_PX  # ... far enough apart not to overlap
    assert "customdata" in spec["data"][0]  # ... and every cell named on hover


def test_without_presenter_mode_figures_keep_their_normal_size() -> None:
    at = open_page(sentence=SENTENCE)
    layout = chart(at, "attn_step")["layout"]
    assert "font" not in layout or layout["font"].get("size", 12) < 16


def test_clicker_keys_drive_back_and_next() -> None:
    at = open_page(present=1, step=3)
    shortcut = {
        key: button(at, key).proto.shortcut.lower() for key in ("lesson_next", "lesson_back", "lesson_arrow_next")
    }
    assert shortcut == {"lesson_next": "pagedown", "lesson_back": "pageup", "lesson_arrow_next": "right"}
    button(at, "lesson_next").click().run()
    assert at.session_state["step"] == 3 and at.query_params["step"] == "4"


def test_next_on_the_last_attention_step_goes_on_to_all_heads_and_back() -> None:
    at = open_page(present=1, step=LAST_STEP)
    next_button = button(at, "lesson_next")
    assert not next_button.disabled and "All heads" in next_button.help
    next_button.click().run()
    assert not at.exception
    assert "Lesson 14 of 16" in helpers.texts(at) and at.get("plotly_chart")  # the heads page, its grid
    button(at, "lesson_back").click().run()
    assert at.subheader[0].value.startswith(f"Step {LAST_STEP} of {LAST_STEP}")


def test_back_on_the_first_attention_step_goes_to_embeddings() -> None:
    at = open_page(present=1, step=1)
    button(at, "lesson_back").click().run()
    assert not at.exception
    assert "Lesson 2 of 16" in helpers.texts(at)


def test_without_presenter_mode_the_steps_stop_at_the_page_ends() -> None:
    at = open_page(step=LAST_STEP)
    assert button(at, "lesson_next").disabled
    assert "lesson_arrow_next" not in [b.key for b in at.button]  # arrow keys keep moving sliders


def test_the_lesson_ends_on_the_why_page() -> None:
    at = open_page("next_token", present=1)
    assert not button(at, "lesson_next").disabled and "Why this token?" in button(at, "lesson_next").help
    assert "Lesson 15 of 16" in helpers.texts(at)
    at = open_page("why", present=1)
    assert button(at, "lesson_next").disabled and not button(at, "lesson_back").disabled
    assert "Lesson 16 of 16" in helpers.texts(at)


@pytest.mark.parametrize("key", list(PALETTES))
def test_the_palette_from_the_link_colours_the_heatmap(key: str) -> None:
    at = open_page(palette=key, step=explain.STEP_IDS.index("masked_scores") + 1)
    spec = chart(at, "attn_step")
    scores, masked = spec["data"][0], spec["data"][1]
    assert scores["colorscale"] == [list(c) for c in _scale(PALETTES[key].diverging)]
    assert {c[1] for c in masked["colorscale"]} == {PALETTES[key].masked}
    if key != "viridis":
        assert at.query_params["palette"] == key


def _scale(name: str) -> list:
    import plotly.graph_objects as go

    return go.Heatmap(colorscale=name).colorscale


def test_a_bad_palette_in_the_link_falls_back_to_the_default() -> None:
    at = open_page(palette="<b>neon</b>", step=explain.STEP_IDS.index("attn_weights") + 1)
    weights = chart(at, "attn_step")["data"][0]
    assert weights["colorscale"] == [list(c) for c in _scale(PALETTES["viridis"].sequential)]


def test_what_if_switches_travel_in_the_link() -> None:
    at = open_page(no_mask=1, step=explain.STEP_IDS.index("attn_weights") + 1)
    assert at.toggle(key="w_no_mask").value is True
    upper = np.triu(np.ones_like(z(at), dtype=bool), k=1)
    assert z(at)[upper].min() > 0  # the link's switch is applied: tokens see later tokens
    at.toggle(key="w_no_scale").set_value(True).run()
    assert at.query_params["no_scale"] == "1" and at.query_params["no_mask"] == "1"
    at.toggle(key="w_no_mask").set_value(False).run()
    assert "no_mask" not in at.query_params

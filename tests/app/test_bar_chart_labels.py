"""AppTest: every bar chart has a category axis whose labels are the tokens as the rest of the app
shows them (``shown_token``: a space as '·'). Left to guess, Plotly read "2.  " as a number and
drew 2 bars on a 2/4/6 axis, losing the real top token."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from gpt import TraceOptions
from gpt.interpret import explain, shown_token
from gpt.models import load_model
from tests import helpers
from tests.helpers import figure_json

MODEL = "random:shakespeare-char"
SENTENCE = "the king "  # this model's top next token is then a space, and "2" is among the top 5
WEIGHTS_STEP = [s.id for s in explain.STEPS].index("attn_weights") + 1


def bar_charts(at: AppTest) -> dict[str, dict]:
    """Every bar chart on the page by its widget key (the last part of its element id)."""
    found = {}
    for element in at.get("plotly_chart"):
        fig = figure_json(element)
        if fig["data"] and fig["data"][0].get("type") == "bar":
            found[element.proto.id.rsplit("-", 1)[-1]] = fig
    return found


def categories(fig: dict) -> list[str]:
    assert fig["layout"]["yaxis"]["type"] == "category", fig["layout"]["yaxis"]
    return list(fig["data"][0]["y"])


def expected_top5(scale: bool, causal: bool) -> list[str]:
    loaded = load_model(MODEL)
    ids = loaded.tokenizer.encode(SENTENCE)
    trace = loaded.model.trace(ids, TraceOptions(scale=scale, causal=causal))
    tokens = [shown_token(loaded.tokenizer.token_text(i)) for i, _ in explain.top_next_tokens(trace, 5)]
    return [f"{rank}. {t}" for rank, t in enumerate(tokens, start=1)]


@pytest.mark.parametrize("switch", ["w_no_mask", "w_no_scale"])
def test_what_if_next_token_bars_are_categories_named_like_the_tokens(switch: str) -> None:
    at = helpers.open_page("attention", model=MODEL, sentence=SENTENCE, step=WEIGHTS_STEP)
    at.toggle(key=switch).set_value(True).run()
    assert not at.exception
    charts = bar_charts(at)
    assert set(charts) == {"attn_next_normal", "attn_next_whatif"}
    normal = expected_top5(True, True)
    changed = expected_top5(switch != "w_no_scale", switch != "w_no_mask")
    assert categories(charts["attn_next_normal"]) == normal
    assert categories(charts["attn_next_whatif"]) == changed
    assert normal[0] == changed[0] == "1. ·"  # the real top token, a space, is there and visible


def test_next_token_page_bars_match_its_tables() -> None:
    at = helpers.open_page("next_token", model=MODEL, sentence=SENTENCE)
    at.number_input(key="nt_n_new").set_value(4)
    at.number_input(key="nt_seed").set_value(1)
    at.button(key="nt_generate").click().run()
    assert not at.exception
    charts = bar_charts(at)
    assert set(charts) == {"next_token", "generation_step"}
    loaded = load_model(MODEL)
    logits = loaded.model.trace(loaded.tokenizer.encode(SENTENCE)).logits[-1]
    top = logits.float().softmax(-1).topk(10).indices.tolist()
    expected = [f"{r}. {shown_token(loaded.tokenizer.token_text(i))}" for r, i in enumerate(top, start=1)]
    assert categories(charts["next_token"]) == expected
    labels = categories(charts["generation_step"])
    tokens = [label.split(". ", 1)[1] for label in labels]
    assert all(t and t == shown_token(t) and " " not in t for t in tokens)


def test_tokens_page_count_bars_are_categories() -> None:
    at = helpers.open_page("tokens", model=MODEL, sentence=SENTENCE)
    assert not at.exception
    charts = bar_charts(at)
    assert set(charts) == {"token_counts"}
    labels = categories(charts["token_counts"])
    assert len(labels) == len(set(labels)) == len(charts["token_counts"]["data"][0]["text"])

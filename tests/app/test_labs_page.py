"""AppTest: every lab renders, shows the sources' numbers, and recomputes when an input cell is edited.

AppTest cannot type into an ``st.data_editor`` cell, but it can seed a keyed editor's edit state
(``edited_rows``) before a run, which is exactly what the browser sends after a cell edit; the
tests drive the editors that way.
"""

from __future__ import annotations

import math

import pytest
from helpers import open_page

from gpt.labs import LABS, dessert, embedding, fox, journey, scaling, sliding_window

BOOK_SCORE_YOUR = journey.BOOK_SCORES_QUERY_2[0]  # the book's score of "Your" for the query "journey"


def edit(at, key: str, row: int, column: str, value: float) -> None:
    at.session_state[key] = {"edited_rows": {row: {column: value}}, "added_rows": [], "deleted_rows": []}
    at.run()


def table_with_index(at, label: str, column: str | None = None):
    """The first displayed table whose row index contains ``label`` (and columns ``column``)."""
    for df in [*at.table, *at.dataframe]:
        frame = df.value
        if label in [str(i) for i in frame.index] and (column is None or column in frame.columns):
            return frame
    raise AssertionError(f"no table with row {label!r}")


def table_with_column(at, column: str):
    return next(df.value for df in [*at.table, *at.dataframe] if column in df.value.columns)


@pytest.mark.parametrize("lab_id", [lab.lab_id for lab in LABS])
def test_every_lab_renders_cleanly_from_its_link(lab_id):
    at = open_page("labs", lab=lab_id)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.selectbox(key="labs_lab").value == lab_id
    assert any(lab_id == LABS[i].lab_id and LABS[i].title in h.value for i in range(len(LABS)) for h in at.header)
    assert any("Source:" in c.value for c in at.caption)
    assert at.get("download_button"), "every lab exports its numbers as CSV"
    assert at.latex, "every lab shows its formula"
    assert any(c.value.startswith("Shapes:") for c in at.caption), "every lab lists its tensor shapes"


def test_journey_shows_book_numbers_and_recomputes_after_a_cell_edit():
    at = open_page("labs", lab="journey")
    scores = table_with_index(at, "score ω")
    assert scores.loc["score ω", "Your"] == pytest.approx(BOOK_SCORE_YOUR, abs=5e-5)
    assert scores.loc["softmax α", "journey"] == pytest.approx(journey.BOOK_WEIGHTS_QUERY_2[1], abs=5e-5)
    assert list(scores.loc["book: score"]) == list(journey.BOOK_SCORES_QUERY_2)
    edit(at, "lab_journey_inputs", 0, "x1", 1.0)  # "Your" = [1.0, 0.15, 0.89]
    scores = table_with_index(at, "score ω")
    assert scores.loc["score ω", "Your"] == pytest.approx(1.0 * 0.55 + 0.15 * 0.87 + 0.89 * 0.66, abs=1e-4)
    assert "book: score" not in scores.index  # the book rows only show for the book's inputs
    at.button(key="lab_journey_inputs_reset").click().run()
    assert table_with_index(at, "score ω").loc["score ω", "Your"] == pytest.approx(BOOK_SCORE_YOUR, abs=5e-5)


def test_journey_empty_cell_gives_a_message_not_a_traceback():
    at = open_page("labs", lab="journey")
    edit(at, "lab_journey_inputs", 2, "x3", None)
    assert not at.exception
    assert any("finite number" in e.value for e in at.error)


def test_overflow_slider_breaks_the_naive_softmax_only():
    at = open_page("labs", lab="journey")
    at.slider(key="lab_journey_factor").set_value(100.0).run()
    assert any("overflowed" in e.value for e in at.error)
    table = table_with_index(at, "torch.softmax")
    assert table.loc["torch.softmax"].sum() == pytest.approx(1.0, abs=1e-5)


def test_selector_writes_the_lab_into_the_url():
    at = open_page("labs")
    assert at.query_params["lab"] == ["journey"] or at.query_params["lab"] == "journey"
    at.selectbox(key="labs_lab").set_value("fox").run()
    lab = at.query_params["lab"]
    assert (lab[0] if isinstance(lab, list) else lab) == "fox"
    assert any("fox" in h.value for h in at.header)


def test_fox_says_plainly_where_the_article_is_wrong():
    at = open_page("labs", lab="fox")
    warning = " ".join(w.value for w in at.warning)
    assert "does not hold for 7 of 9 scores" in warning and f"{sum(fox.ARTICLE_WEIGHTS):.2f}" in warning
    table = table_with_index(at, "jumps", "exact score")
    assert table.loc["The", "exact score"] == pytest.approx(0.27)
    assert table.loc["The", "article prints"] == pytest.approx(fox.ARTICLE_SCORES[0])
    edit(at, "lab_fox_query", 0, "d0", 1.0)
    assert table_with_index(at, "jumps", "exact score").loc["The", "exact score"] == pytest.approx(
        0.1 + 0.06 + 0.03 + 0.16
    )


def test_embedding_lookup_follows_edited_ids():
    at = open_page("labs", lab="embedding")
    lookup = table_with_index(at, "ID 5", "d0")
    assert list(lookup.loc["ID 5"]) == pytest.approx(embedding.BOOK_WEIGHTS[5], abs=5e-5)
    edit(at, "lab_emb_ids", 0, "token ID 0", 4)
    assert list(table_with_index(at, "ID 4", "d0").loc["ID 4"]) == pytest.approx(embedding.BOOK_WEIGHTS[4], abs=5e-5)
    edit(at, "lab_emb_ids", 0, "token ID 0", 9)
    assert not at.exception and any("outside the vocabulary" in e.value for e in at.error)


def test_sliding_window_stride_equal_to_length_means_no_overlap():
    at = open_page("labs", lab="sliding-window")
    first = table_with_index(at, "start 0")
    assert list(first.loc["start 0"]) == list(sliding_window.BOOK_STRIDE_1_PAIRS[0][0])
    at.slider(key="lab_sw_stride").set_value(4).run()
    assert any("no overlap" in s.value for s in at.success)
    assert list(table_with_index(at, "start 4").loc["start 4"]) == list(sliding_window.BOOK_STRIDE_4_INPUTS[1])


def test_averaging_three_ways_agree_after_an_edit():
    at = open_page("labs", lab="averaging")
    edit(at, "lab_avg_x", 3, "c0", 5.0)
    metric = next(m for m in at.metric if "allclose" in m.label)
    assert metric.value == "True"
    means = table_with_index(at, "t3", ("loop", "c0"))
    assert means.loc["t3"].iloc[0] == pytest.approx(means.loc["t3"].iloc[2])


def test_predict_then_reveal_hides_the_answer_and_keeps_score():
    at = open_page("labs", lab="averaging")
    n_tables = len(at.table) + len(at.dataframe)
    at.toggle(key="labs_predict_mode").set_value(True).run()
    assert len(at.table) + len(at.dataframe) < n_tables  # results hidden until the reveal
    at.radio(key="guess_avg:row4").set_value("1/5").run()
    at.button(key="reveal_avg:row4").click().run()
    assert any("which is right" in s.value for s in at.success)
    assert len(at.table) + len(at.dataframe) == n_tables
    assert any("1 / 1 right" in m.value for m in at.markdown)


def test_bigram_trains_and_explains_context_blindness():
    at = open_page("labs", lab="bigram")
    train = next(m for m in at.metric if m.label == "Train loss")
    assert 2.4 < float(train.value) < 2.6
    # defaults "the king" / "to sing": different words, same last character
    assert any("identical" in i.value for i in at.info)
    table = table_with_column(at, "after A")
    assert list(table["after A"]) == list(table["after B"])
    at.text_input(key="lab_bg_b").set_value("to sin").run()
    assert any("differ only because" in i.value for i in at.info)
    table = table_with_column(at, "after A")
    assert list(table["after A"]) != list(table["after B"])


@pytest.mark.browser
@pytest.mark.slow
def test_typing_into_a_cell_in_a_real_browser_recomputes(streamlit_server, browser):
    """The real path: select a data_editor cell, type, Enter; the score table follows."""
    from playwright.sync_api import expect

    from tests.conftest import screenshot, wait_for_app

    page = browser.new_page(viewport={"width": 1400, "height": 2000})
    page.goto(f"{streamlit_server.url}/labs?lab=journey")
    wait_for_app(page)
    assert page.get_by_text("Page not found").count() == 0  # a fresh server's deep link opens cleanly
    # the score table is the one with the softmax row; found by content, not by position, because
    # the page's tabs hold other tables (the context vectors) that may reach the DOM first
    scores = page.locator("[data-testid=stTable]").filter(has_text="softmax α").first
    expect(scores).to_contain_text(f"{BOOK_SCORE_YOUR:.4f}", timeout=30_000)
    grid = page.locator("[data-testid=stDataFrame]").first.bounding_box()
    row_height = grid["height"] / 7  # header + six tokens
    page.mouse.click(grid["x"] + grid["width"] * 0.45, grid["y"] + 1.5 * row_height)  # select "Your", x1
    page.wait_for_timeout(300)
    page.keyboard.type("1")  # typing on a selected cell opens its editor with that text
    page.wait_for_timeout(500)  # let the cell editor take the text before Enter commits it
    page.keyboard.press("Enter")
    # 1.0*0.55 + 0.15*0.87 + 0.89*0.66 = 1.2679: wait for the rerun to show it in the score table
    expect(scores).to_contain_text("1.2679", timeout=60_000)
    wait_for_app(page)
    screenshot(page, "labs_journey_edited")
    expect(scores).not_to_contain_text(f"{BOOK_SCORE_YOUR:.4f}")
    assert page.locator("[data-testid=stException]").count() == 0


def test_dessert_embedding_edit_flows_into_attention():
    at = open_page("labs", lab="dessert")
    before = table_with_index(at, "4: dessert", "e0").loc["4: dessert", "e0"]
    assert dessert.DESSERT_SEED == embedding.BOOK_SEED  # so the embedding is the book's: "dessert" is its row 1
    assert before == pytest.approx(embedding.BOOK_WEIGHTS[dessert.ARTICLE_DICTIONARY["dessert"]][0], abs=5e-5)
    edit(at, "lab_ds_emb_6_123", 1, "e0", 3.0)  # dictionary row 1 is "dessert"
    assert table_with_index(at, "4: dessert", "e0").loc["4: dessert", "e0"] == pytest.approx(3.0)
    assert not at.exception and not at.error


def test_scaling_sharpening_follows_edited_scores():
    at = open_page("labs", lab="scaling")
    sharp = table_with_column(at, "entropy (bits)")
    assert sharp.iloc[1, 4] == pytest.approx(scaling.LECTURE_SHARPENED[4], abs=5e-5)
    edit(at, "lab_sc_scores", 0, "s4", 0.0)  # the winner loses its lead: s2 = 0.3 is now the largest
    sharp = table_with_column(at, "entropy (bits)")
    assert sharp.iloc[1, 2] > sharp.iloc[1, 4]


def test_a_wrong_guess_is_scored_and_the_answer_shown():
    at = open_page("labs", lab="journey")
    at.toggle(key="labs_predict_mode").set_value(True).run()
    radio = next(r for r in at.radio if r.key and r.key.startswith("guess_journey"))
    radio.set_value("step").run()
    next(b for b in at.button if b.key and b.key.startswith("reveal_journey")).click().run()
    assert any("the answer is **journey**" in w.value for w in at.warning)
    assert any("0 / 1 right" in m.value for m in at.markdown)


def test_positional_shift_check_holds_for_any_offset():
    at = open_page("labs", lab="positional")
    at.slider(key="lab_pe_k").set_value(10).run()
    at.slider(key="lab_pe_p").set_value(7).run()
    metric = next(m for m in at.metric if "M_10" in m.label)
    assert float(metric.value) < 1e-4
    check = table_with_column(at, "M_10 · PE(p)")
    assert check["difference"].abs().max() < 1e-4
    assert check["PE(p+10)"].iloc[0] == pytest.approx(math.sin(17.0), abs=1e-5)  # column "sin 0" at p + k = 17


def test_unknown_lab_in_the_link_opens_the_first_lab():
    at = open_page("labs", lab="<script>nope</script>")
    assert not at.exception and not at.error
    assert at.selectbox(key="labs_lab").value == LABS[0].lab_id

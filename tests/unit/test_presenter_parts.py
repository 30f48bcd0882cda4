"""Presenter-mode parts that need no page: palettes, the lesson path, the heads grid's sizes."""

from __future__ import annotations

import numpy as np
import plotly.colors
import pytest

from gpt.interpret import explain
from ui import lesson
from ui.figures import grid_height, head_grid, heatmap
from ui.heads_views import MAX_GRID_LAYERS, layer_pages
from ui.palettes import MASKED, PALETTES, apply_palette


def rgb(colour: str) -> np.ndarray:
    if colour.startswith("#"):
        return np.array(plotly.colors.hex_to_rgb(colour), dtype=float)
    return np.array(plotly.colors.unlabel_rgb(colour), dtype=float)


def scale_colours(name: str) -> list[np.ndarray]:
    samples = plotly.colors.sample_colorscale(name, list(np.linspace(0, 1, 101)), colortype="rgb")
    return [rgb(c) for c in samples]


@pytest.mark.parametrize("key", list(PALETTES))
def test_masked_cells_have_a_colour_no_value_can_have(key: str) -> None:
    chosen = PALETTES[key]
    masked = rgb(chosen.masked)
    for scale in (chosen.sequential, chosen.diverging):
        nearest = min(float(np.linalg.norm(masked - c)) for c in scale_colours(scale))
        assert nearest > 60, f"{key}: masked {chosen.masked} is {nearest:.0f} from a colour of {scale}"


def test_the_default_weights_scale_keeps_rising_in_lightness() -> None:
    # Viridis reads on a greyscale printout and with colour-vision deficiencies: lightness is monotone.
    luma = [0.299 * r + 0.587 * g + 0.114 * b for r, g, b in scale_colours(PALETTES["viridis"].sequential)]
    assert all(b >= a - 1 for a, b in zip(luma, luma[1:]))


def test_apply_palette_recolours_every_tagged_trace_and_nothing_else() -> None:
    values = np.array([[0.0, -np.inf], [1.0, 2.0]])
    fig = heatmap(values, ["a", "b"], ["a", "b"], title="t", kind="scores")
    fig.add_scatter(x=[0], y=[0])
    apply_palette(fig, PALETTES["contrast"])
    assert fig.data[0].meta == "scores" and fig.data[1].meta == MASKED
    assert {c[1] for c in fig.data[1].colorscale} == {PALETTES["contrast"].masked}
    assert (
        fig.data[0].colorscale != heatmap(values, ["a", "b"], ["a", "b"], title="t", kind="scores").data[0].colorscale
    )


def test_the_lesson_walks_tokens_embeddings_every_step_heads_next_token_why() -> None:
    pages = [stop.page for stop in lesson.LESSON]
    assert pages[:2] == ["tokens", "embeddings"] and pages[-3:] == ["heads", "next_token", "why"]
    assert [s.step for s in lesson.LESSON if s.page == "attention"] == list(range(len(explain.STEPS)))
    assert lesson.neighbour("embeddings", None, 1) == lesson.Stop("attention", 0)
    assert lesson.neighbour("attention", len(explain.STEPS) - 1, 1) == lesson.Stop("heads")
    assert lesson.neighbour("attention", 0, -1) == lesson.Stop("embeddings")
    assert lesson.neighbour("tokens", None, -1) is None and lesson.neighbour("why", None, 1) is None
    assert lesson.index_of("train") is None  # pages outside the lesson get no lesson bar


def test_heads_grid_tiles_are_projectable() -> None:
    # A 4 x 4 model on a 1024 px wide screen: at least 120 px per head, and the grid fits one screen.
    height, tile = grid_height(4, 4)
    assert tile >= 120 and height <= 660  # under the page header of a 768 px high screen
    # GPT-2's 12 x 12 comes in pages of layers, each tile at least 60 px.
    pages = layer_pages(12)
    assert [len(p) for p in pages] == [MAX_GRID_LAYERS] * 3 and pages[-1].stop == 12
    assert grid_height(len(pages[0]), 12)[1] >= 60


def test_every_grid_tile_carries_its_layer_and_head_for_a_click() -> None:
    weights = np.random.default_rng(0).random((2, 3, 5, 5))
    fig = head_grid(weights, title="grid", first_layer=4, selected=(5, 2))
    points = fig.data[1]
    assert [list(c) for c in points.customdata] == [[layer, head] for layer in (4, 5) for head in range(3)]
    assert fig.layout.hoverdistance == -1 and fig.layout.clickmode == "event+select"
    assert list(fig.layout.yaxis.ticktext) == ["layer 4", "layer 5"]
    frame = fig.layout.shapes[0]
    assert (frame.x0, frame.y0) == (2 * 6 - 0.5, 1 * 6 - 0.5)  # red frame on layer 5 (the 2nd row), head 2


@pytest.mark.parametrize("key", list(PALETTES))
def test_signed_bars_take_the_palette_sign_colours_and_captions_name_them_right(key: str) -> None:
    from ui.palettes import SIGNED, sign_colours
    from ui.why_figures import signed_bars

    chosen = PALETTES[key]
    fig = apply_palette(signed_bars(["a", "b"], [0.5, -0.2], title="t", value_title="v", provenance={}), chosen)
    positive, negative = sign_colours(chosen)
    assert fig.data[0].meta == SIGNED and list(fig.data[0].marker.color) == [positive, negative]
    # The words captions use ("red raises the logit") describe those colours.
    for word, colour in ((chosen.positive, positive), (chosen.negative, negative)):
        r, g, b = rgb(colour)
        assert {"red": r > b, "brown": r > b and r > g, "blue": b > r, "purple": b > g}[word], (key, word, colour)

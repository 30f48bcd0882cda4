"""The Watch page's per-layer score charts (ui/watch_figures.py): with many heads, every line of a
chart still looks different and the legend names each head once."""

from __future__ import annotations

import numpy as np

from ui import figures
from ui.watch_figures import HEAD_COLOURS, fit_beside, head_score_facets, head_style


def facets(n_layer: int, n_head: int, layers: list[int] | None = None):
    scores = np.random.default_rng(0).random((5, n_layer, n_head))
    iters = [0, 10, 20, 30, 40]
    layers = list(range(n_layer)) if layers is None else layers
    return head_score_facets(iters, scores, layers, title="score", y_title="score", current_step=20), scores


def test_one_chart_per_layer_with_every_head_in_it() -> None:
    fig, scores = facets(4, 4)  # the 16 lines that reused colours in one chart
    axes = [t.xaxis for t in fig.data]
    assert axes == [a for a in ("x", "x2", "x3", "x4") for _ in range(4)]
    assert [a.text for a in fig.layout.annotations] == ["layer 0", "layer 1", "layer 2", "layer 3"]
    np.testing.assert_allclose(fig.data[6].y, scores[:, 1, 2])  # layer 1, head 2
    assert "layer 1, head 2" in fig.data[6].hovertemplate


def test_the_legend_has_one_entry_per_head_and_no_two_look_alike() -> None:
    fig, _ = facets(2, 12)  # GPT-2's 12 heads: more than the 8 colours
    legend = [t for t in fig.data if t.showlegend is not False]
    assert [t.name for t in legend] == [f"head {h}" for h in range(12)]
    looks = [(t.line.color, t.line.dash) for t in legend]
    assert len(set(looks)) == 12
    assert len({t.line.color for t in legend}) == len(HEAD_COLOURS) == 8
    # head h is drawn the same way in every layer's chart
    for trace in fig.data:
        head = int(trace.name.split()[1])
        assert (trace.line.color, trace.line.dash) == tuple(head_style(head).values())


def test_the_shown_step_is_marked_in_every_chart_and_the_scale_stays_0_to_1() -> None:
    fig, _ = facets(3, 2)
    marks = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(marks) == 3 and {(s.x0, s.x1) for s in marks} == {(20, 20)}
    ranges = {tuple(axis["range"]) for name, axis in fig.layout.to_plotly_json().items() if name.startswith("yaxis")}
    assert ranges == {(0.0, 1.05)}


def test_a_single_layer_is_one_chart() -> None:
    fig, _ = facets(4, 2, layers=[2])
    assert {t.xaxis for t in fig.data} == {"x"}
    assert [a.text for a in fig.layout.annotations] == ["layer 2"]


def test_a_half_width_heatmap_of_a_long_probe_thins_its_labels_and_drops_cell_numbers() -> None:
    labels = figures.token_labels(list("The quick brown fox jumps over the lazy dog"))  # the char probe
    values = np.tril(np.full((43, 43), 0.5))
    fig = fit_beside(figures.heatmap(values, labels, labels, title="w", height=400), 43)
    assert list(fig.layout.xaxis.ticktext) == labels[::3] and list(fig.layout.yaxis.tickvals) == list(range(0, 43, 3))
    assert fig.data[0].texttemplate is None  # 43 numbers across half a screen cannot be read
    assert fig.data[0].colorbar.orientation == "h"  # under the cells: the width goes to the cells


def test_a_half_width_heatmap_of_a_short_probe_keeps_every_label_and_number() -> None:
    labels = figures.token_labels(list("The cat"))
    diff = np.tril(np.full((7, 7), 0.1)) + np.triu(np.full((7, 7), -np.inf), k=1)
    fig = fit_beside(figures.heatmap(diff, labels, labels, title="d", kind="scores", height=300), 7)
    assert list(fig.layout.xaxis.ticktext) == labels
    assert fig.data[0].texttemplate is not None
    assert fig.data[1].showscale is False and fig.data[1].colorbar.orientation is None  # the masked layer

"""The Watch page's figures: each head's type score over training, one small chart per layer; and the
fitting of its two attention heatmaps into half the page's width each.

Plotly only, no Streamlit. Sixteen lines in one chart reuse colours; here a layer gets its own
chart, and within it a head has one of eight colours (a dash pattern too past eight heads), so no two
lines of a chart look alike. Head *h* looks the same in every layer's chart and the legend names it
once ("head 2"), for all of them; the hover says which layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.figures import provenance_text, safe_label

# Okabe-Ito's colour-blind-safe palette, its yellow swapped for grey (yellow fades on a projector).
HEAD_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#999999")
HEAD_DASHES = ("solid", "dash", "dot", "dashdot")
HEAD_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "cross", "star", "triangle-down")
FACET_HEIGHT = 210  # pixels per row of layer charts
MAX_MARKER_POINTS = 40  # above this many evaluations, lines only
MAX_BESIDE_LABELS = 16  # token labels per axis of a half-width heatmap (hover names every cell)
MAX_BESIDE_NUMBERS = 10  # up to this many tokens, a half-width heatmap's cells are big enough for numbers
COLOUR_BAR_ROOM = 45  # pixels under the cells for a horizontal colour bar


def head_style(head: int) -> dict[str, str]:
    """Line colour and dash of head ``head``: eight colours, then the same colours dashed, and so on."""
    return {
        "color": HEAD_COLOURS[head % len(HEAD_COLOURS)],
        "dash": HEAD_DASHES[(head // len(HEAD_COLOURS)) % len(HEAD_DASHES)],
    }


def fit_beside(fig: go.Figure, n_tokens: int) -> go.Figure:
    """Make a ``ui.figures.heatmap`` of ``n_tokens`` × ``n_tokens`` readable at half the page's width:
    every k-th token labelled, numbers written only in cells big enough for them, and a thin colour bar
    under the cells instead of one beside them (which took a third of the width)."""
    step = -(-n_tokens // MAX_BESIDE_LABELS)
    if step > 1:
        for axis in (fig.layout.xaxis, fig.layout.yaxis):
            if axis.tickvals is not None and axis.ticktext is not None:
                axis.tickvals, axis.ticktext = list(axis.tickvals)[::step], list(axis.ticktext)[::step]
    if n_tokens > MAX_BESIDE_NUMBERS:
        fig.update_traces(texttemplate=None, text=None)
    for trace in fig.data:
        if trace.showscale is not False:  # the masked cells' grey layer has no colour bar
            trace.colorbar = {"orientation": "h", "thickness": 10, "len": 1.0, "y": -0.03, "yanchor": "top"}
    fig.update_layout(height=(fig.layout.height or 400) + COLOUR_BAR_ROOM, margin_b=10 + COLOUR_BAR_ROOM)
    return fig


def facet_columns(n_layers: int) -> int:
    """Charts per row: one for a single layer, two up to four layers, three beyond."""
    return 1 if n_layers == 1 else 2 if n_layers <= 4 else 3


def head_score_facets(
    iters: Sequence[int],
    scores: np.ndarray,
    layers: Sequence[int],
    *,
    title: str,
    y_title: str,
    provenance: Mapping[str, object] | None = None,
    current_step: int | None = None,
) -> go.Figure:
    """One line chart per layer in ``layers`` of ``scores`` (n_steps, n_layer, n_head) over ``iters``,
    a line per head; ``current_step`` (the evaluation shown above it) is marked in every chart."""
    n_head = scores.shape[2]
    cols = facet_columns(len(layers))
    rows = -(-len(layers) // cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        shared_xaxes=True,
        shared_yaxes=True,
        subplot_titles=[f"layer {layer}" for layer in layers],
        horizontal_spacing=0.04,
        vertical_spacing=min(0.12, 0.3 / rows),
    )
    xs = list(iters)
    mode = "lines+markers" if len(xs) <= MAX_MARKER_POINTS else "lines"
    for k, layer in enumerate(layers):
        row, col = k // cols + 1, k % cols + 1
        for head in range(n_head):
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=scores[:, layer, head].tolist(),
                    mode=mode,
                    name=f"head {head}",
                    legendgroup=f"head {head}",  # the legend entry shows or hides head h in every layer
                    showlegend=k == 0,
                    line={**head_style(head), "width": 2.5},
                    marker={"symbol": HEAD_SYMBOLS[head % len(HEAD_SYMBOLS)], "size": 7},
                    hovertemplate=f"layer {layer}, head {head}<br>step %{{x}}<br>{safe_label(y_title)}: "
                    "%{y:.3f}<extra></extra>",
                ),
                row=row,
                col=col,
            )
        # Shared x axes hide the tick labels of all but the bottom row; a chart with no chart below it
        # (the last row is not full) shows its own.
        if k + cols >= len(layers):
            fig.update_xaxes(showticklabels=True, title_text="training step", row=row, col=col)
    if current_step is not None:
        fig.add_vline(x=current_step, line={"color": "#555555", "dash": "dot", "width": 1.5}, row="all", col="all")
    shown = scores[:, list(layers), :]
    top = max(1.0, float(np.nanmax(shown))) if np.isfinite(shown).any() else 1.0
    # A fixed 0..1 scale: the axes stay put while a live run adds points, and layers compare at a glance.
    fig.update_yaxes(range=[0.0, top * 1.05])
    fig.update_yaxes(title_text=safe_label(y_title), col=1)
    sub = provenance_text(provenance)
    fig.update_layout(
        title={"text": safe_label(title) + (f"<br><sup>{sub}</sup>" if sub else ""), "x": 0.0},
        height=110 + FACET_HEIGHT * rows,
        margin={"l": 10, "r": 10, "t": 90, "b": 10},
        legend={"tracegroupgap": 2},
        hovermode="closest",
    )
    return fig

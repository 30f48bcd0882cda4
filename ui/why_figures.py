"""Figures of the "Why this token?" page, built on ``ui.figures``'s heatmap, bar chart and heads grid.

Plotly only: no Streamlit here. Every label that comes from a text (tokens) is escaped with
``safe_label`` before it reaches Plotly, as in ``ui.figures``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ui.figures import MAX_CELL_TEXT, MAX_NAMED_HOVER_CELLS, bar_chart, heatmap, safe_label
from ui.palettes import SIGNED, palette, sign_colours

FRAME = "#d62728"  # the red frame of the selected cell (as the heads grid frames its selected head)

KNOCKED_OUT = "#ff7f0e"  # the frame of a knocked-out head in the heads grid


def clickable_cells(fig: go.Figure, hover: Sequence[Sequence[str]] | None = None) -> bool:
    """Make every cell of ``fig``'s heatmap clickable: a transparent point at each cell's centre carries
    ``[row, column]`` as customdata (Plotly cannot select a heatmap cell itself). ``hover[r][c]`` (escaped
    by the caller) replaces the cell's hover. Skipped, returning False, for matrices too big to send twice."""
    z = np.asarray(fig.data[0].z)
    rows, cols = z.shape
    if rows * cols > MAX_NAMED_HOVER_CELLS:
        return False
    cells = [(r, c) for r in range(rows) for c in range(cols)]
    text: dict[str, object] = {"hoverinfo": "skip"}  # the heatmap's own hover stays
    if hover is not None:
        text = {"hovertext": [hover[r][c] for r, c in cells], "hovertemplate": "%{hovertext}<extra></extra>"}
        fig.data[0].hoverinfo = "skip"  # the point's hover says more than the cell's
    fig.add_trace(
        go.Scatter(
            x=[c for _, c in cells],
            y=[r for r, _ in cells],
            mode="markers",
            marker={"size": 1, "opacity": 0},
            customdata=[[r, c] for r, c in cells],
            showlegend=False,
            **text,
        )
    )
    fig.update_layout(hovermode="closest", hoverdistance=-1, clickmode="event+select", dragmode=False)
    return True


def mark_cell(fig: go.Figure, row: int, col: int) -> None:
    """A red frame around one cell of a heatmap (the one whose details are shown)."""
    fig.add_shape(
        type="rect", x0=col - 0.5, x1=col + 0.5, y0=row - 0.5, y1=row + 0.5, line={"color": FRAME, "width": 3}
    )


def lens_figure(
    top_probs: np.ndarray,
    top_tokens: Sequence[Sequence[Sequence[str]]],
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    title: str,
    provenance: dict[str, object],
) -> go.Figure:
    """The logit lens: colour = the top token's probability, text = the top token, hover = the top k.

    top_probs (P, T, k); top_tokens[p][t] the k tokens as shown (``shown_token``), escaped here."""
    top1 = top_probs[:, :, 0]
    fig = heatmap(
        top1, row_labels, col_labels, title=title, kind="weights", provenance=provenance, row_title="", col_title=""
    )
    rows, cols = top1.shape
    if rows <= MAX_CELL_TEXT and cols <= MAX_CELL_TEXT:
        words = np.array([[safe_label(top_tokens[r][c][0]) for c in range(cols)] for r in range(rows)])
        fig.data[0].update(text=words, texttemplate="%{text}")
    else:
        fig.data[0].update(texttemplate=None)
    hover = [
        [
            f"{safe_label(row_labels[r])} · {safe_label(col_labels[c])}<br>"
            + "<br>".join(
                f"{i + 1}. {safe_label(tok)}  {p:.3f}"
                for i, (tok, p) in enumerate(zip(top_tokens[r][c], top_probs[r, c]))
            )
            for c in range(cols)
        ]
        for r in range(rows)
    ]
    if not clickable_cells(fig, hover):  # too many cells for a point each: the heatmap's own hover names the top token
        fig.data[0].update(
            customdata=np.array([[safe_label(top_tokens[r][c][0]) for c in range(cols)] for r in range(rows)]),
            hovertemplate="row %{y} · position %{x}<br>top token: %{customdata} (%{z:.3f})<extra></extra>",
        )
    fig.update_yaxes(autorange="reversed")
    return fig


def signed_bars(
    labels: Sequence[str], values: Sequence[float], *, title: str, value_title: str, provenance: dict[str, object]
) -> go.Figure:
    """A bar chart (``ui.figures.bar_chart``, best first) coloured by sign in the session's palette (tagged
    ``SIGNED``: ``ui.palettes.apply_palette`` colours it like a diverging heatmap's cells)."""
    fig = bar_chart(
        labels, values, title=title, value_title=value_title, provenance=provenance, decimals=3, numbered=False
    )
    positive, negative = sign_colours(palette(""))
    fig.data[0].update(meta=SIGNED, marker_color=[positive if v >= 0 else negative for v in values])
    return fig


def frame_heads(fig: go.Figure, heads: Sequence[tuple[int, int]], t: int, first_layer: int = 0) -> None:
    """A thick orange frame with a cross on every knocked-out head of a ``head_grid`` figure (tiles of t cells)."""
    step = t + 1
    for layer, head in heads:
        row = layer - first_layer
        x0, y0 = head * step - 0.5, row * step - 0.5
        x1, y1 = x0 + t, y0 + t
        line = {"color": KNOCKED_OUT, "width": 4}
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, line=line)
        fig.add_shape(type="line", x0=x0, x1=x1, y0=y0, y1=y1, line=line)
        fig.add_shape(type="line", x0=x0, x1=x1, y0=y1, y1=y0, line=line)

"""The small set of figure builders every page uses. Plotly only: no Streamlit here.

Token labels are escaped before they reach Plotly (which interprets some HTML in text),
and carry their position so that repeated tokens get separate rows and columns.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from ui.palettes import MASKED, SCORES, VALUES, WEIGHTS, palette, scale_for

# Every heatmap trace carries what it shows in ``meta``; ``ui.palettes.apply_palette`` recolours
# them for the chosen palette. Built with the default palette, so a figure is complete on its own.
DEFAULT_LOOK = palette("")
MAX_CELL_TEXT = 24  # above this many rows or columns, numbers go to hover only
MAX_TICKS = 64  # above this many rows or columns, only every k-th label is written (hover names every cell)
# Above this many cells the hover names a cell by its row and column numbers instead of both tokens:
# a per-cell label array for a 1,000-token matrix is a million strings (tens of MB per figure).
MAX_NAMED_HOVER_CELLS = 128 * 128


def safe_label(text: str) -> str:
    """Escape text for Plotly labels so '<script>' or '<b>' shows as typed, never as markup."""
    return html.escape(text, quote=False)


def token_labels(tokens: Sequence[str]) -> list[str]:
    """'3: fox' style labels; the position keeps repeated tokens apart. Figures escape them."""
    return [f"{i}: {t}" for i, t in enumerate(tokens)]


def provenance_text(provenance: Mapping[str, object] | None) -> str:
    if not provenance:
        return ""
    return " · ".join(f"{k}: {safe_label(str(v))}" for k, v in provenance.items() if v is not None)


def _layout(fig: go.Figure, title: str, provenance: Mapping[str, object] | None, height: int) -> go.Figure:
    sub = provenance_text(provenance)
    full = safe_label(title) + (f"<br><sup>{sub}</sup>" if sub else "")
    fig.update_layout(title={"text": full, "x": 0.0}, height=height, margin={"l": 10, "r": 10, "t": 70, "b": 10})
    return fig


def heatmap(
    values: np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    title: str,
    kind: str = "weights",
    provenance: Mapping[str, object] | None = None,
    decimals: int = 2,
    row_title: str = "query (row)",
    col_title: str = "key (column)",
    height: int | None = None,
) -> go.Figure:
    """A labelled heatmap (labels as shown, e.g. from ``token_labels``; escaped here). kind: "weights" (0..1, sequential), "scores" (diverging, masked
    cells greyed and written −∞), or "values" (diverging, e.g. embeddings)."""
    values = np.asarray(values, dtype=np.float64)
    masked = np.isneginf(values)
    # Masked cells are drawn as gaps, not a huge colour. float32 is exact for the model's own numbers
    # and halves what a figure sends (a 1,000-token matrix: a million cells).
    shown = np.where(masked, np.nan, values).astype(np.float32)
    finite = shown[np.isfinite(shown)]
    colour: dict[str, object]
    if kind == "weights":
        colour = {
            "colorscale": scale_for(WEIGHTS, DEFAULT_LOOK),
            "zmin": 0.0,
            "zmax": max(1e-9, float(finite.max())) if finite.size else 1,
        }
    else:
        bound = float(np.abs(finite).max()) if finite.size else 1.0
        colour = {"colorscale": scale_for(kind, DEFAULT_LOOK), "zmid": 0.0, "zmin": -bound, "zmax": bound}
    rows, cols = values.shape
    show_text = rows <= MAX_CELL_TEXT and cols <= MAX_CELL_TEXT
    ylabels = [safe_label(str(label)) for label in row_labels]
    xlabels = [safe_label(str(label)) for label in col_labels]
    # Cell text and hover numbers come from z through templates (no per-cell number strings).
    if rows * cols <= MAX_NAMED_HOVER_CELLS:
        where = np.array([[f"{ylabels[r]} → {xlabels[c]}" for c in range(cols)] for r in range(rows)])
        hover_cell, hover_data = "%{customdata}", {"customdata": where}
    else:
        hover_cell, hover_data = "row %{y} → column %{x}", {}
    fig = go.Figure(
        go.Heatmap(
            z=shown,
            x=list(range(cols)),
            y=list(range(rows)),
            texttemplate=f"%{{z:.{decimals}f}}" if show_text else None,
            hovertemplate=f"{hover_cell}<br>value: %{{z:.{max(decimals, 4)}f}}<extra></extra>",
            hoverongaps=False,
            meta=kind if kind in (WEIGHTS, SCORES) else VALUES,
            **hover_data,
            **colour,
        )
    )
    if masked.any():
        cell_text = {"text": np.where(masked, "−∞", ""), "texttemplate": "%{text}"} if show_text else {}
        fig.add_trace(
            go.Heatmap(
                z=np.where(masked, 1.0, np.nan).astype(np.float32),
                x=list(range(cols)),
                y=list(range(rows)),
                colorscale=scale_for(MASKED, DEFAULT_LOOK),
                meta=MASKED,
                showscale=False,
                hovertemplate=f"{hover_cell}<br>masked (future token): −∞<extra></extra>",
                hoverongaps=False,
                **cell_text,  # a constant template would also write on the gaps
                **hover_data,
            )
        )
    xstep, ystep = -(-cols // MAX_TICKS), -(-rows // MAX_TICKS)  # ceil: 768 columns -> every 12th label
    fig.update_xaxes(
        tickvals=list(range(0, cols, xstep)), ticktext=xlabels[::xstep], title=col_title, side="top", tickangle=-45
    )
    fig.update_yaxes(
        tickvals=list(range(0, rows, ystep)), ticktext=ylabels[::ystep], title=row_title, autorange="reversed"
    )
    # Column labels sit on top (slanted), between the title and the cells: reserve room for them
    # so the title and its provenance line never overlap the labels.
    label_room = 40 + int(5.5 * max((len(label) for label in xlabels), default=0))
    _layout(fig, title, provenance, (height or max(320, 120 + 26 * rows)) + label_room)
    fig.update_layout(
        margin_t=70 + label_room, title={"y": 1.0, "yref": "container", "yanchor": "top", "pad": {"t": 12}}
    )
    return fig


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    value_title: str = "probability",
    provenance: Mapping[str, object] | None = None,
    highlight: int | None = None,
    decimals: int = 4,
    numbered: bool = True,
) -> go.Figure:
    """Horizontal bars, best first, labels escaped; ``highlight`` marks one bar (e.g. the chosen token).
    ``numbered`` prefixes ranks ("1. the"), which also keeps repeated labels on separate bars.

    Token labels should come as a display shows them (``shown_token``: a space as '·'). The axis is
    always categorical: left to guess, Plotly reads labels like "2. " or "3" as numbers and drops bars."""
    colours = ["#d62728" if i == highlight else "#1f77b4" for i in range(len(values))]
    fig = go.Figure(
        go.Bar(
            x=list(values),
            y=[f"{i + 1}. {safe_label(label)}" if numbered else safe_label(label) for i, label in enumerate(labels)],
            orientation="h",
            marker_color=colours,
            text=[f"{v:.{decimals}f}" for v in values],
            textposition="auto",
        )
    )
    fig.update_yaxes(type="category", autorange="reversed")
    fig.update_xaxes(title=value_title)
    return _layout(fig, title, provenance, max(300, 90 + 28 * len(values)))


def line_chart(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str,
    x_title: str,
    y_title: str,
    provenance: Mapping[str, object] | None = None,
    log_y: bool = False,
) -> go.Figure:
    """One line per named series of (x, y) values."""
    fig = go.Figure()
    for name, (xs, ys) in series.items():
        fig.add_trace(
            go.Scatter(x=list(xs), y=list(ys), mode="lines+markers" if len(xs) < 40 else "lines", name=safe_label(name))
        )
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title=y_title, type="log" if log_y else "linear")
    return _layout(fig, title, provenance, 380)


GRID_TOP_PX = 110  # title and "head k" labels above the tiles
GRID_SIDE_PX = 190  # "layer k" labels and the colour bar beside them


def grid_height(n_layers: int, n_heads: int, width_px: int = 930, most_px: int = 640) -> tuple[int, int]:
    """(figure height, tile size) in px: square tiles as large as ``width_px`` allows, the whole grid within
    ``most_px`` (one projector screen below the page's header), never under 60 px."""
    tile = min((width_px - GRID_SIDE_PX) // max(1, n_heads), (most_px - GRID_TOP_PX) // max(1, n_layers), 180)
    tile = max(60, tile)
    return GRID_TOP_PX + 10 + tile * n_layers, tile


def tile_centre(index: int, t: int) -> float:
    """Where tile ``index`` (a head across, a layer down) has its centre, in grid cells."""
    return index * (t + 1) + (t - 1) / 2


def head_grid(
    weights: np.ndarray,
    *,
    title: str,
    provenance: Mapping[str, object] | None = None,
    selected: tuple[int, int] | None = None,
    first_layer: int = 0,
    hover: Sequence[Sequence[str]] | None = None,
) -> go.Figure:
    """Every head's attention pattern as one tiled image: weights (layers, heads, t, t), rows = layers
    (numbered from ``first_layer``).

    One heatmap with blank gaps between tiles draws much faster than one subplot per head (GPT-2 has
    144 heads). A transparent point at each tile's centre makes a tile clickable: with hover
    distance unbounded, a click anywhere on a tile picks its nearest centre, its own; ``hover[l][h]``
    is that head's hover text. ``selected`` (layer, head) gets a red frame.
    """
    weights = np.asarray(weights, dtype=np.float32)
    n_layer, n_head, t, _ = weights.shape
    step = t + 1  # one blank row/column between tiles
    tiled = np.full((n_layer * step - 1, n_head * step - 1), np.nan, dtype=np.float32)
    for layer in range(n_layer):
        for head in range(n_head):
            tiled[layer * step : layer * step + t, head * step : head * step + t] = weights[layer, head]
    fig = go.Figure(
        go.Heatmap(
            z=tiled,
            colorscale=scale_for(WEIGHTS, DEFAULT_LOOK),
            meta=WEIGHTS,
            zmin=0.0,
            zmax=1.0,
            hoverinfo="skip",
            colorbar={"title": "weight"},
        )
    )
    heads = [(layer, head) for layer in range(n_layer) for head in range(n_head)]
    names = [f"layer {first_layer + layer} · head {head}" for layer, head in heads]
    texts = [hover[layer][head] if hover else "" for layer, head in heads]
    fig.add_trace(
        go.Scatter(
            x=[tile_centre(head, t) for _, head in heads],
            y=[tile_centre(layer, t) for layer, _ in heads],
            mode="markers",
            marker={"size": 1, "opacity": 0},
            customdata=[[first_layer + layer, head] for layer, head in heads],
            hovertext=[f"{safe_label(n)}<br>{safe_label(x)}" if x else safe_label(n) for n, x in zip(names, texts)],
            hovertemplate="%{hovertext}<br>click to enlarge<extra></extra>",
            showlegend=False,
        )
    )
    fig.update_xaxes(
        tickvals=[tile_centre(h, t) for h in range(n_head)],
        ticktext=[f"head {h}" for h in range(n_head)],
        side="top",
        showgrid=False,
        zeroline=False,
        range=[-0.5, n_head * step - 1.5],
    )
    fig.update_yaxes(
        tickvals=[tile_centre(i, t) for i in range(n_layer)],
        ticktext=[f"layer {first_layer + i}" for i in range(n_layer)],
        autorange="reversed",
        showgrid=False,
        zeroline=False,
        scaleanchor="x",
    )
    if selected is not None and 0 <= selected[0] - first_layer < n_layer:
        layer, head = selected[0] - first_layer, selected[1]
        fig.add_shape(
            type="rect",
            x0=head * step - 0.5,
            x1=head * step + t - 0.5,
            y0=layer * step - 0.5,
            y1=layer * step + t - 0.5,
            line={"color": "#d62728", "width": 4},
        )
    _layout(fig, title, provenance, grid_height(n_layer, n_head)[0])
    # the "head k" labels sit on top, under the title: keep the title above them. Clicks select a head
    # (no box or lasso); nearest-point hover over any distance makes the whole tile the target.
    fig.update_layout(
        margin_t=GRID_TOP_PX,
        title={"y": 1.0, "yref": "container", "yanchor": "top", "pad": {"t": 12}},
        hovermode="closest",
        hoverdistance=-1,
        clickmode="event+select",
        dragmode=False,
    )
    return fig


def histogram(
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    x_title: str,
    provenance: Mapping[str, object] | None = None,
    bins: int = 60,
) -> go.Figure:
    """Overlaid, semi-transparent histograms (as probability density), one per named sample."""
    fig = go.Figure()
    for name, values in series.items():
        fig.add_trace(
            go.Histogram(
                x=list(values), nbinsx=bins, histnorm="probability density", opacity=0.55, name=safe_label(name)
            )
        )
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title="density")
    return _layout(fig, title, provenance, 380)

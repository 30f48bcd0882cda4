"""The Embeddings page's views: the dimension window, token × dimension heatmaps, the sinusoids, and
the PCA map's figure with labels that do not overlap.

The page holds the explanations and the order; these draw one figure (with its CSV) each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

from gpt import sinusoidal_positions
from ui import figures
from ui.render import show_figure
from ui.shell import Selection

DEFAULT_DIMS = 32  # dimensions shown at first: enough to see structure, few enough to read
MAX_DIMS = 128  # columns per heatmap; wider slices are cut (GPT-2 has 768)
WAVE_POSITIONS = 128  # positions drawn in the sinusoid line chart
SINUSOID_PROVENANCE = "Vaswani et al. 2017"


def sinusoids(n_positions: int, n_embd: int) -> np.ndarray:
    """(n_positions, n_embd) sinusoids; an odd width is computed one wider and cut (sin/cos come in pairs)."""
    return sinusoidal_positions(n_positions, n_embd + n_embd % 2)[:, :n_embd].numpy()


def dims_slider(n_embd: int) -> tuple[int, int]:
    """The slice of embedding dimensions to draw, chosen with a range slider."""
    if n_embd == 1:
        return 0, 1
    lo, hi = st.slider(
        "Embedding dimensions shown",
        0,
        n_embd,
        (0, min(DEFAULT_DIMS, n_embd)),
        key="emb_dims",
        help=f"This model's vectors have {n_embd} numbers each; pick a window of up to {MAX_DIMS}.",
    )
    if hi <= lo:
        hi = min(n_embd, lo + 1)
        lo = hi - 1
    if hi - lo > MAX_DIMS:
        st.caption(f"Showing dimensions {lo}–{lo + MAX_DIMS - 1}: at most {MAX_DIMS} columns fit in one heatmap.")
        hi = lo + MAX_DIMS
    return lo, hi


def matrix_figure(
    sel: Selection,
    values: torch.Tensor,
    dims: tuple[int, int],
    rows: int,
    title: str,
    name: str,
    what: str,
    by_position: bool = False,
) -> None:
    """Heatmap rows × dimensions of one (T, C) matrix, with its numbers as CSV. Rows are the tokens
    ("3: fox"), or with ``by_position`` the positions ("pos 3"): a position vector belongs to the place
    in the sequence, whatever token stands there."""
    lo, hi = dims
    part = values[:rows, lo:hi].detach().float().numpy()  # (rows, hi-lo)
    labels = [f"pos {p}" for p in range(rows)] if by_position else figures.token_labels(sel.token_texts)[:rows]
    cols = [f"d{j}" for j in range(lo, hi)]
    fig = figures.heatmap(
        part,
        labels,
        cols,
        title=title,
        kind="values",
        provenance=sel.provenance(vectors=what, dims=f"{lo}–{hi - 1}"),
        row_title="position" if by_position else "token",
        col_title="dimension",
    )
    show_figure(fig, pd.DataFrame(part, index=labels, columns=cols), name, key=name)


def sinusoid_heatmap(n_embd: int, dims: tuple[int, int], rows: int) -> None:
    """The original Transformer's position vectors for the first ``rows`` positions, as a heatmap."""
    lo, hi = dims
    sinus = sinusoids(rows, n_embd)[:, lo:hi]  # (rows, hi-lo)
    labels = [f"pos {p}" for p in range(rows)]
    cols = [f"d{j}" for j in range(lo, hi)]
    fig = figures.heatmap(
        sinus,
        labels,
        cols,
        title="Sinusoidal encoding (original Transformer, not used by GPT-2)",
        kind="values",
        provenance={"formula": SINUSOID_PROVENANCE, "d_model": n_embd, "dims": f"{lo}–{hi - 1}"},
        row_title="position",
        col_title="dimension",
    )
    show_figure(fig, pd.DataFrame(sinus, index=labels, columns=cols), "sinusoid", key="sinusoid")


def sinusoid_waves(n_embd: int, dims: tuple[int, int]) -> None:
    """A few sinusoid dimensions as curves over positions: the fast and slow waves."""
    lo, hi = dims
    n_pos = WAVE_POSITIONS
    pe = sinusoids(n_pos, n_embd)  # (n_pos, C)
    picks = sorted({d for d in (lo, lo + 1, lo + (hi - lo) // 2, hi - 1) if lo <= d < hi})
    positions = list(range(n_pos))
    series = {f"dimension {d} ({'sin' if d % 2 == 0 else 'cos'})": (positions, pe[:, d].tolist()) for d in picks}
    fig = figures.line_chart(
        series,
        title="Sinusoidal encoding: one curve per dimension",
        x_title="position",
        y_title="value",
        provenance={"formula": SINUSOID_PROVENANCE, "d_model": n_embd},
    )
    data = pd.DataFrame({name: ys for name, (_, ys) in series.items()}, index=pd.Index(positions, name="position"))
    show_figure(fig, data, "sinusoid-waves", key="sinusoid_waves")


# --------------------------------------------------------------------------- the PCA map
# Labels are placed for the smallest plot area the map gets (a 1024-pixel projector with the sidebar
# open); a wider screen only spreads the points further apart. Label text has a fixed size, so a
# larger presenter font cannot make the labels collide.
PCA_HEIGHT = 480
PCA_MARGIN = {"l": 60, "r": 10, "t": 70, "b": 50}
PLOT_PX = (420.0, 340.0)  # (width, height) assumed for the plot area
LABEL_FONT_PX = 12
PRESENTER_LABEL_FONT_PX = 16  # presenter mode: fewer labels fit, but a projector's back row reads them
CHAR_EM = 0.625  # a generous average character width, in units of the font size (7.5 px at 12 px)
LINE_EM = 1.25  # a label's height, likewise (15 px at 12 px)
MARKER_PX = 5.0  # marker radius
MAX_LABEL_CHARS = 10  # longer tokens are cut on the map (the hover shows them whole)
PLACEMENTS = ("top center", "bottom center", "middle right", "middle left")  # tried in this order


@dataclass(frozen=True)
class MapLabels:
    """Where the PCA map writes what: ``text[i]`` beside point i ("" where it would cover another label
    or point), at Plotly ``textposition[i]``; ``hover[i]`` names every point."""

    text: list[str]
    textposition: list[str]
    hover: list[str]
    x_range: tuple[float, float]
    y_range: tuple[float, float]


def _axis_range(values: np.ndarray) -> tuple[float, float]:
    lo, hi = float(values.min()), float(values.max())
    span = hi - lo
    if span <= 1e-12:
        return lo - 1.0, hi + 1.0
    return lo - 0.08 * span, hi + 0.08 * span  # room for labels at the edges


def _label_box(cx: float, cy: float, width: float, line: float, where: str) -> np.ndarray:
    """(x0, y0, x1, y1) in pixels (y upwards) of a label ``width`` x ``line`` next to the point at (cx, cy)."""
    gap = MARKER_PX + 1.0
    if where == "top center":
        return np.array([cx - width / 2, cy + gap, cx + width / 2, cy + gap + line])
    if where == "bottom center":
        return np.array([cx - width / 2, cy - gap - line, cx + width / 2, cy - gap])
    if where == "middle right":
        return np.array([cx + gap, cy - line / 2, cx + gap + width, cy + line / 2])
    return np.array([cx - gap - width, cy - line / 2, cx - gap, cy + line / 2])


def _hits(box: np.ndarray, boxes: np.ndarray) -> bool:
    """Whether ``box`` overlaps any of ``boxes`` (k, 4)."""
    if len(boxes) == 0:
        return False
    return bool(
        np.any((box[0] < boxes[:, 2]) & (boxes[:, 0] < box[2]) & (box[1] < boxes[:, 3]) & (boxes[:, 1] < box[3]))
    )


def short_label(token: str) -> str:
    return token if len(token) <= MAX_LABEL_CHARS else token[: MAX_LABEL_CHARS - 1] + "…"


def map_labels(coords: np.ndarray, tokens: Sequence[str], font_px: float = LABEL_FONT_PX) -> MapLabels:
    """Label the map's points without overlaps: in position order, each point gets its token written
    above, below, right or left of it, whichever first covers no earlier label and no point; points
    with no free side are named by their hover only. Points at the same spot (a repeated token's
    identical embedding) share one label, and their hover lists every position."""
    n = len(tokens)
    x_range, y_range = _axis_range(coords[:, 0]), _axis_range(coords[:, 1])
    px = (coords[:, 0] - x_range[0]) / (x_range[1] - x_range[0]) * PLOT_PX[0]
    py = (coords[:, 1] - y_range[0]) / (y_range[1] - y_range[0]) * PLOT_PX[1]
    spots: dict[tuple[int, int], list[int]] = {}
    for i in range(n):
        spots.setdefault((round(px[i] * 100), round(py[i] * 100)), []).append(i)  # same spot to 0.01 px
    hover = [""] * n
    for members in spots.values():
        where = ", ".join(str(i) for i in members)
        for i in members:
            hover[i] = f"{where}: {tokens[i]}"
    markers = np.stack([px - MARKER_PX, py - MARKER_PX, px + MARKER_PX, py + MARKER_PX], axis=1)
    placed = np.zeros((0, 4))
    text, textposition = [""] * n, ["top center"] * n
    for members in sorted(spots.values()):
        first = members[0]
        label = short_label(tokens[first])
        width = len(label) * CHAR_EM * font_px + 2.0
        for where in PLACEMENTS:
            box = _label_box(px[first], py[first], width, LINE_EM * font_px, where)
            inside = box[0] >= 0 and box[1] >= 0 and box[2] <= PLOT_PX[0] and box[3] <= PLOT_PX[1]
            if inside and not _hits(box, markers) and not _hits(box, placed):
                text[first], textposition[first] = label, where
                placed = np.vstack([placed, box])
                break
    return MapLabels(text, textposition, hover, x_range, y_range)


def pca_map(
    coords: np.ndarray,
    tokens: Sequence[str],
    *,
    title: str,
    provenance: Mapping[str, object] | None = None,
    x_title: str = "PC 1",
    y_title: str = "PC 2",
    label_px: int = LABEL_FONT_PX,
) -> go.Figure:
    """The 2-D PCA map: a point per token coloured by its position, labelled where labels of
    ``label_px`` fit (Plotly only; token texts are escaped here)."""
    labels = map_labels(coords, tokens, label_px)
    fig = go.Figure(
        go.Scatter(
            x=coords[:, 0].tolist(),
            y=coords[:, 1].tolist(),
            mode="markers+text",
            text=[figures.safe_label(t) for t in labels.text],
            textposition=labels.textposition,
            textfont={"size": label_px},
            hovertext=[figures.safe_label(h) for h in labels.hover],
            hovertemplate="%{hovertext}<extra></extra>",
            marker={
                "size": 2 * MARKER_PX,
                "color": list(range(len(tokens))),
                "colorscale": "Viridis",
                "colorbar": {"title": {"text": "position"}, "thickness": 12},
                "line": {"width": 0.5, "color": "white"},
            },
        )
    )
    fig.update_xaxes(title=x_title, range=list(labels.x_range))
    fig.update_yaxes(title=y_title, range=list(labels.y_range))
    sub = figures.provenance_text(provenance)
    fig.update_layout(
        title={"text": figures.safe_label(title) + (f"<br><sup>{sub}</sup>" if sub else ""), "x": 0.0},
        height=PCA_HEIGHT,
        margin=PCA_MARGIN,
    )
    return fig

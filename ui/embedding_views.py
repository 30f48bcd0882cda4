"""The Embeddings page's views: the dimension window, token × dimension heatmaps, the sinusoids.

The page holds the explanations and the order; these draw one figure (with its CSV) each.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
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
    sel: Selection, values: torch.Tensor, dims: tuple[int, int], rows: int, title: str, name: str, what: str
) -> None:
    """Heatmap tokens × dimensions of one (T, C) matrix, with its numbers as CSV."""
    lo, hi = dims
    part = values[:rows, lo:hi].detach().float().numpy()  # (rows, hi-lo)
    labels = figures.token_labels(sel.token_texts)[:rows]
    cols = [f"d{j}" for j in range(lo, hi)]
    fig = figures.heatmap(
        part,
        labels,
        cols,
        title=title,
        kind="values",
        provenance=sel.provenance(vectors=what, dims=f"{lo}–{hi - 1}"),
        row_title="token",
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

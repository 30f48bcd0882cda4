"""Step 2: token embeddings, position vectors (learned vs sinusoidal) and their sum; a PCA map."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch

from gpt import sinusoidal_positions
from gpt.interpret import cosine_similarity_matrix, pca_2d
from ui import figures, shell, state
from ui.render import show_figure

state.init()  # first thing on every page: shared state, and app.py's navigation (ui/state.py)

DEFAULT_DIMS = 32  # dimensions shown at first: enough to see structure, few enough to read
MAX_DIMS = 128  # columns per heatmap; wider slices are cut (GPT-2 has 768)
MAX_ROWS = 64  # token rows per heatmap; the page says when more exist
WAVE_POSITIONS = 128  # positions drawn in the sinusoid line chart
SINUSOID_FORMULA = (
    r"\begin{aligned} PE_{(pos,\,2i)} &= \sin\!\left(pos \,/\, 10000^{2i/d_{\text{model}}}\right) \\ "
    r"PE_{(pos,\,2i+1)} &= \cos\!\left(pos \,/\, 10000^{2i/d_{\text{model}}}\right) \end{aligned}"
)


def _sinusoids(n_positions: int, n_embd: int) -> np.ndarray:
    """(n_positions, n_embd) sinusoids; an odd width is computed one wider and cut (sin/cos come in pairs)."""
    return sinusoidal_positions(n_positions, n_embd + n_embd % 2)[:, :n_embd].numpy()


def _dims(n_embd: int) -> tuple[int, int]:
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


def _matrix_figure(
    sel: shell.Selection, values: torch.Tensor, dims: tuple[int, int], rows: int, title: str, name: str, what: str
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


def _positions(sel: shell.Selection, trace, dims: tuple[int, int], rows: int) -> None:
    cfg = sel.loaded.model.config
    st.subheader("Position vectors")
    st.write(
        "Attention itself ignores order: without extra information, “dog bites man” and “man bites dog” "
        "would look the same. So a position vector is added to each token's vector."
    )
    if cfg.pos_encoding == "learned":
        untrained = (
            " Here the model is untrained, so they are still random noise." if sel.loaded.meta.get("untrained") else ""
        )
        st.info(
            f"**This model uses learned position embeddings**, like GPT-2: a table `wpe` with one trained vector "
            f"for each of its {cfg.block_size} positions, adjusted during training like any other weight. "
            f"They are not sine waves.{untrained}"
        )
    else:
        st.info(
            "**This model uses the fixed sinusoidal encoding** of the original Transformer (2017), shown on the "
            "right: nothing about positions is learned."
        )
    left, right = st.columns(2)
    with left:
        st.markdown(f"**This model: {cfg.pos_encoding} positions**")
        _matrix_figure(
            sel,
            trace.pos_emb,
            dims,
            rows,
            f"Position vectors used by this model ({cfg.pos_encoding})",
            "pos-emb",
            "position embeddings",
        )
    with right:
        st.markdown("**For comparison: the original Transformer's sinusoids**")
        st.latex(SINUSOID_FORMULA)
        st.caption(
            "Each pair of dimensions is a sine and cosine wave; low dimensions oscillate quickly, high ones "
            "slowly, so every position gets a unique pattern and nearby positions get similar ones."
        )
        lo, hi = dims
        sinus = _sinusoids(rows, cfg.n_embd)[:, lo:hi]  # (rows, hi-lo)
        labels = [f"pos {p}" for p in range(rows)]
        cols = [f"d{j}" for j in range(lo, hi)]
        fig = figures.heatmap(
            sinus,
            labels,
            cols,
            title="Sinusoidal encoding (original Transformer, not used by GPT-2)",
            kind="values",
            provenance={"formula": "Vaswani et al. 2017", "d_model": cfg.n_embd, "dims": f"{lo}–{hi - 1}"},
            row_title="position",
            col_title="dimension",
        )
        show_figure(fig, pd.DataFrame(sinus, index=labels, columns=cols), "sinusoid", key="sinusoid")
    _waves(cfg.n_embd, dims)


def _waves(n_embd: int, dims: tuple[int, int]) -> None:
    """A few sinusoid dimensions as curves over positions: the fast and slow waves."""
    lo, hi = dims
    n_pos = WAVE_POSITIONS
    pe = _sinusoids(n_pos, n_embd)  # (n_pos, C)
    picks = sorted({d for d in (lo, lo + 1, lo + (hi - lo) // 2, hi - 1) if lo <= d < hi})
    positions = list(range(n_pos))
    series = {f"dimension {d} ({'sin' if d % 2 == 0 else 'cos'})": (positions, pe[:, d].tolist()) for d in picks}
    fig = figures.line_chart(
        series,
        title="Sinusoidal encoding: one curve per dimension",
        x_title="position",
        y_title="value",
        provenance={"formula": "Vaswani et al. 2017", "d_model": n_embd},
    )
    data = pd.DataFrame({name: ys for name, (_, ys) in series.items()}, index=pd.Index(positions, name="position"))
    show_figure(fig, data, "sinusoid-waves", key="sinusoid_waves")


def _pca(sel: shell.Selection, trace, rows: int) -> None:
    st.subheader("A map of the token vectors (PCA)")
    st.write(
        "Each vector has hundreds of numbers. Principal component analysis finds the two directions in which "
        "these vectors differ most and draws every token at its coordinates along them. Tokens with similar "
        "vectors land close together; a repeated token lands on the same spot unless its position vector moves it."
    )
    choice = st.radio(
        "Vectors",
        ["token embeddings", "token + position (input to layer 0)"],
        horizontal=True,
        key="emb_pca_vectors",
    )
    vectors = trace.tok_emb if choice == "token embeddings" else trace.embeddings
    n = vectors.shape[0]
    if n < 2:
        st.info("The map needs at least two tokens.")
        return
    projection = pca_2d(vectors)
    labels = figures.token_labels(sel.token_texts)
    e1, e2 = projection.explained
    fig = figures.scatter_2d(
        projection.coords.numpy(),
        labels,
        title=f"PCA of {choice}",
        provenance=sel.provenance(vectors=choice),
        x_title=f"PC 1 ({e1:.0%} of variance)",
        y_title=f"PC 2 ({e2:.0%} of variance)",
    )
    data = pd.DataFrame(projection.coords.numpy(), index=labels, columns=["PC 1", "PC 2"])
    show_figure(fig, data, "pca", key="pca")
    similarity = cosine_similarity_matrix(vectors[:rows]).numpy()
    fig = figures.heatmap(
        np.round(similarity, 4),
        labels[:rows],
        labels[:rows],
        title=f"Cosine similarity of {choice}",
        kind="values",
        provenance=sel.provenance(vectors=choice),
        row_title="token",
        col_title="token",
    )
    st.caption("Cosine similarity: 1 = same direction, 0 = unrelated, −1 = opposite.")
    show_figure(fig, pd.DataFrame(similarity, index=labels[:rows], columns=labels[:rows]), "cosine", key="cosine")


st.title("2 · Embeddings & positions")
st.write(
    "Each token ID picks one row of the **token embedding** table: a vector of numbers the model learned for "
    "that token. A **position vector** is added so the model knows where each token stands. The sum is what "
    "the first attention layer receives."
)
selection = shell.require_tokens(shell.sidebar())
if selection is not None:
    cfg = selection.loaded.model.config
    trace = selection.trace()
    n_tokens = len(selection.pieces)
    rows = min(n_tokens, MAX_ROWS)
    if n_tokens > MAX_ROWS:
        st.caption(f"Heatmaps show the first {MAX_ROWS} of {n_tokens} tokens.")
    dims = _dims(cfg.n_embd)
    st.subheader("Token embeddings")
    st.write(
        f"Row *i* is the embedding of token *i*: {cfg.n_embd} numbers (d_model). The same token always gets the "
        "same row, wherever it stands."
    )
    _matrix_figure(
        selection, trace.tok_emb, dims, rows, "Token embeddings (rows of wte)", "tok-emb", "token embeddings"
    )
    _positions(selection, trace, dims, rows)
    st.subheader("Their sum: the input to layer 0")
    st.latex(r"x_i = \text{token\_embedding}(\text{id}_i) + \text{position}(i)")
    _matrix_figure(
        selection, trace.embeddings, dims, rows, "Token + position vectors (input to layer 0)", "embeddings", "sum"
    )
    _pca(selection, trace, rows)

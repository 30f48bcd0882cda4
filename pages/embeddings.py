"""Step 2: token embeddings, position vectors (learned vs sinusoidal) and their sum; a PCA map.

The figures are drawn by ``ui/embedding_views.py``; this page explains them and puts them in order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch

from gpt import Trace
from gpt.interpret import cosine_similarity_matrix, pca_2d
from ui import figures, lesson, presenter, shell, state
from ui.embedding_views import (
    LABEL_FONT_PX,
    PRESENTER_LABEL_FONT_PX,
    dims_slider,
    matrix_figure,
    pca_map,
    sinusoid_heatmap,
    sinusoid_waves,
)
from ui.render import show_figure

state.init()  # first thing on every page: shared state, and app.py's navigation (ui/state.py)
lesson.follow_pending("embeddings")  # a lesson button pressed here may ask for another page

MAX_ROWS = 64  # token rows per heatmap; the page says when more exist
# One tab per view keeps the page short on a projector; every tab is drawn on each run, so a link
# or a test sees all of them.
TABS = ["Token embeddings", "Position vectors", "Their sum", "PCA map", "Similarity"]
VECTOR_CHOICES = ["token embeddings", "token + position (input to layer 0)"]
SINUSOID_FORMULA = (
    r"\begin{aligned} PE_{(pos,\,2i)} &= \sin\!\left(pos \,/\, 10000^{2i/d_{\text{model}}}\right) \\ "
    r"PE_{(pos,\,2i+1)} &= \cos\!\left(pos \,/\, 10000^{2i/d_{\text{model}}}\right) \end{aligned}"
)


def token_embeddings(sel: shell.Selection, trace: Trace, dims: tuple[int, int], rows: int) -> None:
    st.write(
        f"Row *i* is the embedding of token *i*: {sel.loaded.model.config.n_embd} numbers (d_model). The same "
        "token always gets the same row, wherever it stands."
    )
    matrix_figure(sel, trace.tok_emb, dims, rows, "Token embeddings (rows of wte)", "tok-emb", "token embeddings")


def positions(sel: shell.Selection, trace: Trace, dims: tuple[int, int], rows: int) -> None:
    cfg = sel.loaded.model.config
    st.write(
        "Attention itself ignores order: without extra information, “dog bites man” and “man bites dog” "
        "would look the same. So a position vector is added to each token's vector: row *i* belongs to "
        "position *i*, whatever token stands there."
    )
    if cfg.pos_encoding == "none":
        st.info(
            "**This model has no position vectors**, like the bigram rung of the architecture ladder lab: nothing "
            "is added to the token embeddings, so it cannot tell where a token stands. For comparison, the "
            "original Transformer's sinusoids:"
        )
        sinusoid_heatmap(cfg.n_embd, dims, rows)
        return
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
        title = f"Position vectors used by this model ({cfg.pos_encoding})"
        matrix_figure(sel, trace.pos_emb, dims, rows, title, "pos-emb", "position embeddings", by_position=True)
    with right:
        st.markdown("**For comparison: the original Transformer's sinusoids**")
        st.latex(SINUSOID_FORMULA)
        st.caption(
            "Each pair of dimensions is a sine and cosine wave; low dimensions oscillate quickly, high ones "
            "slowly, so every position gets a unique pattern and nearby positions get similar ones."
        )
        sinusoid_heatmap(cfg.n_embd, dims, rows)
    sinusoid_waves(cfg.n_embd, dims)


def embedding_sum(sel: shell.Selection, trace: Trace, dims: tuple[int, int], rows: int) -> None:
    st.write("Each token's vector plus its position's vector: this sum is what layer 0 receives.")
    st.latex(r"x_i = \text{token\_embedding}(\text{id}_i) + \text{position}(i)")
    title = "Token + position vectors (input to layer 0)"
    matrix_figure(sel, trace.embeddings, dims, rows, title, "embeddings", "sum")


def vectors_choice(trace: Trace, key: str) -> tuple[str, torch.Tensor]:
    """Which vectors a view compares: the token embeddings alone, or with their positions added."""
    choice = st.radio("Vectors", VECTOR_CHOICES, horizontal=True, key=key)
    return choice, trace.tok_emb if choice == VECTOR_CHOICES[0] else trace.embeddings


def pca(sel: shell.Selection, trace: Trace) -> None:
    st.write(
        "Each vector has hundreds of numbers. Principal component analysis finds the two directions in which "
        "these vectors differ most and draws every token at its coordinates along them. Tokens with similar "
        "vectors land close together; a repeated token lands on the same spot unless its position vector moves it."
    )
    choice, vectors = vectors_choice(trace, "emb_pca_vectors")
    if vectors.shape[0] < 2:
        st.info("The map needs at least two tokens.")
        return
    projection = pca_2d(vectors)
    coords = projection.coords.numpy()
    e1, e2 = projection.explained
    fig = pca_map(
        coords,
        sel.token_texts,
        title=f"PCA of {choice}",
        provenance=sel.provenance(vectors=choice),
        x_title=f"PC 1 ({e1:.0%} of variance)",
        y_title=f"PC 2 ({e2:.0%} of variance)",
        label_px=PRESENTER_LABEL_FONT_PX if presenter.is_presenting() else LABEL_FONT_PX,
    )
    written = sum(1 for text in fig.data[0].text if text)
    spots = len(set(fig.data[0].hovertext))  # a repeated token's points share one spot
    if written < spots:
        st.caption(f"Labels are written where they fit ({written} of {spots} points); hover over a point to name it.")
    data = pd.DataFrame(coords, index=figures.token_labels(sel.token_texts), columns=["PC 1", "PC 2"])
    show_figure(fig, data, "pca", key="pca")


def similarity(sel: shell.Selection, trace: Trace, rows: int) -> None:
    choice, vectors = vectors_choice(trace, "emb_similarity_vectors")
    labels = figures.token_labels(sel.token_texts)[:rows]
    similarity = cosine_similarity_matrix(vectors[:rows]).numpy()
    fig = figures.heatmap(
        np.round(similarity, 4),
        labels,
        labels,
        title=f"Cosine similarity of {choice}",
        kind="values",
        provenance=sel.provenance(vectors=choice),
        row_title="token",
        col_title="token",
    )
    st.caption("Cosine similarity: 1 = same direction, 0 = unrelated, −1 = opposite.")
    show_figure(fig, pd.DataFrame(similarity, index=labels, columns=labels), "cosine", key="cosine")


def intro() -> None:
    st.write(
        "Each token ID picks one row of the **token embedding** table: a vector of numbers the model learned for "
        "that token. A **position vector** is added so the model knows where each token stands. The sum is what "
        "the first attention layer receives."
    )


def main() -> None:
    lesson.page_header("embeddings", "2 · Embeddings & positions", intro)
    sel = shell.require_tokens(shell.sidebar())
    if sel is None:
        return
    trace = sel.trace()
    n_tokens = len(sel.pieces)
    rows = min(n_tokens, MAX_ROWS)
    if n_tokens > MAX_ROWS:
        st.caption(f"Heatmaps show the first {MAX_ROWS} of {n_tokens} tokens.")
    dims = dims_slider(sel.loaded.model.config.n_embd)
    tok, pos, total, pca_tab, cos = st.tabs(TABS)
    with tok:
        token_embeddings(sel, trace, dims, rows)
    with pos:
        positions(sel, trace, dims, rows)
    with total:
        embedding_sum(sel, trace, dims, rows)
    with pca_tab:
        pca(sel, trace)
    with cos:
        similarity(sel, trace, rows)


main()

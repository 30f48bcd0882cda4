"""Views 1 and 2 of "Why this token?": the logit lens (layer by layer) and direct logit attribution
(which parts wrote the logit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from gpt import Trace
from gpt.interpret import POINTS, default_points, direct_logit_attribution, logit_lens
from ui import presenter, shell
from ui.figures import bar_chart, heatmap, token_labels
from ui.render import show_figure
from ui.why_figures import lens_figure, mark_cell, signed_bars
from ui.why_views import Choice, cached, token_name

POINT_LABELS = {"every": "every point (also after each attention)", "blocks": "after each block"}
LENS_KEY, CELL_KEY = "why_lens", "why_lens_cell"
MOST_BARS = 16  # attribution terms drawn as bars (the CSV has all of them)


def lens_clicked() -> None:
    points = (st.session_state.get(LENS_KEY) or {}).get("selection", {}).get("points", [])
    where = points[0].get("customdata") if points else None
    if isinstance(where, (list, tuple)) and len(where) == 2:
        st.session_state[CELL_KEY] = (int(where[0]), int(where[1]))


def show_lens(sel: shell.Selection, trace: Trace, choice: Choice) -> None:
    model = sel.loaded.model
    default = default_points(model.config, trace.n_tokens)
    points = st.radio(
        "Points of the residual stream",
        POINTS,
        index=POINTS.index(default),
        format_func=POINT_LABELS.get,
        horizontal=True,
        key=f"why_points_{default}",  # a model or text that changes the default starts from it
    )
    lens = cached("lens", sel, (points,), lambda: logit_lens(model, trace, points=points))
    names = {}
    ids = lens.top_ids.numpy()
    tokens = [[[names.setdefault(i, token_name(sel, i)) for i in cell] for cell in row] for row in ids.tolist()]
    probs = lens.top_probs.numpy()
    fig = lens_figure(
        probs,
        tokens,
        lens.names,
        token_labels(sel.token_texts),
        title="Logit lens: the top next token if the model stopped here (colour: its probability)",
        provenance=sel.provenance(points=POINT_LABELS[points]),
    )
    n_points = len(lens.names)
    row, col = st.session_state.get(CELL_KEY) or (n_points - 1, choice.position)
    if not (0 <= row < n_points and 0 <= col < trace.n_tokens):
        row, col = n_points - 1, choice.position
    mark_cell(fig, row, col)
    show_figure(fig, lens_frame(lens.names, sel.token_texts, tokens, probs), "logit_lens", LENS_KEY, lens_clicked)
    st.caption(
        "Each cell applies the final LayerNorm and the unembedding to the residual stream at that point: the "
        "last row is exactly the model's output. Hover a cell for its top 10; click one to list them below."
    )
    fig = bar_chart(
        tokens[row][col],
        probs[row, col].tolist(),
        title=f"Top {len(tokens[row][col])} at “{lens.names[row]}”, position {col}",
        provenance=sel.provenance(),
    )
    show_figure(fig, None, "logit_lens_cell", key="why_lens_top")


def lens_frame(names: list[str], texts: list[str], tokens: list, probs: np.ndarray) -> pd.DataFrame:
    rows = []
    for p, name in enumerate(names):
        for t, text in enumerate(texts):
            for rank, (token, prob) in enumerate(zip(tokens[p][t], probs[p, t]), start=1):
                rows.append((name, t, text, rank, token, float(prob)))
    return pd.DataFrame(rows, columns=["point", "position", "input token", "rank", "next token", "probability"])


def show_attribution(sel: shell.Selection, trace: Trace, choice: Choice) -> None:
    model = sel.loaded.model
    attr = direct_logit_attribution(model, trace, choice.position, choice.target, choice.versus)
    a, b, c = st.columns(3)
    a.metric("Logit the model computed" if choice.versus is None else "Logit difference", f"{attr.logit:.4f}")
    b.metric("Sum of all parts", f"{attr.total:.4f}")
    c.metric("LayerNorm scale σ (frozen)", f"{attr.sigma:.4f}")
    terms = sorted(attr.terms, key=lambda t: abs(t.value), reverse=True)[:MOST_BARS]
    terms.sort(key=lambda t: t.value, reverse=True)
    frame = pd.DataFrame(
        [(t.name, t.kind, t.layer, t.head, t.value) for t in attr.terms],
        columns=["part", "kind", "layer", "head", "contribution"],
    )
    fig = signed_bars(
        [t.name for t in terms],
        [t.value for t in terms],
        title=f"Which parts wrote it: the {len(terms)} largest of {len(attr.terms)} contributions",
        value_title="contribution to the logit",
        provenance=sel.provenance(position=choice.position, target=token_name(sel, choice.target)),
    )
    show_figure(fig, frame, "logit_attribution", key="why_attribution")
    grid = attr.head_matrix().numpy()
    raises, lowers = presenter.sign_colours()  # the palette's words: RdBu draws positive values red
    fig = heatmap(
        grid,
        [f"layer {i}" for i in range(grid.shape[0])],
        [f"head {j}" for j in range(grid.shape[1])],
        title=f"Every head's direct contribution ({raises} raises the logit, {lowers} lowers it)",
        kind="values",
        provenance=sel.provenance(position=choice.position),
        decimals=2,
        row_title="layer",
        col_title="head",
    )
    index = pd.Index([f"layer {i}" for i in range(grid.shape[0])], name="layer")
    show_figure(
        fig,
        pd.DataFrame(grid, index=index, columns=[f"head {j}" for j in range(grid.shape[1])]),
        "heads_dla",
        key="why_heads_dla",
    )
    st.caption(
        "The last residual vector is the sum of the token and position embeddings, every head's output (its "
        "context vector through its own slice of W_O), every attention bias and every MLP's output. With the "
        "final LayerNorm's scale frozen at its actual value at this position, the logit splits exactly into one "
        f"term per part plus the LayerNorm's bias ({attr.terms[-1].value:.4f}). “Direct” means only what a "
        "part writes straight to the output: a head whose output later layers read shows up in their terms."
    )

"""Views 4 and 5 of "Why this token?": the neuron view (one attention score from q[d]*k[d] to its
weight) and "which input tokens mattered?", answered three ways side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from gpt import Trace
from gpt.interpret import input_importance, neuron_view
from ui import shell
from ui.figures import bar_chart, heatmap, token_labels
from ui.pickers import index_picker
from ui.render import show_figure
from ui.why_figures import clickable_cells, mark_cell, signed_bars
from ui.why_views import Choice, cached

SCORES_KEY, QUERY_KEY, KEY_KEY = "why_scores", "why_query", "why_key"
MOST_DIMS = 24  # products drawn one bar each; the rest are summed into one bar (so the bars still add up)

DISAGREE = (
    "**Why the three disagree.** Attention weights say where a layer *looked*, not how much that changed the "
    "answer: the value vectors it read may be tiny, heads can cancel each other, and the residual stream and "
    "the MLPs carry much of the information past attention altogether. Rollout follows attention through "
    "every layer (with the residual connection as half of each step) but still assumes attention is all that "
    "moves information. Gradient × input asks the model itself: how much the logit would change, to first "
    "order, if a token's embedding faded away; it can be negative (that token argued against the target). "
    "Attention is not the same thing as importance (Jain & Wallace 2019; Abnar & Zuidema 2020)."
)


def cell_clicked() -> None:
    points = (st.session_state.get(SCORES_KEY) or {}).get("selection", {}).get("points", [])
    where = points[0].get("customdata") if points else None
    if isinstance(where, (list, tuple)) and len(where) == 2:
        st.session_state[QUERY_KEY], st.session_state[KEY_KEY] = int(where[0]), int(where[1])


def _token_picker(column, label: str, key: str, n: int, default: int, labels: list[str]) -> int:
    value = st.session_state.get(key)
    st.session_state[key] = value if isinstance(value, int) and 0 <= value < n else default
    return int(column.selectbox(label, list(range(n)), format_func=labels.__getitem__, key=key))


def show_neuron(sel: shell.Selection, trace: Trace, choice: Choice) -> None:
    cfg = sel.loaded.model.config
    left, right = st.columns(2)
    with left:
        layer = index_picker("Layer", "layer", cfg.n_layer)
    with right:
        head = index_picker("Head", "head", cfg.n_head)
    labels = token_labels(sel.token_texts)
    n = trace.n_tokens
    record = trace.layers[layer]
    steps = record.steps(head)
    left, right = st.columns(2)
    query = _token_picker(left, "Query token (row)", QUERY_KEY, n, choice.position, labels)
    top_key = int(steps.attn_weights[query].argmax())
    key = _token_picker(right, "Key token (column)", KEY_KEY, n, top_key, labels)
    scores = steps.raw_scores.float().numpy()
    fig = heatmap(
        scores, labels, labels, title=f"Raw scores QKᵀ, layer {layer}, head {head}: click a cell", kind="scores",
        provenance=sel.provenance(layer=layer, head=head),
    )  # fmt: skip
    clickable_cells(fig)
    mark_cell(fig, query, key)
    frame = pd.DataFrame(scores, index=pd.Index(labels, name="query"), columns=labels)
    show_figure(fig, frame, f"raw_scores_L{layer}_H{head}", SCORES_KEY, cell_clicked)
    view = neuron_view(record, head, query, key)
    order = view.order()
    shown = order if len(order) <= MOST_DIMS else sorted(order, key=lambda d: -abs(float(view.products[d])))[:MOST_DIMS]
    shown = [d for d in order if d in set(shown)]  # back in sorted order
    names, values = [f"d{d}" for d in shown], [float(view.products[d]) for d in shown]
    rest = [d for d in order if d not in set(shown)]
    if rest:
        names.append(f"the other {len(rest)} dimensions")
        values.append(float(view.products[rest].sum()))
    products = pd.DataFrame(
        {"q": view.q.numpy(), "k": view.k.numpy(), "q*k": view.products.numpy()},
        index=pd.Index([f"d{d}" for d in range(len(order))], name="dimension"),
    )
    fig = signed_bars(
        names, values, title=f"q[d] × k[d] for query {labels[query]} and key {labels[key]}: they add up to the score",
        value_title="product", provenance=sel.provenance(layer=layer, head=head),
    )  # fmt: skip
    show_figure(fig, products, f"neuron_L{layer}_H{head}_{query}_{key}", key="why_products")
    chain(view, float(steps.attn_weights[query, key]))
    weights = view.row_weights[: query + 1] if trace.options.causal else view.row_weights
    fig = bar_chart(
        labels[: len(weights)], weights.tolist(), title=f"The softmax across row {labels[query]} (the key in red)",
        value_title="attention weight", provenance=sel.provenance(layer=layer, head=head), highlight=key,
        numbered=False,
    )  # fmt: skip
    show_figure(fig, None, "neuron_row", key="why_row")


def chain(view, model_weight: float) -> None:
    """The numbers from the products to the weight, each step as in ``attention_steps``."""
    mask = r"-\infty \text{ (a later token: masked)}" if view.masked else f"{view.scaled_score:.4f}"
    st.latex(
        rf"\sum_d q_d k_d = {view.raw_score:.4f} \;\xrightarrow{{\div {view.divisor:.3f}}}\; {view.scaled_score:.4f}"
        rf"\;\xrightarrow{{\text{{mask}}}}\; {mask} \;\xrightarrow{{\text{{softmax over the row}}}}\; {view.weight:.4f}"
    )
    st.caption(
        f"The model's own attention weight for this cell (attn_weights): {model_weight:.6f}. The softmax needs "
        "the whole row: a cell's weight depends on every other key's score too. BertViz's neuron view stops at "
        "the products; these are the steps after them."
    )


def show_inputs(sel: shell.Selection, trace: Trace, choice: Choice) -> None:
    model = sel.loaded.model
    extra = (choice.position, choice.target, choice.versus)
    importance = cached(
        "inputs", sel, extra, lambda: input_importance(model, trace, choice.position, choice.target, choice.versus)
    )
    shares = importance.shares()
    labels = token_labels(sel.token_texts)[: choice.position + 1]
    grid = torch.stack(list(shares.values())).float().numpy()
    fig = heatmap(
        grid, list(shares), labels, title=f"Which input tokens mattered for the prediction after position {choice.position}",
        kind="weights", provenance=sel.provenance(position=choice.position), row_title="", col_title="input token",
        decimals=2, height=260,
    )  # fmt: skip
    frame = pd.DataFrame(grid.T, index=pd.Index(labels, name="input token"), columns=list(shares))
    frame["gradient × input (signed)"] = importance.grad_x_input.numpy()
    show_figure(fig, frame, f"input_tokens_{choice.position}", key="why_inputs")
    top = {name: labels[int(values.argmax())] for name, values in shares.items()}
    st.caption(
        "Each row adds up to 1 (gradient × input by its absolute values; the CSV keeps the signs). Most weight: "
        + "; ".join(f"{name}: {token}" for name, token in top.items())
        + "."
    )
    st.markdown(DISAGREE)

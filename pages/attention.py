"""3 · Attention, step by step: one layer and head, from X to the output projection.

The page only reads widgets and draws: the steps are defined in ``gpt.interpret.explain``, the numbers
come from the cached trace (``Selection.trace``) and per-head matrices from ``LayerTrace.steps``,
so moving the layer, head or step sliders never re-runs the model.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gpt import Trace
from gpt.interpret import entropy, explain, shown_token
from ui import shell, state
from ui.figures import bar_chart, heatmap, token_labels
from ui.pickers import index_picker
from ui.render import show_figure
from ui.text import md_escape

state.init()  # first thing on every page: shared state, and app.py's navigation (ui/state.py)

WHAT_IF_KEYS = ("attn_no_scale", "attn_no_mask")


def move_step(delta: int) -> None:
    st.session_state["step"] = explain.clamp_index(int(st.session_state.get("step", 0)) + delta, len(explain.STEPS))


def step_controls() -> explain.Step:
    n = len(explain.STEPS)
    prev_col, slider_col, next_col = st.columns([1.4, 7, 1.4], vertical_alignment="bottom")
    current = explain.clamp_index(state.get("step"), n)
    prev_col.button("◀ Previous", on_click=move_step, args=(-1,), disabled=current == 0, width="stretch")
    next_col.button("Next ▶", on_click=move_step, args=(1,), disabled=current == n - 1, width="stretch")
    with slider_col:
        index = index_picker("Step", "step", n, lambda i: f"{i + 1}. {explain.STEPS[i].title.split(':')[0]}")
    return explain.STEPS[index]


def matrix_frame(values, rows: list[str], cols: list[str]) -> pd.DataFrame:
    return pd.DataFrame(values, index=pd.Index(rows, name="token"), columns=cols)


def show_step(step: explain.Step, trace: Trace, sel: shell.Selection, layer: int, head: int) -> None:
    cfg = sel.loaded.model.config
    d_k, n_tokens = cfg.head_size, trace.n_tokens
    index = explain.STEP_IDS.index(step.id)
    where = f"layer {layer}, head {head}" if step.per_head else f"layer {layer}, all heads"
    st.subheader(f"Step {index + 1} of {len(explain.STEPS)} · {step.title} ({where})")
    st.latex(step.latex)
    st.markdown(step.explanation)
    st.caption(f"Shape {explain.shape_text(step, n_tokens, d_k, cfg.n_embd)}")
    if step.id == "scaled_scores":
        a, b = st.columns(2)
        a.metric("d_k (dimensions per head)", d_k)
        b.metric("√d_k (what the scores are divided by)", f"{explain.scale_factor(d_k):.3f}")
        if not trace.options.scale:
            st.warning("What-if “no scaling” is on: this step leaves the raw scores unchanged.")
    if step.id == "masked_scores" and not trace.options.causal:
        st.warning("What-if “no mask” is on: nothing is hidden, every token can see later tokens.")
    if step.square:
        st.info(
            "**Read it like this:** each **row** is a query token (the one asking), each **column** a key "
            "token (the one being looked at). Row *i* shows how token *i* relates to every token; with the "
            "causal mask it can only use columns 0 to *i*."
        )
    labels = token_labels(sel.token_texts)
    matrix = explain.step_matrix(step, trace.layers[layer], head).float().numpy()
    cols = labels if step.square else explain.column_names(step, d_k, cfg.n_embd)
    provenance = sel.provenance(layer=layer, head=head if step.per_head else "all", step=step.id)
    fig = heatmap(
        matrix,
        labels,
        cols,
        title=f"{step.title}, layer {layer}" + (f", head {head}" if step.per_head else ""),
        kind=step.kind,
        provenance=provenance,
        col_title="key (column)" if step.square else "dimension",
        row_title="query (row)" if step.square else "token",
    )
    frame = matrix_frame(matrix, labels, cols)
    show_figure(fig, frame, f"attention_L{layer}_H{head}_{step.id}", key="attn_step")
    # The table is drawn only on request: serialising it on every slider move costs server time.
    if st.toggle("Show the exact numbers as a table", key="attn_show_table"):
        st.dataframe(frame, width="stretch")


def next_token_frame(sel: shell.Selection, trace: Trace) -> pd.DataFrame:
    tok = sel.loaded.tokenizer
    top = explain.top_next_tokens(trace, k=5)
    return pd.DataFrame(
        {
            "token": [shown_token(tok.token_text(i)) for i, _ in top],
            "id": [i for i, _ in top],
            "probability": [p for _, p in top],
        },
        index=pd.RangeIndex(1, len(top) + 1, name="rank"),
    )


def show_what_if(sel: shell.Selection, normal: Trace, changed: Trace, layer: int, head: int) -> None:
    """Normal vs switched: this head's weights, their difference, and the next-token prediction."""
    switched = [
        name
        for name, off in (("no scaling", not changed.options.scale), ("no mask", not changed.options.causal))
        if off
    ]
    label = " + ".join(switched)
    st.subheader(f"What changed with “{label}”")
    labels = token_labels(sel.token_texts)
    w_normal = normal.layers[layer].steps(head).attn_weights
    w_changed = changed.layers[layer].steps(head).attn_weights
    a, b, c = st.columns(3)
    a.metric("Entropy, normal (nats)", f"{float(entropy(w_normal)):.3f}")
    b.metric(
        f"Entropy, {label}",
        f"{float(entropy(w_changed)):.3f}",
        delta=f"{float(entropy(w_changed) - entropy(w_normal)):+.3f}",
        delta_color="off",
    )
    later = explain.upper_triangle_mass(w_changed)
    c.metric("Weight on later tokens (average per token, 0–1)", f"{later:.3f}")
    st.caption(
        "Lower entropy = sharper attention (focused on few tokens); higher = spread out. "
        + explain.LATER_WEIGHT_TEXT.format(value=later)
    )
    left, right = st.columns(2)
    prov = sel.provenance(layer=layer, head=head)
    for col, weights, name, key in (
        (left, w_normal, "normal", "attn_w_normal"),
        (right, w_changed, label, "attn_w_whatif"),
    ):
        with col:
            values = weights.float().numpy()
            fig = heatmap(values, labels, labels, title=f"Attention weights ({name})", kind="weights", provenance=prov)
            show_figure(fig, matrix_frame(values, labels, labels), f"weights_{key}_L{layer}_H{head}", key=key)
    diff = explain.weight_change(normal, changed, layer, head).float().numpy()
    fig = heatmap(
        diff, labels, labels, title=f"Difference: {label} minus normal", kind="values", provenance=prov, decimals=3
    )
    show_figure(fig, matrix_frame(diff, labels, labels), f"weights_diff_L{layer}_H{head}", key="attn_w_diff")
    st.markdown("**Next-token prediction after the whole sentence: top 5 before and after**")
    left, right = st.columns(2)
    for col, trace, name, key in (
        (left, normal, "normal", "attn_next_normal"),
        (right, changed, label, "attn_next_whatif"),
    ):
        frame = next_token_frame(sel, trace)
        with col:
            fig = bar_chart(
                list(frame["token"]),
                list(frame["probability"]),
                title=f"Next token ({name})",
                provenance=sel.provenance(),
            )
            show_figure(fig, frame, f"next_token_{key}", key=key)


def main() -> None:
    st.title("Attention, step by step")
    sel = shell.require_tokens(shell.sidebar())
    if sel is None:
        return
    cfg = sel.loaded.model.config
    left, right = st.columns(2)
    with left:
        layer = index_picker("Layer", "layer", cfg.n_layer)
    with right:
        head = index_picker("Head", "head", cfg.n_head)
    step = step_controls()
    with st.expander("What if…? Switch off a part of attention and see what changes", expanded=False):
        no_scale = st.toggle("No scaling (do not divide the scores by √d_k)", key=WHAT_IF_KEYS[0])
        no_mask = st.toggle("No causal mask (let tokens see later tokens)", key=WHAT_IF_KEYS[1])
    st.caption(
        f"{md_escape(sel.model_label)} · {len(sel.pieces)} tokens · {cfg.n_layer} layers × {cfg.n_head} heads · "
        f"d_k = {cfg.head_size} · C = {cfg.n_embd}"
    )
    try:
        normal = sel.trace()
        shown = sel.trace(scale=not no_scale, causal=not no_mask) if (no_scale or no_mask) else normal
    except (ValueError, RuntimeError) as exc:
        st.error(f"The model could not process this text: {md_escape(exc)}")
        return
    show_step(step, shown, sel, layer, head)
    if shown is not normal:
        show_what_if(sel, normal, shown, layer, head)
    state.publish()


main()

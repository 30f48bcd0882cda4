"""The attention page's what-if panel: one head's weights with a part of attention switched off,
their difference, and the next-token prediction before and after."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gpt import Trace
from gpt.interpret import entropy, explain, shown_token
from ui import shell
from ui.figures import bar_chart, heatmap, token_labels
from ui.render import show_figure


def matrix_frame(values, rows: list[str], cols: list[str]) -> pd.DataFrame:
    return pd.DataFrame(values, index=pd.Index(rows, name="token"), columns=cols)


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

"""Lab 1 view, tabs 3.4-3.6: trainable W_q, W_k, W_v; causal mask and dropout; two heads.

The maths is ``gpt.labs.journey``; ``ui.labs.journey`` draws the lab around these tabs.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from gpt.labs import journey
from ui.labs import widgets as view


def trainable_attention(x: torch.Tensor, tokens: list[str]) -> None:
    st.markdown(
        "Real attention does not compare the raw inputs. Three learned matrices project every input into a "
        "**query** (what this token looks for), a **key** (what it offers to be found by) and a **value** "
        f"(what it hands over). The book draws them with `torch.rand` after `torch.manual_seed({journey.BOOK_RAND_SEED})`."
    )
    st.latex(
        r"Q = X W_q,\; K = X W_k,\; V = X W_v,\qquad Z = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right) V"
    )
    c1, c2 = st.columns(2)
    seed = int(c1.number_input("Seed", 0, 10_000, journey.BOOK_RAND_SEED, key="lab_journey_seed"))
    d_out = int(c2.slider("d_out (size of q, k, v)", 1, 6, journey.BOOK_D_OUT, key="lab_journey_dout"))
    w = journey.rand_qkv_weights(x.shape[1], d_out, seed)
    proj = journey.project_and_attend(x, w, causal=False)
    cols = [f"d{j}" for j in range(d_out)]
    for col, (name, mat) in zip(st.columns(3), [("W_q", w.w_query), ("W_k", w.w_key), ("W_v", w.w_value)]):
        with col:
            st.markdown(f"**{name}**")
            view.table(view.frame(mat, ["x1", "x2", "x3"], cols), f"journey_{name}", f"journey_{name}")
    qkv = pd.concat(
        [
            view.frame(proj.queries, tokens, [f"q_{c}" for c in cols]),
            view.frame(proj.keys, tokens, [f"k_{c}" for c in cols]),
            view.frame(proj.values, tokens, [f"v_{c}" for c in cols]),
        ],
        axis=1,
    )
    view.table(qkv, "journey_qkv", "journey_qkv")
    if journey.is_book_trainable(x, seed, d_out):
        st.caption(
            f"Book check: query of “journey” = {view.printed_list(journey.BOOK_TRAINABLE_QUERY_2)}; "
            f"its scores {view.printed_list(journey.BOOK_TRAINABLE_SCORES_2)}; "
            f"weights {view.printed_list(journey.BOOK_TRAINABLE_WEIGHTS_2)}; "
            f"context {view.printed_list(journey.BOOK_TRAINABLE_CONTEXT_2)}."
        )
    view.matrix_figure(
        proj.steps.raw_scores,
        tokens,
        tokens,
        title="Scores Q Kᵀ",
        name="journey_qk_scores",
        key="journey_qk",
        kind="scores",
    )
    view.matrix_figure(
        proj.steps.attn_weights,
        tokens,
        tokens,
        title=f"Weights softmax(Q Kᵀ / √{d_out})",
        name="journey_qk_weights",
        key="journey_qkw",
    )
    view.table(
        view.frame(proj.steps.context_vec, tokens, [f"z_{c}" for c in cols]), "journey_trainable_context", "journey_tz"
    )
    view.shapes(
        {
            "X": x.shape,
            "W_q": w.w_query.shape,
            "Q, K, V": proj.queries.shape,
            "Q Kᵀ": proj.steps.raw_scores.shape,
            "Z": proj.steps.context_vec.shape,
        }
    )


def causal_and_dropout(x: torch.Tensor, tokens: list[str]) -> None:
    st.markdown(
        "A language model predicts the next token, so a token may only look at itself and earlier tokens. "
        f"The book (sect. 3.5, with `nn.Linear` weights from seed {journey.BOOK_LINEAR_SEED}) hides the future in two ways: set the "
        "future weights to 0 and renormalise each row, or put −∞ into the future scores before softmax "
        "(e^−∞ = 0). Both give the same matrix, because softmax ignores a constant shift within a row."
    )
    st.latex(
        r"\text{mask}_{ij} = \begin{cases} 0 & j \le i \\ -\infty & j > i \end{cases},\qquad A = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}} + \text{mask}\right)"
    )
    seed = int(
        st.number_input("Seed for the nn.Linear weights", 0, 10_000, journey.BOOK_LINEAR_SEED, key="lab_journey_lseed")
    )
    (w,) = journey.linear_qkv_weights(x.shape[1], journey.BOOK_D_OUT, seed)
    cmp = journey.causal_two_ways(journey.project_and_attend(x, w, causal=False))
    left, right = st.columns(2)
    with left:
        view.matrix_figure(
            cmp.renormalised,
            tokens,
            tokens,
            title="Zero the future, renormalise rows",
            name="journey_causal_renorm",
            key="journey_renorm",
        )
    with right:
        view.matrix_figure(
            cmp.minus_inf_way, tokens, tokens, title="−∞ before softmax", name="journey_causal_inf", key="journey_inf"
        )
    a, b = st.columns(2)
    a.metric("Largest difference between the two", f"{cmp.max_abs_diff:.2e}")
    b.markdown(
        "**Row sums after zeroing only** (before renormalising): "
        + ", ".join(f"{s:.4f}" for s in cmp.zeroed.sum(-1).tolist())
    )
    if cmp.max_abs_diff < 1e-6:
        st.success("The two ways agree to float32 precision.")

    st.subheader("Dropout on the attention weights")
    st.markdown(
        "During training, dropout zeroes each weight with probability p and multiplies the survivors by "
        "1/(1−p), so the expected total stays the same. It is switched off when the model is used."
    )
    c1, c2 = st.columns(2)
    p = c1.slider("Dropout rate p", 0.0, 0.9, journey.BOOK_DROPOUT_P, 0.05, key="lab_journey_p")
    dseed = int(c2.number_input("Dropout seed", 0, 10_000, journey.BOOK_DROPOUT_SEED, key="lab_journey_dseed"))
    dropped = journey.dropout_weights(cmp.minus_inf_way, p, dseed)
    view.matrix_figure(
        dropped,
        tokens,
        tokens,
        title=f"Causal weights after dropout (p = {p:.2f})",
        name="journey_dropout",
        key="journey_drop",
    )
    st.caption(
        f"Book check (p = {journey.BOOK_DROPOUT_P}, seed {journey.BOOK_DROPOUT_SEED}, book's inputs): "
        f"row “{journey.JOURNEY_TOKENS[2]}” becomes {view.printed_list(journey.BOOK_DROPOUT_WEIGHTS_ROWS[2])}; "
        f"on a 6×6 matrix of ones the first row becomes {view.printed(journey.BOOK_DROPOUT_ONES_ROWS[0], ' ')}."
    )
    view.shapes(
        {"mask": (len(tokens), len(tokens)), "weights": cmp.minus_inf_way.shape, "after dropout": dropped.shape}
    )


def two_heads(x: torch.Tensor, tokens: list[str]) -> None:
    st.markdown(
        "Several heads run side by side, each with its own W_q, W_k, W_v, and their context vectors are "
        "placed next to each other. Each head can learn to look for something different. The book's "
        f"wrapper (seed {journey.BOOK_HEADS_SEED}, d_out = {journey.BOOK_D_OUT}, two heads) gives a 6×4 result."
    )
    st.latex(
        r"Z = [\,Z^{(1)} \mid Z^{(2)} \mid \dots\,],\qquad Z^{(h)} = \mathrm{softmax}\!\left(\frac{Q^{(h)}K^{(h)\top}}{\sqrt{d_k}} + \text{mask}\right)V^{(h)}"
    )
    c1, c2, c3 = st.columns(3)
    n_heads = int(c1.slider("Heads", 1, 4, journey.BOOK_HEADS, key="lab_journey_heads"))
    d_out = int(c2.slider("d_out per head", 1, 4, journey.BOOK_D_OUT, key="lab_journey_hd"))
    seed = int(c3.number_input("Seed", 0, 10_000, journey.BOOK_HEADS_SEED, key="lab_journey_hseed"))
    mh = journey.multi_head(x, d_out, n_heads, seed)
    cols = [f"h{h}_z{j}" for h in range(n_heads) for j in range(d_out)]
    view.table(view.frame(mh.context_vec, tokens, cols), "journey_heads_context", "journey_heads_z")
    if journey.is_book_heads(x, n_heads, d_out, seed):
        st.caption(
            f"Book check: the first row is {view.printed_list(journey.BOOK_HEADS_CONTEXT_FIRST)} "
            f"and the last {view.printed_list(journey.BOOK_HEADS_CONTEXT_LAST)}."
        )
    for col, (h, head) in zip(st.columns(min(n_heads, 2)) * 2, enumerate(mh.heads)):
        with col:
            view.matrix_figure(
                head.steps.attn_weights,
                tokens,
                tokens,
                title=f"Head {h} weights",
                name=f"journey_head{h}",
                key=f"journey_head{h}",
            )
    view.shapes({"per head Z": mh.heads[0].steps.context_vec.shape, "concatenated Z": mh.context_vec.shape})

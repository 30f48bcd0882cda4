"""Lab 1 view: self-attention on “Your journey starts with one step”, stage by stage.

The maths is ``gpt.labs.journey``. This file draws the lab and its first tab (3.3, no trainable
weights); the tabs 3.4-3.6 are in ``ui.labs.journey_weights``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from gpt.labs import Lab, journey, largest_label
from ui.labs import journey_weights
from ui.labs import widgets as view
from ui.text import md_escape


def render(lab: Lab) -> None:
    st.markdown(
        "Six words, each already turned into a 3-number vector. Self-attention gives every word a new "
        "vector, its **context vector**: a weighted average of all six inputs, where the weights say how "
        "relevant each word is to it. Edit any number and watch every stage change."
    )
    tokens = list(journey.JOURNEY_TOKENS)
    values = view.matrix_editor("lab_journey_inputs", journey.JOURNEY_INPUTS, tokens, ["x1", "x2", "x3"])
    if values is None:
        return
    x = view.as_tensor(values)
    query_index = tokens.index(
        st.selectbox("Query token", tokens, index=journey.BOOK_QUERY_INDEX, key="lab_journey_query")
    )
    qv = journey.query_view(x, query_index)
    q_tok = tokens[query_index]
    answer = largest_label(qv.attn_weights.tolist(), tokens)
    if not view.predict_gate(
        f"journey:{query_index}:{view.fingerprint(values)}",
        f"which token gets the **largest attention weight** when “{q_tok}” is the query?",
        tokens,
        answer,
        "The largest dot product wins, and a word's vector usually lines up best with itself or a near twin.",
    ):
        return
    tab_simple, tab_trainable, tab_causal, tab_heads = st.tabs(
        ["3.3 No trainable weights", "3.4 Trainable W_q, W_k, W_v", "3.5 Causal mask and dropout", "3.6 Two heads"]
    )
    with tab_simple:
        simple_attention(x, tokens, qv, q_tok, journey.is_book_example(values, query_index))
    with tab_trainable:
        journey_weights.trainable_attention(x, tokens)
    with tab_causal:
        journey_weights.causal_and_dropout(x, tokens)
    with tab_heads:
        journey_weights.two_heads(x, tokens)


def simple_attention(x: torch.Tensor, tokens: list[str], qv: journey.QueryView, q_tok: str, book: bool) -> None:
    st.subheader("1. Scores: one dot product per token")
    st.latex(r"\omega_{i} = x^{(q)} \cdot x^{(i)} = \sum_{j} x^{(q)}_j\, x^{(i)}_j")
    st.markdown(
        "A dot product is large when two vectors point the same way, so it works as a similarity score. "
        "Then the scores are normalised so that they add up to 1. Dividing by their sum does that, but "
        "softmax is what attention uses: it is always positive, and it stretches the gaps between scores."
    )
    st.latex(
        r"\alpha_i = \frac{\omega_i}{\sum_j \omega_j}\quad\text{vs.}\quad \alpha_i = \mathrm{softmax}(\omega)_i = \frac{e^{\omega_i}}{\sum_j e^{\omega_j}}"
    )
    rows = {"score ω": qv.attn_scores, "divided by sum": qv.naive_weights, "softmax α": qv.attn_weights}
    df = pd.DataFrame({k: v.tolist() for k, v in rows.items()}, index=tokens).T
    if book:
        df.loc["book: score"] = list(journey.BOOK_SCORES_QUERY_2)
        df.loc["book: softmax"] = list(journey.BOOK_WEIGHTS_QUERY_2)
        st.success("These are the book's inputs and query: compare the rows marked “book” digit by digit.")
    view.table(df, f"journey_scores_query_{q_tok}", "journey_scores")
    view.shapes({"inputs": x.shape, "query": qv.context_vec.shape, "scores ω": qv.attn_scores.shape})

    st.subheader("2. Why not exp(x) / sum exp(x) literally?")
    st.markdown(
        "Taken literally, softmax computes e^ω first. In 32-bit floats e^ω overflows to infinity once ω "
        "passes about 88.7, and ∞/∞ is *not a number*. Library softmax first subtracts the largest score "
        "(which does not change the result) so nothing overflows. Scale the scores up to see it happen."
    )
    factor = st.slider("Multiply the scores by", 1.0, 200.0, 1.0, 1.0, key="lab_journey_factor")
    demo = journey.overflow_demo(qv.attn_scores, factor)
    odf = pd.DataFrame(
        {
            "scores × factor": demo.big_scores.tolist(),
            "naive softmax": demo.naive.tolist(),
            "torch.softmax": demo.stable.tolist(),
        },
        index=tokens,
    ).T
    view.table(odf, "journey_overflow", "journey_overflow")
    if demo.overflowed:
        st.error("The naive version overflowed (nan); torch.softmax is still fine and sums to 1.")
    else:
        st.info("No overflow yet: both give the same weights. Try a factor above ~60.")

    st.subheader(f"3. The context vector of “{md_escape(q_tok)}”")
    st.latex(r"z^{(q)} = \sum_i \alpha_i\, x^{(i)}")
    view.table(view.frame(qv.context_vec, [f"z ({q_tok})"], ["z1", "z2", "z3"]), "journey_context_vector", "journey_z")
    if book:
        st.caption(f"The book prints z(2) = {view.printed_list(journey.BOOK_CONTEXT_QUERY_2)}.")

    st.subheader("4. Every token as the query at once")
    st.latex(r"A = \mathrm{softmax}_{\text{rows}}(X X^\top),\qquad Z = A X")
    steps = journey.simplified_steps(x)
    view.matrix_figure(
        steps.attn_weights,
        tokens,
        tokens,
        title="Attention weights softmax(X Xᵀ)",
        name="journey_all_weights",
        key="journey_all",
    )
    view.table(view.frame(steps.context_vec, tokens, ["z1", "z2", "z3"]), "journey_all_context", "journey_all_z")
    view.shapes(
        {"X": x.shape, "X Xᵀ": steps.raw_scores.shape, "A": steps.attn_weights.shape, "Z": steps.context_vec.shape}
    )

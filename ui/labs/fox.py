"""Lab 4 view: one-hot words, toy positions and the “fox” query (maths: ``gpt.labs.fox``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gpt.labs import Lab, fox
from ui.figures import bar_chart
from ui.labs import widgets as view


def render(lab: Lab) -> None:
    st.markdown(
        "The article first makes words position-aware in the simplest possible way: a one-hot vector per "
        "word plus a constant vector per position (0.1 for the first word, 0.2 for the second, ...). "
        "Then it takes made-up query and key vectors for “The quick brown fox jumps over the lazy dog” "
        "and lets “fox” attend. We redo its arithmetic exactly."
    )
    st.subheader("One-hot words + toy positions")
    step = st.number_input("Position step", 0.0, 1.0, fox.TOY_POSITION_STEP, 0.05, key="lab_fox_step")
    toy = fox.toy_positions(len(fox.FOUR_WORDS), step)
    words = [f"{w} (pos {i})" for i, w in enumerate(fox.FOUR_WORDS)]
    cols = list(fox.FOUR_WORDS)
    view.table(
        pd.concat(
            {
                "one-hot": view.frame(toy.one_hot, words, cols),
                "+ position": view.frame(toy.positions, words, cols),
                "= input": view.frame(toy.combined, words, cols),
            },
            axis=1,
        ),
        "fox_toy_positions",
        "fox_toy",
    )
    st.caption(
        "Note how weak this is: the position adds the same amount to every dimension, so it barely changes directions."
    )

    st.subheader("The “fox” query")
    st.latex(
        r"\omega_i = q_{\text{fox}} \cdot k_i,\qquad \alpha = \mathrm{softmax}(\omega),\qquad z_{\text{fox}} = \sum_i \alpha_i v_i"
    )
    tokens = list(fox.FOX_TOKENS)
    dims = [f"d{j}" for j in range(4)]
    st.markdown("**Query of “fox”** (edit any cell):")
    q = view.matrix_editor("lab_fox_query", [fox.FOX_QUERY], ["q (fox)"], dims, row_title="vector")
    left, right = st.columns(2)
    with left:
        st.markdown("**Keys** (from the article)")
        k = view.matrix_editor("lab_fox_keys", fox.FOX_KEYS, tokens, dims)
    with right:
        st.markdown("**Values**: the article never gives them, so they start as a copy of the keys")
        v = view.matrix_editor("lab_fox_values", fox.FOX_KEYS, tokens, dims)
    if q is None or k is None or v is None:
        return
    scale = st.checkbox("Divide by √d (the article does not)", False, key="lab_fox_scale")
    res = fox.fox_query(q[0], k, v, scale=scale)
    n_right = int(sum(abs(e) < 1e-9 for e in res.score_error.tolist()))
    if not view.predict_gate(
        f"fox:{view.fingerprint(q, k)}",
        "how many of the article's nine printed dot products are arithmetically right?",
        [str(i) for i in range(10)],
        str(n_right),
        _by_hand(),
    ):
        return
    df = pd.DataFrame(
        {
            "exact score": res.attn_scores.tolist(),
            "article prints": list(fox.ARTICLE_SCORES),
            "printed − exact": res.score_error.tolist(),
            "softmax (exact)": res.attn_weights.tolist(),
            "article's weight": list(fox.ARTICLE_WEIGHTS),
            "softmax of printed scores": res.weights_of_printed_scores.tolist(),
        },
        index=tokens,
    )
    view.table(df, "fox_query", "fox_table")
    wrong = [t for t, e in zip(tokens, res.score_error.tolist()) if abs(e) > 1e-9]
    if wrong:
        st.warning(
            f"**The article's arithmetic does not hold for {len(wrong)} of 9 scores** ({', '.join(wrong)}): "
            f"its own sums give the “exact score” column. Its nine printed weights add up to "
            f"{res.printed_weights_sum:.2f}, not 1; softmax of near-equal scores gives about 1/9 ≈ 0.111 each. "
            "The lesson survives: with scores this close, attention is almost uniform."
        )
    view.figure(
        bar_chart(tokens, res.attn_weights.tolist(), title="Exact softmax weights of “fox”", numbered=False),
        df[["softmax (exact)"]],
        "fox_weights",
        "fox_bar",
    )
    view.table(view.frame(res.context_vec, ["z (fox)"], dims), "fox_context", "fox_z")
    view.shapes({"q": (4,), "K": k.shape, "V": v.shape, "scores": res.attn_scores.shape, "z": res.context_vec.shape})


def _by_hand() -> str:
    """The first score redone from the article's own vectors, next to what it prints."""
    products = [q * k for q, k in zip(fox.FOX_QUERY, fox.FOX_KEYS[0])]
    terms = " + ".join(f"{p:.2f}" for p in products)
    return f"Redo one by hand: q·k_The = {terms} = {sum(products):.2f}, printed as {fox.ARTICLE_SCORES[0]:.2f}."

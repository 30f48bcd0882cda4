"""Lab 5 view: from averaging the past to attention (maths: ``gpt.labs.averaging``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gpt.labs import Lab, averaging
from ui.labs import widgets as view


def render(lab: Lab) -> None:
    st.markdown(
        "The simplest way for a token to use its past is to average all vectors up to and including "
        "itself. Karpathy writes it three ways: a double loop, a matrix product with a lower-triangular "
        "matrix whose rows sum to 1, and a softmax over a score matrix that is 0 for the past and −∞ for "
        "the future. The third form is attention with all scores equal; letting queries and keys set the "
        "scores makes the averaging **depend on the data**."
    )
    st.latex(
        r"\bar x_t = \frac{1}{t+1}\sum_{s\le t} x_s \;=\; (W x)_t,\quad W = \mathrm{softmax}\big(\text{mask}(0)\big) = \mathrm{rownorm}(\mathrm{tril}(\mathbf 1))"
    )
    x0 = averaging.karpathy_x()[0]
    positions = [f"t{t}" for t in range(x0.shape[0])]
    st.markdown(
        f"**x** (batch 0 of `torch.manual_seed({averaging.KARPATHY_SEED}); torch.randn(4, 8, 2)`, edit any cell):"
    )
    values = view.matrix_editor("lab_avg_x", x0.tolist(), positions, ["c0", "c1"], row_title="position")
    if values is None:
        return
    x = view.as_tensor(values)
    if not view.predict_gate(
        "avg:row4",
        "in the averaging matrix, what weight does row t4 give to each of t0…t4?",
        ["1/8", "1/5", "1/4", "1/2"],
        "1/5",
        "Row t4 averages five vectors (t0 to t4), so each gets 1/5 and the future gets 0.",
    ):
        return
    ways = averaging.three_ways(x)
    df = pd.concat(
        {
            "loop": view.frame(ways.loop, positions, ["c0", "c1"]),
            "tril matmul": view.frame(ways.matmul, positions, ["c0", "c1"]),
            "masked softmax": view.frame(ways.softmax, positions, ["c0", "c1"]),
        },
        axis=1,
    )
    view.table(df, "averaging_three_ways", "avg_three")
    a, b = st.columns(2)
    a.metric("torch.allclose on all three", str(ways.all_close))
    b.metric("Largest difference", f"{ways.max_abs_diff:.1e}")
    view.matrix_figure(
        ways.weights,
        positions,
        positions,
        title="Averaging weights (same for all three)",
        name="averaging_weights",
        key="avg_w",
    )

    st.subheader("Data-dependent weights: one head")
    st.latex(
        r"W = \mathrm{softmax}\!\left(\mathrm{mask}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right)\right),\quad Q = xW_q,\; K = xW_k"
    )
    c1, c2, c3 = st.columns(3)
    head_size = int(c1.slider("Head size", 1, 16, averaging.LECTURE_HEAD_SIZE, key="lab_avg_hs"))
    seed = int(c2.number_input("Seed", 0, 10_000, averaging.KARPATHY_SEED, key="lab_avg_seed"))
    scale = c3.checkbox("Scale by 1/√head size", False, key="lab_avg_scale")
    demo = averaging.head_on(x, head_size, seed=seed, scale=scale)
    view.matrix_figure(
        demo.steps.attn_weights,
        positions,
        positions,
        title="Weights of one head on your x",
        name="averaging_head_weights",
        key="avg_head",
    )
    st.caption("Edit x above: these weights change, while the plain average's weights never do.")
    lecture = averaging.karpathy_head(seed=seed, head_size=head_size, scale=scale)
    view.matrix_figure(
        lecture.steps.attn_weights[0],
        positions,
        positions,
        title="The lecture's own setup: x = randn(4, 8, 32), batch 0",
        name="averaging_lecture_weights",
        key="avg_lecture",
    )
    if averaging.is_lecture_example(seed, head_size, scale):
        rows = ", ".join(f"row t{t} = {view.printed_list(w)}" for t, w in averaging.LECTURE_HEAD_WEIGHTS_ROWS.items())
        st.caption(f"Lecture check: {rows}.")
    view.shapes(
        {
            "x": x.shape,
            "Q, K, V": demo.queries.shape,
            "weights": demo.steps.attn_weights.shape,
            "out": demo.steps.context_vec.shape,
        }
    )

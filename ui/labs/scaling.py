"""Lab 6 view: why the scores are divided by √d_k (maths: ``gpt.labs.scaling``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gpt.labs import Lab, scaling
from ui.figures import histogram, line_chart
from ui.labs import widgets as view


def render(lab: Lab) -> None:
    st.markdown(
        "If the entries of q and k are independent with mean 0 and variance 1, each product q_j k_j has "
        "variance 1 and q·k adds d_k of them: its variance is d_k. Big heads would produce big scores, and "
        "softmax of big scores is nearly one-hot, with almost zero gradient for everything else. Dividing "
        "by √d_k brings the variance back to 1."
    )
    st.latex(
        r"\mathrm{Var}(q\cdot k) = \sum_{j=1}^{d_k}\mathrm{Var}(q_j k_j) = d_k,\qquad \mathrm{Var}\!\left(\frac{q\cdot k}{\sqrt{d_k}}\right) = 1"
    )
    c1, c2, c3 = st.columns(3)
    head_size = int(c1.select_slider("Head size d_k", [1, 2, 4, 8, 16, 32, 64, 128, 256], 16, key="lab_sc_hs"))
    n = int(c2.select_slider("Samples", [1000, 5000, 10000, 50000], 10000, key="lab_sc_n"))
    seed = int(c3.number_input("Seed", 0, 10_000, 0, key="lab_sc_seed"))
    options = sorted({"1", f"{head_size**0.5:g}", str(head_size), str(head_size**2)}, key=float)
    if not view.predict_gate(
        f"scale:{head_size}",
        f"with d_k = {head_size}, roughly what is the variance of q·k **before** scaling?",
        options,
        str(head_size),
        "It is a sum of d_k independent unit-variance products.",
    ):
        return
    sample = scaling.score_sample(head_size, n, seed)
    a, b = st.columns(2)
    a.metric("Variance of q·k", f"{sample.var_raw:.4f}")
    b.metric("Variance of q·k / √d_k", f"{sample.var_scaled:.4f}")
    view.figure(
        histogram(
            {"q·k": sample.raw_scores.tolist(), "q·k / √d_k": sample.scaled_scores.tolist()},
            title=f"Scores of {n} random pairs, d_k = {head_size}",
            x_title="score",
        ),
        pd.DataFrame({"q·k": sample.raw_scores.numpy(), "scaled": sample.scaled_scores.numpy()}),
        "scaling_histogram",
        "sc_hist",
    )
    sizes = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    curve = scaling.variance_curve(sizes, min(n, 10000), seed)
    view.figure(
        line_chart(
            {"raw": (sizes, [s.var_raw for s in curve]), "scaled": (sizes, [s.var_scaled for s in curve])},
            title="Variance against head size",
            x_title="d_k",
            y_title="variance",
        ),
        pd.DataFrame(
            {"d_k": sizes, "var raw": [s.var_raw for s in curve], "var scaled": [s.var_scaled for s in curve]}
        ).set_index("d_k"),
        "scaling_variance_curve",
        "sc_curve",
    )
    view.shapes({"q, k": (n, head_size), "scores": (n,)})

    st.subheader("Softmax sharpens as scores grow")
    st.latex(r"\mathrm{softmax}(c\,\omega)\to\text{one-hot as } c\to\infty")
    scores = view.matrix_editor(
        "lab_sc_scores", [scaling.KARPATHY_SCORES], ["scores"], [f"s{i}" for i in range(5)], row_title=""
    )
    if scores is None:
        return
    factor = st.slider("Multiply by", 1.0, 16.0, float(scaling.LECTURE_SHARPEN_FACTOR), 0.5, key="lab_sc_factor")
    soft, sharp = scaling.sharpen(scores[0], 1.0), scaling.sharpen(scores[0], factor)
    df = pd.DataFrame(
        {"softmax(ω)": soft.tolist(), f"softmax({factor:g}·ω)": sharp.tolist()}, index=[f"s{i}" for i in range(5)]
    ).T
    df["entropy (bits)"] = [scaling.entropy_bits(soft), scaling.entropy_bits(sharp)]
    view.table(df, "scaling_sharpening", "sc_sharp")
    st.caption(
        f"With the lecture's scores and ×{scaling.LECTURE_SHARPEN_FACTOR} the weights are "
        f"{view.printed_list(scaling.LECTURE_SHARPENED)}: one key takes "
        "almost all the weight, and the others receive almost no gradient."
    )

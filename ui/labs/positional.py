"""Lab 7 view: sinusoidal positional encoding and its shift (maths: ``gpt.labs.positional``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gpt.labs import Lab, positional
from ui.figures import heatmap, line_chart
from ui.labs import widgets as view


def render(lab: Lab) -> None:
    st.markdown(
        "The original Transformer adds a fixed pattern to each position: pairs of columns hold a sine and a "
        "cosine of the position, each pair at its own frequency, fast in the first columns and very slow "
        "in the last. Because sin and cos of a sum expand into sin and cos of the parts, moving k positions "
        "forward is the same rotation of every pair, whatever the starting position. So PE(pos+k) is a fixed "
        "linear map of PE(pos), which is what the paper hoped would make relative positions easy to use."
    )
    st.latex(
        r"PE_{pos,2i} = \sin(\omega_i\, pos),\quad PE_{pos,2i+1} = \cos(\omega_i\, pos),\quad \omega_i = 10000^{-2i/d}"
    )
    st.latex(
        r"\begin{pmatrix}\sin\omega_i(p+k)\\ \cos\omega_i(p+k)\end{pmatrix} = \begin{pmatrix}\cos\omega_i k & \sin\omega_i k\\ -\sin\omega_i k & \cos\omega_i k\end{pmatrix}\begin{pmatrix}\sin\omega_i p\\ \cos\omega_i p\end{pmatrix}"
    )
    c1, c2, c3 = st.columns(3)
    n_pos = int(c1.slider("Positions", 4, 128, 50, key="lab_pe_n"))
    d_model = int(c2.select_slider("Embedding size d", [2, 4, 8, 16, 32, 64, 128], 16, key="lab_pe_d"))
    offset = int(c3.slider("Offset k", 0, n_pos - 1, min(3, n_pos - 1), key="lab_pe_k"))
    if not view.predict_gate(
        "pe:fastest",
        "which columns change fastest as the position grows?",
        ["the first columns", "the last columns", "all the same"],
        "the first columns",
        "ω_i shrinks with i: column pair 0 turns by 1 radian per position, the last pair hardly moves.",
    ):
        return
    pe = positional.pe_matrix(n_pos, d_model)
    pos_labels, dim_labels = (
        [str(p) for p in range(n_pos)],
        [f"{'sin' if j % 2 == 0 else 'cos'} {j // 2}" for j in range(d_model)],
    )
    view.figure(
        heatmap(
            pe.numpy(),
            pos_labels,
            dim_labels,
            title="Sinusoidal positional encoding",
            height=520,
            kind="values",
            row_title="position",
            col_title="column",
        ),
        view.frame(pe, pos_labels, dim_labels),
        "positional_matrix",
        "pe_matrix",
    )
    default_cols = [c for c in (4, 5, 6, 7) if c < d_model] or [0, 1]
    chosen = st.multiselect("Columns to plot", list(range(d_model)), default_cols, key="lab_pe_cols")
    if chosen:
        series = {f"column {c}": (list(range(n_pos)), pe[:, c].tolist()) for c in chosen}
        view.figure(
            line_chart(series, title="Selected columns against position", x_title="position", y_title="value"),
            pd.DataFrame({f"column {c}": pe[:, c].numpy() for c in chosen}),
            "positional_columns",
            "pe_cols",
        )
    check = positional.verify_shift(n_pos, d_model, offset)
    a, b = st.columns(2)
    a.metric(f"max |M_{offset} PE(p) − PE(p+{offset})| over all p", f"{check.max_abs_error:.1e}")
    b.metric("max |M Mᵀ − I| (it is a rotation)", f"{check.orthogonality_error:.1e}")
    if check.max_abs_error < 1e-4:
        st.success(
            f"One matrix M_{offset}, built from k = {offset} alone, maps every position to the one {offset} later (float32 rounding only)."
        )
    if n_pos - offset > 0:
        p = int(st.slider("Check one position p", 0, n_pos - offset - 1, 0, key="lab_pe_p"))
        one = pd.DataFrame(
            {
                "PE(p)": pe[p].double().numpy(),
                f"M_{offset} · PE(p)": check.predicted[p].numpy(),
                f"PE(p+{offset})": check.actual[p].numpy(),
            },
            index=dim_labels,
        )
        one["difference"] = one.iloc[:, 1] - one.iloc[:, 2]
        view.table(one.T if d_model <= 12 else one, f"positional_check_p{p}_k{offset}", "pe_one")
    view.figure(
        heatmap(
            check.shift.numpy(),
            dim_labels,
            dim_labels,
            title=f"M_{offset}: one 2×2 rotation per frequency",
            kind="values",
            row_title="output column",
            col_title="input column",
        ),
        view.frame(check.shift, dim_labels, dim_labels),
        "positional_shift_matrix",
        "pe_shift",
    )
    view.shapes({"PE": pe.shape, "M_k": check.shift.shape, "PE(p) for all p with p+k < n": check.actual.shape})

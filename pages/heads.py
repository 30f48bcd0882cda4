"""4 · All heads: every layer × head pattern at once, one enlarged, and a table of head types.

The numbers come from ``gpt.interpret.explain`` (head table, thumbnails) on the cached trace; the
induction test traces a repeated random sequence instead of the sentence.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gpt.interpret import explain, max_entropy
from ui import heads_views, lesson, presenter, shell, state
from ui.pickers import index_picker
from ui.render import csv_button
from ui.text import md_escape

state.init()  # first thing on every page: shared state, and app.py's navigation (ui/state.py)
lesson.follow_pending("heads")  # a lesson button pressed here may ask for another page

COLUMN_HELP = {
    "entropy": "Mean entropy of the query rows in nats: low = focused on few tokens, high = spread out.",
    "previous_token": "Mean weight on the token just before the query (previous-token head).",
    "first_token": "Mean weight on token 0 (an 'attention sink' parks attention there).",
    "self": "Mean weight a token puts on itself.",
    "induction": "On the repeated sequence: mean weight on the token that followed the query's earlier copy.",
    "top_key": "The key token that receives the most attention on average.",
    "top_key_share": "Average weight that key receives.",
}


def repeat_button(sel: shell.Selection) -> None:
    if sel.seed is None:
        st.button(
            "Build a repeated random sequence (reveal induction heads)",
            icon=":material/repeat:",
            on_click=shell.use_repeated,
            args=(0,),
            key="heads_repeat",
            help="Random tokens, then the same tokens again. A head that, on the second copy, looks at the "
            "token that came after the current one last time is an induction head.",
        )


def show_table(rows: list[dict[str, object]], n_tokens: int, period: int | None) -> None:
    frame = pd.DataFrame(rows)
    default = "induction" if period else "previous_token"
    numeric = [c for c in frame.columns if c not in ("layer", "head", "top_key")]
    left, right = st.columns([3, 1])
    mode = "induction" if period else "sentence"
    if st.session_state.get("heads_sort") not in numeric or st.session_state.get("heads_sort_mode") != mode:
        st.session_state["heads_sort"] = default  # first visit, or the input changed: rank by what was asked
        st.session_state["heads_sort_mode"] = mode
    sort_by = left.selectbox("Rank heads by", numeric, key="heads_sort")
    ascending = right.toggle("Lowest first", value=sort_by == "entropy", key=f"heads_ascending_{sort_by}")
    frame = frame.sort_values(sort_by, ascending=ascending, kind="stable").reset_index(drop=True)
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            name: st.column_config.NumberColumn(name, help=COLUMN_HELP.get(name), format="%.3f")
            if name in numeric
            else st.column_config.Column(name, help=COLUMN_HELP.get(name))
            for name in frame.columns
        },
    )
    st.caption(
        f"Entropy of evenly spread causal attention over these {n_tokens} tokens: "
        f"{max_entropy(n_tokens):.3f} nats. Click a column header to sort by it."
    )
    csv_button(frame, "head_table", key="heads_table_csv", label="Download head table (CSV)", index=False)


def pickers(n_layer: int, n_head: int) -> tuple[int, int]:
    left, right = st.columns(2)
    with left:
        layer = index_picker("Layer to enlarge", "layer", n_layer)
    with right:
        head = index_picker("Head to enlarge", "head", n_head)
    return layer, head


def main() -> None:
    presenting = presenter.is_presenting()
    if presenting:
        lesson.lesson_bar("heads")
    else:
        st.title("All heads")
    sel = shell.require_tokens(shell.sidebar())
    if sel is None or not shell.require_parts(sel, "heads to compare", "attention"):
        return
    cfg = sel.loaded.model.config
    try:
        trace = sel.trace()
    except (ValueError, RuntimeError) as exc:
        st.error(f"The model could not process this text: {md_escape(exc)}")
        return
    rows = explain.head_table(trace, sel.token_texts, sel.period)
    source = "your sentence" if sel.seed is None else f"random sequence of {sel.period} tokens shown twice"
    layer = explain.clamp_index(state.get("layer"), cfg.n_layer)
    head = explain.clamp_index(state.get("head"), cfg.n_head)
    heads_views.show_grid(explain.all_weights(trace), rows, sel, source, layer, head)
    if sel.period:
        heads_views.induction_verdict(rows, sel.period)
    repeat_button(sel)
    layer, head = pickers(cfg.n_layer, cfg.n_head)
    heads_views.show_selected(trace, sel, layer, head)
    st.subheader("What kind of head is each head?")
    show_table(rows, trace.n_tokens, sel.period)
    state.publish()


main()

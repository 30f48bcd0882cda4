"""4 · All heads: every layer × head pattern at once, one enlarged, and a table of head types.

The numbers come from ``gpt.interpret.explain`` (head table, thumbnails) on the cached trace; the
induction test traces a repeated random sequence instead of the sentence.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gpt import Trace, visible
from gpt.interpret import explain, max_entropy
from ui import shell, state
from ui.figures import head_grid, heatmap, token_labels
from ui.models import get_trace
from ui.pickers import index_picker
from ui.render import csv_button, show_figure
from ui.text import md_escape

state.init()  # first thing on every page: shared state, and app.py's navigation (ui/state.py)

SEED_KEY = "heads_induction_seed"  # None: the sentence; an int: the repeated random sequence with that seed
THUMB_SIZE = 48  # longer inputs are averaged down to this many rows/columns per thumbnail
GRID_CSV_LIMIT = 200_000  # numbers in the grid above which its CSV is left out (use the table / one head)
COLUMN_HELP = {
    "entropy": "Mean entropy of the query rows in nats: low = focused on few tokens, high = spread out.",
    "previous_token": "Mean weight on the token just before the query (previous-token head).",
    "first_token": "Mean weight on token 0 (an 'attention sink' parks attention there).",
    "self": "Mean weight a token puts on itself.",
    "induction": "On the repeated sequence: mean weight on the token that followed the query's earlier copy.",
    "top_key": "The key token that receives the most attention on average.",
    "top_key_share": "Average weight that key receives.",
}


def use_repeated(seed: int | None) -> None:
    st.session_state[SEED_KEY] = seed
    st.session_state["heads_sort"] = "previous_token" if seed is None else "induction"  # rank by what was asked


def open_in_steps(layer: int, head: int) -> None:
    state.put("layer", layer)
    state.put("head", head)
    state.put("step", explain.STEP_IDS.index("attn_weights"))


def induction_controls() -> int | None:
    seed = st.session_state.get(SEED_KEY)
    a, b, _ = st.columns([3, 2, 3])
    if seed is None:
        a.button(
            "Build a repeated random sequence (reveal induction heads)",
            icon=":material/repeat:",
            on_click=use_repeated,
            args=(0,),
            help="Random tokens, then the same tokens again. A head that, on the second copy, looks at the "
            "token that came after the current one last time is an induction head.",
        )
    else:
        a.button("Back to my sentence", icon=":material/undo:", on_click=use_repeated, args=(None,))
        b.button("Another random sequence", icon=":material/casino:", on_click=use_repeated, args=(int(seed) + 1,))
    return None if seed is None else int(seed)


def show_grid(weights, sel: shell.Selection, source: str, layer: int, head: int) -> None:
    thumbs = explain.thumbnail(weights, THUMB_SIZE).float().numpy()
    fig = head_grid(
        thumbs,
        title=f"Every head's attention weights ({source})",
        provenance=sel.provenance(layers=weights.shape[0], heads=weights.shape[1]),
        selected=(layer, head),
    )
    data = None
    if weights.numel() <= GRID_CSV_LIMIT:
        n_layer, n_head, t, _ = weights.shape
        index = pd.MultiIndex.from_product([range(n_layer), range(n_head), range(t), range(t)])
        index.names = ["layer", "head", "query", "key"]
        data = pd.DataFrame({"weight": weights.reshape(-1).float().numpy()}, index=index)
    show_figure(fig, data, "all_heads_grid", key="heads_grid")
    if weights.shape[-1] > THUMB_SIZE:
        st.caption(f"Thumbnails average blocks of tokens to {THUMB_SIZE}×{THUMB_SIZE}; the enlarged view is exact.")


def show_selected(trace: Trace, texts: list[str], sel: shell.Selection, layer: int, head: int) -> None:
    labels = token_labels(texts)
    weights = trace.layers[layer].steps(head).attn_weights.float().numpy()
    fig = heatmap(
        weights,
        labels,
        labels,
        title=f"Layer {layer}, head {head}: attention weights",
        kind="weights",
        provenance=sel.provenance(layer=layer, head=head),
    )
    frame = pd.DataFrame(weights, index=pd.Index(labels, name="query"), columns=labels)
    show_figure(fig, frame, f"heads_L{layer}_H{head}", key="heads_selected")
    if st.button(
        "Open in step-by-step",
        icon=":material/center_focus_strong:",
        key="heads_open_steps",
        help="Shows this layer and head on the 'Attention, step by step' page (for your sentence).",
    ):
        open_in_steps(layer, head)
        st.switch_page("pages/attention.py")
    with st.expander("Most-attended token for each query"):
        top = explain.dominant_keys(trace.layers[layer].steps(head).attn_weights)
        st.dataframe(
            pd.DataFrame(
                {"query": labels, "most-attended key": [labels[k] for k, _ in top], "weight": [w for _, w in top]}
            ),
            hide_index=True,
            width="stretch",
        )


def show_table(trace: Trace, texts: list[str], period: int | None, sel: shell.Selection) -> pd.DataFrame:
    frame = pd.DataFrame(explain.head_table(trace, texts, period))
    default = "induction" if period else "previous_token"
    numeric = [c for c in frame.columns if c not in ("layer", "head", "top_key")]
    left, right = st.columns([3, 1])
    if st.session_state.get("heads_sort") not in numeric:  # first visit, or a column this mode lacks
        st.session_state["heads_sort"] = default
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
        f"Entropy of evenly spread causal attention over these {trace.n_tokens} tokens: "
        f"{max_entropy(trace.n_tokens):.3f} nats. Click a column header to sort by it."
    )
    csv_button(frame, "head_table", key="heads_table_csv", label="Download head table (CSV)", index=False)
    return frame


def main() -> None:
    st.title("All heads")
    sel = shell.require_tokens(shell.sidebar())
    if sel is None:
        return
    cfg = sel.loaded.model.config
    seed = induction_controls()
    period: int | None = None
    try:
        if seed is None:
            trace, texts, source = sel.trace(), sel.token_texts, "your sentence"
        else:
            tok = sel.loaded.tokenizer
            if cfg.block_size < 2:
                st.warning("This model's context is too short for a repeated sequence.")
                return
            ids, period = explain.induction_sequence(tok.vocab_size, cfg.block_size, seed=seed)
            trace = get_trace(sel.model_id, tuple(ids))
            texts = [visible(tok.token_text(i)) for i in ids]
            source = f"random sequence of {period} tokens shown twice, seed {seed}"
            st.info(
                f"Showing a **random sequence of {period} tokens, repeated** (seed {seed}) instead of your "
                "sentence. Induction heads light up on a stripe just off the diagonal in the second half."
            )
    except (ValueError, RuntimeError) as exc:
        st.error(f"The model could not process this text: {md_escape(exc)}")
        return
    weights = explain.all_weights(trace)  # (L, nh, T, T)
    left, right = st.columns(2)
    with left:
        layer = index_picker("Layer to enlarge", "layer", cfg.n_layer)
    with right:
        head = index_picker("Head to enlarge", "head", cfg.n_head)
    grid_col, big_col = st.columns([2, 3])
    with grid_col:
        show_grid(weights, sel, source, layer, head)
    with big_col:
        show_selected(trace, texts, sel, layer, head)
    st.subheader("What kind of head is each head?")
    show_table(trace, texts, period, sel)
    state.publish()


main()

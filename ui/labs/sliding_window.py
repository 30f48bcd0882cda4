"""Lab 3 view: input/target pairs from a sliding window (maths: ``gpt.labs.sliding_window``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gpt import TokenPiece, get_tokenizer
from gpt.labs import Lab, sliding_window
from ui.chips import chips_html
from ui.labs import widgets as view


def render(lab: Lab) -> None:
    st.markdown(
        "To train next-token prediction, a long token stream is cut into fixed-length inputs. The target "
        "for each input is the same window moved one token to the right: at every position, the model "
        "must predict the token that comes next. The **stride** is how far the window moves between "
        "samples: smaller than `max_length` means samples overlap; equal means every token is used once."
    )
    st.latex(r"x = t_{s},\dots,t_{s+L-1},\qquad y = t_{s+1},\dots,t_{s+L},\qquad s = 0, S, 2S, \dots")
    text = st.text_area("Text", sliding_window.VERDICT_OPENING, key="lab_sw_text", max_chars=5000)
    c1, c2, c3 = st.columns(3)
    kind = c1.radio("Tokenizer", ["gpt2", "char"], horizontal=True, key="lab_sw_tok")
    max_length = int(c2.slider("max_length L", 1, 16, sliding_window.BOOK_MAX_LENGTH, key="lab_sw_len"))
    stride = int(c3.slider("stride S", 1, 16, sliding_window.BOOK_STRIDES[0], key="lab_sw_stride"))
    tok = get_tokenizer(kind, text) if kind == "char" else get_tokenizer("gpt2")
    ids = tok.encode(text)
    pairs = sliding_window.sliding_windows(ids, max_length, stride)
    if not pairs:
        st.warning(f"The text has {len(ids)} tokens; a window needs at least L + 1 = {max_length + 1}.")
        return
    if not view.predict_gate(
        f"sw:{max_length}:{stride}",
        f"with L = {max_length} and S = {stride}, how many tokens do two consecutive inputs share?",
        [str(i) for i in range(max_length + 1)],
        str(sliding_window.overlap(max_length, stride)),
        "Consecutive windows start S apart, so they share L − S tokens (none once S ≥ L).",
    ):
        return
    a, b, c = st.columns(3)
    a.metric("Tokens in the text", len(ids))
    b.metric("Input/target pairs", len(pairs))
    c.metric("Overlap between neighbours", f"{sliding_window.overlap(max_length, stride)} tokens")
    if stride == max_length:
        st.success("stride = max_length: no overlap and no gap, each token appears in exactly one input.")
    elif stride > max_length:
        st.warning(
            f"stride > max_length: {sliding_window.skipped(max_length, stride)} tokens between windows are never used as input."
        )
    shown = pairs[:6]
    for pair in shown:
        st.html(
            f"<div><b>#{pair.start}</b> input&nbsp;{_chips(tok, pair.input_ids)} → target&nbsp;{_chips(tok, pair.target_ids)}</div>"
        )
    if len(pairs) > len(shown):
        st.caption(f"First {len(shown)} of {len(pairs)} pairs shown as chips; the tables hold all of them.")
    cols = [f"t{j}" for j in range(max_length)]
    idx = [f"start {p.start}" for p in pairs]
    left, right = st.columns(2)
    with left:
        st.markdown("**inputs** (ID tensor)")
        view.table(pd.DataFrame([p.input_ids for p in pairs], index=idx, columns=cols), "window_inputs", "sw_in")
    with right:
        st.markdown("**targets** (ID tensor)")
        view.table(pd.DataFrame([p.target_ids for p in pairs], index=idx, columns=cols), "window_targets", "sw_out")
    if sliding_window.is_book_example(kind, text, max_length, stride):
        book_input, book_target = sliding_window.BOOK_STRIDE_1_PAIRS[0]
        st.caption(
            f"Book check: the first input is {view.printed_list(book_input)} "
            f"and its target {view.printed_list(book_target)}."
        )
    view.shapes({"inputs": (len(pairs), max_length), "targets": (len(pairs), max_length)})


def _chips(tok, ids: tuple[int, ...]) -> str:
    pieces = [TokenPiece(i, tok.token_text(i), 0, 0) for i in ids]
    return chips_html(pieces).replace("<div", "<span").replace("</div>", "</span>")

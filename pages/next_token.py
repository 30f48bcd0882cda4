"""Step 5: the next-token distribution (temperature, top-k, top-p), step-by-step generation replayed on a
timeline, and the tree of what else could have been written (``ui/generation_views.py``, ``ui/tree_views.py``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from gpt import SamplingSettings, next_token_probs
from gpt.interpret import top_token_rows
from ui import figures, generation_views, lesson, shell, state
from ui.generation_figures import settings_text
from ui.render import show_figure

state.init()  # first thing on every page: shared state, and app.py's navigation (ui/state.py)
lesson.follow_pending("next_token")  # a lesson button pressed here may ask for another page


def distribution(sel: shell.Selection, settings: SamplingSettings, shown: int) -> None:
    trace = sel.trace()  # cached: moving the sliders only re-does the cheap softmax below
    n = len(sel.pieces)
    position = n - 1
    if n > 1:
        # The widget key includes the length, so a new sentence starts at its last token again.
        position = st.slider("Predict the token after position", 0, n - 1, n - 1, key=f"nt_position_{n}")
    context = "".join(sel.token_texts[max(0, position - 7) : position + 1])
    logits = trace.logits_at(position)  # (vocab,)
    probs = next_token_probs(logits, settings)
    raw = torch.softmax(logits.float(), dim=-1)
    rows = top_token_rows(probs, sel.loaded.tokenizer, shown, raw_probs=raw)
    table = pd.DataFrame(rows).set_index("rank")
    fig = figures.bar_chart(
        list(table["token"]),
        list(table["probability"]),
        title=f"Next token after “…{context}” (position {position})",
        provenance=sel.provenance(sampling=settings_text(settings)),
    )
    show_figure(fig, table, "next-token", key="next_token")
    alive = int((probs > 0).sum())
    st.caption(
        f"{alive:,} of {probs.numel():,} tokens can still be drawn with these settings. "
        "The CSV also lists each token's probability under plain softmax (T=1, no cut-off) for comparison."
    )


def intro() -> None:
    st.write(
        "After the last layer, the vector at each position is compared with every token's embedding, giving one "
        "score (logit) per vocabulary entry. Softmax turns the scores into probabilities for the **next** token. "
        "Sampling settings reshape that distribution before a token is drawn."
    )
    st.latex(r"P(\text{token}_j) = \frac{e^{z_j / T}}{\sum_k e^{z_k / T}}")


def main() -> None:
    lesson.page_header("next_token", "5 · Next token", intro)
    sel = shell.require_tokens(shell.sidebar())
    if sel is None:
        return
    sampling, bars = generation_views.sampling_controls(sel.loaded.tokenizer.vocab_size)
    distribution(sel, sampling, bars)
    generation_views.generation_section(sel, sampling, bars)
    state.publish()


main()

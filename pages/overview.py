"""Landing page: the path a sentence takes through a GPT, the chosen model's facts, and how to teach with it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gpt import GPTConfig, visible
from gpt.interpret import model_facts, training_facts
from ui import shell, state
from ui.text import md_escape

state.init()  # first thing on every page: shared state, and app.py's navigation (ui/state.py)

TOKENS_SHOWN = 12  # tokens quoted in the path summary
HOW_TO = """
- **Project it.** Pick a short sentence in the sidebar and walk the class through pages 1 → 5. The sidebar
  counts tokens of the chosen model ("23 / 64 tokens") and cuts longer text at the model's context.
- **Share the exact view.** The address bar carries the sentence, model, layer, head and step: copy the link
  into your slides or the class chat and everyone opens the same view.
- **Before and after training.** Switch between an *untrained* model and a trained one with the same sentence:
  random weights give flat, unstructured attention; training produces heads with clear patterns.
- **Ask "what if".** Page 3 can switch off the √d_k scaling or the causal mask and shows what changes downstream.
- **Reproducible sampling.** Page 5 uses a fixed seed, so a demo gives the same continuation every time.
- **Take the numbers home.** Every chart has a camera icon (PNG) and a *Download numbers (CSV)* button; titles
  name the model, checkpoint, seed and layer/head they came from.
"""


def quote(tokens: list[str]) -> str:
    """Tokens as inline code, so whatever the user typed shows as plain text."""
    shown = " ".join(f"`{t.replace('`', 'ˋ')}`" for t in tokens[:TOKENS_SHOWN])
    return shown + (" …" if len(tokens) > TOKENS_SHOWN else "")


def sentence_path(sel: shell.Selection | None) -> None:
    """The five steps, each with a link and what it means for the current sentence."""
    cfg = sel.loaded.model.config if sel else None
    n = len(sel.pieces) if sel else 0
    live = sel is not None and n > 0
    steps = [
        (
            "pages/tokens.py",
            "1 · Tokens",
            ":material/text_fields:",
            "The text is cut into tokens and each token gets an integer ID from the vocabulary.",
            f"Right now: {n} tokens — {quote(sel.token_texts)}" if live else "",
        ),
        (
            "pages/embeddings.py",
            "2 · Embeddings & positions",
            ":material/scatter_plot:",
            "Each ID selects one row of the embedding table; a position vector is added so order matters.",
            f"Right now: a {n} × {cfg.n_embd} matrix (tokens × d_model)." if live and cfg else "",
        ),
        (
            "pages/attention.py",
            "3 · Attention, step by step",
            ":material/center_focus_strong:",
            "Queries meet keys: scores QKᵀ, scaled by √d_k, future tokens masked, softmax, then a weighted sum of values.",
            attention_now(cfg, n) if live and cfg else "",
        ),
        (
            "pages/heads.py",
            "4 · All heads",
            ":material/grid_view:",
            "Every head side by side, with scores that spot previous-token, first-token and induction heads.",
            f"Right now: {cfg.n_layer * cfg.n_head} attention patterns to compare."
            if live and cfg and cfg.has_attention
            else "",
        ),
        (
            "pages/next_token.py",
            "5 · Next token",
            ":material/casino:",
            "The last position's output becomes probabilities over the vocabulary; sampling picks the next token.",
            top_guess(sel) if live and sel else "",
        ),
    ]
    for page, label, icon, what, now in steps:
        with st.container(border=True):
            st.page_link(page, label=f"**{label}**", icon=icon)
            st.write(what)
            if now:
                st.caption(now)


def attention_now(cfg: GPTConfig, n: int) -> str:
    if not cfg.has_attention:
        return "Right now: this model has no attention at all (a bigram model without blocks)."
    return f"Right now: {cfg.n_layer} layers × {cfg.n_head} heads, each a {n} × {n} weight matrix."


def top_guess(sel: shell.Selection) -> str:
    probs = sel.trace().next_token_probs()
    p, token_id = probs.max(dim=0)
    token = sel.loaded.tokenizer.token_text(int(token_id))
    return f"Right now: the most likely next token is `{visible(token).replace('`', 'ˋ')}` ({float(p):.1%})."


def model_section(sel: shell.Selection) -> None:
    loaded = sel.loaded
    cfg = loaded.model.config
    rows = model_facts(cfg, loaded.model.num_params(), loaded.tokenizer.name, loaded.tokenizer.vocab_size)
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Model: {md_escape(sel.model_label)}**")
        st.table(pd.DataFrame(rows, columns=["fact", "value"]).set_index("fact"))
    with right:
        st.markdown("**Training**")
        trained = training_facts(loaded.meta)
        if trained:
            st.table(pd.DataFrame(trained, columns=["fact", "value"]).set_index("fact"))
        else:
            st.write("This checkpoint records no training details.")
        if cfg.pos_encoding == "learned":
            st.caption(
                "Positions are learned, like GPT-2's: a trained table of vectors, not the sine waves of the "
                "original Transformer (page 2 shows both)."
            )


def main() -> None:
    st.title("Attention Explorer")
    st.write(
        "Follow one sentence through a GPT-style language model: how it is cut into tokens, turned into "
        "vectors, mixed by attention heads, and finally turned into a guess for the next token. Every number "
        "on these pages is computed live by a small from-scratch GPT (or by GPT-2 small, when installed)."
    )
    selection = shell.sidebar()
    usable = shell.require_tokens(selection)
    st.subheader("The path of a sentence")
    sentence_path(usable)
    if selection is not None:
        st.subheader("The model you are exploring")
        model_section(selection)
    st.subheader("Using it in class")
    st.markdown(HOW_TO)
    st.page_link("pages/train.py", label="Train your own small model", icon=":material/model_training:")
    st.page_link("pages/labs.py", label="Worked examples for lessons", icon=":material/science:")


main()

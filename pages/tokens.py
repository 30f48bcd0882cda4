"""Step 1: how text becomes token IDs, under the model's tokenizer and three tokenizers side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gpt import DEFAULT_CORPUS, ENDOFTEXT, UNK, TokenPiece, get_tokenizer
from gpt.interpret import compare_tokenizers, corpus_tokenizer, count_words, token_table_rows
from ui import figures, lesson, shell, state
from ui.chips import show_chips
from ui.render import csv_button, show_figure
from ui.text import md_escape

state.init()  # first thing on every page: shared state, and app.py's navigation (ui/state.py)
lesson.follow_pending("tokens")  # a lesson button pressed here may ask for another page

COMPARE_CHIPS = 150  # chips per column in the side-by-side comparison
RARE_WORD_DEFAULT = "someunknownPlace"
MAX_RARE_WORD = 200
TOKENIZER_TITLES = {
    "gpt2": "GPT-2 BPE (tiktoken)",
    "char": "Characters",
    "word": "Words",
}


@st.cache_resource(show_spinner=False)
def compared_tokenizers() -> dict:
    """GPT-2 BPE plus char and word tokenizers whose vocabulary is the bundled Shakespeare corpus."""
    return {
        "gpt2": get_tokenizer("gpt2"),
        "char": corpus_tokenizer("char", str(DEFAULT_CORPUS)),
        "word": corpus_tokenizer("word", str(DEFAULT_CORPUS)),
    }


def model_tokens(sel: shell.Selection) -> None:
    st.subheader("What the model reads")
    st.write(
        f"The **{md_escape(sel.loaded.tokenizer.name)}** tokenizer of *{md_escape(sel.model_label)}* cuts the sentence "
        "into these tokens. "
        "The small number on each chip is its ID: the row of the embedding table the model looks up next. "
        "Leading spaces show as `·`, line breaks as `↵`."
    )
    show_chips(sel.pieces, tokenizer=sel.loaded.tokenizer)
    unknown = [p for p in sel.pieces if not p.known]
    if unknown:
        st.warning(
            f"{len(unknown)} token(s) (red outline) are not in this model's vocabulary and were replaced by a "
            "stand-in; the model cannot tell them apart."
        )
    if sel.loaded.tokenizer.name == "gpt2-trimmed":
        st.info(
            f"This model keeps rows for only {sel.loaded.tokenizer.vocab_size - 1:,} GPT-2 tokens: those in its "
            "training text, and `<|endoftext|>`. The text is cut exactly as GPT-2 cuts it; the numbers on the "
            "chips are rows of this model's own embedding table, and the token table below gives each token's "
            "GPT-2 id beside it. A GPT-2 token its training text never contained becomes the unknown row."
        )
    if ENDOFTEXT in sel.sentence and sel.loaded.tokenizer.name in ("gpt2", "gpt2-trimmed"):
        st.info(f"`{ENDOFTEXT}` is one special token (ID {sel.loaded.tokenizer.eot_id}) that separates documents.")


def comparison(sel: shell.Selection) -> None:
    text = sel.sentence
    st.subheader("The same text, three tokenizers")
    st.write(
        "A tokenizer trades vocabulary size against sequence length. Characters need few IDs but many tokens; "
        "whole words need few tokens but a huge vocabulary, and any word never seen in training becomes "
        f"`{UNK}`. GPT-2's byte-pair encoding sits in between and never needs an unknown token: a rare word "
        "is split into smaller known pieces, down to single bytes if necessary. (The character and word "
        "vocabularies here come from the bundled Shakespeare corpus.)"
    )
    a, b, c = st.columns(3)
    a.metric("characters", f"{len(text):,}")
    b.metric("words and punctuation", f"{count_words(text):,}")
    c.metric(f"tokens ({sel.loaded.tokenizer.name}, whole text)", f"{sel.total_tokens:,}")
    summaries = compare_tokenizers(text, compared_tokenizers())
    for column, summary in zip(st.columns(len(summaries)), summaries):
        with column:
            st.markdown(f"**{TOKENIZER_TITLES[summary.name]}**")
            st.caption(f"{summary.n_tokens:,} tokens · vocabulary {summary.vocab_size:,}")
            unk = UNK if summary.name == "word" else None
            tok = compared_tokenizers()[summary.name]
            show_chips(summary.pieces, max_chips=COMPARE_CHIPS, unknown_as=unk, tokenizer=tok)
            if summary.n_unknown and summary.name == "word":
                st.caption(f"{summary.n_unknown} word(s) not in the vocabulary → `{UNK}` (red outline).")
            elif summary.n_unknown:
                st.caption(f"{summary.n_unknown} character(s) not in the vocabulary (red outline).")
    counts = pd.DataFrame(
        {
            "tokenizer": [TOKENIZER_TITLES[s.name] for s in summaries],
            "tokens": [s.n_tokens for s in summaries],
            "unknown": [s.n_unknown for s in summaries],
            "vocabulary": [s.vocab_size for s in summaries],
        }
    ).set_index("tokenizer")
    fig = figures.bar_chart(
        list(counts.index),
        [float(v) for v in counts["tokens"]],
        title="Tokens needed for this text",
        value_title="tokens",
        provenance={"text": f"{len(text):,} characters", "vocabularies": "GPT-2 BPE; Shakespeare corpus"},
        decimals=0,
        numbered=False,
    )
    show_figure(fig, counts, "token-counts", key="token_counts")


def rare_word() -> None:
    st.subheader("How BPE splits a rare word")
    word = st.text_input(
        "Type a word GPT-2 has probably never seen whole",
        value=RARE_WORD_DEFAULT,
        max_chars=MAX_RARE_WORD,
        key="rare_word",
    )
    if not word.strip():
        st.info("Type a word to see its pieces.")
        return
    tokenizers = compared_tokenizers()
    gpt2_pieces: list[TokenPiece] = tokenizers["gpt2"].pieces(word)
    st.write(f"GPT-2 needs **{len(gpt2_pieces)}** piece(s) for it:")
    show_chips(gpt2_pieces, tokenizer=tokenizers["gpt2"])
    word_pieces = tokenizers["word"].pieces(word)
    if any(not p.known for p in word_pieces):
        st.caption(f"The word tokenizer has no entry for it and can only say `{UNK}`:")
        show_chips(word_pieces, unknown_as=UNK)
    else:
        st.caption("The word tokenizer knows this word from the corpus.")


def token_table(sel: shell.Selection) -> None:
    st.subheader("Token table")
    st.write(
        "Each token's ID and the bytes it stands for. GPT-2 works on bytes, so one emoji or CJK character can "
        "span several tokens whose bytes only make sense together."
    )
    table = pd.DataFrame(token_table_rows(sel.loaded.tokenizer, sel.pieces)).set_index("position")
    st.dataframe(table, width="stretch", height=min(420, 40 + 35 * len(table)))
    prov = " · ".join(f"{k}: {v}" for k, v in sel.provenance().items())
    csv_button(
        table,
        "tokens",
        key="csv_tokens",
        label="Download token table (CSV)",
        help=f"Tokens as the model reads them ({md_escape(prov)}).",
    )


def intro() -> None:
    st.write(
        "A language model never sees letters. The text is first cut into **tokens**, and each token is replaced "
        "by an integer **ID**, its index in the vocabulary. Everything later works on these IDs."
    )


def main() -> None:
    lesson.page_header("tokens", "1 · Tokens", intro)
    sel = shell.require_tokens(shell.sidebar())
    if sel is not None:
        model_tokens(sel)
        comparison(sel)
        token_table(sel)
    rare_word()  # needs no model: it splits a word the user types


main()

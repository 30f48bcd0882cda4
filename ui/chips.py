"""Tokens drawn as coloured chips with their IDs.

The chips are HTML, so every piece of user text goes through ``html.escape`` first:
a token like ``<script>`` or ``<b>`` must show as typed, never run or format anything.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import streamlit as st

from gpt import Tokenizer, TokenPiece
from gpt.interpret import shown_token, token_label

MAX_CHIPS = 400  # a 10,000-character text would otherwise send thousands of chips to the browser
# Soft pastel backgrounds that stay readable on a projector; unknown tokens get a red outline.
PALETTE = ("#dbeafe", "#dcfce7", "#fef9c3", "#fce7f3", "#ede9fe", "#ffedd5")
CHIP_STYLE = (
    "display:inline-block;margin:2px 3px;padding:2px 6px;border-radius:6px;"
    "font-family:monospace;font-size:0.95rem;line-height:1.5;color:#111;white-space:pre;"
)


def chip_html(
    piece: TokenPiece, colour: str, show_id: bool = True, unknown_as: str | None = None, label: str | None = None
) -> str:
    """One chip; a token the vocabulary lacks gets a red outline, "unknown" and, given ``unknown_as``
    (e.g. "<|unk|>", or the '·' a char model reads instead), what the model reads: "é → ·"."""
    label = (label if label is not None else shown_token(piece.text)) or "∅"
    if not piece.known:
        label = f"{label} → {unknown_as}" if unknown_as is not None else label
        label = f"{label} (unknown)"
    text = html.escape(label, quote=True)
    border = "border:2px solid #dc2626;" if not piece.known else "border:1px solid #9ca3af;"
    read_as = f": the model reads ID {piece.id}" + (f", {unknown_as}" if unknown_as is not None else "")
    tip = html.escape(f"id {piece.id}" + ("" if piece.known else f" (not in the vocabulary{read_as})"), quote=True)
    sub = f'<sub style="color:#555;margin-left:3px">{piece.id}</sub>' if show_id else ""
    return f'<span title="{tip}" style="{CHIP_STYLE}background:{colour};{border}">{text}{sub}</span>'


def chips_html(
    pieces: Sequence[TokenPiece],
    show_ids: bool = True,
    max_chips: int = MAX_CHIPS,
    unknown_as: str | None = None,
    tokenizer: Tokenizer | None = None,
) -> str:
    """One HTML block of chips (at most ``max_chips``); colours alternate so neighbours stand apart.
    With ``tokenizer``, a token that is only part of a character is labelled by its bytes, and an
    unknown one (without ``unknown_as``) shows the token the model reads instead ("é → ·")."""
    parts = []
    for i, p in enumerate(pieces[:max_chips]):
        label = token_label(tokenizer, p) if tokenizer is not None else None
        read_as = unknown_as
        if read_as is None and tokenizer is not None and not p.known:
            read_as = shown_token(tokenizer.token_text(p.id)) or "∅"
        parts.append(chip_html(p, PALETTE[i % len(PALETTE)], show_ids, read_as, label))
    if len(pieces) > max_chips:
        parts.append(f'<span style="color:#555"> … and {len(pieces) - max_chips} more tokens</span>')
    return '<div class="token-chips">' + "".join(parts) + "</div>"


def show_chips(
    pieces: Sequence[TokenPiece],
    show_ids: bool = True,
    max_chips: int = MAX_CHIPS,
    unknown_as: str | None = None,
    tokenizer: Tokenizer | None = None,
) -> None:
    if not pieces:
        st.caption("(no tokens)")
        return
    # st.html, not st.markdown: no Markdown/LaTeX pass over user text ("*", "$" stay literal).
    st.html(chips_html(pieces, show_ids, max_chips, unknown_as, tokenizer))


def generated_html(prompt: str, steps_text: list[str]) -> str:
    """Prompt in grey, each generated token highlighted; all text escaped (never HTML)."""
    shades = ("#fde68a", "#fcd34d")  # alternating, so neighbouring tokens stay apart
    spans = "".join(
        f'<span style="background:{shades[i % 2]};border-radius:3px;" title="step {i}">{html.escape(t)}</span>'
        for i, t in enumerate(steps_text, start=1)
    )
    return (
        '<div style="font-family:monospace;white-space:pre-wrap;line-height:1.6;">'
        f'<span style="color:#6b7280">{html.escape(prompt)}</span>{spans}</div>'
    )

"""The "Why this token?" page's choices (position, target, view) and four of its views: the logit lens,
direct logit attribution, the neuron view and "which input tokens mattered" (the knockout view is in
``ui/why_knockout.py``).

Numbers come from ``gpt.interpret`` on the cached trace. What costs real time (the lens over the whole
vocabulary, gradient x input) is kept in a small process-wide cache per model, text and choice, so
clicking around the page never recomputes it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import streamlit as st
import torch

from gpt import Trace, model_version, tensor_bytes
from gpt.interpret import Knockout, shown_token
from ui import shell, state
from ui.budget_cache import ByteBudgetCache
from ui.models import MB, TraceTooLargeError, compute_slot, get_trace
from ui.text import md_code, md_escape

VIEWS = {
    "lens": "1 · Logit lens",
    "attribution": "2 · Attribution",
    "knockout": "3 · Knockout",
    "neuron": "4 · Neuron view",
    "inputs": "5 · Input tokens",
}
CANDIDATES = 10  # tokens offered as the target: the most likely ones at the position
NOTHING = -1  # the menu's "compare with nothing" (a menu shows None as an empty choice)
_RESULTS: ByteBudgetCache[tuple, Any] = ByteBudgetCache(
    64 * MB, lambda value: 4096 + tensor_bytes(t for f in fields(value) if torch.is_tensor(t := getattr(value, f.name)))
)


def cached(kind: str, sel: shell.Selection, extra: tuple, create: Any) -> Any:
    """``create()`` once per model version, text and ``extra`` (a dataclass of tensors), in a compute slot."""
    key = (kind, sel.model_id, model_version(sel.model_id), sel.token_ids, *extra)

    def run() -> Any:
        with compute_slot():
            return create()

    return _RESULTS.get_or_create(key, run)


def trace_of(
    sel: shell.Selection, knockout: Knockout | None = None, ids: tuple[int, ...] | None = None
) -> Trace | None:
    """The cached trace of the sentence (or of ``ids``), with ``knockout``; None after a message."""
    try:
        return get_trace(sel.model_id, ids or sel.token_ids, knockout=knockout)
    except TraceTooLargeError as exc:
        st.error(str(exc))
    except (ValueError, RuntimeError) as exc:
        st.error(f"The model could not process this text: {md_escape(exc)}")
    return None


def token_name(sel: shell.Selection, token_id: int) -> str:
    return shown_token(sel.loaded.tokenizer.token_text(token_id))


@dataclass(frozen=True)
class Choice:
    """What the page explains: the prediction after ``position``, as the logit of ``target`` (minus ``versus``'s)."""

    position: int
    target: int
    versus: int | None
    predicted: int  # the model's most likely next token there

    def target_text(self, sel: shell.Selection) -> str:
        text = md_code(token_name(sel, self.target))
        return text if self.versus is None else f"{text} minus {md_code(token_name(sel, self.versus))}"


# --------------------------------------------------------------------------------- choices


def resolve_position(n_tokens: int) -> int:
    """The shared position, checked: a position past the text (a hand-edited link) gets a message."""
    value = state.get("why_position")
    if value is None:
        return n_tokens - 1
    if not isinstance(value, int) or not 0 <= value < n_tokens:
        st.warning(
            f"Position {md_escape(value)} is past the text: it has positions 0 to {n_tokens - 1}. "
            "Showing the prediction after the last token instead."
        )
        st.session_state["why_position"] = None
        return n_tokens - 1
    return value


def candidates(trace: Trace, position: int) -> list[tuple[int, float]]:
    probs = trace.next_token_probs(position)
    values, ids = torch.topk(probs, min(CANDIDATES, probs.numel()))
    return [(int(i), float(p)) for i, p in zip(ids, values)]


def _checked_token(key: str, vocab: int, what: str) -> int | None:
    value = state.get(key)
    if value is not None and (not isinstance(value, int) or not 0 <= value < vocab):
        st.warning(f"Token ID {md_escape(value)} does not exist in this model (IDs 0 to {vocab - 1}); {what}.")
        st.session_state[key] = None
        return None
    return value


def resolve_choice(sel: shell.Selection, trace: Trace, position: int) -> Choice:
    """Position, target and the token compared with, each checked (IDs come from links too)."""
    vocab = sel.loaded.model.config.vocab_size
    predicted = candidates(trace, position)[0][0]
    target = _checked_token("why_target", vocab, "explaining the predicted token instead")
    versus = _checked_token("why_versus", vocab, "explaining the logit itself instead")
    target = predicted if target is None else target
    if versus == target:
        st.warning("A token compared with itself always gives 0; explaining the logit itself instead.")
        st.session_state["why_versus"] = versus = None
    return Choice(position, target, versus, predicted)


def _store(key: str, widget: str, none_when: object = None) -> None:
    value = st.session_state[widget]
    st.session_state[key] = None if value == none_when else value


def choice_widgets(sel: shell.Selection, trace: Trace, choice: Choice) -> None:
    """Position slider and the target / compared-with menus, bound to the shared (URL) values."""
    n = trace.n_tokens
    left, mid, right = st.columns([2, 2, 2])
    with left:
        if n > 1:
            st.session_state["w_why_position"] = choice.position
            st.slider(
                "Explain the prediction after position",
                0,
                n - 1,
                key="w_why_position",
                on_change=_store,
                args=("why_position", "w_why_position", n - 1),  # the last position follows a longer text
            )
        else:
            st.caption("Explaining the prediction after the only token.")
    options = [i for i, _ in candidates(trace, choice.position)]
    probs = dict(candidates(trace, choice.position))
    for token in (choice.target, choice.versus):
        if token is not None and token not in options:
            options.append(token)

    def label(token: int) -> str:
        if token == NOTHING:
            return "nothing: the logit itself"
        share = f", p = {probs[token]:.3f}" if token in probs else ""
        return f"{token_name(sel, token)} (ID {token}{share})"

    st.session_state["w_why_target"] = choice.target
    mid.selectbox(
        "Target token (default: the predicted one)",
        options,
        format_func=label,
        key="w_why_target",
        on_change=_store,
        args=("why_target", "w_why_target", choice.predicted),
    )
    st.session_state["w_why_versus"] = NOTHING if choice.versus is None else choice.versus
    right.selectbox(
        "Minus the logit of",
        [NOTHING, *[t for t in options if t != choice.target]],
        format_func=label,
        key="w_why_versus",
        on_change=_store,
        args=("why_versus", "w_why_versus", NOTHING),
        help="Explain a difference of two logits, e.g. the predicted token versus the runner-up: "
        "what made the model prefer one to the other.",
    )


def prediction_line(sel: shell.Selection, trace: Trace, choice: Choice) -> None:
    context = "".join(sel.token_texts[max(0, choice.position - 11) : choice.position + 1])
    p = float(trace.next_token_probs(choice.position)[choice.predicted])
    st.markdown(
        f"After {md_code('…' + context)} (position {choice.position}) the model predicts "
        f"{md_code(token_name(sel, choice.predicted))} with probability {p:.3f}. "
        f"Explaining: the logit of {choice.target_text(sel)}."
    )


def pick_view() -> str:
    keys = list(VIEWS)
    if state.get("why_view") not in keys:
        st.warning(f"There is no view called {md_code(state.get('why_view'))}; showing the logit lens.")
    choice = st.radio(
        "View",
        keys,
        format_func=VIEWS.get,
        horizontal=True,
        label_visibility="collapsed",
        **state.bind("why_view", clamp=lambda v: v if v in keys else keys[0]),
    )
    return str(choice)

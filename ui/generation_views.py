"""The Next token page's generation: sampling settings kept in the link, Generate, the generated text
and its table, and the timeline that walks through the steps. The sampling tree is ``ui/tree_views.py``.

Every step is replayed from a trace (``gpt.interpret.step_window``): one trace of the generated text
serves every step whose context fits, so moving through the timeline re-draws, never re-runs the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from gpt import MAX_GENERATION_WORK, GenerationStep, SamplingSettings, generate
from gpt.interpret import (
    BranchError,
    branch_text,
    cut_off_view,
    generation_rows,
    parse_branch,
    shown_token,
    sink_heads,
    step_window,
)
from ui import chips, figures, presenter, shell, state, tree_views
from ui.generation_figures import cut_off_chart, settings_text
from ui.models import TraceTooLargeError, generation_in_progress, generation_step, get_trace
from ui.pickers import index_picker
from ui.render import csv_button, show_figure
from ui.text import md_escape

MAX_GENERATE = 50  # tokens per click: keeps a shared classroom server responsive
ALTERNATIVES = 8  # candidates kept per generated token
GENERATION_KEY = "nt_generation"  # session key of the last generation (per browser session)


# --------------------------------------------------------------------------- settings, kept in the link


def clamp_number(lo: float, hi: float, default: float, whole: bool = False) -> Callable[[Any], Any]:
    """A clamp for a value from a link or an older model: within lo..hi, else ``default`` if not a number."""

    def clamp(value: Any) -> Any:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return default
        if not math.isfinite(number) or isinstance(value, bool):
            return default
        number = min(hi, max(lo, number))
        return int(number) if whole else round(number, 4)

    return clamp


def bound(widget_key: str, shared_key: str, clamp: Callable[[Any], Any]) -> str:
    """Seed a widget with its shared value (a link, or coming back from another page), clamped; the page
    copies the widget back with ``keep``. The widget keeps its own key (older links and tests use it)."""
    st.session_state[widget_key] = clamp(st.session_state.get(widget_key, state.get(shared_key)))
    return widget_key


def keep(pairs: Sequence[tuple[str, str]]) -> None:
    """Copy widgets' values into the shared state that goes into the link."""
    for widget_key, shared_key in pairs:
        if widget_key in st.session_state:
            st.session_state[shared_key] = st.session_state[widget_key]


def sampling_controls(vocab_size: int) -> tuple[SamplingSettings, int]:
    """Temperature, top-k, top-p and the number of bars; the settings (with the seed) and the bars."""
    a, b, c, d = st.columns(4)
    a.slider(
        "Temperature",
        0.0,
        2.0,
        step=0.05,
        key=bound("nt_temperature", "gen_temperature", clamp_number(0.0, 2.0, 1.0)),
        help="Divides the scores before softmax: below 1 sharpens, above 1 flattens; 0 always takes the top token.",
    )
    b.number_input(
        "Top-k (0 = off)",
        0,
        vocab_size,
        key=bound("nt_top_k", "gen_top_k", clamp_number(0, vocab_size, 0, whole=True)),
        help="Keep only the k most likely tokens, then renormalise.",
    )
    c.slider(
        "Top-p",
        0.05,
        1.0,
        step=0.05,
        key=bound("nt_top_p", "gen_top_p", clamp_number(0.05, 1.0, 1.0)),
        help="Keep the most likely tokens until their probabilities add up to p (1 = off).",
    )
    shown = vocab_size
    if vocab_size > 3:
        shown = d.slider("Bars shown", 3, min(30, vocab_size), min(10, vocab_size), key="nt_bars")
    keep([("nt_temperature", "gen_temperature"), ("nt_top_k", "gen_top_k"), ("nt_top_p", "gen_top_p")])
    top_p = float(st.session_state["nt_top_p"])
    settings = SamplingSettings(
        temperature=float(st.session_state["nt_temperature"]),
        top_k=int(st.session_state["nt_top_k"]) or None,
        top_p=top_p if top_p < 1.0 else None,
        seed=int(clamp_number(0, 2**31 - 1, 1337, whole=True)(st.session_state.get("nt_seed", state.get("gen_seed")))),
    )
    return settings, int(shown)


# --------------------------------------------------------------------------- generating


def _generate(sel: shell.Selection, settings: SamplingSettings, n_new: int, forced: list[int]) -> list | None:
    """``n_new`` drawn tokens after the ``forced`` ones (a branch of the tree); None, with a message, when
    the server refuses the request. A compute slot per step: other students get in between the steps."""
    model, ids = sel.loaded.model, list(sel.token_ids)
    try:
        with st.spinner("Generating…"), generation_in_progress():
            return generate(
                model, ids, len(forced) + n_new, settings, ALTERNATIVES, generation_step, MAX_GENERATION_WORK, forced
            )
    except ValueError as exc:
        st.error(md_escape(exc))
        return None


def wanted_branch(tree: Any) -> tuple[int, ...]:
    """The branch the link or a click asked for, if this tree has it; else a message and the sentence."""
    text = str(state.get("gen_branch") or "")
    try:
        path = parse_branch(text)
        if path:
            tree.node(path)
        return path
    except BranchError as exc:
        st.warning(
            f"The branch “{md_escape(text)}” cannot be followed: {md_escape(exc)}. Continuing from the sentence."
        )
        state.put("gen_branch", "")
        return ()


def run_generation(sel: shell.Selection, settings: SamplingSettings, n_new: int, depth: int, width: int) -> None:
    """Grow the tree, then generate (after the chosen branch, if any), and keep both for this session."""
    tree = tree_views.grow_tree(sel, settings, depth, width)
    if tree is None:
        return
    path = wanted_branch(tree)
    steps = _generate(sel, settings, n_new, tree.tokens(path))
    if steps is None:
        return
    st.session_state[GENERATION_KEY] = {
        "model_id": sel.model_id,
        "token_ids": sel.token_ids,
        "settings": settings,
        "n_new": n_new,
        "tree": tree,
        "branch": path,
        "steps": steps,
    }


def follow_branch(sel: shell.Selection, result: dict) -> dict:
    """A branch was clicked (or picked): the same seed continues the text from it."""
    path = wanted_branch(result["tree"])
    if path == result["branch"]:
        return result
    steps = _generate(sel, result["settings"], result["n_new"], result["tree"].tokens(path))
    if steps is None:
        state.put("gen_branch", branch_text(result["branch"]))
        return result
    result = {**result, "branch": path, "steps": steps}
    st.session_state[GENERATION_KEY] = result
    return result


def generation_section(sel: shell.Selection, settings: SamplingSettings, shown: int) -> None:
    st.subheader("Generate, one token at a time")
    st.write(
        "The model predicts a distribution, one token is drawn from it, appended, and the longer text goes "
        "back in. With the same seed and settings the draw is the same every time: handy for a demo."
    )
    a, b, c, d, e = st.columns([1.2, 1.2, 1, 1, 1], vertical_alignment="bottom")
    n_new = a.number_input(
        "Tokens to generate",
        1,
        MAX_GENERATE,
        key=bound("nt_n_new", "gen_n_new", clamp_number(1, MAX_GENERATE, 20, whole=True)),
    )
    b.number_input(
        "Seed",
        0,
        2**31 - 1,
        key=bound("nt_seed", "gen_seed", clamp_number(0, 2**31 - 1, 1337, whole=True)),
        help="Same seed + same settings = same text.",
    )
    depth, width = tree_views.tree_shape(c, d)
    pressed = e.button("Generate", type="primary", key="nt_generate")
    keep([("nt_n_new", "gen_n_new"), ("nt_seed", "gen_seed")])
    if pressed:
        run_generation(sel, settings, int(n_new), depth, width)
    result = st.session_state.get(GENERATION_KEY)
    if not result or result["model_id"] != sel.model_id or result["token_ids"] != sel.token_ids:
        st.caption("Press **Generate** to continue the sentence.")
        if state.get("gen_branch"):
            st.caption(
                f"Generate then continues from branch {md_escape(state.get('gen_branch'))} of the tree, as the link asks."
            )
        return
    show_generation(sel, follow_branch(sel, result), shown)


def show_generation(sel: shell.Selection, result: dict, shown: int) -> None:
    tokenizer, settings, steps = sel.loaded.tokenizer, result["settings"], result["steps"]
    n_forced = len(result["branch"])
    prompt = "".join(p.text for p in sel.pieces)
    st.html(chips.generated_html(prompt, [tokenizer.token_text(s.token_id) for s in steps]))
    made = f"Made with {settings_text(settings)}, seed {settings.seed}."
    if n_forced:
        made += (
            f" The first {n_forced} token(s) follow branch {branch_text(result['branch'])} of the tree (chosen, "
            "not drawn); the seed draws the rest, exactly as after the sentence followed by that branch."
        )
    st.caption(made)
    rows = pd.DataFrame(generation_rows(steps, tokenizer)).set_index("step")
    rows.insert(1, "how", ["chosen in the tree" if i < n_forced else "drawn" for i in range(len(steps))])
    st.dataframe(rows, width="stretch", height=min(400, 40 + 35 * len(rows)))
    csv_button(rows, "generation", key="csv_generation", label="Download all steps (CSV)")
    timeline(sel, result, shown)
    tree_views.show_tree(sel, result)


# --------------------------------------------------------------------------- the timeline


def _move(key: str, delta: int, n: int) -> None:
    st.session_state[key] = min(n, max(1, int(st.session_state.get(key, 1)) + delta))
    st.session_state["gen_step"] = st.session_state[key]


def timeline(sel: shell.Selection, result: dict, shown: int) -> None:
    """Back / the step slider / Next (the arrow keys; with Shift while presenting, where the lesson's
    remote takes the plain arrows), then what that step drew from and looked at."""
    st.subheader("Step by step: what each token was drawn from, and what the model looked at")
    n = len(result["steps"])
    key = bound(f"nt_step_{n}", "gen_step", clamp_number(1, n, 1, whole=True))  # the key resets per length
    mod = "Shift+" if presenter.is_presenting() else ""
    left, middle, right = st.columns([2, 6, 2], vertical_alignment="center")
    here = int(st.session_state[key])
    left.button(
        "Back",
        key="nt_step_back",
        icon=":material/arrow_back:",
        shortcut=f"{mod}Left",
        disabled=here <= 1,
        on_click=_move,
        args=(key, -1, n),
        width="stretch",
        help=f"The step before ({mod}Left)",
    )
    right.button(
        "Next",
        key="nt_step_next",
        icon=":material/arrow_forward:",
        icon_position="right",
        shortcut=f"{mod}Right",
        disabled=here >= n,
        on_click=_move,
        args=(key, 1, n),
        width="stretch",
        help=f"The step after ({mod}Right)",
    )
    if n > 1:
        middle.slider("Look at step", 1, n, key=key)
    else:
        middle.caption("Step 1 (the only one)")
    keep([(key, "gen_step")])
    step_view(sel, result, int(st.session_state[key]), shown)


def step_view(sel: shell.Selection, result: dict, step: int, shown: int) -> None:
    """Step ``step``: the distribution its token came from (cut-off drawn, the token marked) and the
    attention row of the position that made that distribution, for the chosen layer and head."""
    tokenizer, settings = sel.loaded.tokenizer, result["settings"]
    steps: list[GenerationStep] = result["steps"]
    ids = [*sel.token_ids, *(s.token_id for s in steps)]
    window, position = step_window(ids, len(sel.token_ids), step, sel.context)
    try:
        trace = get_trace(sel.model_id, window)
    except TraceTooLargeError as exc:
        st.error(str(exc))
        return
    chosen = steps[step - 1]
    forced = step <= len(result["branch"])
    view = cut_off_view(trace.logits_at(position), settings, shown, chosen.token_id)
    tokens = [shown_token(tokenizer.token_text(i)) for i in view.ids]
    how = "the token chosen in the tree" if forced else "the drawn token"
    provenance = sel.provenance(sampling=settings_text(settings), seed=settings.seed, step=step)
    fig = cut_off_chart(view, tokens, title=f"Step {step}: the candidates, {how} in red", provenance=provenance)
    data = pd.DataFrame(
        {
            "rank": view.ranks,
            "token": tokens,
            "id": view.ids,
            "before cut-off": view.before,
            "probability": view.after,
            "chosen": [i == view.drawn for i in range(len(view.ids))],
        }
    )
    show_figure(fig, data, f"generation-step-{step}", key="generation_step")
    st.caption(
        f"Drawn from {view.kept:,} token(s) that the cut-off keeps (solid bars); hollow bars are the same tokens "
        "after the temperature alone. The chosen token "
        + ("was picked in the tree." if forced else f"had probability {chosen.prob:.4f}.")
    )
    attention_row(sel, trace, window, position, step)


def attention_row(sel: shell.Selection, trace: Any, window: tuple[int, ...], position: int, step: int) -> None:
    """What the position that wrote step ``step``'s token looked at: one head, or every head of a layer."""
    cfg, tokenizer = sel.loaded.model.config, sel.loaded.tokenizer
    left, middle, right = st.columns([2, 2, 1.2], vertical_alignment="bottom")
    with left:
        layer = index_picker("Layer", "layer", cfg.n_layer)
    with middle:
        head = index_picker("Head", "head", cfg.n_head)
    every = right.toggle("All heads", key="nt_all_heads", help="One row per head of this layer (small multiples).")
    record = trace.layers[layer]
    if every:
        rows = record.attn_weights()[:, position, : position + 1]  # (heads, position + 1)
        names = [f"head {h}" for h in range(cfg.n_head)]
    else:
        rows = record.steps(head).attn_weights[position : position + 1, : position + 1]
        names = [f"head {head}"]
    labels = figures.token_labels([shown_token(tokenizer.token_text(i)) for i in window[: position + 1]])
    last = labels[-1].split(": ", 1)[1]
    fig = figures.heatmap(
        rows.float().numpy(),
        names,
        labels,
        title=f"Step {step}: where “{last}” (the last token so far) looked, layer {layer}",
        provenance=sel.provenance(layer=layer, head="all" if every else head, step=step),
        row_title="head",
        col_title="earlier token (key)",
        height=120 + 26 * len(names),
    )
    frame = pd.DataFrame(rows.float().numpy(), index=pd.Index(names, name="head"), columns=labels)
    show_figure(fig, frame, f"generation-attention-L{layer}-step-{step}", key="generation_attention")
    sinks = sink_heads(rows)
    if sinks:
        who = ", ".join(f"head {names[h].split()[-1]} ({w:.0%})" for h, w in sinks)
        first = md_escape(labels[0].split(": ", 1)[1])
        verb = "puts most of its" if len(sinks) == 1 else "put most of their"
        st.info(
            f"**First-token sink:** {who} {verb} attention on the first token, “{first}”. Trained GPTs "
            "park attention there when nothing else is worth looking at: the weight has to go somewhere."
        )
    st.caption(
        "This row produced the distribution above: the last position's query against every earlier key. "
        "Later tokens are not there yet."
    )

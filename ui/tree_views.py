"""The Next token page's sampling tree: its shape, growing it (with progress), drawing it, and
continuing the text from a clicked branch (``gen_branch`` in the link; ``ui/generation_views.py``
generates from it)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from gpt import SamplingSettings
from gpt.interpret import (
    MAX_TREE_DEPTH,
    MAX_TREE_WIDTH,
    SamplingTree,
    branch_text,
    sampling_tree,
    shown_token,
)
from ui import shell, state
from ui.generation_figures import settings_text, tree_chart
from ui.models import generation_in_progress, generation_step
from ui.render import show_figure
from ui.text import md_escape

TREE_KEY = "nt_tree"  # the tree figure's key: its click event is read from the session under it
PROMPT_LABEL_CHARS = 14  # the end of the sentence written at the tree's root


def _whole(lo: int, hi: int, default: int) -> Any:
    def clamp(value: Any) -> int:
        try:
            return min(hi, max(lo, int(value)))
        except (TypeError, ValueError, OverflowError):
            return default

    return clamp


def tree_shape(depth_box: DeltaGenerator, width_box: DeltaGenerator) -> tuple[int, int]:
    """The tree's steps and alternatives per step, in two boxes, kept in the link."""
    for widget_key, shared_key in (("nt_tree_depth", "gen_depth"), ("nt_tree_width", "gen_width")):
        high = MAX_TREE_DEPTH if shared_key == "gen_depth" else MAX_TREE_WIDTH
        st.session_state[widget_key] = _whole(1, high, 3)(st.session_state.get(widget_key, state.get(shared_key)))
    depth = depth_box.number_input(
        "Tree: steps",
        1,
        MAX_TREE_DEPTH,
        key="nt_tree_depth",
        help="How many tokens ahead the tree of alternatives goes.",
    )
    width = width_box.number_input(
        "Tree: alternatives",
        1,
        MAX_TREE_WIDTH,
        key="nt_tree_width",
        help="Branches per step: the most likely tokens that the cut-off keeps.",
    )
    st.session_state["gen_depth"], st.session_state["gen_width"] = int(depth), int(width)
    return int(depth), int(width)


def grow_tree(sel: shell.Selection, settings: SamplingSettings, depth: int, width: int) -> SamplingTree | None:
    """The tree after the sentence, one compute slot per model call, with a progress bar; None (and a
    message) for a shape over the node budget."""
    bar = st.progress(0.0, text="Growing the tree of alternatives…")

    def progress(done: int, most: int) -> None:
        bar.progress(min(1.0, done / most), text=f"Growing the tree of alternatives… {done} of at most {most} steps")

    try:
        with generation_in_progress():
            return sampling_tree(
                sel.loaded.model, list(sel.token_ids), settings, depth, width, generation_step, progress
            )
    except ValueError as exc:
        st.error(md_escape(exc))
        return None
    finally:
        bar.empty()


def _branch_clicked() -> None:
    """A point of the tree was clicked: continue from its branch (the root: from the sentence)."""
    event = st.session_state.get(TREE_KEY)
    points = (event or {}).get("selection", {}).get("points", [])
    if points and isinstance(points[0].get("customdata"), str):
        state.put("gen_branch", points[0]["customdata"])


def _branch_picked() -> None:
    state.put("gen_branch", st.session_state["nt_branch_pick"])


def tree_rows(tree: SamplingTree, token_text: Any, greedy: tuple, sampled: tuple) -> pd.DataFrame:
    """One row per branch: where it is, its token, its probability and its path's probability."""
    nodes = list(tree.nodes())
    return pd.DataFrame(
        {
            "branch": [branch_text(n.path) for n in nodes],
            "step": [n.depth for n in nodes],
            "token": [token_text(n.token_id) for n in nodes],
            "id": [n.token_id for n in nodes],
            "probability": [n.prob for n in nodes],
            "path probability": [n.path_prob for n in nodes],
            "greedy": [greedy[: n.depth] == n.path for n in nodes],
            "sampled": [sampled[: n.depth] == n.path for n in nodes],
        }
    ).set_index("branch")


def show_tree(sel: shell.Selection, result: dict) -> None:
    """The tree of alternatives after the sentence; clicking a branch (or picking it below) continues
    the text from there with the same seed."""
    tree: SamplingTree = result["tree"]
    tokenizer, settings = sel.loaded.tokenizer, result["settings"]

    def token_text(token_id: int) -> str:
        return shown_token(tokenizer.token_text(token_id))

    greedy = tree.greedy_path()
    sampled = tree.follow([s.token_id for s in result["steps"]])
    chosen = result["branch"]
    st.subheader("What else could it have written? The tree of alternatives")
    st.write(
        f"At each of the next {tree.depth} steps, the {tree.width} most likely tokens that these settings could "
        "draw, each with its probability and the probability of its whole path (the product along the way). "
        "Click a branch to continue the text from there."
    )
    prompt = "".join(p.text for p in sel.pieces)
    label = "…" + prompt[-PROMPT_LABEL_CHARS:] if len(prompt) > PROMPT_LABEL_CHARS else prompt
    fig = tree_chart(
        tree,
        token_text,
        greedy=greedy,
        sampled=sampled,
        chosen=chosen,
        prompt_label=shown_token(label),
        title=f"The {tree.depth}-step tree of alternatives ({tree.width} per step)",
        provenance=sel.provenance(sampling=settings_text(settings), seed=settings.seed),
    )
    show_figure(
        fig, tree_rows(tree, token_text, greedy, sampled), "sampling-tree", key=TREE_KEY, on_click=_branch_clicked
    )
    if len(sampled) < tree.depth:
        st.caption(
            f"The sampled text leaves the tree after {len(sampled)} step(s): it drew a token outside the "
            f"{tree.width} most likely."
        )
    options = ["", *(branch_text(n.path) for n in tree.nodes())]
    current = branch_text(chosen)
    st.session_state["nt_branch_pick"] = current if current in options else ""
    names = {"": "the sentence itself (no branch)"}
    for node in tree.nodes():
        words = "".join(token_text(t) for t in tree.tokens(node.path))
        names[branch_text(node.path)] = f"{branch_text(node.path)}: “{words}” (path probability {node.path_prob:.3g})"
    st.selectbox(
        "Continue from",
        options,
        format_func=lambda o: names.get(o, o),
        key="nt_branch_pick",
        on_change=_branch_picked,
        help="The same as clicking a branch of the tree.",
    )
    if chosen:
        st.caption(f"The text above continues from branch {md_escape(current)}.")

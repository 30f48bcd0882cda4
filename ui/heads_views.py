"""The All heads page's views: the clickable grid of every head, the enlarged head, and the verdict
of the induction test."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from gpt import Trace
from gpt.interpret import INDUCTION_DEMO, INDUCTION_HEAD_MIN_SCORE, explain
from ui import shell, state
from ui.figures import grid_height, head_grid, heatmap, token_labels
from ui.render import show_figure

THUMB_SIZE = 48  # longer inputs are averaged down to this many rows/columns per thumbnail
GRID_CSV_LIMIT = 200_000  # numbers in the grid above which its CSV is left out (use the table / one head)
MAX_GRID_LAYERS = 4  # layers drawn at once: GPT-2's 12 layers come in pages, so tiles stay >= 60 px
GRID_KEY = "heads_grid"
PAGE_KEY = "heads_layer_page"


def layer_pages(n_layer: int) -> list[range]:
    """The layers drawn together: all of them for small models, else MAX_GRID_LAYERS at a time."""
    return [range(start, min(n_layer, start + MAX_GRID_LAYERS)) for start in range(0, n_layer, MAX_GRID_LAYERS)]


def pick_layer_page(n_layer: int, selected_layer: int) -> range:
    """Which layers the grid shows; it follows the selected layer, and a menu pages through the rest."""
    pages = layer_pages(n_layer)
    if len(pages) == 1:
        return pages[0]
    names = [f"layers {p.start}–{p.stop - 1}" for p in pages]
    following = next(i for i, p in enumerate(pages) if selected_layer in p)
    if st.session_state.get(f"{PAGE_KEY}_for") != selected_layer:  # a new selection: show its page
        st.session_state[PAGE_KEY] = names[following]
        st.session_state[f"{PAGE_KEY}_for"] = selected_layer
    if st.session_state.get(PAGE_KEY) not in names:
        st.session_state[PAGE_KEY] = names[following]
    chosen = st.segmented_control("Layers in the grid", names, key=PAGE_KEY, label_visibility="collapsed")
    return pages[names.index(chosen)] if chosen in names else pages[following]


def head_clicked() -> None:
    """A tile was clicked: select its head (the sliders and the enlarged view follow)."""
    event = st.session_state.get(GRID_KEY)
    points = (event or {}).get("selection", {}).get("points", [])
    if not points:
        return
    where = points[0].get("customdata")
    if isinstance(where, (list, tuple)) and len(where) == 2:
        state.put("layer", int(where[0]))
        state.put("head", int(where[1]))


def hover_lines(rows: list[dict[str, object]], layers: range) -> list[list[str]]:
    """Per tile: its two telling scores, so hovering explains the tile without opening it."""
    by_head = {(int(r["layer"]), int(r["head"])): r for r in rows}
    lines = []
    for layer in layers:
        line = []
        for head in range(1 + max(h for (lay, h) in by_head if lay == layer)):
            row = by_head[(layer, head)]
            text = f"previous-token {float(row['previous_token']):.2f} · first-token {float(row['first_token']):.2f}"
            if "induction" in row:
                text += f" · induction {float(row['induction']):.2f}"
            line.append(text)
        lines.append(line)
    return lines


def show_grid(
    weights: torch.Tensor, rows: list[dict[str, object]], sel: shell.Selection, source: str, layer: int, head: int
) -> None:
    """Every head at once, each tile a button that enlarges it."""
    layers = pick_layer_page(weights.shape[0], layer)
    shown = weights[layers.start : layers.stop]
    thumbs = explain.thumbnail(shown, THUMB_SIZE).float().numpy()
    fig = head_grid(
        thumbs,
        title=f"Every head's attention weights ({source}); click a head to enlarge it",
        provenance=sel.provenance(layers=f"{layers.start}–{layers.stop - 1}", heads=weights.shape[1]),
        selected=(layer, head),
        first_layer=layers.start,
        hover=hover_lines(rows, layers),
    )
    data = None
    if weights.numel() <= GRID_CSV_LIMIT:
        n_layer, n_head, t, _ = weights.shape
        index = pd.MultiIndex.from_product([range(n_layer), range(n_head), range(t), range(t)])
        index.names = ["layer", "head", "query", "key"]
        data = pd.DataFrame({"weight": weights.reshape(-1).float().numpy()}, index=index)
    show_figure(fig, data, "all_heads_grid", key=GRID_KEY, on_click=head_clicked)
    notes = [f"Tiles of {grid_height(len(layers), weights.shape[1])[1]} px on a 1024 px wide screen."]
    if weights.shape[-1] > THUMB_SIZE:
        notes.append(f"Thumbnails average blocks of tokens to {THUMB_SIZE}×{THUMB_SIZE}; the enlarged view is exact.")
    st.caption(" ".join(notes))


def open_in_steps(layer: int, head: int) -> None:
    state.put("layer", layer)
    state.put("head", head)
    state.put("step", explain.STEP_IDS.index("attn_weights"))


def show_selected(trace: Trace, sel: shell.Selection, layer: int, head: int) -> None:
    labels = token_labels(sel.token_texts)
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
    what = "the repeated sequence" if sel.seed is not None else "your sentence"
    if st.button(
        "Open in step-by-step",
        icon=":material/center_focus_strong:",
        key="heads_open_steps",
        help=f"Shows this layer and head on the 'Attention, step by step' page, for {what}.",
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


def induction_verdict(rows: list[dict[str, object]], period: int) -> None:
    """Which heads pass as induction heads, and if none does, say so and where to find one."""
    found = [r for r in rows if float(r["induction"]) >= INDUCTION_HEAD_MIN_SCORE]
    best = max(rows, key=lambda r: float(r["induction"]))
    chance = 1 / period  # an evenly spread head scores below this on the second copy
    if found:
        names = ", ".join(f"layer {r['layer']} head {r['head']} ({float(r['induction']):.2f})" for r in found[:6])
        st.success(
            f"**Induction heads found:** {names}. Each puts at least {INDUCTION_HEAD_MIN_SCORE:.2f} of its "
            f"attention on the token that followed the current one last time (evenly spread: below {chance:.2f})."
        )
        return
    st.warning(
        f"**No head of this model is an induction head.** The best, layer {best['layer']} head {best['head']}, "
        f"scores {float(best['induction']):.3f}; a head counts from {INDUCTION_HEAD_MIN_SCORE:.2f} (evenly "
        f"spread: below {chance:.2f}). Induction heads need two or more layers and a reason to copy: the demo "
        f"model **{INDUCTION_DEMO.partition(':')[2]}** (choose it in the sidebar) has one, because half of its "
        "training windows repeated a stretch of their own text; GPT-2 small (add it in the sidebar) has several "
        "in its middle layers (5 to 7 in published analyses)."
    )

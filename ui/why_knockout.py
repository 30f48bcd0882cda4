"""View 3 of "Why this token?": knock heads out (a causal test) and see what the prediction loses.

The heads are in the URL as ``why_knockout=layer.head,layer.head``; a tile click adds or removes
one. The knocked-out traces come from the cached inspection path (``ui.models.get_trace`` with a
``Knockout``), so the fast path and training never see a knockout.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st
import torch

from gpt import Trace
from gpt.interpret import (
    ABLATIONS,
    Knockout,
    check_heads,
    explain,
    log_prob,
    rank_heads,
    second_half_loss,
    token_change,
)
from ui import shell, state
from ui.figures import bar_chart, grid_height, head_grid, heatmap
from ui.models import compute_slot
from ui.render import show_figure
from ui.text import md_escape
from ui.why_figures import frame_heads, signed_bars
from ui.why_views import Choice, candidates, token_name, trace_of

Head = tuple[int, int]
GRID_KEY, RANK_KEY = "why_heads_grid", "why_rank_result"
THUMB_SIZE = 24  # a small grid: each tile is a thumbnail of the head's pattern
GRID_MOST_PX = 420  # the grid's height for a small model (tiles never shrink under 60 px)
ABLATION_LABELS = {"mean": "its mean over positions (default)", "zero": "zeros"}
RANK_BY = {"prediction": "the explained prediction", "induction": "the induction test"}


def parse_heads(text: str) -> tuple[list[Head], list[str]]:
    """'0.1, 2.3' -> ([(0, 1), (2, 3)], []); parts that are not layer.head come back as the second list."""
    heads, bad = [], []
    for part in (p.strip() for p in str(text).split(",")):
        layer, dot, head = part.partition(".")
        if dot and layer.isdigit() and head.isdigit():
            heads.append((int(layer), int(head)))
        elif part:
            bad.append(part)
    return heads, bad


def heads_text(heads: list[Head]) -> str:
    return ",".join(f"{layer}.{head}" for layer, head in sorted(set(heads)))


def _names(heads: list[Head]) -> str:
    return ", ".join(f"layer {layer} head {head}" for layer, head in heads[:6]) + (" …" if len(heads) > 6 else "")


def resolve_knockout(n_layer: int, n_head: int) -> Knockout | None:
    """The shared heads and ablation, checked (a link can carry anything); None when nothing is knocked out."""
    heads, bad = parse_heads(str(state.get("why_knockout") or ""))
    known, unknown = check_heads(heads, n_layer, n_head)
    if bad:
        shown = ", ".join(md_escape(b) for b in bad[:5])
        st.warning(f"“{shown}” is not a head: write heads as layer.head, e.g. 0.1. Left out.")
    if unknown:
        st.warning(
            f"{_names(unknown)}: not in this model (layers 0 to {n_layer - 1}, heads 0 to {n_head - 1}). Left out."
        )
    if bad or unknown:
        st.session_state["why_knockout"] = heads_text(known)
    kind = state.get("why_ablation")
    if kind not in ABLATIONS:
        st.warning(f"“{md_escape(kind)}” is not an ablation (mean or zero); using the mean.")
        st.session_state["why_ablation"] = kind = ABLATIONS[0]
    if len(known) == n_layer * n_head:
        st.error(
            f"All {len(known)} heads are knocked out: no attention would be left, so no token could read any other "
            "and the test says nothing about a head. Click a tile to bring at least one head back."
        )
        return None
    return Knockout(tuple(known), kind) if known else None


def _set_heads(heads: list[Head]) -> None:
    st.session_state["why_knockout"] = heads_text(heads)


def toggle(head: Head) -> None:
    heads, _ = parse_heads(str(state.get("why_knockout") or ""))
    _set_heads([h for h in heads if h != head] if head in heads else [*heads, head])


def tile_clicked() -> None:
    points = (st.session_state.get(GRID_KEY) or {}).get("selection", {}).get("points", [])
    where = points[0].get("customdata") if points else None
    if isinstance(where, (list, tuple)) and len(where) == 2:
        toggle((int(where[0]), int(where[1])))


def heads_grid(sel: shell.Selection, trace: Trace, heads: list[Head]) -> None:
    thumbs = torch.stack([explain.thumbnail(layer.attn_weights(), THUMB_SIZE) for layer in trace.layers])
    n_layer, n_head, t, _ = thumbs.shape
    hover = [
        [("knocked out: click to bring it back" if (i, j) in heads else "click to knock it out") for j in range(n_head)]
        for i in range(n_layer)
    ]
    fig = head_grid(
        thumbs.float().numpy(),
        title="Click heads to knock them out (orange cross); click again to bring one back",
        provenance=sel.provenance(knocked_out=len(heads)),
        hover=hover,
    )
    fig.data[1].hovertemplate = "%{hovertext}<extra></extra>"
    fig.update_layout(height=grid_height(n_layer, n_head, most_px=GRID_MOST_PX)[0])  # smaller than All heads'
    frame_heads(fig, heads, t)
    show_figure(fig, None, "knockout_heads", GRID_KEY, tile_clicked)


def heads_buttons(sel: shell.Selection, heads: list[Head]) -> None:
    cfg = sel.loaded.model.config
    layer = explain.clamp_index(state.get("layer"), cfg.n_layer)
    head = explain.clamp_index(state.get("head"), cfg.n_head)
    a, b = st.columns(2)
    a.button(
        f"Knock out layer {layer} head {head} (the head chosen on All heads)",
        key="why_add_selected",
        on_click=_set_heads,
        args=([*heads, (layer, head)],),
        disabled=(layer, head) in heads,
    )
    b.button("Bring every head back", key="why_clear", on_click=_set_heads, args=([],), disabled=not heads)


def show_knockout(sel: shell.Selection, trace: Trace, choice: Choice, knockout: Knockout | None) -> None:
    st.radio(
        "Replace a knocked-out head's output by",
        ABLATIONS,
        format_func=ABLATION_LABELS.get,
        horizontal=True,
        help="The mean keeps the average signal later layers expect, and removes only what the head says about "
        "this token (the usual choice); zero removes everything. The mean at position t covers positions 0 to t.",
        **state.bind("why_ablation", clamp=lambda v: v if v in ABLATIONS else ABLATIONS[0]),
    )
    heads, _ = parse_heads(str(state.get("why_knockout") or ""))
    heads, _ = check_heads(heads, sel.loaded.model.config.n_layer, sel.loaded.model.config.n_head)
    heads_grid(sel, trace, heads)
    heads_buttons(sel, heads)
    if knockout is None:
        if not heads:
            st.info("No head is knocked out yet: click a tile above.")
    else:
        after = trace_of(sel, knockout)
        if after is None:
            return
        before_after(sel, trace, after, choice, knockout)
        induction_test(sel, knockout)
    rank_section(sel, trace, choice)


def before_after(sel: shell.Selection, before: Trace, after: Trace, choice: Choice, knockout: Knockout) -> None:
    change = token_change(before, after, choice.position, choice.target)
    name = md_escape(token_name(sel, choice.target))  # metric labels are Markdown
    a, b, c = st.columns(3)
    a.metric(f"log P({name}) before", f"{change.before:.3f}")
    b.metric(f"log P({name}) after", f"{change.after:.3f}", delta=f"{change.delta:+.3f}", delta_color="off")
    c.metric(f"P({name}) before → after", f"{math.exp(change.before):.3f} → {math.exp(change.after):.3f}")
    left, right = st.columns(2)
    for column, trace, when, key in ((left, before, "before", "why_before"), (right, after, "after", "why_after")):
        top = candidates(trace, choice.position)
        frame = pd.DataFrame(
            {
                "token": [token_name(sel, i) for i, _ in top],
                "id": [i for i, _ in top],
                "probability": [p for _, p in top],
            }
        )
        ids = list(frame["id"])
        with column:
            fig = bar_chart(
                list(frame["token"]),
                list(frame["probability"]),
                title=f"Next token {when} the knockout",
                provenance=sel.provenance(ablation=knockout.kind, heads=len(knockout.heads)),
                highlight=ids.index(choice.target) if choice.target in ids else None,
            )
            show_figure(fig, frame, f"knockout_{when}", key=key)


def induction_sequence(sel: shell.Selection) -> tuple[tuple[int, ...], int] | None:
    """The repeated random sequence of the All heads page (the sentence itself when it is one)."""
    if sel.seed is not None and sel.period:
        return sel.token_ids, sel.period
    cfg = sel.loaded.model.config
    if cfg.block_size < 4:
        return None
    ids, period = explain.induction_sequence(sel.loaded.tokenizer.vocab_size, cfg.block_size, seed=0)
    return tuple(ids), period


def induction_test(sel: shell.Selection, knockout: Knockout) -> None:
    found = induction_sequence(sel)
    if found is None:
        return
    ids, period = found
    before, after = trace_of(sel, ids=ids), trace_of(sel, knockout, ids=ids)
    if before is None or after is None:
        return
    loss_before, loss_after = second_half_loss(before, period), second_half_loss(after, period)
    st.metric(
        f"Induction test: loss on the second copy of {period} random tokens shown twice (nats)",
        f"{loss_after:.3f}",
        delta=f"{loss_after - loss_before:+.3f} (from {loss_before:.3f})",
        delta_color="inverse",
    )
    st.caption(
        "An induction head lets the model copy the second half (after A came B last time, so B again): knocking "
        "one out raises this loss. The first token of the copy is not counted; nothing before it predicts it."
    )


def rank_section(sel: shell.Selection, trace: Trace, choice: Choice) -> None:
    st.subheader("Rank all heads")
    by = st.radio("Rank by their effect on", list(RANK_BY), format_func=RANK_BY.get, horizontal=True, key="why_rank_by")
    kind = state.get("why_ablation") if state.get("why_ablation") in ABLATIONS else ABLATIONS[0]
    found = induction_sequence(sel) if by == "induction" else None
    if by == "induction" and found is None:
        st.info("This model's context is too short for the induction test.")
        return
    key = (sel.model_id, sel.token_ids, choice.position, choice.target, kind, by)
    if st.button("Rank all heads (knock out each alone)", icon=":material/sort:", key="why_rank"):
        base = trace if found is None else trace_of(sel, ids=found[0])
        if base is None:
            return
        if found is None:
            measure, what = (
                (lambda t: log_prob(t, choice.position, choice.target)),
                f"log P({token_name(sel, choice.target)})",
            )
        else:
            measure, what = (lambda t: second_half_loss(t, found[1])), "induction-test loss"
        bar = st.progress(0.0, text="Knocking out each head…")
        effects = rank_heads(
            sel.loaded.model, base, measure, kind,
            progress=lambda done, total: bar.progress(done / total, text=f"{done} of {total} heads"),
            step_guard=compute_slot,
        )  # fmt: skip
        bar.empty()
        st.session_state[RANK_KEY] = {"key": key, "effects": effects, "what": what}
    result = st.session_state.get(RANK_KEY)
    if not result or result["key"] != key:
        st.caption("Knocks out every head alone and ranks the heads by how much that changes the number chosen.")
        return
    show_ranking(sel, result["effects"], result["what"], kind)


def show_ranking(sel: shell.Selection, effects: list, what: str, kind: str) -> None:
    frame = pd.DataFrame(
        [(e.layer, e.head, e.change.before, e.change.after, e.change.delta) for e in effects],
        columns=["layer", "head", "before", "after", "change"],
    )
    top = effects[:15]
    fig = signed_bars(
        [f"L{e.layer} H{e.head}" for e in top],
        [e.change.delta for e in top],
        title=f"Change in {what} when each head alone is knocked out ({kind} ablation), largest first",
        value_title=f"change in {what}",
        provenance=sel.provenance(ablation=kind),
    )
    show_figure(fig, frame, "knockout_ranking", key="why_ranking")
    cfg = sel.loaded.model.config
    grid = torch.zeros(cfg.n_layer, cfg.n_head, dtype=torch.float64)
    for e in effects:
        grid[e.layer, e.head] = e.change.delta
    fig = heatmap(
        grid.numpy(), [f"layer {i}" for i in range(cfg.n_layer)], [f"head {j}" for j in range(cfg.n_head)],
        title=f"Change in {what}, every head", kind="values", provenance=sel.provenance(ablation=kind),
        row_title="layer", col_title="head",
    )  # fmt: skip
    show_figure(fig, None, "knockout_ranking_grid", key="why_ranking_grid")

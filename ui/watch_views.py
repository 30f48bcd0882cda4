"""The Watch page's views: step controls (scrub, play, follow a live run), the attention pattern beside
its change, and each head's type scores per layer.

Which step is shown is decided by ``ui/watch_steps.py`` (pure); this module keeps that decision in
session state between the fragment's ticks and draws it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from gpt import visible
from gpt.runs import SCORE_KINDS, ProbeRecord, head_score_series, probe_file, read_probe_weights
from ui import figures, presenter
from ui.render import show_figure
from ui.watch_figures import fit_beside, head_score_facets
from ui.watch_steps import DEFAULT_SPEED, PLAY_SPEEDS, play_start, played_index, shown_index, step_indicator

SCORE_LABELS = {
    "previous_token": "previous-token score",
    "first_token": "first-token score",
    "induction": "induction score",
}
# Plain session keys, not widget keys: they must outlive runs in which no widget of theirs is drawn.
FOLLOW = "watch_follow"  # show the newest evaluation as it appears (the default)
PLAYING = "watch_playing"
PLAY_FRESH = "watch_play_fresh"  # Play was just pressed: show where it starts before the first advance
FOR_RUN = "watch_for_run"  # the run these choices belong to
# Widget keys.
STEP = "watch_step"  # the step slider; its value is set here, before it is drawn, on every run
SPEED = "watch_speed"


def reset_for_run(run_id: str) -> None:
    """A newly picked run opens at its newest evaluation, not playing."""
    if st.session_state.get(FOR_RUN) != run_id:
        st.session_state[FOR_RUN] = run_id
        st.session_state[FOLLOW] = True
        st.session_state[PLAYING] = False
        st.session_state.pop(STEP, None)


def playing() -> bool:
    return bool(st.session_state.get(PLAYING, False))


def speed() -> float:
    value = st.session_state.get(SPEED, DEFAULT_SPEED)
    return value if value in PLAY_SPEEDS else DEFAULT_SPEED


def current_index(iters: list[int]) -> int:
    """The evaluation to show now; while playing, each call (one fragment tick) moves one step on."""
    following = bool(st.session_state.get(FOLLOW, True)) and not playing()
    index = shown_index(iters, st.session_state.get(STEP), following)
    if playing() and not st.session_state.pop(PLAY_FRESH, False):
        after = played_index(len(iters), index, loop=bool(st.session_state.get("watch_loop", False)))
        if after is None:  # the end: stop there, and keep up with a live run from now on
            st.session_state[PLAYING] = False
            st.session_state[FOLLOW] = True
        else:
            index = after
    st.session_state[STEP] = iters[index]
    return index


def _step_moved(latest: int) -> None:
    """Scrubbing pauses playback; scrubbing to the newest step follows the run again."""
    st.session_state[PLAYING] = False
    st.session_state[FOLLOW] = st.session_state[STEP] >= latest


def _follow_switched() -> None:
    st.session_state[FOLLOW] = st.session_state["w_watch_follow"]
    if st.session_state[FOLLOW]:
        st.session_state[PLAYING] = False


def _play_pressed(start_step: int, at_latest: bool) -> None:
    """Pause keeps the step shown (and follows a live run only if that is its newest); Play starts at
    ``start_step`` and shows it before the first move."""
    if playing():
        st.session_state[PLAYING] = False
        st.session_state[FOLLOW] = at_latest
        return
    st.session_state.update({PLAYING: True, FOLLOW: False, PLAY_FRESH: True, STEP: start_step})


def controls(n_layer: int, n_head: int, iters: list[int], index: int, live: bool, max_iters: int) -> tuple[int, int]:
    """Layer and head, play/pause with its speed, the step slider, following a live run, and where we
    are ('Step 300 of 1,000 · evaluation 4 of 11'); returns the chosen layer and head."""
    for key, size in (("watch_layer", n_layer), ("watch_head", n_head)):
        if st.session_state.get(key, 0) >= size:
            st.session_state[key] = 0  # the previous run had more layers or heads
    top = st.columns([1, 1, 1.4, 2.4], vertical_alignment="bottom")
    layer = top[0].selectbox("Layer", list(range(n_layer)), key="watch_layer")
    head = top[1].selectbox("Head", list(range(n_head)), key="watch_head")
    if len(iters) < 2:
        st.markdown(f"**{step_indicator(iters, index, max_iters)}**")
        return layer, head
    label, icon = ("Pause", ":material/pause:") if playing() else ("Play", ":material/play_arrow:")
    start = iters[play_start(len(iters), index)]
    top[2].button(label, icon=icon, key="watch_play", on_click=_play_pressed, args=(start, index == len(iters) - 1))
    top[3].radio(
        "Play speed",
        PLAY_SPEEDS,
        index=PLAY_SPEEDS.index(DEFAULT_SPEED),
        format_func=lambda s: f"{s:g}/s",
        horizontal=True,
        key=SPEED,
        help="Evaluations shown per second.",
    )
    st.select_slider("Training step", iters, key=STEP, on_change=_step_moved, args=(iters[-1],))
    bottom = st.columns([3, 1.3, 2], vertical_alignment="center")
    doing = " · playing" if playing() else " · following the run" if live and st.session_state.get(FOLLOW) else ""
    bottom[0].markdown(f"**{step_indicator(iters, index, max_iters)}**{doing}")
    bottom[1].checkbox("Repeat", key="watch_loop", help="Play starts again from the first step after the last.")
    if live:
        st.session_state["w_watch_follow"] = bool(st.session_state.get(FOLLOW, True)) and not playing()
        bottom[2].toggle(
            "Follow live",
            key="w_watch_follow",
            on_change=_follow_switched,
            help="While the run trains, each new evaluation is shown as soon as it is recorded.",
        )
    return layer, head


@st.cache_data(show_spinner=False, max_entries=256)
def cached_weights(path: str, iteration: int, mtime_ns: int) -> np.ndarray | None:
    """(n_layer, n_head, T, T) weights of one evaluation (mtime in the key: a resume may rewrite it)."""
    return read_probe_weights(Path(path), iteration)


def weights_at(run_path: Path, iteration: int) -> np.ndarray | None:
    file = probe_file(run_path, iteration)
    try:
        mtime = file.stat().st_mtime_ns
    except OSError:
        return None
    return cached_weights(str(run_path), iteration, mtime)


def recorded_shape(run_path: Path, records: list[ProbeRecord]) -> tuple[int, int]:
    """(n_layer, n_head) of the recorded attention: from the last weights file, else from its scores."""
    n_layer, n_head = next(iter(records[-1].scores.values())).shape if records[-1].scores else (0, 0)
    last = weights_at(run_path, records[-1].iter)
    if last is not None:
        n_layer, n_head = last.shape[:2]
    return n_layer, n_head


def masked_upper(values: np.ndarray) -> np.ndarray:
    """Future positions (above the diagonal) shown as masked (−∞) rather than as zero change."""
    out = values.astype(np.float64).copy()
    out[np.triu_indices(out.shape[0], k=1)] = -np.inf
    return out


def heatmap_height(n_tokens: int) -> int:
    """Cells' height for one of the two side-by-side heatmaps: both fit a 1024×768 projector's screen
    for probe sentences up to ~24 tokens (longer ones get smaller cells)."""
    return min(400, max(280, 120 + 12 * n_tokens))


def earlier_weights(run_path: Path, earlier: list[ProbeRecord], shape: tuple[int, ...]):
    """(step, weights) of the latest of ``earlier`` whose attention file reads with ``shape``; None if none."""
    for record in reversed(earlier):
        weights = weights_at(run_path, record.iter)
        if weights is not None and weights.shape == shape:
            return record.iter, weights
    return None


def heatmaps(run_id: str, run_path: Path, records: list[ProbeRecord], index: int, layer: int, head: int) -> None:
    """The head's attention at this step, beside its change since the previous evaluation."""
    record = records[index]
    labels = figures.token_labels([visible(t) for t in record.tokens])
    weights = weights_at(run_path, record.iter)
    if weights is None or layer >= weights.shape[0] or head >= weights.shape[1] or weights.shape[-1] != len(labels):
        st.warning(f"The attention file of step {record.iter} is missing or unreadable.")
        return
    prov = {"run": run_id, "step": record.iter, "layer": layer, "head": head}
    height = heatmap_height(len(labels))
    current = weights[layer, head]
    now, change = st.columns(2)
    with now:
        st.caption("Each row: where one token's attention goes.")
        fig = figures.heatmap(
            current, labels, labels, title="Attention weights at this step", provenance=prov, height=height
        )
        fit_beside(fig, len(labels))
        show_figure(fig, pd.DataFrame(current, index=labels, columns=labels), f"watch-{run_id}-{record.iter}", "w_now")
    with change:
        if index == 0:
            st.info("This is the first evaluation: there is no earlier step to compare with.")
            return
        earlier = earlier_weights(run_path, records[:index], weights.shape)
        if earlier is None:
            st.warning("No earlier step's attention file is readable, so no difference can be shown.")
            return
        before_iter, before = earlier
        more, less = presenter.sign_colours()
        if before_iter != records[index - 1].iter:
            st.caption(
                f"Step {records[index - 1].iter}'s attention file is missing or unreadable: compared with step "
                f"{before_iter}, the latest earlier one."
            )
        st.caption(f"{more.capitalize()}: more than at step {before_iter}; {less}: less.")
        diff = current - before[layer, head]
        title = f"Change since step {before_iter}"
        fig = figures.heatmap(
            masked_upper(diff), labels, labels, title=title, kind="scores", provenance=prov, height=height
        )
        fit_beside(fig, len(labels))
        name = f"watch-diff-{run_id}-{record.iter}"
        show_figure(fig, pd.DataFrame(diff, index=labels, columns=labels), name, "w_diff")


def score_lines(run_id: str, records: list[ProbeRecord], index: int, layer: int, n_layer: int) -> None:
    """Each head's type score over training: one chart per layer, the shown step marked."""
    st.subheader("What kind of head is each head becoming?")
    cols = st.columns(2)
    kind = cols[0].selectbox("Score", SCORE_KINDS, format_func=SCORE_LABELS.get, key="watch_kind")
    scope = cols[1].radio("Heads", ["this layer", "all layers"], horizontal=True, key="watch_scope")
    series = head_score_series(records, kind)
    if series is None:
        st.info("This run recorded no such score.")
        return
    iters, scores = series  # scores: (n_steps, n_layer, n_head)
    layers = [layer] if scope == "this layer" else list(range(n_layer))
    layers = [li for li in layers if li < scores.shape[1]]  # scores recorded with fewer layers
    if not layers:
        st.info("This run recorded no score for this layer.")
        return
    fig = head_score_facets(
        iters,
        scores,
        layers,
        title=f"{SCORE_LABELS[kind]} of each head against the training step",
        y_title=SCORE_LABELS[kind],
        provenance={"run": run_id, "layers": "all" if len(layers) > 1 else layer},
        current_step=records[index].iter,
    )
    columns = {f"L{li} H{h}": scores[:, li, h] for li in layers for h in range(scores.shape[2])}
    table = pd.DataFrame(columns, index=pd.Index(iters, name="iter"))
    show_figure(fig, table, f"watch-scores-{run_id}-{kind}", key="w_scores")
    st.caption(
        "previous-token: weight on the token just before; first-token: weight on token 0 (an 'attention sink'); "
        "induction: measured on a random token sequence repeated twice — weight on the token that followed the "
        "current token last time. The dotted line marks the step shown above."
    )

"""Attention during training: how one head's pattern on the probe sentence forms, step by step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from gpt import visible
from gpt.runs import (
    SCORE_KINDS,
    ProbeRecord,
    head_score_series,
    probe_file,
    read_probe_history,
    read_probe_weights,
)
from ui import figures, state, teacher
from ui.jobs import current_run, manager, publish_run, set_current_run
from ui.render import show_figure

state.init()  # first thing on every page: shared state, and app.py's navigation (ui/state.py)

SCORE_LABELS = {
    "previous_token": "previous-token score",
    "first_token": "first-token score",
    "induction": "induction score",
}


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


def pick_run() -> str | None:
    runs = [r for r in manager().list_runs() if (r.path / "probe.jsonl").is_file()]
    if not runs:
        st.info(
            "No run has recorded attention yet. Start one on the Train page: at every evaluation it saves the "
            "attention of a probe sentence, and this page replays them."
        )
        st.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")
        return None
    ids = [r.run_id for r in runs]
    current = current_run()
    run_id = st.selectbox("Run", ids, index=ids.index(current) if current in ids else 0, key="watch_run")
    if run_id != current:
        set_current_run(run_id)
    return run_id


def masked_upper(values: np.ndarray) -> np.ndarray:
    """Future positions (above the diagonal) shown as masked (−∞) rather than as zero change."""
    out = values.astype(np.float64).copy()
    out[np.triu_indices(out.shape[0], k=1)] = -np.inf
    return out


def heatmaps(
    run_id: str, run_path: Path, records: list[ProbeRecord], index: int, layer: int, head: int, labels: list[str]
) -> None:
    record = records[index]
    weights = weights_at(run_path, record.iter)
    if weights is None or layer >= weights.shape[0] or head >= weights.shape[1] or weights.shape[-1] != len(labels):
        st.warning(f"The attention file of step {record.iter} is missing or unreadable.")
        return
    prov = {"run": run_id, "step": record.iter, "layer": layer, "head": head}
    current = weights[layer, head]
    # Side by side while the cells stay readable; a long probe sentence gets the full width for each.
    cols = st.columns(2) if len(labels) <= 16 else [st.container(), st.container()]
    with cols[0]:
        fig = figures.heatmap(current, labels, labels, title="Attention weights at this step", provenance=prov)
        show_figure(fig, pd.DataFrame(current, index=labels, columns=labels), f"watch-{run_id}-{record.iter}", "w_now")
    with cols[1]:
        if index == 0:
            st.info("This is the first evaluation: there is no earlier step to compare with.")
            return
        before = weights_at(run_path, records[index - 1].iter)
        if before is None or before.shape != weights.shape:
            st.warning("The previous step's attention file is missing, so no difference can be shown.")
            return
        diff = current - before[layer, head]
        title = f"Change since step {records[index - 1].iter} (red: more attention, blue: less)"
        fig = figures.heatmap(masked_upper(diff), labels, labels, title=title, kind="scores", provenance=prov)
        show_figure(
            fig, pd.DataFrame(diff, index=labels, columns=labels), f"watch-diff-{run_id}-{record.iter}", "w_diff"
        )


def score_lines(run_id: str, records: list[ProbeRecord], layer: int, n_layer: int) -> None:
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
    lines = {f"L{li} H{h}": (iters, scores[:, li, h].tolist()) for li in layers for h in range(scores.shape[2])}
    fig = figures.line_chart(
        lines,
        title=f"{SCORE_LABELS[kind]} of each head against the training step",
        x_title="training step",
        y_title=SCORE_LABELS[kind],
        provenance={"run": run_id, "layers": "all" if len(layers) > 1 else layer},
    )
    table = pd.DataFrame({name: ys for name, (_, ys) in lines.items()}, index=pd.Index(iters, name="iter"))
    show_figure(fig, table, f"watch-scores-{run_id}-{kind}", key="w_scores")
    st.caption(
        "previous-token: weight on the token just before; first-token: weight on token 0 (an 'attention sink'); "
        "induction: measured on a random token sequence repeated twice — weight on the token that followed the "
        "current token last time."
    )


def recorded_shape(run_path: Path, records: list[ProbeRecord]) -> tuple[int, int]:
    """(n_layer, n_head) of the recorded attention: from the last weights file, else from its scores."""
    n_layer, n_head = next(iter(records[-1].scores.values())).shape if records[-1].scores else (0, 0)
    last = weights_at(run_path, records[-1].iter)
    if last is not None:
        n_layer, n_head = last.shape[:2]
    return n_layer, n_head


def step_pickers(records: list[ProbeRecord], n_layer: int, n_head: int) -> tuple[int, int, int]:
    """The chosen layer, head and evaluation (an index into ``records``)."""
    for key, size in (("watch_layer", n_layer), ("watch_head", n_head)):
        if st.session_state.get(key, 0) >= size:
            st.session_state[key] = 0  # the previous run had more layers or heads
    cols = st.columns([1, 1, 3])
    layer = cols[0].selectbox("Layer", list(range(n_layer)), key="watch_layer")
    head = cols[1].selectbox("Head", list(range(n_head)), key="watch_head")
    iters = [r.iter for r in records]
    if len(iters) > 1:
        step = cols[2].select_slider("Training step", iters, value=iters[-1], key="watch_step")
    else:
        step = iters[0]
        cols[2].caption(f"One evaluation so far (step {step}).")
    return layer, head, iters.index(step)


def main() -> None:
    st.title("Attention during training")
    st.caption(
        "At every evaluation a run records the attention of its probe sentence. Scrub through the steps to see a "
        "head's pattern form, and follow each head's type scores over training."
    )
    publish_run()
    run_id = pick_run()
    if run_id is None:
        return
    try:
        run_path = manager().run_path(run_id)
    except ValueError as exc:
        st.warning(teacher.shown_error(exc))
        return
    history = read_probe_history(run_path)
    for note in history.notes:
        st.caption(f"This run's attention record is damaged: {note}.")
    records = history.records
    if not records:
        st.info("This run has not reached its first evaluation yet; come back in a moment.")
        return
    n_layer, n_head = recorded_shape(run_path, records)
    if n_layer == 0:
        st.warning("The recorded attention of this run cannot be read.")
        return
    layer, head, index = step_pickers(records, n_layer, n_head)
    labels = figures.token_labels([visible(t) for t in records[index].tokens])
    heatmaps(run_id, run_path, records, index, layer, head, labels)
    score_lines(run_id, records, layer, n_layer)


main()

"""Attention during training: how one head's pattern on the probe sentence forms, step by step.

While the run trains, the page keeps up with it: a fragment reads the probe record again every few
seconds and moves to each new evaluation (unless the user picked an earlier one). Play animates
through the recorded steps. The views are in ``ui/watch_views.py``, the step decisions in
``ui/watch_steps.py``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from gpt.runs import JobError, read_probe_history
from ui import qk_views, state, teacher, watch_views
from ui.jobs import current_run, manager, publish_run, set_current_run
from ui.watch_steps import refresh_seconds

state.init()  # first thing on every page: shared state, and app.py's navigation (ui/state.py)


def pick_run() -> str | None:
    """The run to watch: one that recorded attention, or one training now (its first evaluation is on
    its way, and the page shows it as soon as it is recorded)."""
    runs = [r for r in manager().list_runs() if r.active or (r.path / "probe.jsonl").is_file()]
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


def run_progress(run_id: str) -> tuple[bool, int]:
    """(whether the run is queued or training, so that new evaluations may come; its planned steps)."""
    try:
        info = manager().get_run(run_id)
    except JobError:
        return False, 0
    return info.active, info.max_iters


def has_no_attention(run_id: str) -> bool:
    """A run of a model without blocks (n_layer 0) never records attention."""
    try:
        return manager().get_run(run_id).options.get("n_layer") == 0
    except JobError:
        return False


def keep_pace(built_every: float | None, live: bool) -> None:
    """A fragment keeps the ``run_every`` it was first drawn with: when playing, the speed or the run's
    state now ask for another one (or none), the page is redrawn to start it anew."""
    if refresh_seconds(watch_views.playing(), watch_views.speed(), live) != built_every:
        st.rerun(scope="app")


def replay(run_id: str, run_path: Path, built_every: float | None) -> None:
    """Everything that changes as the run goes on or plays: read again on each of the fragment's ticks."""
    live, max_iters = run_progress(run_id)
    keep_pace(built_every, live)
    history = read_probe_history(run_path)
    for note in history.notes:
        st.caption(f"This run's attention record is damaged: {note}.")
    records = history.records
    if not records and has_no_attention(run_id):
        st.info(
            "**This run's model has no attention** (no blocks: a bigram model, like the first rung of the "
            "architecture ladder lab), so it records no attention to replay. Its loss curve is on the Train page."
        )
        return
    if not records:
        later = "it appears here by itself." if live else "come back in a moment."
        st.info(f"This run has not reached its first evaluation yet; {later}")
        return
    n_layer, n_head = watch_views.recorded_shape(run_path, records)
    if n_layer == 0:
        st.warning("The recorded attention of this run cannot be read.")
        return
    iters = [r.iter for r in records]
    index = watch_views.current_index(iters)
    keep_pace(built_every, live)  # playback may just have reached the last step and stopped
    layer, head = watch_views.controls(n_layer, n_head, iters, index, live, max_iters)
    watch_views.heatmaps(run_id, run_path, records, index, layer, head)
    weights = watch_views.weights_at(run_path, records[index].iter)
    qk_views.plane_beside_scores(run_id, run_path, records, index, layer, head, weights)
    watch_views.score_lines(run_id, records, index, layer, n_layer)


def main() -> None:
    st.title("Attention during training")
    st.caption(
        "At every evaluation a run records the attention of its probe sentence, with every head's queries and "
        "keys. Scrub through the steps or press Play to see a head's pattern form, its queries and keys find "
        "each other, and each head's type scores over training."
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
    watch_views.reset_for_run(run_id)
    live, _ = run_progress(run_id)
    # Ticks only while playing or while the run trains: a finished run's page never polls.
    every = refresh_seconds(watch_views.playing(), watch_views.speed(), live)
    st.fragment(replay, run_every=every)(run_id, run_path, every)


main()

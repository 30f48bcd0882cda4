"""The ladder lab's "Train this rung now": the rung's own command through the job manager (a worker
process, never this server; the teacher key in classroom mode), its live curve beside the shipped one,
and the way into the explorer once it has a checkpoint.

A tab remembers the runs it started; otherwise the newest run made for the rung is shown, so a class
watches the run its teacher started.
"""

from __future__ import annotations

import streamlit as st

from gpt.labs import ladder, ladder_results
from gpt.runs import JobError, RunInfo, read_metrics
from ui import run_figures, state, teacher
from ui.jobs import badge, manager
from ui.render import show_figure
from ui.text import md_code

RUNS_KEY = "ladder_runs"  # session: rung id -> the run this tab started for it
RUNG_KEY = "ladder_rung"
REFRESH_S = 2.0
DEVICE = "cpu"  # the shipped numbers and their one-minute budget are the CPU's


def rung_run(rung: ladder.Rung) -> str | None:
    """The run to show for ``rung``: the one this tab started, else the newest one made for it."""
    started = st.session_state.get(RUNS_KEY, {}).get(rung.rung_id)
    if started:
        return started
    made = [r for r in manager().list_runs() if ladder.is_rung_run(r.run_id, rung)]
    return max(made, key=lambda r: r.created_at).run_id if made else None


def run_info(run_id: str | None) -> RunInfo | None:
    if run_id is None:
        return None
    try:
        return manager().get_run(run_id)
    except JobError:
        return None  # deleted meanwhile: as if there were none


def start(rung: ladder.Rung) -> None:
    try:
        run_id = manager().submit(f"{ladder.RUN_PREFIX}{rung.rung_id}", rung.settings(), DEVICE)
    except (JobError, OSError) as exc:
        st.error(f"The run could not be started: {teacher.shown_error(exc)}")
        return
    st.session_state.setdefault(RUNS_KEY, {})[rung.rung_id] = run_id


def train_section(results: ladder_results.LadderResults | None) -> None:
    st.subheader("Train a rung now")
    teacher.key_box()
    rung = ladder.rung_by_id(
        st.selectbox("Rung", ladder.RUNG_IDS, format_func=lambda i: ladder.rung_by_id(i).label, key=RUNG_KEY)
    )
    took = f"; the shipped runs took {results.by_id(rung.rung_id).seconds.mean:.0f} s each" if results else ""
    st.caption(
        "It runs this command in a training process of its own (the first seed's command of the shipped table), "
        f"so the pages stay responsive{took}."
    )
    st.code(ladder.train_command(rung), language="bash", wrap_lines=True)
    info = run_info(rung_run(rung))
    busy = info is not None and info.active
    allowed = teacher.require_teacher(teacher.RUN_ACTIONS)
    clicked = st.button(
        "Train this rung now",
        icon=":material/model_training:",
        type="primary",
        key="ladder_train",
        disabled=busy or not allowed,
        help="This rung is training now: watch it below." if busy else None,
    )
    if clicked and allowed and not busy:
        start(rung)
        info = run_info(rung_run(rung))
    if info is None:
        return
    every = REFRESH_S if info.active else None  # a finished run's view never polls
    st.fragment(live_run, run_every=every)(info.run_id, rung.rung_id, results, every)


def shipped_curves(results: ladder_results.LadderResults | None, rung: ladder.Rung) -> dict:
    if results is None:
        return {}
    curve = results.by_id(rung.rung_id).curve
    name = f"shipped, seed {curve.seed}"
    return {name: {"train": tuple(zip(*curve.train)) or ((), ()), "val": tuple(zip(*curve.val)) or ((), ())}}


def live_run(run_id: str, rung_id: str, results: ladder_results.LadderResults | None, every: float | None) -> None:
    """The run's state, progress and curve beside the shipped one; re-read every 2 s while it trains."""
    info = run_info(run_id)
    if info is None:
        st.warning("This run is gone (it may have been deleted on the Runs page).")
        return
    if (every is not None) != info.active:
        st.rerun(scope="app")  # it started or ended: draw the view again, polling only while it trains
    rung = ladder.rung_by_id(rung_id)
    st.markdown(f"{badge(info.state)} · {md_code(info.run_id)}")
    if info.state in ("failed", "diverged"):
        st.error(teacher.shown_error(info.message))
    if info.max_iters:
        done = min(1.0, info.iter / info.max_iters)
        st.progress(done, text=f"step {info.iter:,} of {info.max_iters:,}")
    metrics = read_metrics(info.path, max_points=400)
    curves = shipped_curves(results, rung)
    curves[info.run_id] = {
        "train": (metrics.train_iters, metrics.train_loss),
        "val": (metrics.val_iters, metrics.val_loss),
    }
    fig = run_figures.loss_curves(curves, title=f"{rung.label}: this run beside the shipped one")
    show_figure(fig, None, f"ladder-live-{rung.rung_id}", key=f"ladder_live_{info.run_id}")
    st.caption(
        "Same command, same seed: the same initial weights and the same batches, so the two curves should lie "
        "on top of each other (up to the rounding of another thread count)."
    )
    if info.has_checkpoint:
        open_button(info, rung)


def open_button(info: RunInfo, rung: ladder.Rung) -> None:
    """Into the explorer with this run's model: attention for a rung that has it, the next token otherwise."""
    if st.button("Open in the explorer", icon=":material/search:", key=f"ladder_open_{info.run_id}"):
        state.put("model", f"run:{info.run_id}")
        st.switch_page("pages/attention.py" if rung.has_attention else "pages/next_token.py")

"""The live dashboard of one training run: a fragment that re-reads the run folder every 2 s."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gpt.runs import JobError, Metrics, RunInfo, eta_seconds, read_metrics, read_samples
from ui import run_figures, state, teacher
from ui.jobs import badge, format_duration, manager, set_current_run
from ui.render import show_figure
from ui.text import md_code, md_escape

REFRESH_S = 2.0
MAX_CHART_POINTS = 400


def loss_table(metrics: Metrics) -> pd.DataFrame:
    train = pd.DataFrame({"iter": metrics.train_iters, "train_loss": metrics.train_loss})
    val = pd.DataFrame({"iter": metrics.val_iters, "val_loss": metrics.val_loss})
    return train.merge(val, on="iter", how="outer").sort_values("iter").set_index("iter")


def provenance(info: RunInfo) -> dict[str, object]:
    options = info.options
    return {"run": info.run_id, "device": info.device or None, "seed": options.get("seed")}


def loss_chart(info: RunInfo, metrics: Metrics, key: str) -> None:
    if not metrics.train_iters and not metrics.val_iters:
        st.info("No loss values yet: the first ones appear after the first logged steps.")
        return
    curves = {
        info.run_id: {
            "train": (metrics.train_iters, metrics.train_loss),
            "val": (metrics.val_iters, metrics.val_loss),
        }
    }
    fig = run_figures.loss_curves(curves, title="Loss while training", provenance=provenance(info))
    show_figure(fig, loss_table(metrics), f"loss-{info.run_id}", key=key)


def _numbers(info: RunInfo, metrics: Metrics) -> None:
    last = metrics.last
    cols = st.columns(5)
    train_loss = metrics.train_loss[-1] if metrics.train_loss else None
    val_loss = metrics.val_loss[-1] if metrics.val_loss else None
    cols[0].metric("train loss", f"{train_loss:.3f}" if train_loss is not None else "–")
    cols[1].metric("val loss", f"{val_loss:.3f}" if val_loss is not None else "–")
    tps = last.get("tokens_per_s")
    cols[2].metric("tokens / s", f"{tps:,.0f}" if isinstance(tps, (int, float)) else "–")
    cols[3].metric("time left (ETA)", format_duration(eta_seconds(info, metrics)) if info.state == "running" else "–")
    lr = last.get("lr")
    cols[4].metric("learning rate", f"{lr:.2e}" if isinstance(lr, (int, float)) else "–")


def _message(info: RunInfo) -> None:
    if info.state in ("failed", "diverged"):
        st.error(f"{badge(info.state)}: {teacher.shown_error(info.message)}")
    elif info.state in ("interrupted", "stopped"):
        why = teacher.shown_error(info.message) if info.state == "interrupted" else f"Stopped at step {info.iter:,}"
        hint = " Resume it to go on from its last checkpoint." if info.has_checkpoint else ""
        (st.warning if info.state == "interrupted" else st.info)(f"{why}.{hint}")
    elif info.state == "queued":
        st.info(teacher.shown_error(info.message))


def _sample(info: RunInfo) -> None:
    samples = read_samples(info.path)
    if not samples:
        st.caption("A text sample appears at each evaluation.")
        return
    latest = samples[-1]
    st.markdown(f"**Sample at step {latest['iter']:,}** (fixed prompt and seed, so only the model changes)")
    # Both parts are the run's text, so st.code: shown as typed, never as Markdown or HTML.
    prompt = latest.get("prompt")
    has_prompt = isinstance(prompt, str) and bool(prompt)
    if has_prompt:
        st.caption("Prompt, given to the model:")
        st.code(prompt, language=None, wrap_lines=True)
    st.caption("Continued by the model:" if has_prompt else "Written by the model:")
    st.code(latest["text"], language=None, wrap_lines=True)


def _actions(info: RunInfo) -> None:
    allowed = (info.active or info.resumable) and teacher.require_teacher(teacher.RUN_ACTIONS)
    cols = st.columns(3)
    stop = info.active and cols[0].button(
        "Stop", icon=":material/stop:", key=f"stop_{info.run_id}", type="primary", disabled=not allowed
    )
    if stop and allowed:
        try:
            st.toast(md_escape(manager().stop(info.run_id)))
        except JobError as exc:
            st.warning(teacher.shown_error(exc))
    resume = info.resumable and cols[0].button(
        "Resume", icon=":material/play_arrow:", key=f"resume_{info.run_id}", disabled=not allowed
    )
    if resume and allowed:
        try:
            manager().resume(info.run_id)
        except (JobError, OSError) as exc:
            st.warning(teacher.shown_error(exc))
    if info.has_checkpoint and cols[1].button("Open in explorer", icon=":material/search:", key=f"open_{info.run_id}"):
        state.put("model", f"run:{info.run_id}")
        st.switch_page("pages/attention.py")
    if cols[2].button("Attention during training", icon=":material/movie:", key=f"watch_{info.run_id}"):
        set_current_run(info.run_id)
        st.switch_page("pages/watch.py")


@st.fragment(run_every=REFRESH_S)
def live_dashboard(run_id: str) -> None:
    """Progress, losses, speed, ETA, learning rate, the latest sample and Stop, refreshed every 2 s."""
    try:
        info = manager().get_run(run_id)
    except JobError as exc:
        st.warning(f"Run “{md_escape(run_id)}” cannot be shown: {teacher.shown_error(exc)}. It may have been deleted.")
        set_current_run(None)  # a reload should not keep asking for it
        return
    st.subheader(f"{badge(info.state)} · {md_code(info.run_id)}")
    _message(info)
    if info.max_iters:
        done = min(1.0, info.iter / info.max_iters)
        st.progress(done, text=f"step {info.iter:,} of {info.max_iters:,} ({done:.0%})")
    metrics = read_metrics(info.path, max_points=MAX_CHART_POINTS)
    _numbers(info, metrics)
    _actions(info)
    loss_chart(info, metrics, key=f"live_loss_{run_id}")
    _sample(info)

"""Runs: every training run on disk with its true status; compare curves; open, resume, stop, delete."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import streamlit as st

from gpt.runs import JobError, RunInfo, dir_size, read_metrics
from ui import run_figures, state, teacher
from ui.jobs import badge, current_run, format_bytes, manager, publish_run, set_current_run
from ui.render import show_figure
from ui.text import md_escape

state.init()  # first thing on every page: shared state, and app.py's navigation (ui/state.py)

MAX_COMPARE = 8


def rounded_loss(value: object) -> float | None:
    return round(float(value), 4) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def run_row(info: RunInfo) -> dict[str, object]:
    o = info.options
    shape = f"{o['n_layer']}×{o['n_head']}×{o['n_embd']}" if {"n_layer", "n_head", "n_embd"} <= set(o) else "–"
    return {
        "run": info.run_id,
        "status": str(info.state),  # the word the "One run" section and the dashboard show
        "step": f"{info.iter:,} / {info.max_iters:,}" if info.max_iters else f"{info.iter:,}",
        "layers×heads×dims": shape,
        "tokenizer": o.get("tokenizer", "–"),
        "context": o.get("block_size"),
        "final val loss": rounded_loss(info.summary.get("final_val_loss")),
        "best val loss": rounded_loss(info.summary.get("best_val_loss")),
        "tokens/s": round(info.summary["tokens_per_s"]) if rounded_loss(info.summary.get("tokens_per_s")) else None,
        "device": info.device or "–",
        "size": format_bytes(dir_size(info.path)),
        "started": dt.datetime.fromtimestamp(info.created_at).strftime("%Y-%m-%d %H:%M") if info.created_at else "–",
    }


def compare_section(runs: list[RunInfo]) -> None:
    st.subheader("Compare loss curves")
    ids = [r.run_id for r in runs]
    default = ids[: min(3, len(ids))]
    chosen = st.multiselect("Runs to compare", ids, default=default, max_selections=MAX_COMPARE, key="runs_compare")
    if not chosen:
        st.info("Choose one or more runs to draw their curves.")
        return
    curves, tables = {}, []
    for run_id in chosen:
        info = next(r for r in runs if r.run_id == run_id)
        metrics = read_metrics(info.path, max_points=300)
        curves[run_id] = {
            "train": (metrics.train_iters, metrics.train_loss),
            "val": (metrics.val_iters, metrics.val_loss),
        }
        tables.append(pd.DataFrame({"run": run_id, "iter": metrics.val_iters, "val_loss": metrics.val_loss}))
    if not any(c["train"][0] or c["val"][0] for c in curves.values()):
        st.info("These runs have no loss values yet.")
        return
    fig = run_figures.loss_curves(curves, title="Loss curves (dashed: validation)", provenance={"runs": len(chosen)})
    show_figure(fig, pd.concat(tables, ignore_index=True), "runs-compare", key="runs_compare_chart")


def open_in_explorer(info: RunInfo) -> None:
    state.put("model", f"run:{info.run_id}")
    st.switch_page("pages/attention.py")


def manage_section(runs: list[RunInfo]) -> None:
    st.subheader("One run")
    ids = [r.run_id for r in runs]
    current = current_run()
    index = ids.index(current) if current in ids else 0
    run_id = st.selectbox("Run", ids, index=index, key="runs_selected")
    info = next(r for r in runs if r.run_id == run_id)
    st.markdown(f"**{badge(info.state)}** · step {info.iter:,} of {info.max_iters:,}")
    if info.message:
        (st.error if info.state in ("failed", "diverged") else st.caption)(teacher.shown_error(info.message))
    allowed = teacher.require_teacher(teacher.RUN_ACTIONS)
    cols = st.columns(5)
    if cols[0].button(
        "Live dashboard", icon=":material/monitoring:", key="runs_watch", help="Follow this run on the Train page"
    ):
        set_current_run(run_id)
        st.switch_page("pages/train.py")
    if cols[1].button("Open in explorer", icon=":material/search:", key="runs_open", disabled=not info.has_checkpoint):
        open_in_explorer(info)
    if cols[2].button("Attention during training", icon=":material/movie:", key="runs_attention"):
        set_current_run(run_id)
        st.switch_page("pages/watch.py")
    stop = info.active and cols[3].button("Stop", icon=":material/stop:", key="runs_stop", disabled=not allowed)
    if stop and allowed:
        run_action(lambda: st.toast(manager().stop(run_id)))
    resume = info.resumable and cols[3].button(
        "Resume",
        icon=":material/play_arrow:",
        key="runs_resume",
        help="Continue from its last checkpoint",
        disabled=not allowed,
    )
    if resume and allowed:
        if run_action(lambda: manager().resume(run_id)):
            set_current_run(run_id)
            st.rerun()
    if not info.has_checkpoint:
        st.caption("No checkpoint yet: it is written at the first evaluation.")
    with st.expander("Delete this run", icon=":material/delete:"):
        confirm = st.checkbox(
            f"Yes, delete “{md_escape(run_id)}” with its checkpoint and logs for good",
            key=f"runs_confirm_{run_id}",
            disabled=not allowed,
        )
        delete = st.button("Delete", key="runs_delete", disabled=not (confirm and allowed), type="primary")
        if delete and confirm and allowed:
            if run_action(lambda: manager().delete(run_id)):
                if current_run() == run_id:
                    set_current_run(None)
                st.toast(f"Deleted {md_escape(run_id)}")
                st.rerun()
    with st.expander("Settings of this run"):
        options = {k: teacher.shown_text(v) if isinstance(v, str) else v for k, v in info.options.items()}
        st.json(options or {"note": "the worker has not written its settings yet"})


def run_action(action: Callable[[], object]) -> bool:
    """Do ``action``; a refused or failed one ends in a message (and False), not a traceback."""
    try:
        action()
    except (JobError, OSError) as exc:
        st.error(teacher.shown_error(exc))
        return False
    return True


def main() -> None:
    st.title("Runs")
    teacher.key_box()
    publish_run()
    runs = manager().list_runs()
    if not runs:
        st.info("No training runs yet. Start one on the Train page; it will be listed here.")
        st.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")
        return
    st.caption(
        f"{len(runs)} run(s) in {teacher.shown_path(manager().runs_dir, teacher.RUNS_FOLDER)}. "
        "Status is read from disk: a run whose process died shows as "
        "interrupted."
    )
    st.dataframe(pd.DataFrame([run_row(r) for r in runs]), hide_index=True, width="stretch")
    manage_section(runs)
    compare_section(runs)


main()

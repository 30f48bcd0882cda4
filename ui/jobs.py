"""The app's one job manager and "the current run" of a browser session (kept in the URL too)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import streamlit as st

from gpt import is_valid_run_id, runs_dir
from gpt.runs import DEFAULT_COMMAND, MAX_QUEUED, JobManager, RunState
from gpt.train import DeviceInfo, list_devices
from ui.models import env_int
from ui.process_wide import once_per_process

RUN_KEY = "run"  # session state key and URL query parameter


@once_per_process  # never st.cache_resource: a cleared cache made a second manager (ui/process_wide.py)
def _manager(folder: str, max_per_device: int, command: tuple[str, ...], max_queued: int) -> JobManager:
    return JobManager(Path(folder), max_per_device=max_per_device, command=command, max_queued=max_queued)


def manager() -> JobManager:
    """The job manager of this server process (one per runs folder and settings), shared by every
    session; no cache clear can replace it.

    ATTN_EXPLORER_MAX_RUNS_PER_DEVICE (default 1) sets how many runs share one device;
    ATTN_EXPLORER_MAX_QUEUED (default 6) how many may wait;
    ATTN_EXPLORER_TRAIN_COMMAND replaces the worker command (e.g. a wrapper script).
    """
    slots = env_int("ATTN_EXPLORER_MAX_RUNS_PER_DEVICE", 1)
    queued = env_int("ATTN_EXPLORER_MAX_QUEUED", MAX_QUEUED)
    custom = os.environ.get("ATTN_EXPLORER_TRAIN_COMMAND")
    command = tuple(shlex.split(custom)) if custom else DEFAULT_COMMAND
    return _manager(str(runs_dir()), slots, command, queued)


@once_per_process
def devices() -> list[DeviceInfo]:
    """This machine's devices, looked up once per process (CUDA's device query is slow)."""
    return list_devices()


def current_run() -> str | None:
    """The run this session is watching: session state first, then the URL (after a reload)."""
    run_id = st.session_state.get(RUN_KEY)
    if run_id is None:
        run_id = st.query_params.get(RUN_KEY)
    if not isinstance(run_id, str) or not is_valid_run_id(run_id):
        st.session_state.pop(RUN_KEY, None)
        if RUN_KEY in st.query_params:
            del st.query_params[RUN_KEY]  # a hand-edited link ('../x'): ignore it, quietly
        return None
    st.session_state[RUN_KEY] = run_id
    return run_id


def set_current_run(run_id: str | None) -> None:
    if run_id is None:
        st.session_state.pop(RUN_KEY, None)
        if RUN_KEY in st.query_params:
            del st.query_params[RUN_KEY]
        return
    st.session_state[RUN_KEY] = run_id
    publish_run()


def publish_run() -> None:
    """Put the current run into the URL (page switches drop query parameters)."""
    run_id = current_run()
    if run_id and st.query_params.get(RUN_KEY) != run_id:
        st.query_params[RUN_KEY] = run_id


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def format_bytes(n: float | None) -> str:
    if n is None:
        return "–"
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


STATE_BADGES = {
    RunState.QUEUED: ":material/hourglass_top:",
    RunState.RUNNING: ":material/directions_run:",
    RunState.FINISHED: ":material/check_circle:",
    RunState.STOPPED: ":material/stop_circle:",
    RunState.INTERRUPTED: ":material/warning:",
    RunState.DIVERGED: ":material/trending_up:",
    RunState.FAILED: ":material/error:",
    RunState.UNKNOWN: ":material/help:",
}


def badge(state: RunState | str) -> str:
    """Markdown (headers, messages): a Material icon, a font bundled with Streamlit, then the state."""
    known = RunState.parse(state)
    return f"{STATE_BADGES[known]} {known}"

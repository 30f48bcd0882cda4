"""The Train page's estimate: parameters, training memory and a measured time, before a run starts.

The speed is measured, not guessed: a few real training steps of the chosen model run in a
child process (``gpt.train.probe_in_subprocess``), once per session and model shape.
"""

from __future__ import annotations

import json

import streamlit as st

from gpt import GPTConfig
from gpt.runs import RunState
from gpt.train import (
    CorpusStats,
    EstimateError,
    ProbeResult,
    TrainSettings,
    corpus_stats,
    count_params,
    estimate_run_seconds,
    memory_estimate,
    probe_in_subprocess,
)
from ui import teacher
from ui.jobs import devices, format_bytes, format_duration, manager


@st.cache_data(show_spinner="Tokenizing the corpus…", max_entries=16)
def cached_corpus_stats(text: str, tokenizer: str, block_size: int) -> CorpusStats:
    return corpus_stats(text, tokenizer, block_size)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_probe(config_json: str, batch_size: int, device: str) -> ProbeResult:
    return probe_in_subprocess(GPTConfig.from_dict(json.loads(config_json)), batch_size, device)


def measured_probe(cfg: GPTConfig, batch_size: int, device: str, busy: bool) -> ProbeResult | None:
    """This model's measured speed on ``device`` (once per session), or None with a message why not."""
    key = (json.dumps(cfg.to_dict(), sort_keys=True), batch_size, device)
    probes = st.session_state.setdefault("train_probes", {})  # what this session has measured
    if key in probes:
        return probes[key]
    # Timing steps next to a running run slows that run down (and measures the sharing), so ask first.
    # In classroom mode only the teacher may slow the class's run down (students wait for it).
    may_force = teacher.is_teacher()
    if busy and not (may_force and st.button("Measure the speed anyway", key="train_probe_anyway")):
        then = (
            "Press the button to measure anyway, or wait until it has finished."
            if may_force
            else "The estimate appears when it has finished."
        )
        st.info(f"A run is training on {device}: measuring the speed now would slow it down. {then}")
        return None
    try:
        probes[key] = cached_probe(*key)
    except EstimateError as exc:
        st.warning(f"The speed probe could not run: {exc}")
        return None
    return probes[key]


def estimate_section(cfg: GPTConfig, settings: TrainSettings, device: str) -> bool:
    """Size, memory and measured time; False (with a message) when the run cannot fit on the device."""
    n_params = count_params(cfg)
    mem = memory_estimate(cfg, settings.batch_size, n_params)
    cols = st.columns(3)
    cols[0].metric("parameters", f"{n_params / 1e6:.2f} M" if n_params >= 1e5 else f"{n_params:,}")
    cols[1].metric("memory for training (estimate)", format_bytes(mem.total_bytes))
    device_memory = next((d.memory_bytes for d in devices() if d.key == device), None)
    if device_memory and mem.total_bytes > device_memory:
        # Never probe it: allocating a model bigger than the memory can freeze the whole machine.
        st.error(
            f"This run does not fit: training needs about {format_bytes(mem.total_bytes)} but {device} has "
            f"{format_bytes(device_memory)}. Use fewer layers, a smaller embedding size or context, or a smaller batch."
        )
        return False
    if device_memory and mem.total_bytes > 0.9 * device_memory:
        st.warning(f"This may not fit in the {format_bytes(device_memory)} of {device}: lower the batch size.")
    busy = any(e.device == device and e.state == RunState.RUNNING for e in manager().queue())
    probe = measured_probe(cfg, settings.batch_size, device, busy)
    if probe is None:
        cols[2].metric("estimated time", "–")
        return True
    total = estimate_run_seconds(
        probe.seconds_per_iter, settings.max_iters, settings.eval_interval, settings.eval_iters
    )
    cols[2].metric("estimated time", format_duration(total))
    measured = f"{probe.seconds_per_iter * 1000:.1f} ms per step ({probe.tokens_per_s:,.0f} tokens/s)"
    if probe.batch_measured and probe.batch_measured < settings.batch_size:
        measured += f", timed with batch {probe.batch_measured} and scaled up to {settings.batch_size}"
    peak = f", peak GPU memory {format_bytes(probe.peak_memory_bytes)}" if probe.peak_memory_bytes else ""
    note = " (a run is training on this device, so it may be faster alone)" if busy else ""
    st.caption(
        f"Measured on {device}{note}: {measured}{peak}, the median of {probe.steps_timed} real training steps "
        f"of this model; evaluations included in the total."
    )
    return True

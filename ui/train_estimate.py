"""The Train page's estimate: parameters, training memory and a measured time, before a run starts.

The speed is measured, not guessed: a few real training steps of the chosen model run in a
child process (``gpt.train.probe_in_subprocess``), once per server process and model shape, and
one at a time: every session sees the same result, and a session that asks while another probe
runs shows "Measuring…" until its turn. Results live in a process-wide store, not in
``st.cache_data``, so a cache clear cannot make a class probe everything again. In classroom mode
only the teacher starts a probe; students see what the teacher has measured.
"""

from __future__ import annotations

import json

import streamlit as st

from gpt import GPTConfig
from gpt.runs import RunState
from gpt.train import (
    CorpusStats,
    EstimateError,
    ProbeBusyError,
    ProbeResult,
    TrainSettings,
    available_memory,
    corpus_stats,
    count_params,
    estimate_run_seconds,
    memory_estimate,
    probe_in_subprocess,
)
from ui import teacher
from ui.jobs import devices, format_bytes, format_duration, manager
from ui.process_wide import BoundedStore

PROBE_POLL_S = 2.0  # how often a waiting session looks whether it may measure now
ProbeKey = tuple[str, int, str]  # (model config as JSON, batch size, device)
# What this server has measured: a result, or the message why the probe failed (it would fail again).
_PROBES: BoundedStore[ProbeKey, ProbeResult | str] = BoundedStore(max_entries=128)


@st.cache_data(show_spinner="Tokenizing the corpus…", max_entries=16)
def cached_corpus_stats(text: str, tokenizer: str, block_size: int) -> CorpusStats:
    return corpus_stats(text, tokenizer, block_size)


def forget_probes() -> None:
    """Drop every measured speed of this process (tests with fake probes; nothing in the app)."""
    _PROBES.clear()


def _measure_now(key: ProbeKey) -> ProbeResult | str | None:
    """Run this probe unless another one is running in the server (then None); remember its outcome."""
    config_json, batch_size, device = key
    try:
        outcome: ProbeResult | str = probe_in_subprocess(
            GPTConfig.from_dict(json.loads(config_json)), batch_size, device, wait=False
        )
    except ProbeBusyError:
        return None
    except EstimateError as exc:
        outcome = str(exc)
    _PROBES.put(key, outcome)
    return outcome


@st.fragment(run_every=PROBE_POLL_S)
def _wait_for_turn(key: ProbeKey) -> None:
    """Another probe is running: say so, and measure as soon as it has ended (then show the page again)."""
    st.info(
        f"Measuring the speed on {key[2]}… another speed probe is running on this server (one at a "
        "time, so they do not slow each other down); this one follows."
    )
    if _PROBES.get(key) is not None or _measure_now(key) is not None:
        st.rerun()


def _student_note(device: str) -> None:
    st.info(
        f"The speed of this model on {device} has not been measured yet. In classroom mode only the "
        "teacher starts a measurement (it slows the machine down for everyone): ask your teacher, and the "
        "estimate appears when it has finished."
    )


def measured_probe(cfg: GPTConfig, batch_size: int, device: str, busy: bool) -> ProbeResult | None:
    """This model's measured speed on ``device`` (once per server), or None with a message why not."""
    key: ProbeKey = (json.dumps(cfg.to_dict(), sort_keys=True), batch_size, device)
    outcome = _PROBES.get(key)
    if outcome is None:
        if not teacher.is_teacher():
            _student_note(device)
            return None
        # Timing steps next to a running run slows that run down (and measures the sharing), so ask first.
        if busy and not st.button("Measure the speed anyway", key="train_probe_anyway"):
            st.info(
                f"A run is training on {device}: measuring the speed now would slow it down. Press the button "
                "to measure anyway, or wait until it has finished."
            )
            return None
        outcome = _measure_now(key)
        if outcome is None:
            _wait_for_turn(key)
            return None
    if isinstance(outcome, str):
        st.warning(f"The speed probe could not run: {outcome}")
        return None
    return outcome


def memory_budget(device: str) -> tuple[int | None, str]:
    """Bytes a run on ``device`` may use, and how to say it: on the CPU the RAM free now (running runs
    and the server already hold the rest), on a GPU its memory."""
    total = next((d.memory_bytes for d in devices() if d.key == device), None)
    if device == "cpu":
        free = available_memory()
        if free is not None:
            of_total = f" (of {format_bytes(total)})" if total else ""
            return free, f"{format_bytes(free)} free now{of_total}"
    return total, format_bytes(total)


def estimate_section(cfg: GPTConfig, settings: TrainSettings, device: str) -> bool:
    """Size, memory and measured time; False (with a message) when the run cannot fit on the device."""
    n_params = count_params(cfg)
    mem = memory_estimate(cfg, settings.batch_size, n_params)
    cols = st.columns(3)
    cols[0].metric("parameters", f"{n_params / 1e6:.2f} M" if n_params >= 1e5 else f"{n_params:,}")
    cols[1].metric("memory for training (estimate)", format_bytes(mem.total_bytes))
    budget, budget_text = memory_budget(device)
    if budget and mem.total_bytes > budget:
        # Never probe it: allocating a model bigger than the memory can freeze the whole machine.
        st.error(
            f"This run does not fit: training needs about {format_bytes(mem.total_bytes)} but {device} has "
            f"{budget_text}. Use fewer layers, a smaller embedding size or context, or a smaller batch."
        )
        return False
    if budget and mem.total_bytes > 0.9 * budget:
        st.warning(f"This may not fit in the {budget_text} of {device}: lower the batch size.")
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

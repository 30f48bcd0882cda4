"""The Train page's estimate: parameters, training memory and a measured time, before a run starts.

The speed is measured, not guessed: a few real training steps of the chosen model run in a child
process, in the background (``gpt.train.ProbeQueue``: one at a time per server process, in the
order asked for), so the page answers at once. Size and memory show immediately, "Measuring…"
stands where the time will be, and a fragment looks every PROBE_POLL_S seconds whether the result
is in. Results live in a process-wide store, not in ``st.cache_data``, so a cache clear cannot make
a class probe everything again, and every session sees each result. In classroom mode only the
teacher starts a probe; students see what the teacher has measured.
"""

from __future__ import annotations

import streamlit as st

from gpt import GPTConfig
from gpt.runs import RunState
from gpt.train import (
    MAX_WAITING_PROBES,
    CorpusStats,
    ProbeOutcome,
    ProbeQueue,
    ProbeRequest,
    ProbeResult,
    TrainSettings,
    available_memory,
    corpus_stats,
    count_params,
    estimate_run_seconds,
    memory_estimate,
)
from ui import teacher
from ui.jobs import devices, format_bytes, format_duration, manager
from ui.process_wide import BoundedStore
from ui.text import md_escape

PROBE_POLL_S = 1.0  # how often a page that waits for a probe looks whether its result is in
FORGET_WAIT_S = 120.0  # longer than a probe may take (PROBE_TIMEOUT_S)
# What this server has measured: a result, or the message why the probe failed (it would fail again).
MEASURED: BoundedStore[ProbeRequest, ProbeOutcome] = BoundedStore(max_entries=128)
SPEED_PROBES = ProbeQueue(MEASURED)  # the one runner of this process; never a cache (ui/process_wide.py)


@st.cache_data(show_spinner="Tokenizing the corpus…", max_entries=16)
def _tokenized_corpus_stats(text: str, tokenizer: str) -> CorpusStats:
    return corpus_stats(text, tokenizer)


def cached_corpus_stats(text: str, tokenizer: str, block_size: int) -> CorpusStats:
    """The corpus tokenized once per tokenizer (changing the context length does not tokenize it
    again), then checked against ``block_size`` (EstimateError)."""
    stats = _tokenized_corpus_stats(text, tokenizer)
    stats.check_block(block_size)
    return stats


def forget_probes() -> None:
    """Drop every waiting probe and measured speed of this process, after the running probe has ended
    (tests with fake probes; nothing in the app)."""
    SPEED_PROBES.forget_waiting()
    SPEED_PROBES.wait_idle(FORGET_WAIT_S)
    MEASURED.clear()


def _device_busy(device: str) -> bool:
    """A worker holds ``device`` (training, or loading to train)."""
    return any(e.device == device and e.state == RunState.RUNNING for e in manager().queue())


def _request_if_teacher(request: ProbeRequest) -> None:
    if teacher.is_teacher():  # checked again on the click: the button is only drawn for the teacher
        SPEED_PROBES.request(request)


def _measuring(device: str, place: int) -> None:
    if place == 0:
        st.info(
            f"Measuring the speed on {device}… a few real training steps of this model run in a separate "
            "process; the estimated time appears here in a few seconds."
        )
    else:
        st.info(
            f"Measuring the speed on {device}… {place} other measurement(s) go first (one at a time, so "
            "they do not slow each other down); this one follows."
        )


def _not_measured_yet(request: ProbeRequest) -> None:
    """Ask for the probe where this tab may, or say why not: a student's tab, a busy device, a full queue."""
    device = request.device
    if not teacher.is_teacher():
        st.info(
            f"The speed of this model on {device} has not been measured yet. In classroom mode only the "
            "teacher starts a measurement (it slows the machine down for everyone): ask your teacher, and the "
            "estimate appears when it has finished."
        )
        return
    # Timing steps next to a running run slows that run down (and measures the sharing), so ask first.
    if _device_busy(device):
        st.info(
            f"A run is training on {device}: measuring the speed now would slow it down. Press the button "
            "to measure anyway, or wait until it has finished."
        )
        st.button("Measure the speed anyway", key="train_probe_anyway", on_click=_request_if_teacher, args=(request,))
        return
    place = SPEED_PROBES.request(request).place
    if place is None:  # the queue is full: the next look asks again
        st.info(
            f"The speed on {device} is measured as soon as there is room: {MAX_WAITING_PROBES} measurements "
            "are waiting on this server already."
        )
    else:
        _measuring(device, place)


def _measured_caption(probe: ProbeResult, settings: TrainSettings, device: str) -> None:
    measured = f"{probe.seconds_per_iter * 1000:.1f} ms per step ({probe.tokens_per_s:,.0f} tokens/s)"
    if probe.batch_measured and probe.batch_measured < settings.batch_size:
        measured += f", timed with batch {probe.batch_measured} and scaled up to {settings.batch_size}"
    peak = f", peak GPU memory {format_bytes(probe.peak_memory_bytes)}" if probe.peak_memory_bytes else ""
    note = " (a run is training on this device, so it may be faster alone)" if _device_busy(device) else ""
    choice = f" The run trains with {md_escape(probe.speed_choice)}." if probe.speed_choice else ""
    st.caption(
        f"Measured on {device}{note}: {measured}{peak}, the median of {probe.steps_timed} real training steps "
        f"of this model; evaluations included in the total.{choice}"
    )


def _metrics(n_params: int, memory_bytes: int, run_time: str) -> None:
    cols = st.columns(3)
    cols[0].metric("parameters", f"{n_params / 1e6:.2f} M" if n_params >= 1e5 else f"{n_params:,}")
    cols[1].metric(
        "training memory",
        format_bytes(memory_bytes),
        help="an estimate: weights, gradients, optimizer state and activations",
    )
    cols[2].metric("estimated time", run_time)


def _estimate(request: ProbeRequest, settings: TrainSettings, n_params: int, memory_bytes: int) -> None:
    """The three numbers and, under them, how the time was measured or where its measurement stands."""
    status = SPEED_PROBES.status(request)
    probe = status.outcome if isinstance(status.outcome, ProbeResult) else None
    run_time = None
    if probe is not None:
        run_time = estimate_run_seconds(
            probe.seconds_per_iter, settings.max_iters, settings.eval_interval, settings.eval_iters
        )
    _metrics(n_params, memory_bytes, format_duration(run_time))
    if probe is not None:
        _measured_caption(probe, settings, request.device)
    elif isinstance(status.outcome, str):
        st.warning(f"The speed probe could not run: {md_escape(status.outcome)}")
    elif status.place is not None:
        _measuring(request.device, status.place)
    else:
        _not_measured_yet(request)


# The same drawing, looked at again every PROBE_POLL_S seconds while the probe is not in: the page's
# other parts do not rerun, and a probe that ends shows its estimate within PROBE_POLL_S.
_estimate_when_measured = st.fragment(run_every=PROBE_POLL_S)(_estimate)


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
    """Size, memory and measured time; False (with a message) when the run cannot fit on the device.

    Never waits for the speed probe: a probe not measured yet is asked for in the background."""
    n_params = count_params(cfg)
    mem = memory_estimate(cfg, settings.batch_size, n_params)
    budget, budget_text = memory_budget(device)
    if budget and mem.total_bytes > budget:
        # Never probe it: allocating a model bigger than the memory can freeze the whole machine.
        _metrics(n_params, mem.total_bytes, "–")
        st.error(
            f"This run does not fit: training needs about {format_bytes(mem.total_bytes)} but {device} has "
            f"{budget_text}. Use fewer layers, a smaller embedding size or context, or a smaller batch."
        )
        return False
    request = ProbeRequest.of(cfg, settings.batch_size, device, settings.optimizer)
    known = SPEED_PROBES.status(request).outcome is not None
    (_estimate if known else _estimate_when_measured)(request, settings, n_params, mem.total_bytes)
    if budget and mem.total_bytes > 0.9 * budget:
        st.warning(f"This may not fit in the {budget_text} of {device}: lower the batch size.")
    return True

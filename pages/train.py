"""Train a model: pick a preset, adjust the knobs, see size/memory/measured time, launch, watch it live."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from gpt import DEFAULT_CORPUS, ConfigError, GPTConfig
from gpt.runs import MAX_UPLOAD_BYTES, JobError, RunState, check_upload
from gpt.train import (
    APP_MAX_LR,
    TRAINING_PRESETS,
    CorpusStats,
    EstimateError,
    ProbeResult,
    SettingsError,
    TrainSettings,
    corpus_stats,
    count_params,
    estimate_run_seconds,
    memory_estimate,
    probe_in_subprocess,
)
from ui import state, teacher
from ui.dashboard import live_dashboard
from ui.jobs import current_run, devices, format_bytes, format_duration, manager, publish_run, set_current_run

state.init()  # first thing on every page: shared state, and app.py's navigation (ui/state.py)

KNOB = "train_{}"  # session key of each TrainSettings field on the form (kept while the page is not shown)
BUNDLED = "Shakespeare (bundled, about 1 MB)"
UPLOAD = "Upload my own .txt file"

# label, min, max, step (ints) / format (floats)
INT_KNOBS = {
    "n_layer": ("layers (n_layer)", 1, 48),
    "n_head": ("heads per layer (n_head)", 1, 64),
    "n_embd": ("embedding size (n_embd)", 8, 4096),
    "block_size": ("context length (block_size)", 8, 4096),
    "batch_size": ("batch size", 1, 1024),
    "max_iters": ("training steps (max_iters)", 1, 1_000_000),
    "warmup_iters": ("warm-up steps", 0, 100_000),
    "eval_interval": ("evaluate every N steps", 1, 100_000),
    "eval_iters": ("batches per evaluation", 1, 1000),
    "seed": ("random seed", 0, 2**31 - 1),
}
FLOAT_KNOBS = {
    "lr": ("learning rate", 1e-6, 1.0, "%.1e"),
    "min_lr": ("final learning rate (min_lr)", 0.0, 1.0, "%.1e"),
    "dropout": ("dropout", 0.0, 0.9, "%.2f"),
    "grad_clip": ("gradient clipping (0 = off)", 0.0, 100.0, "%.2f"),
    "weight_decay": ("weight decay", 0.0, 1.0, "%.2f"),
}
MAIN = ("n_layer", "n_head", "n_embd", "block_size", "batch_size", "max_iters", "lr", "dropout")
TEXT_KNOBS = ("tokenizer", "probe", "sample_prompt")
FORM_KNOBS = (*INT_KNOBS, *FLOAT_KNOBS, *TEXT_KNOBS)  # the rest come from the preset as they are


def apply_preset() -> None:
    preset = TRAINING_PRESETS[st.session_state["train_preset"]]
    for name in FORM_KNOBS:
        value = getattr(preset.settings, name)
        st.session_state[KNOB.format(name)] = "" if value is None else value  # a text box shows None as ""


def init_knobs() -> None:
    """Plain session keys (not widget keys) hold the choices, so they survive page switches."""
    if st.session_state.get("train_preset") not in TRAINING_PRESETS:
        st.session_state["train_preset"] = next(iter(TRAINING_PRESETS))
    st.session_state.setdefault("train_corpus", BUNDLED)
    st.session_state.setdefault("train_device", devices()[0].key)
    if any(KNOB.format(name) not in st.session_state for name in FORM_KNOBS):
        apply_preset()


def knob(name: str, where) -> None:
    key = KNOB.format(name)
    if name in INT_KNOBS:
        label, low, high = INT_KNOBS[name]
        where.number_input(label, min_value=low, max_value=high, step=1, **state.bind(key))
    else:
        label, low, high, fmt = FLOAT_KNOBS[name]
        step = 0.05 if fmt == "%.2f" else 1e-4
        where.number_input(label, min_value=low, max_value=high, step=step, format=fmt, **state.bind(key))


def settings_from_knobs() -> TrainSettings:
    values = {name: st.session_state[KNOB.format(name)] for name in FORM_KNOBS}
    for name in INT_KNOBS:
        values[name] = int(values[name])
    for name in FLOAT_KNOBS:
        values[name] = float(values[name])
    values["sample_prompt"] = values["sample_prompt"] or None  # empty: the worker's default
    return TRAINING_PRESETS[st.session_state["train_preset"]].settings.with_changes(**values)


@st.cache_data(show_spinner=False, max_entries=8)
def bundled_text() -> str:
    return DEFAULT_CORPUS.read_text(encoding="utf-8")


@st.cache_data(show_spinner="Tokenizing the corpus…", max_entries=16)
def cached_corpus_stats(text: str, tokenizer: str, block_size: int) -> CorpusStats:
    return corpus_stats(text, tokenizer, block_size)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_probe(config_json: str, batch_size: int, device: str) -> ProbeResult:
    return probe_in_subprocess(GPTConfig.from_dict(json.loads(config_json)), batch_size, device)


def corpus_section() -> tuple[str | None, bytes | None]:
    """(text, upload bytes or None). text is None when the chosen corpus is unusable (message shown)."""
    choice = st.radio("Corpus", [BUNDLED, UPLOAD], horizontal=True, **state.bind("train_corpus"))
    if choice == BUNDLED:
        return bundled_text(), None
    file = st.file_uploader(
        f"Your text: a UTF-8 .txt file of at most {MAX_UPLOAD_BYTES // 2**20} MB",
        type=["txt"],
        key="train_upload",
        help="It is saved inside the new run's folder (as corpus.txt), so the run can be resumed later.",
    )
    if file is None:
        st.info("Choose a .txt file to train on, or use the bundled Shakespeare.")
        return None, None
    raw = file.getvalue()
    try:
        text = check_upload(raw)
    except JobError as exc:
        st.error(f"This file cannot be used: {exc}")
        return None, None
    st.caption(f"{len(text):,} characters, {len(set(text)):,} different characters.")
    return text, raw


def knobs_section() -> None:
    bound = state.bind("train_preset")

    def preset_chosen() -> None:
        bound["on_change"]()
        apply_preset()

    st.selectbox("Preset", list(TRAINING_PRESETS), key=bound["key"], on_change=preset_chosen)
    preset = TRAINING_PRESETS[st.session_state["train_preset"]]
    st.caption(preset.description)
    st.selectbox(
        "Tokenizer",
        ["char", "gpt2"],
        format_func=lambda k: {"char": "characters", "gpt2": "GPT-2 BPE (50,257 tokens)"}[k],
        **state.bind(KNOB.format("tokenizer")),
    )
    cols = st.columns(4)
    for i, name in enumerate(MAIN):
        knob(name, cols[i % 4])
    with st.expander("More settings: schedule, evaluation, probe sentence, sample prompt"):
        cols = st.columns(4)
        others = [n for n in (*INT_KNOBS, *FLOAT_KNOBS) if n not in MAIN]
        for i, name in enumerate(others):
            knob(name, cols[i % 4])
        st.text_input(
            "Probe sentence (its attention is recorded at every evaluation)", **state.bind(KNOB.format("probe"))
        )
        st.text_input(
            "Sample prompt (empty: the start of the corpus)", max_chars=200, **state.bind(KNOB.format("sample_prompt"))
        )


def device_section() -> str:
    options = devices()
    labels = {d.key: d.label for d in options}
    keys = [d.key for d in options]
    device = st.selectbox(
        "Device",
        keys,
        format_func=lambda k: labels[k],
        **state.bind("train_device", clamp=lambda k: k if k in keys else keys[0]),
    )
    if TRAINING_PRESETS[st.session_state["train_preset"]].wants_gpu and not any(k.startswith("cuda") for k in keys):
        st.warning("This preset is meant for a GPU and none is available here: on the CPU it will be slow.")
    return device


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


@st.fragment(run_every=2.0)
def queue_section() -> None:
    entries = manager().queue()
    if not entries:
        return
    st.markdown("**Queue** — one run per device at a time; the others wait their turn:")
    rows = [
        {"run": e.run_id, "device": e.device, "state": e.state, "place in queue": e.position or "now"} for e in entries
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def launch(settings: TrainSettings, device: str, upload: bytes | None) -> None:
    name = st.text_input("Run name", value="", max_chars=40, placeholder="e.g. class-3-shakespeare", key="train_name")
    allowed = teacher.require_teacher(teacher.RUN_ACTIONS)
    start = st.button(
        "Start training", icon=":material/rocket_launch:", type="primary", key="train_launch", disabled=not allowed
    )
    if start and allowed:
        try:
            run_id = manager().submit(name, settings, device, upload=upload)
        except (JobError, OSError) as exc:
            st.error(f"The run could not be started: {exc}")
            return
        set_current_run(run_id)
        st.rerun()


st.title("Train a model")
teacher.key_box()
init_knobs()
publish_run()

run_id = current_run()
if run_id:
    live_dashboard(run_id)
    st.divider()
    st.header("Start another run")
else:
    st.caption(
        "Training runs in its own process: keep teaching on the other pages while it trains, then open "
        "the trained model in the explorer."
    )

queue_section()
text, upload = corpus_section()
knobs_section()
device = device_section()
settings = settings_from_knobs()
if text is not None:
    try:
        stats = cached_corpus_stats(text, settings.tokenizer, settings.block_size)
        cfg = settings.validate(stats.vocab_size, max_lr=APP_MAX_LR)
    except (EstimateError, SettingsError, ConfigError) as exc:
        st.error(f"These settings cannot be trained: {exc}")
    else:
        st.caption(f"Corpus: {stats.tokens:,} tokens with this tokenizer; 90% train, 10% validate.")
        if estimate_section(cfg, settings, device):
            launch(settings, device, upload)

"""The Train page's form: corpus, preset and knobs, device; read back as ``TrainSettings``.

Each choice lives under a plain session key (``train_<field>``), not only a widget key, so
the form keeps its values while another page is shown.
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from gpt import DEFAULT_CORPUS
from gpt.interpret import POSITION_KIND_TEXT
from gpt.runs import MAX_UPLOAD_BYTES, JobError, check_upload
from gpt.train import TRAINING_PRESETS, TrainSettings
from ui import state
from ui.jobs import devices
from ui.text import md_escape

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
    "muon_lr": ("Muon learning rate (its matrices)", 1e-5, 1.0, "%.1e"),
    "repeat_fraction": ("share of windows that repeat themselves (copying practice)", 0.0, 1.0, "%.2f"),
    "unknown_fraction": ("share of input tokens shown as unknown (gpt2-trimmed)", 0.0, 0.5, "%.2f"),
}
# The architecture ladder's switches (gpt.labs.ladder): train a model with a part left out.
BOOL_KNOBS = {  # label, help
    "mlp": ("feed-forward MLP in each block", "off: attention-only blocks"),
    "residual": ("residual connections", "x + sublayer(x); off: each sublayer's output replaces its input"),
    "layernorm": ("LayerNorm", "ln_1, ln_2 and ln_f; off: the vectors go on unnormalised"),
    "tie_embeddings": ("tied output layer (GPT-2)", "the output layer reuses the token embedding matrix"),
}
MAIN = ("n_layer", "n_head", "n_embd", "block_size", "batch_size", "max_iters", "lr", "dropout")
TEXT_KNOBS = ("tokenizer", "optimizer", "probe", "sample_prompt", "pos_encoding")
FORM_KNOBS = (*INT_KNOBS, *FLOAT_KNOBS, *TEXT_KNOBS, *BOOL_KNOBS)  # the rest come from the preset as they are


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


def knob(name: str, where: DeltaGenerator) -> None:
    """One number box for TrainSettings field ``name``, drawn in ``where`` (a column)."""
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
    for name in BOOL_KNOBS:
        values[name] = bool(values[name])
    values["sample_prompt"] = values["sample_prompt"] or None  # empty: the worker's default
    return TRAINING_PRESETS[st.session_state["train_preset"]].settings.with_changes(**values)


@st.cache_data(show_spinner=False, max_entries=8)
def bundled_text() -> str:
    return DEFAULT_CORPUS.read_text(encoding="utf-8")


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
        st.error(f"This file cannot be used: {md_escape(exc)}")
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
        ["char", "gpt2", "gpt2-trimmed"],
        format_func=lambda k: {
            "char": "characters",
            "gpt2": "GPT-2 BPE (50,257 tokens)",
            "gpt2-trimmed": "GPT-2 BPE, only the tokens in the corpus (a smaller, faster model)",
        }[k],
        **state.bind(KNOB.format("tokenizer")),
    )
    st.selectbox(
        "Optimizer",
        ["muon", "adamw"],
        format_func=lambda k: {
            "muon": "Muon for the blocks' matrices, AdamW for the rest (faster to a good loss)",
            "adamw": "AdamW for everything (nanoGPT's recipe)",
        }[k],
        **state.bind(KNOB.format("optimizer")),
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
    with st.expander("Model parts: positions, MLP, residuals, LayerNorm (leave one out to see why it is there)"):
        st.selectbox(
            "Positions",
            list(POSITION_KIND_TEXT),
            format_func=POSITION_KIND_TEXT.__getitem__,
            **state.bind(KNOB.format("pos_encoding")),
        )
        cols = st.columns(2)
        for i, (name, (label, help_text)) in enumerate(BOOL_KNOBS.items()):
            cols[i % 2].checkbox(label, help=help_text, **state.bind(KNOB.format(name)))


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

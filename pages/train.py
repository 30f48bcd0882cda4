"""Train a model: pick a preset, adjust the knobs, see size/memory/measured time, launch, watch it live.

The form is ``ui/train_form.py``, the size/memory/time estimate ``ui/train_estimate.py`` and the
live view ``ui/dashboard.py``; this page puts them in order and starts the run.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gpt import ConfigError
from gpt.runs import JobError
from gpt.train import APP_MAX_LR, EstimateError, SettingsError, TrainSettings
from ui import state, teacher, train_estimate, train_form
from ui.dashboard import live_dashboard
from ui.jobs import current_run, manager, publish_run, set_current_run
from ui.text import md_escape

state.init()  # first thing on every page: shared state, and app.py's navigation (ui/state.py)


@st.fragment(run_every=2.0)
def queue_section() -> None:
    entries = manager().queue()
    if not entries:
        return
    st.markdown("**Queue** — one run per device at a time; the others wait their turn:")
    # One type per column (text): a column mixing numbers and "now" fails Arrow on every refresh.
    # "state" is the run's status (as the dashboard's header shows it); "now": its worker has the device.
    rows = [
        {"run": e.run_id, "device": e.device, "state": str(e.run_state), "place in queue": str(e.position or "now")}
        for e in entries
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
            st.error(f"The run could not be started: {teacher.shown_error(exc)}")
            return
        set_current_run(run_id)
        st.rerun()


def current_run_section() -> None:
    """The live dashboard of the run this session follows, or a word on how training runs."""
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


def check_and_launch(text: str, settings: TrainSettings, device: str, upload: bytes | None) -> None:
    """Validate the settings against the corpus, show the estimate, and offer the launch if it fits."""
    try:
        stats = train_estimate.cached_corpus_stats(text, settings.tokenizer, settings.block_size)
        cfg = settings.validate(stats.vocab_size, max_lr=APP_MAX_LR)
    except (EstimateError, SettingsError, ConfigError) as exc:
        st.error(f"These settings cannot be trained: {md_escape(exc)}")
        return
    st.caption(f"Corpus: {stats.tokens:,} tokens with this tokenizer; 90% train, 10% validate.")
    if train_estimate.estimate_section(cfg, settings, device):
        launch(settings, device, upload)


def main() -> None:
    st.title("Train a model")
    teacher.key_box()
    train_form.init_knobs()
    publish_run()
    current_run_section()
    queue_section()
    text, upload = train_form.corpus_section()
    train_form.knobs_section()
    device = train_form.device_section()
    settings = train_form.settings_from_knobs()
    if text is not None:
        check_and_launch(text, settings, device, upload)


main()

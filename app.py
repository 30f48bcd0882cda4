"""Attention Explorer: `streamlit run app.py`.

This file only declares the pages. Each page is a file `pages/<url>.py` whose URL is its
file name, and each calls `ui.state.init()` first: on a freshly started server Streamlit's
legacy pages/ mode runs a deep-linked page file alone, and `init()` then switches that mode
off and reruns, so the page opens inside this navigation (see `ui/state.py`).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import presenter, state

# A file of our own: a Material icon as page_icon makes every browser fetch it from Google's font host.
ICON = Path(__file__).resolve().parent / "assets" / "icon.png"

state.init()
st.set_page_config(
    page_title="Attention Explorer",
    page_icon=str(ICON),
    layout="wide",
    initial_sidebar_state=presenter.page_config_sidebar(),
)

PAGES = {
    "Explore a sentence": [
        st.Page("pages/overview.py", title="Overview", icon=":material/home:", url_path="overview", default=True),
        st.Page("pages/tokens.py", title="1 · Tokens", icon=":material/text_fields:", url_path="tokens"),
        st.Page(
            "pages/embeddings.py",
            title="2 · Embeddings & positions",
            icon=":material/scatter_plot:",
            url_path="embeddings",
        ),
        st.Page(
            "pages/attention.py",
            title="3 · Attention, step by step",
            icon=":material/center_focus_strong:",
            url_path="attention",
        ),
        st.Page("pages/heads.py", title="4 · All heads", icon=":material/grid_view:", url_path="heads"),
        st.Page("pages/next_token.py", title="5 · Next token", icon=":material/casino:", url_path="next_token"),
        st.Page("pages/why.py", title="6 · Why this token?", icon=":material/psychology_alt:", url_path="why"),
    ],
    "Train": [
        st.Page("pages/train.py", title="Train a model", icon=":material/model_training:", url_path="train"),
        st.Page("pages/runs.py", title="Runs", icon=":material/monitoring:", url_path="runs"),
        st.Page("pages/watch.py", title="Heads during training", icon=":material/movie:", url_path="watch"),
    ],
    "Labs": [
        st.Page("pages/labs.py", title="Worked examples", icon=":material/science:", url_path="labs"),
    ],
}

# Material icons are a font bundled with Streamlit, so they render offline and without emoji fonts.
page = st.navigation(PAGES)
presenter.sidebar_controls()  # before the page runs: a page that stops early keeps the switch and its look
page.run()

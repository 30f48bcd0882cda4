"""Attention Explorer: `streamlit run app.py`.

This file only declares the pages. Page files live in pages/ and are named `<name>_page.py`
while their URLs are `/<name>`: a file stem equal to its URL would let Streamlit's legacy
pages/ mode run that page alone (without this navigation) on a freshly started server.
"""

from __future__ import annotations

import streamlit as st

from ui import state

st.set_page_config(page_title="Attention Explorer", page_icon=":material/visibility:", layout="wide")
state.init()

PAGES = {
    "Explore a sentence": [
        st.Page("pages/overview_page.py", title="Overview", icon=":material/home:", url_path="overview", default=True),
        st.Page("pages/tokens_page.py", title="1 · Tokens", icon=":material/text_fields:", url_path="tokens"),
        st.Page(
            "pages/embeddings_page.py",
            title="2 · Embeddings & positions",
            icon=":material/scatter_plot:",
            url_path="embeddings",
        ),
        st.Page(
            "pages/attention_page.py",
            title="3 · Attention, step by step",
            icon=":material/center_focus_strong:",
            url_path="attention",
        ),
        st.Page("pages/heads_page.py", title="4 · All heads", icon=":material/grid_view:", url_path="heads"),
        st.Page("pages/next_token_page.py", title="5 · Next token", icon=":material/casino:", url_path="next-token"),
    ],
    "Train": [
        st.Page("pages/train_page.py", title="Train a model", icon=":material/model_training:", url_path="train"),
        st.Page("pages/runs_page.py", title="Runs", icon=":material/monitoring:", url_path="runs"),
        st.Page("pages/watch_page.py", title="Attention during training", icon=":material/movie:", url_path="watch"),
    ],
    "Labs": [
        st.Page("pages/labs_page.py", title="Worked examples", icon=":material/science:", url_path="labs"),
    ],
}

# Material icons are a font bundled with Streamlit, so they render offline and without emoji fonts.
st.navigation(PAGES).run()

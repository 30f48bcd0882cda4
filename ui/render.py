"""Showing a figure the same way everywhere: chart, PNG button, CSV of its numbers."""

from __future__ import annotations

import re

import pandas as pd
import plotly.graph_objects as go
import streamlit as st


def _file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "figure"


def show_figure(fig: go.Figure, data: pd.DataFrame | None, name: str, key: str | None = None) -> None:
    """Render ``fig``; the camera icon saves a PNG and the button below saves ``data`` as CSV."""
    stem = _file_stem(name)
    st.plotly_chart(
        fig,
        width="stretch",
        key=key,
        config={"displaylogo": False, "toImageButtonOptions": {"format": "png", "filename": stem, "scale": 2}},
    )
    if data is not None:
        st.download_button(
            "Download numbers (CSV)",
            data.to_csv().encode("utf-8"),
            file_name=f"{stem}.csv",
            mime="text/csv",
            key=f"csv_{key or stem}",
        )

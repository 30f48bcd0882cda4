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
        csv_button(data, stem, key=f"csv_{key or stem}")


def csv_button(
    data: pd.DataFrame,
    name: str,
    key: str,
    label: str = "Download numbers (CSV)",
    help: str | None = None,
    index: bool = True,
) -> None:
    """A download button that saves ``data`` (exact values) as ``<name>.csv``.

    The CSV is made only when the button is pressed (a callable): a 1,000-token matrix is a
    20 MB text, and making it on every rerun of every session was the server's biggest cost."""
    st.download_button(
        label,
        lambda: data.to_csv(index=index).encode("utf-8"),
        file_name=f"{_file_stem(name)}.csv",
        mime="text/csv",
        key=key,
        help=help,
    )

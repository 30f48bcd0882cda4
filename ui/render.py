"""Showing a figure the same way everywhere: chart, PNG button, CSV of its numbers."""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui.presenter import current_look, style_figure


def _file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "figure"


def show_figure(
    fig: go.Figure,
    data: pd.DataFrame | None,
    name: str,
    key: str | None = None,
    on_click: Callable[[], None] | None = None,
) -> None:
    """Render ``fig`` in the session's palette (and projector sizes while presenting); the camera icon
    saves a PNG and the button below saves ``data`` as CSV. ``on_click`` is called when a point is
    clicked (read the selection from ``st.session_state[key]``)."""
    stem = _file_stem(name)
    clicks = {"on_select": on_click, "selection_mode": "points"} if on_click is not None else {}
    st.plotly_chart(
        style_figure(fig, current_look()),
        width="stretch",
        key=key,
        config={"displaylogo": False, "toImageButtonOptions": {"format": "png", "filename": stem, "scale": 2}},
        **clicks,
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

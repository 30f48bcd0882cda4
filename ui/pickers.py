"""Index sliders bound to the shared layer/head/step values (used by the attention and heads pages)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from gpt.interpret import explain
from ui import state


def index_picker(label: str, key: str, n: int, fmt: Callable[[int], str] = str) -> int:
    """A slider over 0..n-1 bound to the shared value ``key``; a caption when there is only one choice.

    The stored value is clamped first, so a link or an earlier, bigger model can never select
    a layer or head this model does not have.
    """
    if n <= 1:
        st.session_state[key] = 0
        st.caption(f"{label}: {fmt(0)} (the only one)")
        return 0
    return int(
        st.select_slider(
            label,
            options=list(range(n)),
            format_func=fmt,
            **state.bind(key, clamp=lambda v: explain.clamp_index(v, n)),
        )
    )

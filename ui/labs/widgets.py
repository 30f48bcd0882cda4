"""Render helpers shared by the lab views: editable matrices, numbered tables, shapes, predict-then-reveal.

Numbers are shown with 4 decimals, the precision the books print, so a reader can compare digit
by digit. Every table or figure offers its numbers as CSV.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

from gpt.labs import Lab, Score
from ui.figures import heatmap
from ui.render import csv_button, show_figure

DECIMALS = 4
MAX_STATIC_ROWS, MAX_STATIC_COLS = 12, 12  # larger tables go to the scrollable grid
SCORE_KEY = "labs_score"
REVEALED_KEY = "labs_revealed"
PREDICT_MODE_KEY = "labs_predict_mode"


def fingerprint(*parts: object) -> str:
    """Short id of the current inputs: an edited example becomes a new predict question."""
    blob = repr([np.asarray(p).round(6).tolist() if hasattr(p, "__array__") else p for p in parts])
    return hashlib.sha1(blob.encode()).hexdigest()[:10]


def as_tensor(values: np.ndarray) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def printed(values: Sequence[float], sep: str = ", ") -> str:
    """A source's printed numbers as the page quotes them: 4 decimals, whole numbers bare, a real minus.

    ``(0.7599, -0.0700, 0)`` gives ``0.7599, −0.0700, 0``.
    """
    parts = [str(int(v)) if float(v).is_integer() else f"{float(v):.{DECIMALS}f}" for v in values]
    return sep.join(p.replace("-", "−") for p in parts)


def printed_list(values: Sequence[float]) -> str:
    """``[0.4419, 0.6515, 0.5683]``: a printed vector in brackets."""
    return f"[{printed(values)}]"


def cite(lab: Lab) -> None:
    st.caption(f"Source: {lab.source}. Explanations written for this app; numbers recomputed live.")


def shapes(named: Mapping[str, Sequence[int] | tuple[int, ...]]) -> None:
    """One line listing every tensor of a step with its shape, e.g. `inputs (6, 3)`."""
    parts = [f"`{name}` {tuple(int(s) for s in shape)}" for name, shape in named.items()]
    st.caption("Shapes: " + " · ".join(parts))


def frame(values: object, rows: Sequence[str] | None = None, cols: Sequence[str] | None = None) -> pd.DataFrame:
    """A DataFrame of a vector or matrix (tensor, array or list); a vector becomes one row."""
    arr = np.asarray(values.detach().cpu().numpy() if hasattr(values, "detach") else values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    rows = list(rows) if rows is not None else [str(i) for i in range(arr.shape[0])]
    cols = list(cols) if cols is not None else [str(j) for j in range(arr.shape[1])]
    return pd.DataFrame(arr, index=pd.Index(rows), columns=cols)


def table(df: pd.DataFrame, name: str, key: str) -> None:
    """A 4-decimal table plus its CSV download (exact float values in the file).

    Small tables are static HTML (``st.table``) so every digit can be read, searched and copied
    as text; big ones use the scrollable grid.
    """
    if df.shape[0] <= MAX_STATIC_ROWS and df.shape[1] <= MAX_STATIC_COLS:
        st.table(df.style.format(_fmt))
    else:
        st.dataframe(df.style.format(_fmt), width="stretch")
    csv_button(df, name, key=f"csv_{key}")


def _fmt(v: object) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))  # token IDs, counts
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "−∞" if f < 0 else "∞"
        if abs(f) < 0.5 * 10**-DECIMALS:
            f = 0.0  # no "-0.0000" for float noise like 0.29 - 0.29
        return f"{f:.{DECIMALS}f}"
    return str(v)


def matrix_figure(
    values: object,
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    title: str,
    name: str,
    key: str,
    kind: str = "weights",
    provenance: Mapping[str, object] | None = None,
    row_title: str = "query (row)",
    col_title: str = "key (column)",
) -> None:
    """Heatmap with every cell's number written on it (4 decimals) and a CSV of the exact values."""
    df = frame(values, rows, cols)
    fig = heatmap(
        df.to_numpy(),
        rows,
        cols,
        title=title,
        kind=kind,
        provenance=provenance,
        decimals=DECIMALS,
        row_title=row_title,
        col_title=col_title,
    )
    show_figure(fig, df, name, key=key)


def figure(fig: go.Figure, df: pd.DataFrame, name: str, key: str) -> None:
    show_figure(fig, df, name, key=key)


def matrix_editor(
    key: str,
    default: Sequence[Sequence[float]],
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    row_title: str = "token",
    help_text: str = "Click a cell and type a number; everything below recomputes.",
) -> np.ndarray | None:
    """An ``st.data_editor`` of numbers with a reset button; the edited matrix, or None (error shown).

    The editor's own edit state lives under ``key`` (tests seed it with edited_rows); the reset
    button drops it so the table shows the source's values again.
    """
    base = pd.DataFrame(
        np.asarray(default, dtype=np.float64), index=pd.Index(list(row_labels), name=row_title), columns=col_labels
    )
    config = {c: st.column_config.NumberColumn(c, format="%.4f", step=0.0001) for c in col_labels}
    edited = st.data_editor(base, key=key, num_rows="fixed", column_config=config, width="content")
    left, right = st.columns([3, 1])
    left.caption(help_text)
    right.button("Reset to the source's values", key=f"{key}_reset", on_click=_reset_editor, args=(key,))
    values = edited.to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(values).all():
        st.error("Every cell needs a finite number: fill in the empty cells (or press reset).")
        return None
    return values


def _reset_editor(key: str) -> None:
    st.session_state.pop(key, None)


def id_editor(key: str, default: Sequence[int], label: str = "token ID") -> list[int] | None:
    """A one-row editor of integer token IDs; the IDs, or None when a cell is empty."""
    base = pd.DataFrame([list(default)], columns=[f"{label} {i}" for i in range(len(default))], index=["ids"])
    config = {c: st.column_config.NumberColumn(c, format="%d", step=1) for c in base.columns}
    edited = st.data_editor(base, key=key, num_rows="fixed", column_config=config, width="content")
    st.button("Reset to the source's values", key=f"{key}_reset", on_click=_reset_editor, args=(key,))
    raw = edited.to_numpy(dtype=np.float64, na_value=np.nan)[0]
    if not np.isfinite(raw).all() or not np.equal(np.round(raw), raw).all():
        st.error("Token IDs must be whole numbers: fill in every cell.")
        return None
    return [int(v) for v in raw]


# ---- predict, then reveal ---------------------------------------------------------------------


def predict_mode_toggle() -> bool:
    left, right = st.columns([2, 3], vertical_alignment="center")
    on = left.toggle(
        "Predict, then reveal",
        key=PREDICT_MODE_KEY,
        help="Hide each lab's answer until you have made a guess; your score is kept for this session.",
    )
    score: Score = st.session_state.get(SCORE_KEY, Score())
    right.markdown(f"**Your score:** {score.text()}")
    return on


def _reveal(question_id: str, answer: str) -> None:
    guess = st.session_state.get(f"guess_{question_id}")
    if guess is None:
        return
    revealed: dict[str, str] = st.session_state.setdefault(REVEALED_KEY, {})
    if question_id in revealed:
        return  # a question is scored once
    revealed[question_id] = guess
    st.session_state[SCORE_KEY] = st.session_state.get(SCORE_KEY, Score()).record(guess == answer)


def predict_gate(question_id: str, question: str, options: Sequence[str], answer: str, why: str = "") -> bool:
    """In predict mode, ask first and return False until the student reveals; True otherwise.

    ``question_id`` should change when the inputs change, so an edited example is a new question.
    """
    if not st.session_state.get(PREDICT_MODE_KEY):
        return True
    revealed: dict[str, str] = st.session_state.get(REVEALED_KEY, {})
    with st.container(border=True):
        st.markdown(f"**Predict first:** {question}")
        if question_id in revealed:
            guess = revealed[question_id]
            if guess == answer:
                st.success(f"You guessed **{guess}**, which is right. {why}")
            else:
                st.warning(f"You guessed **{guess}**; the answer is **{answer}**. {why}")
            return True
        st.radio("Your guess", list(options), index=None, key=f"guess_{question_id}", horizontal=True)
        st.button(
            "Reveal the answer",
            key=f"reveal_{question_id}",
            on_click=_reveal,
            args=(question_id, answer),
            type="primary",
        )
        st.caption("The numbers below stay hidden until you reveal.")
    return False

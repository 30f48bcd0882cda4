"""Small helpers for AppTest-based page tests: open a page, read Plotly figures back as numbers.

Plotly >= 6 serialises numeric arrays as ``{"dtype": "f8", "bdata": <base64>, "shape": "3, 4"}``
instead of JSON lists; ``decode_array`` turns either form into a numpy array.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
# Every page's URL path, in the navigation's order (app.py); tests that visit every page use this list.
PAGES = [
    "overview",
    "tokens",
    "embeddings",
    "attention",
    "heads",
    "next_token",
    "why",
    "train",
    "runs",
    "watch",
    "labs",
]


def open_page(page: str, run: bool = True, **query_params: object) -> AppTest:
    """AppTest of the whole app (sidebar navigation included) on ``pages/<page>.py``.

    ``query_params`` are what a shared link would carry (sentence=, model=, layer=, ...).
    """
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query_params.items():
        at.query_params[key] = str(value)
    at.switch_page(f"pages/{page}.py")
    if run:
        at.run()
    return at


def figure_json(chart: Any) -> dict:
    """The Plotly figure (data + layout) of an ``at.get("plotly_chart")[i]`` element."""
    return json.loads(chart.proto.spec)


def decode_array(obj: Any) -> np.ndarray:
    """A Plotly array as numpy: base64 ``bdata`` (with dtype and optional shape) or a plain list."""
    if isinstance(obj, dict) and "bdata" in obj:
        arr = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=np.dtype(obj["dtype"]))
        shape = obj.get("shape")
        if shape:
            dims = [int(s) for s in str(shape).split(",")] if isinstance(shape, str) else list(shape)
            arr = arr.reshape(dims)
        return arr
    return np.asarray(obj)


def figures(at: AppTest) -> list[dict]:
    return [figure_json(c) for c in at.get("plotly_chart")]


def figure_title(fig: dict) -> str:
    title = fig.get("layout", {}).get("title", {})
    return title.get("text", "") if isinstance(title, dict) else str(title)


def figure_by_title(at: AppTest, fragment: str) -> dict:
    """The first figure whose title contains ``fragment`` (titles carry provenance too)."""
    found = [f for f in figures(at) if fragment in figure_title(f)]
    assert found, f"no figure titled like {fragment!r}; titles: {[figure_title(f) for f in figures(at)]}"
    return found[0]


def texts(at: AppTest) -> str:
    """All visible text of the run (markdown, captions, alerts, html), joined, for 'is it shown' checks."""
    parts: list[str] = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "subheader", "latex"):
        parts += [str(e.value) for e in at.get(kind)]
    parts += [e.proto.body for e in at.get("html")]
    return "\n".join(parts)


def wait_until(check: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    """Poll ``check`` until it is true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")

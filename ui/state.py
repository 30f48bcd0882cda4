"""State shared by every page (sentence, model, layer, head, step), mirrored in the URL.

Widgets are drawn by different pages, and Streamlit forgets a widget's value when its page
is not shown; so the value lives under a plain session key and each widget is bound to
it. The URL (``st.query_params``) carries the same values so a shared link opens the
same view.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import streamlit as st

from ui import server_guards

DEFAULT_SENTENCE = "The quick brown fox jumps over the lazy dog"
DEFAULT_MODEL = "demo:shakespeare-char"


def flag(text: str) -> bool:
    """A switch from a URL: present=1 (also true/yes/on)."""
    return text.strip().lower() in ("1", "true", "yes", "on")


# key -> (default, parser from a URL string). Values are kept 0-based like the code's indexes;
# the URL's step counts from 1, as the page's "Step n of 11" does.
SHARED: dict[str, tuple[Any, Callable[[str], Any]]] = {
    "sentence": (DEFAULT_SENTENCE, str),
    "model": (DEFAULT_MODEL, str),
    "layer": (0, int),
    "head": (0, int),
    "step": (0, int),
    "no_scale": (False, flag),  # the attention page's what-if switches
    "no_mask": (False, flag),
    "present": (False, flag),  # presenter mode (ui/presenter.py)
    "palette": ("viridis", str),  # a key of ui.palettes.PALETTES
    "repeat": (None, int),  # a seed: a random token sequence shown twice replaces the sentence (induction)
    # "Why this token?" (pages/why.py, ui/why_views.py); None: the last position / the predicted token
    "why_view": ("lens", str),  # which of the page's five views is shown
    "why_position": (None, int),  # the prediction made after this position
    "why_target": (None, int),  # the token whose logit is explained
    "why_versus": (None, int),  # explain target minus this token's logit (None: the logit itself)
    "why_knockout": ("", str),  # knocked-out heads as "layer.head,layer.head" (checked on the page)
    "why_ablation": ("mean", str),  # "mean" or "zero" (gpt.interpret.ABLATIONS)
    # The Next token page's generation (pages/next_token.py, ui/generation_views.py); clamped there
    "gen_temperature": (1.0, float),
    "gen_top_k": (0, int),  # 0: off
    "gen_top_p": (1.0, float),  # 1: off
    "gen_seed": (1337, int),
    "gen_n_new": (20, int),
    "gen_step": (1, int),  # the timeline's step, counted from 1 as the page shows it
    "gen_branch": ("", str),  # the sampling tree's branch as ranks from 1, "2.1" (gpt.interpret.parse_branch)
    "gen_depth": (3, int),  # the tree's steps and alternatives per step
    "gen_width": (3, int),
}
URL_OFFSET = {"step": 1}  # added when written to the URL, taken off when read from it
# Left out of the URL while they have their default value: a link stays short and readable.
OMITTED_WHEN_DEFAULT = (
    "no_scale",
    "no_mask",
    "present",
    "palette",
    "repeat",
    *(k for k in SHARED if k.startswith("why_")),
    *(k for k in SHARED if k.startswith("gen_")),
)
MAX_URL_SENTENCE = 2000  # characters of the sentence put into the URL


_LEFT_LEGACY_MODE = threading.Event()  # process-wide, like Streamlit's own legacy flag


def _leave_legacy_pages_mode() -> None:
    """Run every page through app.py's navigation, also on a fresh server's first request.

    Until app.py has called ``st.navigation`` once, Streamlit treats a folder named pages/
    the legacy way (streamlit issue 8388): a deep link runs that page file alone, without
    app.py's sidebar, and an unknown URL shows a "Page not found" dialog. Page files are
    named after their URLs so the legacy lookup finds them silently; here we switch the
    legacy mode off (as st.navigation itself does) and rerun through app.py.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a future Streamlit without the legacy mode
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        # A server leaves legacy mode once per process (the flag never comes back). AppTest
        # resets it before every run, where a rerun would swallow button clicks: there only
        # the process's first run is rerun, later runs keep the page-file-alone behaviour.
        if not _LEFT_LEGACY_MODE.is_set():
            _LEFT_LEGACY_MODE.set()
            st.rerun()


def init() -> None:
    """Seed the shared values once per browser session, from the URL when it has them.

    Every page calls this first (see ``_leave_legacy_pages_mode``); the first call in a server
    process also arms what no client may do to the others (``ui/server_guards.py``).
    """
    server_guards.install()
    _leave_legacy_pages_mode()
    if st.session_state.get("_state_ready"):
        return
    for key, (default, parse) in SHARED.items():
        raw = st.query_params.get(key)
        try:
            value = default if raw is None else parse(raw)
            if raw is not None and key in URL_OFFSET:
                value -= URL_OFFSET[key]
        except (TypeError, ValueError):
            value = default
        st.session_state[key] = value
    st.session_state["_state_ready"] = True


def get(key: str) -> Any:
    init()
    return st.session_state[key]


def put(key: str, value: Any) -> None:
    st.session_state[key] = value
    publish()


def bind(key: str, clamp: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """kwargs for a widget that edits shared value ``key``: ``st.slider(..., **bind("layer"))``.

    ``clamp`` fixes a value that no longer fits (e.g. layer 7 after switching to a 4-layer model).
    """
    init()
    if clamp is not None:
        st.session_state[key] = clamp(st.session_state[key])
    widget_key = f"w_{key}"
    # Always (re)seed the widget: after a page switch Streamlit drops the old page's widget
    # state even when it still holds the same value, and the box would show its default.
    st.session_state[widget_key] = st.session_state[key]

    def copy_back() -> None:
        st.session_state[key] = st.session_state[widget_key]

    return {"key": widget_key, "on_change": copy_back}


def _url_text(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if key in URL_OFFSET and isinstance(value, int):
        value += URL_OFFSET[key]
    text = str(value)
    return text[:MAX_URL_SENTENCE] if key == "sentence" else text


def publish(keys: tuple[str, ...] = tuple(SHARED)) -> None:
    """Write the shared values ``keys`` into the URL so the current view can be shared as a link."""
    params, dropped = {}, []
    for key in keys:
        value = st.session_state.get(key)
        if key in OMITTED_WHEN_DEFAULT and value == SHARED[key][0]:
            dropped.append(key)
            continue
        if value is None:
            continue
        params[key] = _url_text(key, value)
    for key in dropped:
        if key in st.query_params:
            del st.query_params[key]
    current = {k: st.query_params.get(k) for k in params}
    if current != params:
        st.query_params.update(params)

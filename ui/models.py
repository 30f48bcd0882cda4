"""Process-wide caches: one loaded model per (id, version), traces per (model, tokens, switches).

Cached objects are shared by every browser session, so they are treated as read-only:
a ``Trace`` is a frozen value, and the model is only ever called, never modified.
"""

from __future__ import annotations

import streamlit as st

from gpt import LoadedModel, Trace, TraceOptions
from gpt.catalog import load_model, model_version

TRACE_CACHE_ENTRIES = 64


@st.cache_resource(max_entries=8, show_spinner="Loading model…")
def _load(model_id: str, version: str) -> LoadedModel:
    return load_model(model_id)


def get_model(model_id: str) -> LoadedModel:
    """The loaded model for ``model_id``; reloaded when its checkpoint changes on disk."""
    return _load(model_id, model_version(model_id))


@st.cache_resource(max_entries=TRACE_CACHE_ENTRIES, show_spinner=False)
def _trace(model_id: str, version: str, token_ids: tuple[int, ...], scale: bool, causal: bool) -> Trace:
    loaded = _load(model_id, version)
    return loaded.model.trace(list(token_ids), TraceOptions(scale=scale, causal=causal))


def get_trace(model_id: str, token_ids: tuple[int, ...], scale: bool = True, causal: bool = True) -> Trace:
    """Trace of ``token_ids`` (already cut to the context); cached per model, tokens and switches."""
    return _trace(model_id, model_version(model_id), tuple(token_ids), scale, causal)

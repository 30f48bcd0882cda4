"""Process-wide caches: one loaded model per (id, version), traces per (model, tokens, switches).

Cached objects are shared by every browser session, so they are treated as read-only:
a ``Trace`` is a frozen value, and the model is only ever called, never modified.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
import torch

from gpt import LoadedModel, Trace, TraceOptions, load_model, model_version

TRACE_CACHE_ENTRIES = 64


def env_int(name: str, default: int) -> int:
    """A positive whole number from the environment; anything else means the default."""
    try:
        return max(1, int(os.environ.get(name, str(default))))
    except ValueError:
        return default


# Many sessions share 2 cores: one thread per model call and a bounded number of calls at
# once keep every click responsive (measured by bench/load.py: 2 threads per call made the
# p95 of 30 sessions 1.6 s, 1 thread 0.9 s). Both are process-wide settings, not session state.
torch.set_num_threads(env_int("ATTN_EXPLORER_TORCH_THREADS", 1))
_COMPUTE_SLOTS = threading.BoundedSemaphore(env_int("ATTN_EXPLORER_MAX_CONCURRENT_COMPUTE", os.cpu_count() or 2))


@contextmanager
def compute_slot() -> Iterator[None]:
    """Hold one of the server's model-computation slots (traces, generation) while inside."""
    with _COMPUTE_SLOTS:
        yield


@st.cache_resource(max_entries=8, show_spinner="Loading model…")
def _load(model_id: str, version: str) -> LoadedModel:
    return load_model(model_id)


def get_model(model_id: str) -> LoadedModel:
    """The loaded model for ``model_id``; reloaded when its checkpoint changes on disk."""
    return _load(model_id, model_version(model_id))


@st.cache_resource(max_entries=TRACE_CACHE_ENTRIES, show_spinner=False)
def _trace(model_id: str, version: str, token_ids: tuple[int, ...], scale: bool, causal: bool) -> Trace:
    loaded = _load(model_id, version)
    with compute_slot():
        return loaded.model.trace(list(token_ids), TraceOptions(scale=scale, causal=causal))


def get_trace(model_id: str, token_ids: tuple[int, ...], scale: bool = True, causal: bool = True) -> Trace:
    """Trace of ``token_ids`` (already cut to the context); cached per model, tokens and switches."""
    return _trace(model_id, model_version(model_id), tuple(token_ids), scale, causal)

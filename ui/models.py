"""Process-wide caches: one loaded model per (id, version), traces per (model, tokens, switches).

Cached objects are shared by every browser session, so they are treated as read-only:
a ``Trace`` is a frozen value, and the model is only ever called, never modified.

Both caches are bounded by the bytes of tensors they hold (``ui/budget_cache.py``), not by a
number of entries: one 1,024-token GPT-2 trace weighs as much as thousands of short ones. They
live in this module, not in ``st.cache_resource``, because any client can send ``clear_cache``.
Budgets: ``ATTN_EXPLORER_TRACE_CACHE_MB`` (by default a sixteenth of the machine's memory,
between 256 MB and 1 GB) and ``ATTN_EXPLORER_MODEL_CACHE_MB`` (an eighth, between 1 and 2 GB).
With GPT-2 small and every slot tracing a 1,000-token text, the server then stays under 3 GB
(bench/hostile.py; see README "Memory and fairness").
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
import torch

from gpt import (
    GPT,
    LoadedModel,
    Trace,
    TraceOptions,
    estimate_trace_bytes,
    load_model,
    model_version,
    tensor_bytes,
)
from gpt.interpret import Knockout
from ui import native_memory
from ui.budget_cache import ByteBudgetCache
from ui.slots import FairSlots

MB = 1024 * 1024
TraceKey = tuple[str, str, tuple[int, ...], bool, bool, Knockout]  # model id, version, tokens, scale, causal, knockout
ModelKey = tuple[str, str]  # model id, version


def env_int(name: str, default: int) -> int:
    """A positive whole number from the environment; anything else means the default."""
    try:
        return max(1, int(os.environ.get(name, str(default))))
    except ValueError:
        return default


def physical_memory_bytes() -> int:
    """The machine's RAM (8 GB assumed where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 1024 * MB


def default_budget_mb(floor_mb: int, cap_mb: int, share: float = 1 / 8) -> int:
    """``share`` of the machine's memory, kept between ``floor_mb`` and ``cap_mb``."""
    return int(min(cap_mb, max(floor_mb, share * physical_memory_bytes() / MB)))


class TraceTooLargeError(ValueError):
    """A trace that would need more memory than the whole trace budget: refused before computing."""


# Many sessions share 2 cores: one thread per model call and a bounded number of calls at
# once keep every click responsive (measured by bench/load.py: 2 threads per call made the
# p95 of 30 sessions 1.6 s, 1 thread 0.9 s). Both are process-wide settings, not session state.
torch.set_num_threads(env_int("ATTN_EXPLORER_TORCH_THREADS", 1))
COMPUTE_SLOTS = env_int("ATTN_EXPLORER_MAX_CONCURRENT_COMPUTE", os.cpu_count() or 2)
_COMPUTE = FairSlots(COMPUTE_SLOTS)
# Generation steps hold at most slots - 1 at once, so one slot is always left for traces
# (with a single slot they still take turns step by step, first come, first served).
_GENERATION = FairSlots(max(1, COMPUTE_SLOTS - 1))
# Each generation in progress keeps its KV cache between steps (75 MB for GPT-2 at 1,024
# tokens), so the number in progress is bounded too; more wait for one to finish.
_GENERATIONS_IN_PROGRESS = FairSlots(env_int("ATTN_EXPLORER_MAX_GENERATIONS", 4 * COMPUTE_SLOTS))


@contextmanager
def compute_slot() -> Iterator[None]:
    """Hold one of the server's model-computation slots while inside (queued in arrival order)."""
    with _COMPUTE:
        yield


@contextmanager
def generation_in_progress() -> Iterator[None]:
    """Around a whole ``generate`` call: at most ATTN_EXPLORER_MAX_GENERATIONS at once."""
    with _GENERATIONS_IN_PROGRESS:
        yield


@contextmanager
def generation_step() -> Iterator[None]:
    """The slot for one generation step: ``generate(..., step_guard=generation_step)``."""
    with _GENERATION, _COMPUTE:
        yield


def model_bytes(loaded: LoadedModel) -> int:
    """Bytes of a model's weights and buffers (tied weights counted once)."""
    model = loaded.model
    return tensor_bytes([*model.parameters(), *model.buffers()])


def _forget_traces_of(model_key: ModelKey) -> None:
    # A trace keeps its model's output matrix alive: once the model goes, so do its traces.
    TRACE_CACHE.discard(lambda key: key[:2] != model_key)


def _trace_evicted(key: TraceKey) -> None:
    native_memory.trim()  # the evicted trace's memory goes back to the system, not to an arena


native_memory.release_large_blocks_eagerly()  # before the first trace: see ui/native_memory.py
TRACE_CACHE: ByteBudgetCache[TraceKey, Trace] = ByteBudgetCache(
    env_int("ATTN_EXPLORER_TRACE_CACHE_MB", default_budget_mb(256, 1024, share=1 / 16)) * MB,
    lambda trace: trace.nbytes,
    _trace_evicted,
)
MODEL_CACHE: ByteBudgetCache[ModelKey, LoadedModel] = ByteBudgetCache(
    env_int("ATTN_EXPLORER_MODEL_CACHE_MB", default_budget_mb(1024, 2048)) * MB, model_bytes, _forget_traces_of
)
_VERSION_LOCK = threading.Lock()


def _load(model_id: str, version: str) -> LoadedModel:
    loaded = load_model(model_id)
    size, budget = model_bytes(loaded), MODEL_CACHE.budget_bytes
    if size > budget:
        raise ValueError(
            f"it needs {size / MB:,.0f} MB of memory, more than this server's model budget of "
            f"{budget / MB:,.0f} MB (ATTN_EXPLORER_MODEL_CACHE_MB); pick a smaller model"
        )
    with _VERSION_LOCK:  # a run wrote a new checkpoint: its older versions will not be asked for again
        stale = [key for key in MODEL_CACHE.keys() if key[0] == model_id and key[1] != version]
        MODEL_CACHE.discard(lambda key: key not in stale)
        for key in stale:
            _forget_traces_of(key)
    return loaded


def _cached_model(model_id: str, version: str) -> LoadedModel:
    key = (model_id, version)
    loaded = MODEL_CACHE.get(key)
    if loaded is None:
        with st.spinner("Loading model…"):
            loaded = MODEL_CACHE.get_or_create(key, lambda: _load(model_id, version))
    return loaded


def get_model(model_id: str) -> LoadedModel:
    """The loaded model for ``model_id``; reloaded when its checkpoint changes on disk."""
    return _cached_model(model_id, model_version(model_id))


def trace_estimate(model: GPT, n_tokens: int) -> int:
    """Bytes a trace of ``n_tokens`` tokens on ``model`` will hold (known before tracing)."""
    return estimate_trace_bytes(model.config, n_tokens, model.wte.weight.element_size())


def check_trace_fits(model: GPT, n_tokens: int) -> None:
    """Refuse, with a message naming the limit, a trace bigger than the whole trace budget."""
    needed, budget = trace_estimate(model, n_tokens), TRACE_CACHE.budget_bytes
    if needed <= budget:
        return
    fits = max(1, n_tokens * budget // needed)
    raise TraceTooLargeError(
        f"This text is too long to inspect on this model here: its {n_tokens:,} tokens would need about "
        f"{needed / MB:,.0f} MB, more than this server's limit of {budget / MB:,.0f} MB per trace "
        f"(ATTN_EXPLORER_TRACE_CACHE_MB). Use a shorter text (about {fits:,} tokens fit) or a smaller model."
    )


def get_trace(
    model_id: str,
    token_ids: tuple[int, ...],
    scale: bool = True,
    causal: bool = True,
    knockout: Knockout | None = None,
) -> Trace:
    """Trace of ``token_ids`` (already cut to the context); cached per model, tokens, switches and knockout.

    Raises ``TraceTooLargeError`` before computing anything when the trace would not fit the budget.
    """
    version = model_version(model_id)
    model = _cached_model(model_id, version).model
    ids = tuple(token_ids)
    check_trace_fits(model, len(ids))

    def compute() -> Trace:
        with compute_slot():
            return model.trace(list(ids), options)

    options = TraceOptions(scale=scale, causal=causal, knockout=knockout or Knockout())  # normalises the knockout
    return TRACE_CACHE.get_or_create((model_id, version, ids, scale, causal, options.knockout), compute)

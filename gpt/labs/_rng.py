"""Seeded randomness that reproduces the books' printed numbers without disturbing anyone else.

The books seed PyTorch's *global* generator (``torch.manual_seed(123)``) and then create layers,
so reproducing their numbers needs the global generator too. Streamlit serves several sessions
from threads, so the seeded block holds a lock and restores the previous generator state.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

_GLOBAL_RNG_LOCK = threading.Lock()  # guards the process-wide torch generator, not per-request data


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the block as if right after ``torch.manual_seed(seed)``; restore the generator afterwards."""
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield

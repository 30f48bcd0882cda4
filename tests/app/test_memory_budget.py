"""A text too long for the server's trace budget gets a message naming the limit, and costs it no memory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from helpers import open_page, texts

from gpt import GPT, preset, save_checkpoint
from gpt.tokenizers import get_tokenizer
from ui import models
from ui.budget_cache import ByteBudgetCache

RUN = "wide-context"
MODEL = f"run:{RUN}"
ALPHABET = "abcdefghijklmnopqrstuvwxyz .,"
BUDGET_MB = 16  # a 1,024-token trace of this model needs ~43 MB; a short sentence ~3 MB
LONG = ("the quick brown fox jumps over the lazy dog. " * 30)[:1100]  # cut to the 1,024-token context
SHORT = "the cat sat on the mat."
PAGES = ["attention", "embeddings", "heads", "next_token", "why", "overview"]  # every page that traces the sentence


@pytest.fixture
def wide_model(isolated_runs_dir: Path) -> str:
    """A run whose checkpoint reads 1,024 tokens (4 layers x 256 wide, char tokenizer: small on disk)."""
    torch.manual_seed(0)
    tokenizer = get_tokenizer("char", ALPHABET)
    cfg = preset("gpt2", vocab_size=tokenizer.vocab_size, n_layer=4, n_head=4, n_embd=256)
    save_checkpoint(isolated_runs_dir / RUN / "checkpoint", GPT(cfg).eval(), tokenizer, {"iter": 0, "run_id": RUN})
    (isolated_runs_dir / RUN / "status.json").write_text(json.dumps({"state": "finished", "iter": 0, "max_iters": 0}))
    return MODEL


@pytest.fixture
def small_trace_budget(monkeypatch: pytest.MonkeyPatch) -> ByteBudgetCache:
    cache = ByteBudgetCache(BUDGET_MB * models.MB, lambda trace: trace.nbytes)
    monkeypatch.setattr(models, "TRACE_CACHE", cache)
    return cache


@pytest.mark.parametrize("page", PAGES)
def test_a_too_long_text_is_refused_with_the_limit_and_the_cache_does_not_grow(
    page: str, wide_model: str, small_trace_budget: ByteBudgetCache
) -> None:
    short = open_page(page, model=wide_model, sentence=SHORT)
    assert not short.exception and not short.error, texts(short)
    held, keys = small_trace_budget.nbytes, small_trace_budget.keys()
    assert held > 0  # the short sentence's trace was kept

    at = open_page(page, model=wide_model, sentence=LONG)
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert f"limit of {BUDGET_MB} MB per trace" in errors
    assert "Use a shorter text" in errors and "tokens fit" in errors and "smaller model" in errors
    assert small_trace_budget.nbytes == held and small_trace_budget.keys() == keys


def test_the_same_long_text_is_shown_when_the_budget_allows_it(wide_model: str) -> None:
    at = open_page("attention", model=wide_model, sentence=LONG)
    assert not at.exception and not at.error
    assert at.get("plotly_chart")  # the heatmap of all 1,024 tokens is drawn

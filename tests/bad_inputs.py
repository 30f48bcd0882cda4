"""The bad-input catalogue: every hostile or broken input the app must answer with a clear message.

One list, used by the API tests and the page tests (``test_bad_input_catalogue.py``,
``test_bad_input_pages.py``) and mirrored row by row in README's table "Bad input: what the user
sees" (a test checks that every id is there with its message, so the table stays true).

``message`` is a fragment of what the user really sees: on the page for a sentence, in the
error (``ConfigError``/``JobError``/``EstimateError``) and on the Train page for the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from helpers import open_page
from streamlit.testing.v1 import AppTest

CHAR = "random:shakespeare-char"  # context 64, Shakespeare's characters
BPE = "random:gpt2-bpe-small"  # GPT-2's tokenizer, context 128

FIELD_REFUSES = "the field does not accept it"  # a number box whose min/max cannot express the value


@dataclass(frozen=True)
class BadInput:
    id: str
    kind: str  # "sentence" | "config" | "upload" | "corpus"
    value: Any  # the sentence, TrainSettings changes, or the uploaded bytes
    message: str  # fragment of what the user sees (page text or the error's message)
    model: str = CHAR  # sentence cases: the model the page shows
    page_message: str = ""  # config cases: what the Train page shows, when it differs from ``message``
    via_session: bool = False  # sentence cases that neither a link nor the browser can carry
    settings: dict[str, Any] = field(default_factory=dict)


_LONG = ("The quick brown fox. " * 5000)[:100_000]

SENTENCES = [
    BadInput("empty", "sentence", "", "Type a sentence in the sidebar"),
    BadInput("only-whitespace", "sentence", "  \n\t  ", "6 / 64 tokens"),
    BadInput("100k-chars", "sentence", _LONG, "only the first 64 fit"),
    BadInput(
        "longer-than-context", "sentence", "To be, or not to be: that is the question. " * 20, "only the first 64 fit"
    ),
    BadInput("emoji-cjk-rtl", "sentence", "🦊🔥 狐狸跳 שלום עולם مرحبا 👩‍👩‍👧", "not in this model's vocabulary"),
    BadInput("combining-marks", "sentence", "e\u0301 n\u0303 Z\u0336\u0335", "◌"),
    BadInput("control-chars", "sentence", "a\x00b\x01c\x07d\x1b[31m\x7fe", "␀"),
    BadInput("invalid-surrogates", "sentence", "a\ud800b\udfffc", "\ufffd", via_session=True),
    BadInput("endoftext", "sentence", "Hello<|endoftext|>World", "is one special token (ID 50256)", model=BPE),
    BadInput(
        "special-looking",
        "sentence",
        "<|im_start|>user [CLS] {{name}} <|fim_prefix|> [SEP] <s>",
        "(gpt2 tokenizer)",
        model=BPE,
    ),
    BadInput("html-script", "sentence", "<script>alert(1)</script><b>x</b><img src=x onerror=alert(2)>", "<script>"),
]


def _config(case_id: str, settings: dict[str, Any], message: str, page_message: str = FIELD_REFUSES) -> BadInput:
    return BadInput(case_id, "config", None, message, page_message=page_message, settings=settings)


CONFIGS = [
    _config("n_embd-not-divisible", {"n_head": 3}, "divisible by n_head", page_message=""),
    _config("zero-size", {"n_embd": 0}, "n_embd must be at least 1"),
    _config("negative-size", {"n_layer": -2}, "n_layer must be at least 0"),
    _config("huge-n_embd", {"n_embd": 10**6}, "n_embd must be at most 8192"),
    _config("huge-n_layer", {"n_layer": 10**4}, "n_layer must be at most 96"),
    _config("zero-batch", {"batch_size": 0}, "batch_size must be at least 1"),
    _config("lr-1e9", {"lr": 1e9}, "learning rate (lr) must be greater than 0 and at most 1"),
    # Every knob within its own box, together far too big for any machine's memory.
    _config(
        "too-big-for-memory",
        {"n_layer": 48, "n_embd": 4096, "block_size": 4096, "batch_size": 1024},
        "This run does not fit",
        page_message="",
    ),
]

UPLOADS = [
    BadInput("empty-upload", "upload", b"", "the uploaded file is empty"),
    BadInput("binary-upload", "upload", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "looks like a binary file"),
    BadInput("non-utf8-upload", "upload", "café, naïve, Æsop".encode("latin-1") * 20, "is not UTF-8 text"),
    BadInput("oversized-upload", "upload", b"a" * (5 * 1024 * 1024 + 1), "uploads are limited to 5 MB"),
]

CORPORA = [
    BadInput("corpus-shorter-than-a-window", "corpus", b"To be, or not to be.", "the corpus is too short"),
]

CATALOGUE = SENTENCES + CONFIGS + UPLOADS + CORPORA
BY_ID = {case.id: case for case in CATALOGUE}


def ids(cases: list[BadInput]) -> list[str]:
    return [case.id for case in cases]


def open_with_sentence(page: str, case: BadInput) -> AppTest:
    """The page with the case's sentence: from a link, or (for what no link can carry) from the session."""
    if not case.via_session:
        return open_page(page, model=case.model, sentence=case.value)
    at = open_page(page, model=case.model, sentence="Hello")
    at.session_state["sentence"] = case.value
    return at.run()

"""The shipped demo models show what the pages promise, read from the shipped files."""

from __future__ import annotations

from gpt import load_model
from gpt.interpret.model_report import SENTENCES, previous_token_heads


def test_the_char_demo_has_a_previous_token_head_on_ordinary_sentences() -> None:
    loaded = load_model("demo:shakespeare-char")
    found = previous_token_heads(loaded.model, loaded.tokenizer)
    assert set(found) == set(SENTENCES)
    for sentence, best in found.items():
        assert best["score"] >= 0.5, sentence  # measured 0.875-0.905 (assets/models/README.md)
        assert (best["layer"], best["head"]) == (0, 1), sentence  # one head, the one the README names

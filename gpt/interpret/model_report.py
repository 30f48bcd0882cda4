"""What a model shows the explorer's head views: its best previous-token and induction heads.

The sentences are the explorer's default and three other ordinary English ones; the induction input
is the All heads page's repeated random sequence (``explain.induction_sequence``, seed 0).
``bench/demo_models.py`` prints these for the shipped demo models; their tests assert them.
"""

from __future__ import annotations

import torch

from gpt.interpret import explain
from gpt.interpret.head_scores import head_scores
from gpt.model import GPT
from gpt.tokenizers import Tokenizer

# The shipped demo model with an induction head on that sequence (tests/unit/test_demo_models_show.py
# checks it from the shipped file); the All heads page sends anyone whose model has none there.
INDUCTION_DEMO = "demo:shakespeare-char-induction"

SENTENCES = (
    "The quick brown fox jumps over the lazy dog",
    "She opened the window and looked at the rain",
    "My brother bought a small house near the river",
    "We will meet again tomorrow after the long day",
)


def best_head(scores: torch.Tensor) -> dict:
    """(layers, heads) scores -> the best head and its score."""
    layer, head = divmod(int(scores.argmax()), scores.shape[1])
    return {"layer": layer, "head": head, "score": round(float(scores[layer, head]), 3)}


@torch.no_grad()
def previous_token_heads(model: GPT, tokenizer: Tokenizer) -> dict[str, dict]:
    """Per sentence, the head that most looks at the token just before each query."""
    return {
        text: best_head(head_scores(explain.all_weights(model.trace(tokenizer.encode(text))))["previous_token"])
        for text in SENTENCES
    }


@torch.no_grad()
def induction_head(model: GPT, vocab_size: int) -> dict:
    """The head that best looks, in the repeat, at the token after the current one's first occurrence."""
    ids, period = explain.induction_sequence(vocab_size, model.config.block_size, seed=0)
    return best_head(head_scores(explain.all_weights(model.trace(ids)), period)["induction"])

"""What a model (a shipped demo, or any checkpoint) shows the explorer's pages; prints one JSON.

    .venv/bin/python bench/demo_models.py [CHECKPOINT_DIR ...]      (default: every shipped demo model)

Per model: its validation loss over the whole validation split of the bundled corpus, the best
previous-token head on the default sentence and on three other ordinary English sentences, and the
best induction head on the All heads page's repeated random sequence (the same tokens, seed 0). The
figures in assets/models/README.md come from here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gpt.checkpoint import load_checkpoint  # noqa: E402
from gpt.interpret import explain  # noqa: E402
from gpt.interpret.head_scores import head_scores  # noqa: E402
from gpt.paths import ROOT as PROJECT  # noqa: E402
from gpt.train.data import split_ids  # noqa: E402
from gpt.train.evaluate import whole_split_loss  # noqa: E402

# The explorer's default sentence first, then three ordinary ones.
SENTENCES = (
    "The quick brown fox jumps over the lazy dog",
    "She opened the window and looked at the rain",
    "My brother bought a small house near the river",
    "We will meet again tomorrow after the long day",
)
CORPUS = PROJECT / "assets" / "corpora" / "shakespeare.txt"


def best_head(scores: torch.Tensor) -> dict:
    """(layers, heads) scores -> the best head and its score."""
    flat = int(scores.argmax())
    layer, head = divmod(flat, scores.shape[1])
    return {"layer": layer, "head": head, "score": round(float(scores[layer, head]), 3)}


def figures(path: Path) -> dict:
    loaded = load_checkpoint(path)
    model, tokenizer = loaded.model.eval(), loaded.tokenizer
    cfg = model.config
    out: dict = {"model": str(path.relative_to(PROJECT) if path.is_relative_to(PROJECT) else path)}
    ids = torch.tensor(tokenizer.encode(CORPUS.read_text(encoding="utf-8")), dtype=torch.long)
    out["whole_val_split_loss"] = round(whole_split_loss(model, split_ids(ids).val), 4)
    if cfg.n_layer == 0 or not getattr(cfg, "attention", True):
        return out  # nothing to score: no attention
    with torch.no_grad():
        out["previous_token"] = {
            text: best_head(head_scores(explain.all_weights(model.trace(tokenizer.encode(text))))["previous_token"])
            for text in SENTENCES
        }
        rep, period = explain.induction_sequence(tokenizer.vocab_size, cfg.block_size, seed=0)
        weights = explain.all_weights(model.trace(rep))
        out["induction"] = best_head(head_scores(weights, period)["induction"])
    return out


def main() -> None:
    paths = [Path(p) for p in sys.argv[1:]] or sorted(
        p for p in (PROJECT / "assets" / "models").iterdir() if p.is_dir()
    )
    print(json.dumps([figures(p) for p in paths], indent=1))


if __name__ == "__main__":
    main()

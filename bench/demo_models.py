"""What a model (a shipped demo, or any checkpoint) shows the explorer's pages; prints one JSON.

    .venv/bin/python bench/demo_models.py [CHECKPOINT_DIR ...]      (default: every shipped demo model)

Per model: its validation loss over the whole validation split of the corpus it was trained on
(``--corpus``, default the bundled Shakespeare), the best previous-token head on the explorer's
default sentence and three other ordinary English sentences, and the best induction head on the All
heads page's repeated random sequence (``gpt.interpret.model_report``). The figures in
assets/models/README.md come from here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gpt.checkpoint import load_checkpoint  # noqa: E402
from gpt.interpret.model_report import induction_head, previous_token_heads  # noqa: E402
from gpt.paths import ROOT as PROJECT  # noqa: E402
from gpt.train.data import read_corpus, split_ids  # noqa: E402
from gpt.train.evaluate import whole_split_loss  # noqa: E402


def figures(path: Path, corpus: str) -> dict:
    loaded = load_checkpoint(path)
    model, tokenizer = loaded.model.eval(), loaded.tokenizer
    ids = torch.tensor(tokenizer.encode(read_corpus(corpus)), dtype=torch.long)
    out: dict = {"model": str(path), "corpus": corpus}
    out["whole_val_split_loss"] = round(whole_split_loss(model, split_ids(ids).val), 4)
    if model.config.n_layer > 0:  # the bigram rung has no attention to score
        out["previous_token"] = previous_token_heads(model, tokenizer)
        out["induction"] = induction_head(model, tokenizer.vocab_size)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="*", type=Path)
    parser.add_argument("--corpus", default="shakespeare", help="a bundled corpus name or a text file")
    args = parser.parse_args()
    paths = args.checkpoints or sorted(p for p in (PROJECT / "assets" / "models").iterdir() if p.is_dir())
    print(json.dumps([figures(p, args.corpus) for p in paths], indent=1))


if __name__ == "__main__":
    main()

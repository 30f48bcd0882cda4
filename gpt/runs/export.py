"""Ship a trained run as a model: ``python -m gpt.runs.export runs/my-run/checkpoint assets/models/my-model``.

Copies the weights and the sidecar only (no optimizer state), optionally in float16 (half the
bytes; loaded back into a float32 model).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gpt.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

# What a shipped model keeps of its run's checkpoint sidecar (the explorer's "training facts").
KEPT_META = ("iter", "val_loss", "train_loss", "best_val_loss", "train_options", "seed", "run_id")


def export_model(checkpoint: str | Path, dest: str | Path, float16: bool = False) -> Path:
    """Write ``checkpoint``'s model to ``dest`` as a checkpoint without optimizer state."""
    loaded = load_checkpoint(checkpoint)
    extra = {k: loaded.meta[k] for k in KEPT_META if k in loaded.meta}
    extra["weights_dtype"] = "float16" if float16 else "float32"
    model = loaded.model.half() if float16 else loaded.model
    return save_checkpoint(dest, model, loaded.tokenizer, extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gpt.runs.export", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="a checkpoint folder, e.g. runs/my-run/checkpoint")
    parser.add_argument("dest", help="the folder to write, e.g. assets/models/my-model")
    parser.add_argument("--float16", action="store_true", help="store the weights in float16")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        path = export_model(args.checkpoint, args.dest, args.float16)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    size = sum(f.stat().st_size for f in path.iterdir())
    print(f"wrote {path} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

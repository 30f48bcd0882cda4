"""Which models can be explored, by a short id that fits in a URL, and how to load each.

Model ids:
- ``demo:<name>``   a demo checkpoint shipped in assets/models/<name>/
- ``run:<run_id>``  the latest checkpoint of a training run, runs/<run_id>/checkpoint/
- ``gpt2``          OpenAI GPT-2 small, when its weights are in data/gpt2/
- ``random:<name>`` a freshly initialised model (seeded): attention before any training
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from gpt.checkpoint import SIDECAR, CheckpointError, LoadedModel, load_checkpoint, read_meta, usable_checkpoint_dir
from gpt.config import preset
from gpt.model import GPT
from gpt.paths import CHECKPOINT_DIR, DEFAULT_CORPUS, DEMO_DIR, gpt2_dir, is_valid_run_id, runs_dir
from gpt.pretrained import gpt2_available, load_gpt2
from gpt.tokenizers import GPT2Tokenizer, get_tokenizer

RANDOM_SEED = 1337


@dataclass(frozen=True)
class ModelEntry:
    model_id: str
    label: str  # what the picker shows
    kind: str  # "demo" | "run" | "gpt2" | "random"
    path: Path | None  # checkpoint folder, when there is one


def _checkpoint_entries(kind: str, base: Path, label_prefix: str) -> list[ModelEntry]:
    entries = []
    if not base.is_dir():
        return entries
    for folder in sorted(base.iterdir()):
        ckpt = folder / CHECKPOINT_DIR if kind == "run" else folder
        # A link could point anywhere; the Runs page (gpt.runs.reader.run_folders) skips links too.
        if folder.is_symlink() or ckpt.is_symlink() or not is_valid_run_id(folder.name):
            continue
        if usable_checkpoint_dir(ckpt) is None:
            continue
        entries.append(ModelEntry(f"{kind}:{folder.name}", f"{label_prefix}{folder.name}", kind, ckpt))
    return entries


def available_models() -> list[ModelEntry]:
    """Everything the model picker can offer right now, demo models first."""
    entries = _checkpoint_entries("demo", DEMO_DIR, "Demo: ")
    entries += [
        ModelEntry("random:shakespeare-char", "Untrained (random weights, char model)", "random", None),
        ModelEntry("random:gpt2-bpe-small", "Untrained (random weights, GPT-2 tokenizer)", "random", None),
    ]
    if gpt2_available(gpt2_dir()):
        entries.append(ModelEntry("gpt2", "GPT-2 small (OpenAI, 124M)", "gpt2", gpt2_dir()))
    entries += _checkpoint_entries("run", runs_dir(), "Run: ")
    return entries


def model_version(model_id: str) -> str:
    """Changes whenever the weights behind an id change (a run writes a new checkpoint)."""
    entry = find_entry(model_id)
    if entry.path is None:
        return "fixed"
    folder = usable_checkpoint_dir(entry.path) or entry.path
    sidecar = folder / SIDECAR
    target = sidecar if sidecar.is_file() else folder
    try:
        stat = target.stat()
    except OSError:
        return "missing"
    return f"{stat.st_mtime_ns}-{stat.st_size}"


def find_entry(model_id: str) -> ModelEntry:
    kind, _, name = model_id.partition(":")
    if kind == "gpt2" and not name:
        return ModelEntry("gpt2", "GPT-2 small (OpenAI, 124M)", "gpt2", gpt2_dir())
    if kind == "random" and name in ("shakespeare-char", "gpt2-bpe-small"):
        return ModelEntry(model_id, model_id, "random", None)
    if kind in ("demo", "run") and is_valid_run_id(name):
        folder = DEMO_DIR / name if kind == "demo" else runs_dir() / name
        if folder.is_symlink():  # as in the picker: a linked folder may lead anywhere on the disk
            raise CheckpointError(f"model {model_id!r} is a link, not a folder of its own; it is left alone")
        return ModelEntry(model_id, name, kind, folder if kind == "demo" else folder / CHECKPOINT_DIR)
    raise CheckpointError(f"unknown model {model_id!r}")


def _random_model(name: str) -> LoadedModel:
    torch.manual_seed(RANDOM_SEED)
    if name == "shakespeare-char":
        tokenizer = get_tokenizer("char", DEFAULT_CORPUS.read_text(encoding="utf-8"))
        cfg = preset("shakespeare-char", vocab_size=tokenizer.vocab_size)
    else:
        tokenizer = GPT2Tokenizer()
        cfg = preset("shakespeare-char", vocab_size=tokenizer.vocab_size, block_size=128)
    meta = {"config": cfg.to_dict(), "tokenizer": tokenizer.to_spec(), "seed": RANDOM_SEED, "untrained": True}
    return LoadedModel(GPT(cfg).eval(), tokenizer, meta, Path("random") / name)


def load_model(model_id: str) -> LoadedModel:
    """Load any model the catalog knows, on the CPU, in eval mode."""
    entry = find_entry(model_id)
    if entry.kind == "random":
        return _random_model(model_id.partition(":")[2])
    if entry.kind == "gpt2":
        model = load_gpt2(entry.path)
        meta = {"config": model.config.to_dict(), "tokenizer": {"kind": "gpt2"}, "source": "openai-community/gpt2"}
        return LoadedModel(model, GPT2Tokenizer(), meta, entry.path)
    assert entry.path is not None
    return load_checkpoint(entry.path)


def describe(model_id: str) -> dict:
    """The sidecar of a checkpoint-backed model without loading weights (cheap)."""
    entry = find_entry(model_id)
    if entry.path is None or entry.kind == "gpt2":
        return {}
    return read_meta(entry.path)

"""Training presets and the app's own limits: starting points sized to a class period.

Each is a ``TrainSettings`` value (every knob stays editable). The app evaluates on fewer
batches than the command line's default (``APP_EVAL_ITERS``): its live dashboard wants quick
evaluations.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpt.train.settings import TrainSettings

APP_EVAL_ITERS = 20
APP_MAX_LR = 1.0  # the Train page's own limit on top of the schema's: 1e9 is a typo, not an experiment
APP_SETTINGS = TrainSettings(eval_iters=APP_EVAL_ITERS)  # the app's starting point: the CLI defaults + this


@dataclass(frozen=True)
class TrainingPreset:
    command_name: str  # what `python -m gpt.train --preset NAME` takes
    description: str
    settings: TrainSettings
    wants_gpu: bool = False


TRAINING_PRESETS: dict[str, TrainingPreset] = {
    "2-minute CPU demo": TrainingPreset(
        "cpu-demo",
        "Character-level Shakespeare, the classic CPU 'baby GPT' (4 layers, 4 heads, 128 dims): about two "
        "minutes on a laptop CPU, val loss near 1.9, and clear previous-token heads to look at afterwards.",
        APP_SETTINGS,
    ),
    "10-minute char model": TrainingPreset(
        "char-10min",
        "A bigger character model (6 layers, 6 heads, 192 dims, context 128) for a whole lesson on a CPU; "
        "a GPU does it in a minute or two. Its samples start to look like verse.",
        APP_SETTINGS.with_changes(
            n_layer=6,
            n_head=6,
            n_embd=192,
            block_size=128,
            batch_size=16,
            max_iters=2000,
            warmup_iters=200,
            dropout=0.1,
        ),
    ),
    "GPU BPE model": TrainingPreset(
        "gpu-bpe",
        "GPT-2's BPE tokenizer (50,257 tokens) with 6 layers, 6 heads, 384 dims and a 256-token context "
        "(about 30 M parameters, most of them in the embedding table). Meant for a GPU: a few minutes there.",
        APP_SETTINGS.with_changes(
            tokenizer="gpt2",
            n_layer=6,
            n_head=6,
            n_embd=384,
            block_size=256,
            batch_size=32,
            max_iters=3000,
            lr=6e-4,
            min_lr=6e-5,
            warmup_iters=200,
            dropout=0.1,
            eval_interval=250,
            eval_iters=40,
        ),
        wants_gpu=True,
    ),
}


# The same presets under the names the command line takes: one home, two ways in.
PRESETS_BY_COMMAND_NAME: dict[str, TrainingPreset] = {p.command_name: p for p in TRAINING_PRESETS.values()}

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
class Measured:
    """What ``bench/train.py`` measured for a preset, as the app runs it (the bundled corpus)."""

    machine: str  # the CPU it was measured on, e.g. "2-core AMD EPYC"
    wall_s: float  # start to exit, evaluations, samples and checkpoints included
    val_loss: float  # over the whole validation split

    def sentence(self) -> str:
        minutes, seconds = divmod(round(self.wall_s), 60)
        took = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
        return (
            f"Measured by bench/train.py on a {self.machine}: {took} from start to finish, evaluations "
            f"included, validation loss {self.val_loss:.2f} over the whole validation split."
        )


@dataclass(frozen=True)
class TrainingPreset:
    command_name: str  # what `python -m gpt.train --preset NAME` takes
    summary: str  # what it trains and why
    settings: TrainSettings
    measured: Measured | None = None  # None: not measured on this project's machines (say so)
    wants_gpu: bool = False

    @property
    def description(self) -> str:
        if self.measured is None:
            return f"{self.summary} Not timed here: this project's test machines have no GPU."
        return f"{self.summary} {self.measured.sentence()}"


MACHINE = "2-core AMD EPYC (AVX-512 with native bf16)"  # where the figures below were measured
# The fast CPU recipe (measured by bench/train.py against nanoGPT's own train.py): Muon for the blocks'
# matrices, a higher AdamW rate for the rest, a bigger batch and fewer steps; same model shape.
FAST_CPU = APP_SETTINGS.with_changes(
    optimizer="muon",
    muon_lr=0.02,
    lr=3e-3,
    min_lr=3e-4,
    warmup_iters=25,
    batch_size=24,
    max_iters=600,
    eval_interval=100,
)

TRAINING_PRESETS: dict[str, TrainingPreset] = {
    "2-minute CPU demo": TrainingPreset(
        "cpu-demo",
        "Character-level Shakespeare, the classic CPU 'baby GPT' (4 layers, 4 heads, 128 dims, context 64), "
        "trained with Muon for its matrices: about half of nanoGPT's time to the same loss.",
        FAST_CPU,
        Measured(MACHINE, wall_s=66.2, val_loss=1.8895),
    ),
    "nanoGPT's recipe (for comparison)": TrainingPreset(
        "nanogpt-baby",
        "The same baby GPT with nanoGPT's plain recipe (AdamW at 1e-3, batch 12, 2000 steps), to compare with.",
        APP_SETTINGS,
        Measured(MACHINE, wall_s=101.3, val_loss=1.9947),
    ),
    "10-minute char model": TrainingPreset(
        "char-10min",
        "A bigger character model (6 layers, 6 heads, 192 dims, context 128) for a whole lesson on a CPU, "
        "trained with Muon; its samples start to look like verse.",
        FAST_CPU.with_changes(
            n_layer=6,
            n_head=6,
            n_embd=192,
            block_size=128,
            batch_size=16,
            max_iters=1600,
            warmup_iters=50,
            eval_interval=200,
        ),
        Measured(MACHINE, wall_s=443.4, val_loss=1.8543),
    ),
    "3-minute BPE model": TrainingPreset(
        "bpe-cpu",
        "GPT-2's BPE tokens on a CPU: the tokenizer trimmed to the corpus's tokens (about 12,000 rows for the "
        "bundled Shakespeare instead of 50,257), 2 layers, 4 heads, 128 dims, Muon, with the copying and "
        "unknown-word practice of the BPE demo model.",
        FAST_CPU.with_changes(
            tokenizer="gpt2-trimmed",
            n_layer=2,
            batch_size=32,
            max_iters=350,
            warmup_iters=50,
            repeat_fraction=0.25,
            unknown_fraction=0.03,
        ),
        Measured(MACHINE, wall_s=152.5, val_loss=5.4548),
    ),
    "GPU BPE model": TrainingPreset(
        "gpu-bpe",
        "GPT-2's BPE tokenizer (50,257 tokens) with 6 layers, 6 heads, 384 dims and a 256-token context "
        "(about 30 M parameters, most of them in the embedding table). Meant for a GPU.",
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

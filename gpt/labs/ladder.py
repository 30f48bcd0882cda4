"""Lab 10: the architecture ladder. The GPT built one part at a time, every rung on the same budget.

The source lecture grows a bigram model into a transformer: one attention head with positions, several
heads, a feed-forward layer, stacked blocks, residual connections, LayerNorm and dropout. Here every
rung is the project's one ``GPT`` with config switches (``n_layer=0`` and ``pos_encoding="none"`` for
the bigram; ``mlp``, ``residual``, ``layernorm``), trained by ``python -m gpt.train`` with the same
steps, batch, context, learning-rate schedule and seeds (``BUDGET``, ``SEEDS``), so the only
difference between two rungs is the part that was added.

``bench/ladder.py`` trains every rung with every seed and writes ``assets/labs/ladder.json``; this
module defines the rungs and their commands; ``gpt.labs.ladder_results``
reads that file back.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpt.train.settings import TrainSettings

SEEDS = (1337, 1338, 1339)  # three seeds: each one draws its own initial weights and batches
# What the source prints: the loss of a uniform guess over Tiny Shakespeare's 65 characters, and the
# bigram's loss after training. It prints no loss for the later rungs.
SOURCE_VOCAB = 65
SOURCE_START_LOSS = 4.17
RUN_PREFIX = "ladder-"  # "Train this rung now" names its run ladder-<rung id>; the run id adds the time

# One budget for every rung. Measured on a 2-core CPU: the slowest rung trains in under a minute.
# The learning rate is high for a transformer because these models are tiny (AdamW with warm-up,
# cosine decay and gradient clipping keeps it stable); it is the same for every rung.
BUDGET = TrainSettings(
    n_embd=64,
    block_size=32,
    batch_size=32,
    max_iters=1200,
    lr=1e-2,
    min_lr=1e-3,
    warmup_iters=100,
    eval_interval=100,
    eval_iters=20,
    log_interval=10,
    # The optimiser's knobs at today's defaults, written out: a later change of a default must not
    # change what the shipped commands train.
    weight_decay=0.1,
    beta1=0.9,
    beta2=0.99,
    grad_clip=1.0,
    tie_embeddings=False,  # its own output matrix: with no blocks, the bigram is a lookup table W_out E
    device="cpu",
    dtype="float32",  # never bf16: the shipped numbers must not depend on the machine's bf16 support
)


class LadderError(ValueError):
    """Shipped ladder results that cannot be shown; the message says why and how to make them again."""


@dataclass(frozen=True)
class Rung:
    rung_id: str
    title: str  # what the table's first column says
    adds: str  # the part this rung adds, in a sentence
    changes: tuple[tuple[str, Any], ...]  # its TrainSettings model knobs on top of BUDGET
    source_loss: float | None = None  # the loss the source prints for this rung, where it prints one

    def settings(self, seed: int = SEEDS[0]) -> TrainSettings:
        return BUDGET.with_changes(**dict(self.changes), seed=seed)

    @property
    def has_attention(self) -> bool:
        return self.settings().n_layer > 0

    @property
    def label(self) -> str:
        """'5 · + residual connections': numbered, so that no table cell starts like a Markdown list item."""
        return f"{RUNGS.index(self)} · {self.title}"


_BARE = (("mlp", False), ("residual", False), ("layernorm", False))  # one block of attention, nothing else
RUNGS: tuple[Rung, ...] = (
    Rung(
        "bigram",
        "Bigram",
        "No positions and no blocks: the current character's embedding goes straight to the output layer, "
        "so each character always predicts the same next-character distribution.",
        (("n_layer", 0), ("pos_encoding", "none"), ("layernorm", False)),
        source_loss=2.48,
    ),
    Rung(
        "one-head",
        "+ positions and one attention head",
        "Learned position vectors, and one causal self-attention head over the whole 64 dimensions. "
        "Its output is all the output layer sees: no MLP, no skip connection, no LayerNorm.",
        (("n_layer", 1), ("n_head", 1), *_BARE),
    ),
    Rung(
        "four-heads",
        "4 heads",
        "The same attention split into 4 heads of 16 dimensions: four patterns to look for at once.",
        (("n_layer", 1), ("n_head", 4), *_BARE),
    ),
    Rung(
        "mlp",
        "+ feed-forward MLP",
        "A feed-forward layer after attention (64 → 256 → 64): attention lets the tokens communicate, the MLP "
        "then computes on each token by itself.",
        (("n_layer", 1), ("n_head", 4), ("residual", False), ("layernorm", False)),
    ),
    Rung(
        "three-blocks",
        "3 blocks",
        "Three attention + MLP blocks stacked, still without skip connections or LayerNorm.",
        (("n_layer", 3), ("n_head", 4), ("residual", False), ("layernorm", False)),
    ),
    Rung(
        "residual",
        "+ residual connections",
        "x + sublayer(x): every attention and MLP adds its output to the stream instead of replacing it, "
        "so the token's own vector and the gradient pass every block unchanged.",
        (("n_layer", 3), ("n_head", 4), ("layernorm", False)),
    ),
    Rung(
        "layernorm",
        "+ LayerNorm",
        "LayerNorm before each attention and MLP (pre-norm, as GPT-2) and before the output layer: "
        "every vector is rescaled to mean 0 and variance 1 before it is used.",
        (("n_layer", 3), ("n_head", 4)),
    ),
    Rung(
        "dropout",
        "+ dropout 0.1",
        "While training, 10 % of the values leaving the embeddings, each attention and each MLP are set "
        "to zero at random, so no part can rely on another being there.",
        (("n_layer", 3), ("n_head", 4), ("dropout", 0.1)),
    ),
)
RUNG_IDS = tuple(r.rung_id for r in RUNGS)


def rung_by_id(rung_id: str) -> Rung:
    for rung in RUNGS:
        if rung.rung_id == rung_id:
            return rung
    raise LadderError(f"there is no rung {rung_id!r}; the rungs are {', '.join(RUNG_IDS)}")


def train_argv(rung: Rung, seed: int, out: str | Path) -> list[str]:
    """The arguments of ``python -m gpt.train`` that train ``rung`` with ``seed`` into the folder ``out``."""
    return ["--out", str(out), *rung.settings(seed).to_argv()]


def train_command(rung: Rung, seed: int = SEEDS[0], out: str | Path | None = None) -> str:
    """The whole command, as a user types it (the default folder is runs/ladder-<rung>-s<seed>)."""
    folder = out if out is not None else f"runs/{RUN_PREFIX}{rung.rung_id}-s{seed}"
    return shlex.join(["python", "-m", "gpt.train", *train_argv(rung, seed, folder)])


def is_rung_run(run_id: str, rung: Rung) -> bool:
    """Whether a run id is one the lab's "Train this rung now" made for ``rung`` (ladder-<rung>-<date>-<time>)."""
    return re.fullmatch(rf"{re.escape(RUN_PREFIX + rung.rung_id)}-\d{{8}}-\d{{6}}(-\d+)?", run_id) is not None

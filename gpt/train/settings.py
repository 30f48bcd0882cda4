"""The one schema of a training run's settings.

Every knob is one field of ``TrainSettings`` with its default, its help text and its bounds.
Everything else is derived from it:
- the command line (``add_arguments``: ``n_layer`` -> ``--n-layer``, with the help text);
- the app's form defaults and the job manager's worker command (``to_argv``);
- the one validator (``validate``), whose messages name the knob; the app's own stricter limits
  (a maximum learning rate) are an argument of the same function.
The trainer reads its loop settings from the same object, so no knob exists twice.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from gpt.config import POS_ENCODINGS, GPTConfig, preset
from gpt.train.data import TOKENIZERS_WITH_UNKNOWN, TRAIN_TOKENIZERS

DEFAULT_PROBE = "The quick brown fox jumps over the lazy dog"
TOKENIZERS = TRAIN_TOKENIZERS  # one list: what the data loader can build
_CPU_MODEL = preset("shakespeare-char")  # the defaults are the classic CPU "baby GPT"


class SettingsError(ValueError):
    """A knob with a value no run can use. ``knob`` is its field name; ``problem`` what is wrong."""

    def __init__(self, knob: str, problem: str, label: str | None = None) -> None:
        self.knob = knob
        self.problem = problem
        super().__init__(f"{label or knob} {problem}")

    def for_command_line(self) -> str:
        """The same message with the option's name (``--max-iters must be at least 1, got 0``)."""
        return f"{flag_name(self.knob)} {self.problem}"


@dataclass(frozen=True)
class Knob:
    """How one field is typed on the command line and which values it accepts."""

    help: str
    at_least: float | None = None  # inclusive lower bound
    at_most: float | None = None  # inclusive upper bound
    positive: bool = False  # strictly greater than 0
    choices: tuple[str, ...] | None = None
    value_type: type | None = None  # for fields whose default is None
    flag: str | None = None  # a command-line name other than --field-name (booleans that switch off)
    model: bool = False  # shapes the model: fixed once a run has a checkpoint


def _knob(default: Any, help: str, **rules: Any) -> Any:
    return field(default=default, metadata={"knob": Knob(help, **rules)})


@dataclass(frozen=True)
class TrainSettings:
    """Everything a run is started with. Field names are nanoGPT's; the flags are ``--field-name``."""

    # The data.
    data: str = _knob("shakespeare", "UTF-8 text file, or a bundled corpus name: shakespeare")
    tokenizer: str = _knob(
        "char",
        "char (one id per character), gpt2 (BPE) or gpt2-trimmed (BPE, the corpus's tokens only)",
        choices=TOKENIZERS,
    )
    # The model (its vocabulary size comes from the corpus and the tokenizer).
    n_layer: int = _knob(_CPU_MODEL.n_layer, "transformer blocks (0: none, a bigram model)", model=True)
    n_head: int = _knob(_CPU_MODEL.n_head, "attention heads per block", model=True)
    n_embd: int = _knob(_CPU_MODEL.n_embd, "embedding size (width of the residual stream)", model=True)
    block_size: int = _knob(_CPU_MODEL.block_size, "context length in tokens", model=True)
    dropout: float = _knob(_CPU_MODEL.dropout, "dropout probability while training", model=True)
    pos_encoding: str = _knob(
        _CPU_MODEL.pos_encoding,
        "position vectors (none: the model cannot tell positions apart)",
        choices=POS_ENCODINGS,
        model=True,
    )
    tie_embeddings: bool = _knob(
        True,
        "give the output layer its own matrix instead of reusing the token embeddings (GPT-2 ties them)",
        flag="--untied-head",
        model=True,
    )
    # Parts a block can do without (the architecture ladder lab switches them off one at a time).
    mlp: bool = _knob(True, "blocks without their feed-forward MLP (attention only)", flag="--no-mlp", model=True)
    residual: bool = _knob(
        True, "no residual connections: each sublayer's output replaces its input", flag="--no-residual", model=True
    )
    layernorm: bool = _knob(True, "no LayerNorm (ln_1, ln_2 and ln_f)", flag="--no-layernorm", model=True)
    # The optimisation: AdamW, linear warmup then cosine decay to min_lr.
    batch_size: int = _knob(12, "sequences per step", at_least=1)
    max_iters: int = _knob(2000, "optimizer steps", at_least=1)
    lr: float = _knob(1e-3, "peak learning rate", positive=True)
    min_lr: float = _knob(1e-4, "learning rate at the end of the cosine decay", at_least=0)
    warmup_iters: int = _knob(100, "steps of linear warmup", at_least=0)
    lr_decay_iters: int | None = _knob(None, "cosine decay length (default: max_iters)", at_least=1, value_type=int)
    grad_clip: float = _knob(1.0, "clip the gradient norm to this (0: off)", at_least=0)
    weight_decay: float = _knob(0.1, "AdamW weight decay of the matrices", at_least=0)
    beta1: float = _knob(0.9, "AdamW beta1", at_least=0)
    beta2: float = _knob(0.99, "AdamW beta2", at_least=0)
    optimizer: str = _knob(
        "adamw",
        "adamw (nanoGPT's recipe) or muon (Muon for the blocks' matrices, AdamW for the rest)",
        choices=("adamw", "muon"),
    )
    muon_lr: float = _knob(
        0.02, "Muon's peak learning rate (its matrices only; follows the same schedule)", positive=True
    )
    repeat_fraction: float = _knob(
        0.0,
        "share of each training batch whose windows repeat a stretch of the corpus right away (copying "
        "practice: induction heads form in a short run); evaluation reads the plain text",
        at_least=0,
        at_most=1,
    )
    unknown_fraction: float = _knob(
        0.0,
        "share of training input tokens replaced by the unknown token (gpt2-trimmed only), so the model "
        "learns what to do with words its corpus never had; the targets stay the real tokens",
        at_least=0,
        at_most=0.5,
    )
    seed: int = _knob(1337, "random seed of the weights, batches and dropout")
    # Evaluation and what the run records.
    eval_interval: int = _knob(250, "evaluate (val loss, sample, probe, checkpoint) every N steps", at_least=1)
    eval_iters: int = _knob(50, "batches per split in each evaluation", at_least=1)
    log_interval: int = _knob(10, "write a metrics line every N steps", at_least=1)
    probe: str = _knob(DEFAULT_PROBE, "sentence whose attention is recorded at each evaluation")
    sample_prompt: str | None = _knob(
        None, "prompt of the text sample at each evaluation (default: the corpus's first line)", value_type=str
    )
    sample_tokens: int = _knob(200, "tokens generated for each sample", at_least=1)
    # The machine: how fast, never what is computed.
    device: str = _knob("auto", "auto: CUDA, then Apple MPS, then the CPU", choices=("auto", "cpu", "cuda", "mps"))
    dtype: str = _knob(
        "auto",
        "auto: float32 or bf16 autocast, whichever measures faster for this model here",
        choices=("auto", "float32", "bfloat16"),
    )
    compile: bool = _knob(False, "torch.compile the model (slow start, faster steps)")
    threads: int = _knob(0, "CPU threads for torch (0: measured, the fastest for this model here)", at_least=0)

    # ------------------------------------------------------------------ conversions

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainSettings:
        """Settings from a saved record (run.json, a checkpoint); unknown keys are ignored, so
        records of older versions load with today's defaults for what they lack."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def with_changes(self, **changes: Any) -> TrainSettings:
        return replace(self, **changes)

    def to_argv(self) -> list[str]:
        """The worker's command-line options for these settings: every knob not at its default."""
        argv: list[str] = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value == f.default or value is None:
                continue
            if isinstance(value, bool):
                argv.append(flag_name(f.name))  # a switch: present means "not the default"
            else:
                argv += [flag_name(f.name), str(value)]
        return argv

    def model_config(self, vocab_size: int) -> GPTConfig:
        """The model these settings describe (ConfigError names a knob that does not work)."""
        return GPTConfig(vocab_size=vocab_size, **{name: getattr(self, name) for name in MODEL_KNOBS})

    # ------------------------------------------------------------------ the one validator

    def validate(self, vocab_size: int | None = None, max_lr: float | None = None) -> GPTConfig | None:
        """Raise SettingsError (or ConfigError for the model's shape) for the first knob that no run
        can use. With ``vocab_size``, also build and return the model config. ``max_lr`` is a
        stricter limit of the caller's own (the app refuses typos such as 1e9)."""
        for f in fields(self):
            _check_value(f.name, getattr(self, f.name), _knob_of(f))
        if not self.probe.strip():
            raise SettingsError(
                "probe", "needs some text: its attention is recorded at each evaluation", label="the probe sentence"
            )
        if self.unknown_fraction > 0 and self.tokenizer not in TOKENIZERS_WITH_UNKNOWN:
            raise SettingsError(
                "unknown_fraction",
                f"needs a tokenizer with an unknown token ({', '.join(TOKENIZERS_WITH_UNKNOWN)}), "
                f"not {self.tokenizer}: its vocabulary has every token of the corpus and of any text",
                label="the unknown-token share (unknown_fraction)",
            )
        if max_lr is not None and self.lr > max_lr:
            raise SettingsError(
                "lr",
                f"must be greater than 0 and at most {max_lr:g}, got {self.lr:g} "
                "(AdamW's usual values are 1e-4 to 1e-3; a bigger one makes the loss explode)",
                label="the learning rate (lr)",
            )
        return self.model_config(vocab_size) if vocab_size is not None else None


def _knob_of(f: Any) -> Knob:
    return f.metadata["knob"]


def flag_name(knob: str) -> str:
    """The command-line option of a knob: ``n_layer`` -> ``--n-layer``."""
    f = next((f for f in fields(TrainSettings) if f.name == knob), None)
    if f is not None and _knob_of(f).flag:
        return _knob_of(f).flag
    return "--" + knob.replace("_", "-")


MODEL_KNOBS = tuple(f.name for f in fields(TrainSettings) if _knob_of(f).model)
# What a resumed run must keep: the model's shape, the data it reads, its random streams and the
# optimizer whose state the checkpoint holds (AdamW's moments mean nothing to Muon).
FIXED_ON_RESUME = ("data", "tokenizer", *MODEL_KNOBS, "seed", "optimizer")


def _check_value(name: str, value: Any, knob: Knob) -> None:
    if value is None:
        return
    if knob.choices is not None and value not in knob.choices:
        raise SettingsError(name, f"must be one of {', '.join(knob.choices)}, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise SettingsError(name, f"must be a finite number, got {value}")
    if knob.positive and not value > 0:
        raise SettingsError(name, f"must be positive, got {value:g}")
    if knob.at_least is not None and value < knob.at_least:
        bound = "must not be negative" if knob.at_least == 0 else f"must be at least {knob.at_least:g}"
        raise SettingsError(name, f"{bound}, got {value:g}")
    if knob.at_most is not None and value > knob.at_most:
        raise SettingsError(name, f"must be at most {knob.at_most:g}, got {value:g}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per knob, with its help text. Values are checked by ``validate``, not here, so the
    command line and the app refuse the same things with the same words."""
    for f in fields(TrainSettings):
        knob = _knob_of(f)
        help_text = f"{knob.help} (default: {f.default})" if f.default is not None else knob.help
        if isinstance(f.default, bool):
            action = "store_false" if f.default else "store_true"
            parser.add_argument(flag_name(f.name), dest=f.name, action=action, help=knob.help)
            continue
        value_type = knob.value_type or type(f.default)
        parser.add_argument(flag_name(f.name), dest=f.name, type=value_type, choices=knob.choices, help=help_text)

"""Model configuration: one frozen dataclass, validated on creation, plus named presets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

POS_ENCODINGS = ("learned", "sinusoidal", "none")  # "none": no position vectors (the bigram rung)

# Upper bounds that keep a typo (n_layer=10000) from eating the machine's memory.
MAX_LAYERS = 96
MAX_EMBD = 8192
MAX_BLOCK = 8192
MAX_VOCAB = 1_000_000


class ConfigError(ValueError):
    """A configuration the model cannot be built from; the message says what to change."""


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = 50257  # number of token ids the embedding table holds
    block_size: int = 1024  # longest context (number of positions) the model can read
    n_layer: int = 12  # transformer blocks stacked on top of each other
    n_head: int = 12  # attention heads per block; each sees n_embd // n_head dims
    n_embd: int = 768  # width of the residual stream (embedding size)
    dropout: float = 0.0  # dropout probability during training (0 for inspection)
    bias: bool = True  # biases in Linear and LayerNorm, as GPT-2
    pos_encoding: str = "learned"  # "learned" (GPT-2) or "sinusoidal" (original Transformer)
    tie_embeddings: bool = True  # the output layer reuses the token embedding matrix (GPT-2); False: its own
    # Parts a block can do without (the architecture ladder switches them off one at a time; GPT-2 has all).
    mlp: bool = True  # each block ends with its feed-forward MLP (and the ln_2 before it); False: attention only
    residual: bool = True  # x + sublayer(x); False: each sublayer's output replaces x (no skip connections)
    layernorm: bool = True  # ln_1, ln_2 and ln_f; False: the vectors go on unnormalised

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def has_attention(self) -> bool:
        """Whether the model has attention heads at all: n_layer 0 (the bigram rung) has none."""
        return self.n_layer > 0

    @property
    def head_size(self) -> int:
        """Dimensions per head, d_k in the attention formula."""
        return self.n_embd // self.n_head

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GPTConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(unknown)}")
        return cls(**data)

    def with_changes(self, **changes: Any) -> GPTConfig:
        return replace(self, **changes)


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    if value < low:
        raise ConfigError(f"{name} must be at least {low}, got {value}")
    if value > high:
        raise ConfigError(f"{name} must be at most {high}, got {value}")


def _validate(cfg: GPTConfig) -> None:
    _check_int("vocab_size", cfg.vocab_size, 1, MAX_VOCAB)
    _check_int("block_size", cfg.block_size, 1, MAX_BLOCK)
    _check_int("n_layer", cfg.n_layer, 0, MAX_LAYERS)  # 0: no blocks, a bigram model
    _check_int("n_head", cfg.n_head, 1, MAX_EMBD)
    _check_int("n_embd", cfg.n_embd, 1, MAX_EMBD)
    if cfg.n_embd % cfg.n_head != 0:
        raise ConfigError(
            f"n_embd ({cfg.n_embd}) must be divisible by n_head ({cfg.n_head}) "
            f"so that every head gets the same number of dimensions"
        )
    if not isinstance(cfg.dropout, (int, float)) or not 0.0 <= cfg.dropout < 1.0:
        raise ConfigError(f"dropout must be in [0, 1), got {cfg.dropout!r}")
    for name in ("tie_embeddings", "mlp", "residual", "layernorm"):
        if not isinstance(getattr(cfg, name), bool):
            raise ConfigError(f"{name} must be true or false, got {getattr(cfg, name)!r}")
    if cfg.n_layer == 0 and not (cfg.mlp and cfg.residual):
        # Refused rather than ignored: a checkpoint should not claim a switch that changes nothing.
        raise ConfigError("mlp and residual switch parts of a block off, and n_layer 0 has no blocks: leave them on")
    if cfg.pos_encoding not in POS_ENCODINGS:
        raise ConfigError(f"pos_encoding must be one of {POS_ENCODINGS}, got {cfg.pos_encoding!r}")
    if cfg.pos_encoding == "sinusoidal" and cfg.n_embd % 2 != 0:
        raise ConfigError("sinusoidal positions need an even n_embd (sine/cosine pairs)")


def check_vocab_matches(cfg: GPTConfig, tokenizer_vocab_size: int) -> None:
    """Refuse a model whose embedding table cannot hold every id the tokenizer makes."""
    if cfg.vocab_size < tokenizer_vocab_size:
        raise ConfigError(
            f"the tokenizer makes {tokenizer_vocab_size} different ids but the model's "
            f"vocab_size is {cfg.vocab_size}; set vocab_size to at least {tokenizer_vocab_size}"
        )


MODEL_PRESETS: dict[str, GPTConfig] = {
    # OpenAI GPT-2 small, 124M parameters, exact shapes.
    "gpt2": GPTConfig(),
    # The standard CPU "baby GPT" on character-level Shakespeare (vocab set by the corpus).
    "shakespeare-char": GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128),
    # Small enough for unit tests to run in milliseconds.
    "tiny": GPTConfig(vocab_size=64, block_size=16, n_layer=2, n_head=2, n_embd=16),
}


def preset(name: str, **overrides: Any) -> GPTConfig:
    """A preset by name, optionally with fields changed (e.g. vocab_size for a new corpus)."""
    if name not in MODEL_PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose from {', '.join(MODEL_PRESETS)}")
    return MODEL_PRESETS[name].with_changes(**overrides)

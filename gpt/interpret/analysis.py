"""Small, pure helpers behind the explorer pages: tokenizer comparisons, token bytes,
model facts, 2-D projections and similarities of vectors, rows for next-token tables.

Nothing here draws anything; the pages turn these values into figures and tables.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from gpt.config import GPTConfig
from gpt.generate import GenerationStep
from gpt.tokenizers import Tokenizer, TokenPiece, get_tokenizer, split_words, visible

# --------------------------------------------------------------------------- tokenizers


@lru_cache(maxsize=4)
def corpus_tokenizer(kind: str, corpus_path: str) -> Tokenizer:
    """A char or word tokenizer whose vocabulary comes from a corpus file (built once per file).

    Tokenizers are read-only after construction, so sharing one between sessions is safe.
    """
    text = Path(corpus_path).read_text(encoding="utf-8")
    return get_tokenizer(kind, text)


_CONTROL_PICTURES = {c: chr(0x2400 + c) for c in range(0x20)} | {0x7F: "\u2421"}

# Invisible characters by a short name (the rest as ⟨U+XXXX⟩): bidi controls would otherwise reorder
# the text around them, zero-width ones vanish, and odd spaces look like nothing at all.
_INVISIBLE_NAMES = {
    0x00A0: "NBSP", 0x00AD: "SHY", 0x034F: "CGJ", 0x061C: "ALM", 0x180E: "MVS",
    0x200B: "ZWSP", 0x200C: "ZWNJ", 0x200D: "ZWJ", 0x200E: "LRM", 0x200F: "RLM",
    0x2028: "LSEP", 0x2029: "PSEP", 0x202A: "LRE", 0x202B: "RLE", 0x202C: "PDF", 0x202D: "LRO",
    0x202E: "RLO", 0x202F: "NNBSP", 0x2060: "WJ", 0x2066: "LRI", 0x2067: "RLI", 0x2068: "FSI",
    0x2069: "PDI", 0x3000: "IDSP", 0xFEFF: "BOM",
}  # fmt: skip
# Blank letters and selectors that are not format characters but draw nothing (Hangul fillers, ...).
_BLANK_OTHER = {0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800}
# Variation selectors change how the character before them looks; pictured only when they stand alone.
_SELECTORS = set(range(0xFE00, 0xFE10)) | set(range(0xE0100, 0xE01F0)) | {0x180B, 0x180C, 0x180D, 0x180F}


def _is_invisible(ch: str) -> bool:
    cp = ord(ch)
    if cp in _INVISIBLE_NAMES or cp in _BLANK_OTHER:
        return True
    category = unicodedata.category(ch)
    return category in ("Cc", "Cf", "Zl", "Zp") or (category == "Zs" and ch != " ")


def _picture(ch: str) -> str:
    cp = ord(ch)
    return "\u27e8" + _INVISIBLE_NAMES.get(cp, f"U+{cp:04X}") + "\u27e9"


def shown_token(text: str) -> str:
    """A token as a display shows it: whitespace visible (``visible``), C0 control characters as
    their Unicode 'control picture' (NUL -> ␀), and every other invisible character (format
    characters such as the right-to-left override, zero-width joiners, odd spaces, C1 controls) as
    a bracketed name like ⟨RLO⟩ or ⟨U+0085⟩, so nothing is invisible and nothing reorders the text
    around it. A token that starts with a combining mark gets a dotted circle to sit on (◌́), as
    Unicode charts show it."""
    shown = visible(text).translate(_CONTROL_PICTURES)
    if any(_is_invisible(c) or ord(c) in _SELECTORS for c in shown):
        parts = []
        for i, c in enumerate(shown):
            selector_alone = ord(c) in _SELECTORS and (i == 0 or _is_invisible(shown[i - 1]))
            parts.append(_picture(c) if _is_invisible(c) or selector_alone else c)
        shown = "".join(parts)
    if shown and unicodedata.category(shown[0]) in ("Mn", "Me"):
        shown = "\u25cc" + shown
    return shown


def token_label(tokenizer: Tokenizer, piece: TokenPiece) -> str:
    """How a chip names a token: its text (``shown_token``), or its raw bytes as ``⟨f0 9f⟩`` when
    it is only part of a multi-byte character (alone, its text would be a meaningless '�')."""
    data = token_bytes(tokenizer, piece)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "⟨" + hex_bytes(data) + "⟩"
    return shown_token(piece.text)


def token_bytes(tokenizer: Tokenizer, piece: TokenPiece) -> bytes:
    """The bytes a token stands for. For GPT-2 these are the BPE table's bytes, which may be
    part of one multi-byte character (an emoji is often split over 2-3 tokens)."""
    byte_fn = getattr(tokenizer, "token_bytes", None)
    if callable(byte_fn) and piece.known:  # an unknown piece's row is a stand-in: show the typed text
        return byte_fn(piece.id)
    return piece.text.encode("utf-8", errors="replace")


def hex_bytes(data: bytes) -> str:
    """'54 68 65' style hex, one pair per byte."""
    return " ".join(f"{b:02x}" for b in data)


def token_table_rows(tokenizer: Tokenizer, pieces: Sequence[TokenPiece]) -> list[dict[str, Any]]:
    """One row per token: position, the token as shown (whitespace visible), its id, its bytes."""
    rows = []
    for position, piece in enumerate(pieces):
        data = token_bytes(tokenizer, piece)
        rows.append(
            {
                "position": position,
                "token": token_label(tokenizer, piece),
                "id": piece.id,
                **_gpt2_column(tokenizer, piece),
                "bytes (hex)": hex_bytes(data),
                "n_bytes": len(data),
                "in vocabulary": piece.known,
            }
        )
    return rows


def _gpt2_column(tokenizer: Tokenizer, piece: TokenPiece) -> dict[str, Any]:
    """A trimmed GPT-2 tokenizer's rows are its own: the table shows GPT-2's id beside (text, so that
    "unknown" can stand in one column with numbers)."""
    gpt2_id = getattr(tokenizer, "gpt2_id", None)
    if gpt2_id is None:
        return {}
    return {"GPT-2 id": str(gpt2_id(piece.id)) if piece.known else "unknown"}


def count_words(text: str) -> int:
    """Words and punctuation marks, split the way the simple word tokenizer splits."""
    return len(split_words(text))


@dataclass(frozen=True)
class TokenizerSummary:
    """How one tokenizer cuts a text: its pieces and how many were not in its vocabulary."""

    name: str
    pieces: list[TokenPiece]
    vocab_size: int

    @property
    def n_tokens(self) -> int:
        return len(self.pieces)

    @property
    def n_unknown(self) -> int:
        return sum(1 for p in self.pieces if not p.known)


def compare_tokenizers(text: str, tokenizers: Mapping[str, Tokenizer]) -> list[TokenizerSummary]:
    """The same text under several tokenizers, in the order given."""
    return [TokenizerSummary(name, tok.pieces(text), tok.vocab_size) for name, tok in tokenizers.items()]


# --------------------------------------------------------------------------- model facts

_META_LABELS = {
    "iter": "training iterations",
    "train_loss": "training loss",
    "val_loss": "validation loss",
    "best_val_loss": "best validation loss",
    "seed": "random seed",
    "dataset": "dataset",
    "corpus": "corpus",
    "run_id": "run",
    "created": "created",
    "saved_at": "saved at",
    "source": "weights from",
    "tokens_seen": "tokens seen",
}
_META_SKIP = {"config", "tokenizer", "files", "sha256", "format_version", "optimizer", "untrained", "train_options"}
# Settings the trainer ran with (meta["train_options"]) that a teacher would quote.
_OPTION_LABELS = {
    "data": "training text",
    "max_iters": "planned iterations",
    "batch_size": "batch size",
    "lr": "learning rate",
}

POSITION_KIND_TEXT = {
    "learned": "learned (a trained table with one vector per position, as in GPT-2)",
    "sinusoidal": "sinusoidal (fixed sines and cosines, as in the original Transformer)",
    "none": "none (no position vectors: the model cannot tell positions apart)",
}


def model_facts(config: GPTConfig, n_params: int, tokenizer_name: str, vocab_size: int) -> list[tuple[str, str]]:
    """(fact, value) rows describing a model's shape, for a table a teacher can read out. A model
    without blocks (the bigram rung) has no heads, so it gets no head rows rather than made-up ones."""
    if config.has_attention:
        shape = [
            ("layers (transformer blocks)", str(config.n_layer)),
            ("attention heads per layer", str(config.n_head)),
            ("d_model (embedding width)", str(config.n_embd)),
            ("d_k (dimensions per head)", str(config.head_size)),
        ]
    else:
        shape = [
            ("layers (transformer blocks)", "0 (a bigram model: no attention)"),
            ("d_model (embedding width)", str(config.n_embd)),
        ]
    return [
        *shape,
        ("context (longest input, tokens)", str(config.block_size)),
        ("parameters", f"{n_params:,}"),
        ("tokenizer", f"{tokenizer_name} ({vocab_size:,} token ids)"),
        ("positional encoding", POSITION_KIND_TEXT.get(config.pos_encoding, config.pos_encoding)),
    ]


_COUNTS = {"iter", "tokens_seen"}  # numbers read as amounts (1,000s separators); a seed is a label


def _format_meta_value(key: str, value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int) and not isinstance(value, bool) and key in _COUNTS:
        return f"{value:,}"
    return str(value)


def training_facts(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Readable (fact, value) rows from a checkpoint's sidecar: known keys first, then any other
    simple values the trainer recorded. Nested structures (config, file hashes) are left out."""
    rows: list[tuple[str, str]] = []
    if meta.get("untrained"):
        rows.append(("training", "none: random weights (what attention looks like before learning)"))
    for key, label in _META_LABELS.items():
        if key in meta and isinstance(meta[key], (str, int, float)):
            rows.append((label, _format_meta_value(key, meta[key])))
    for key, value in meta.items():
        if key in _META_LABELS or key in _META_SKIP:
            continue
        if isinstance(value, (str, int, float, bool)):
            rows.append((key.replace("_", " "), _format_meta_value(key, value)))
    options = meta.get("train_options")
    if isinstance(options, Mapping):
        for key, label in _OPTION_LABELS.items():
            if isinstance(options.get(key), (str, int, float)):
                value = options[key]
                rows.append((label, f"{value:g}" if isinstance(value, float) else str(value)))
    return rows


# --------------------------------------------------------------------------- vectors


@dataclass(frozen=True)
class Projection:
    coords: torch.Tensor  # (N, 2) the points on the first two principal axes
    explained: tuple[float, float]  # share of the total variance each axis keeps (0..1)


def pca_2d(vectors: torch.Tensor) -> Projection:
    """Project (N, C) vectors onto their two main directions of variation (PCA through SVD).

    With fewer than two distinct points there is no direction to find; the points land at 0.
    Signs of principal axes are arbitrary; we fix them so the result does not flip between runs.
    """
    x = vectors.detach().double()
    n = x.shape[0]
    centred = x - x.mean(dim=0, keepdim=True)
    if n < 2 or float(centred.abs().max()) == 0.0:
        return Projection(torch.zeros(n, 2), (0.0, 0.0))
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)  # centred = U diag(s) Vh
    axes = vh[:2]  # (k<=2, C)
    # Deterministic sign: the largest-magnitude coordinate of each axis is positive.
    signs = torch.sign(axes.gather(1, axes.abs().argmax(dim=1, keepdim=True)))
    axes = axes * torch.where(signs == 0, torch.ones_like(signs), signs)
    coords = centred @ axes.T  # (N, k)
    if coords.shape[1] < 2:
        coords = torch.cat([coords, torch.zeros(n, 2 - coords.shape[1], dtype=coords.dtype)], dim=1)
    variance = s**2
    total = float(variance.sum())
    shares = [float(v) / total for v in variance[:2]] + [0.0, 0.0]
    return Projection(coords.float(), (shares[0], shares[1]))


def cosine_similarity_matrix(vectors: torch.Tensor) -> torch.Tensor:
    """(N, C) -> (N, N) cosine similarity between every pair of rows; a zero row gives 0."""
    x = vectors.detach().float()
    norms = x.norm(dim=1, keepdim=True).clamp_min(1e-12)
    unit = x / norms
    return unit @ unit.T


# --------------------------------------------------------------------------- next token


def top_token_rows(
    probs: torch.Tensor, tokenizer: Tokenizer, k: int, raw_probs: torch.Tensor | None = None
) -> list[dict[str, Any]]:
    """The k most likely next tokens: rank, token (whitespace visible), id, probability.

    ``raw_probs`` (plain softmax, temperature 1) is added as a column to compare against.
    """
    values, ids = torch.topk(probs, min(k, probs.numel()))
    rows = []
    for rank, (token_id, p) in enumerate(zip(ids.tolist(), values.tolist()), start=1):
        row: dict[str, Any] = {
            "rank": rank,
            "token": shown_token(tokenizer.token_text(token_id)),
            "id": token_id,
            "probability": p,
        }
        if raw_probs is not None:
            row["probability at T=1, no cut-off"] = float(raw_probs[token_id])
        rows.append(row)
    return rows


def generation_rows(steps: Sequence[GenerationStep], tokenizer: Tokenizer) -> list[dict[str, Any]]:
    """One row per generated token: the choice, its probability and the runners-up."""
    rows = []
    for i, step in enumerate(steps, start=1):
        alternatives = ", ".join(f"{shown_token(tokenizer.token_text(t))} ({p:.3g})" for t, p in step.alternatives)
        rows.append(
            {
                "step": i,
                "chosen token": shown_token(tokenizer.token_text(step.token_id)),
                "id": step.token_id,
                "probability": step.prob,
                "top alternatives": alternatives,
            }
        )
    return rows

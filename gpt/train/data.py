"""Training data: read a corpus, tokenize it, split it 90/10, and cut it into (input, target) windows.

Two ways to cut windows, both predicting token t+1 from tokens ..t:
- ``get_batch``: nanoGPT's way, ``batch_size`` windows at random offsets (what training uses);
- ``sliding_windows``: the textbook's dataset, every window from the start with a fixed
  ``stride`` (stride == max_length: no overlap; stride 1: every possible window).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from gpt.paths import CORPUS_DIR
from gpt.tokenizers import Tokenizer, TokenizerError, get_tokenizer

BUNDLED_CORPORA = {"shakespeare": CORPUS_DIR / "shakespeare.txt"}
TRAIN_TOKENIZERS = ("char", "gpt2", "gpt2-trimmed")
TOKENIZERS_WITH_UNKNOWN = ("gpt2-trimmed",)  # an <|unk|> row for text the corpus never had
VAL_FRACTION = 0.1
MAX_CORPUS_BYTES = 200 * 1024 * 1024  # a typo pointing at a disk image should not fill the memory


class DataError(ValueError):
    """A corpus that cannot be trained on; the message says why and what to do."""


def resolve_corpus(source: str | Path) -> Path:
    """A bundled corpus name ("shakespeare") or a path to a text file."""
    name = str(source)
    if name in BUNDLED_CORPORA:
        return BUNDLED_CORPORA[name]
    return Path(name).expanduser()


def decode_corpus(raw: bytes, origin: str = "the corpus") -> str:
    """Bytes -> text, refusing what is not UTF-8 text (binary files, other encodings, empty files)."""
    if not raw.strip():
        raise DataError(f"{origin} is empty; training needs some text")
    if b"\x00" in raw[: 1 << 20]:
        raise DataError(f"{origin} looks like a binary file (it contains NUL bytes); use a plain UTF-8 .txt file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{origin} is not UTF-8 text (byte {exc.start} cannot be decoded); save it as UTF-8 and try again"
        ) from exc
    return text.removeprefix("\ufeff")  # a BOM is not part of the text


def read_corpus(source: str | Path) -> str:
    path = resolve_corpus(source)
    if not path.exists():
        bundled = ", ".join(BUNDLED_CORPORA)
        raise DataError(f"corpus {str(source)!r} not found: give a path to a UTF-8 text file or one of: {bundled}")
    if not path.is_file():
        raise DataError(f"corpus {str(path)!r} is not a file")
    size = path.stat().st_size
    if size > MAX_CORPUS_BYTES:
        raise DataError(f"corpus {str(path)!r} is {size / 1e6:.0f} MB; the limit is {MAX_CORPUS_BYTES / 1e6:.0f} MB")
    return decode_corpus(path.read_bytes(), f"corpus {str(path)!r}")


def make_tokenizer(kind: str, text: str) -> Tokenizer:
    if kind not in TRAIN_TOKENIZERS:
        raise DataError(f"tokenizer must be one of {', '.join(TRAIN_TOKENIZERS)}, got {kind!r}")
    try:
        return get_tokenizer(kind, text)
    except TokenizerError as exc:
        raise DataError(str(exc)) from exc


@dataclass(frozen=True)
class Splits:
    train: torch.Tensor  # (N_train,) int64 token ids
    val: torch.Tensor  # (N_val,) int64 token ids


def split_ids(ids: torch.Tensor, val_fraction: float = VAL_FRACTION) -> Splits:
    """The first 90% of the tokens train, the last 10% validate (contiguous, as nanoGPT)."""
    n_train = int(len(ids) * (1.0 - val_fraction))
    return Splits(train=ids[:n_train], val=ids[n_train:])


def check_fits(splits: Splits, block_size: int) -> None:
    """Both splits must hold at least one window of block_size inputs plus the shifted target."""
    check_split_sizes(len(splits.train), len(splits.val), block_size)


def check_split_sizes(n_train: int, n_val: int, block_size: int) -> None:
    """``check_fits`` from the two splits' token counts alone (raises DataError)."""
    need = block_size + 1
    for name, size in (("training", n_train), ("validation", n_val)):
        if size < need:
            raise DataError(
                f"the corpus is too short: its {name} split has {size} tokens but one window needs "
                f"block_size + 1 = {need} (the corpus has {n_train + n_val} tokens, 10% of them validate); "
                f"use a longer text or a smaller --block-size"
            )


def load_splits(source: str | Path, tokenizer_kind: str, block_size: int) -> tuple[Tokenizer, Splits, str]:
    """Read, tokenize, split and check a corpus in one call. Returns (tokenizer, splits, text)."""
    text = read_corpus(source)
    tokenizer = make_tokenizer(tokenizer_kind, text)
    ids = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    splits = split_ids(ids)
    check_fits(splits, block_size)
    return tokenizer, splits, text


def get_batch(
    data: torch.Tensor,
    block_size: int,
    batch_size: int,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
    repeat_fraction: float = 0.0,
    unknown: tuple[float, int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` windows at random offsets: x (B, T) and y (B, T) = x shifted by one token.
    ``repeat_fraction``: that share of them repeat a stretch of their own text (``repeat_windows``).
    ``unknown``: (share, unknown id): that share of the inputs become the unknown token (``hide_tokens``)."""
    if len(data) < block_size + 1:
        raise DataError(f"need at least {block_size + 1} tokens for one window, got {len(data)}")
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)  # (B,)
    offsets = starts[:, None] + torch.arange(block_size + 1)  # (B, T+1)
    chunk = repeat_windows(data[offsets], repeat_fraction, generator)  # one gather instead of B slices + stack
    x, y = chunk[:, :-1], chunk[:, 1:]
    if unknown is not None:
        x = hide_tokens(x, *unknown, generator)
    if torch.device(device).type == "cuda":
        return x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
    return x.contiguous().to(device), y.contiguous().to(device)


MIN_REPEAT = 4  # shortest stretch a repeated window repeats, in tokens


def repeat_windows(chunk: torch.Tensor, fraction: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, T+1) windows -> the same, with the first round(fraction * B) made into "A A rest": a stretch A
    of each window's own tokens (random length 4..T/2), then A again, then the window goes on.

    Natural text repeats itself now and then (names, refrains); windows that always do give a small
    model a steady reason to learn copying: "after this token came that one last time" (induction).
    """
    n, width = round(fraction * chunk.shape[0]), chunk.shape[1]
    if n == 0 or width < 2 * MIN_REPEAT:
        return chunk
    out = chunk.clone()
    lengths = torch.randint(MIN_REPEAT, width // 2 + 1, (n,), generator=generator)
    for row, length in enumerate(lengths.tolist()):
        stretch = chunk[row, :length]
        out[row] = torch.cat([stretch, stretch, chunk[row, length:]])[:width]
    return out


def hide_tokens(
    x: torch.Tensor, fraction: float, unknown_id: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """x with a random ``fraction`` of its tokens replaced by ``unknown_id`` (a new tensor).

    A trimmed vocabulary's unknown row never occurs in its own corpus, so without this the model never
    sees it as an input (its vector is only ever trained as an output to avoid), and every text with a
    new word ("jumps") feeds layer 0 a vector it has never read; seeing the row now and then in ordinary
    text teaches the model to read around it.
    """
    if fraction <= 0:
        return x
    hidden = torch.rand(x.shape, generator=generator) < fraction
    return x.masked_fill(hidden, unknown_id)


def sliding_windows(ids: torch.Tensor | list[int], max_length: int, stride: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The textbook's dataset: windows starting at 0, stride, 2*stride, ... that fit entirely.

    Returns inputs (N, max_length) and targets (N, max_length), targets = inputs shifted by one.
    """
    if max_length < 1 or stride < 1:
        raise DataError(f"max_length and stride must be at least 1, got {max_length} and {stride}")
    ids = torch.as_tensor(ids, dtype=torch.long)
    if len(ids) < max_length + 1:
        raise DataError(f"need at least max_length + 1 = {max_length + 1} tokens, got {len(ids)}")
    windows = ids.unfold(0, max_length + 1, stride)  # (N, max_length + 1), a view: no copy
    return windows[:, :-1].clone(), windows[:, 1:].clone()

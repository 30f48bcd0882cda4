"""Four tokenizers behind one interface: GPT-2 BPE (offline tiktoken), GPT-2 BPE trimmed to a corpus, characters, words.

Every tokenizer turns text into ids and back, and can also explain itself for a display:
``pieces(text)`` gives each token's id, its text and its character span in the input.

``<|endoftext|>`` typed by a user is always encoded as the special end-of-text token
(id 50256 for GPT-2) rather than as the characters ``<``, ``|``, ... This is the
behaviour a teacher expects when showing how documents are separated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import tiktoken
from tiktoken.load import load_tiktoken_bpe

from gpt.paths import GPT2_BPE_PATH

GPT2_BPE_SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"
# GPT-2's pre-tokenisation regex (split into words, numbers, punctuation, spaces before BPE).
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
ENDOFTEXT = "<|endoftext|>"
UNK = "<|unk|>"
GPT2_EOT_ID = 50256


class TokenizerError(ValueError):
    """Text or a vocabulary a tokenizer cannot work with; the message says why."""


@dataclass(frozen=True)
class TokenPiece:
    """One token as a display needs it."""

    id: int
    text: str  # the token's text as it appears in the input (may start with a space)
    start: int  # character offset in the input where the token starts
    end: int  # character offset just past the token
    known: bool = True  # False when the tokenizer had to substitute <|unk|> or a fallback


def visible(text: str) -> str:
    """Make whitespace visible in a token chip: spaces as '·', newlines and tabs as symbols."""
    return text.replace(" ", "·").replace("\n", "↵").replace("\t", "⇥").replace("\r", "␍")


class Tokenizer(Protocol):
    name: str

    @property
    def vocab_size(self) -> int: ...

    @property
    def eot_id(self) -> int | None: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Iterable[int]) -> str: ...

    def pieces(self, text: str) -> list[TokenPiece]: ...

    def token_text(self, token_id: int) -> str: ...

    def to_spec(self) -> dict[str, Any]: ...


def clean_text(text: str) -> str:
    """Replace unpaired surrogates (which cannot be encoded as UTF-8) with U+FFFD."""
    return _SURROGATE_RE.sub("\ufffd", text)


# A Python str never holds a valid surrogate pair, so any surrogate code point is unpaired.
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


# --------------------------------------------------------------------------- GPT-2 BPE


@lru_cache(maxsize=1)
def _gpt2_encoding() -> tiktoken.Encoding:
    if not GPT2_BPE_PATH.exists():
        raise TokenizerError(f"GPT-2 BPE table missing: expected {GPT2_BPE_PATH}")
    ranks = load_tiktoken_bpe(str(GPT2_BPE_PATH), expected_hash=GPT2_BPE_SHA256)
    return tiktoken.Encoding(
        name="gpt2_offline",
        pat_str=GPT2_PATTERN,
        mergeable_ranks=ranks,
        special_tokens={ENDOFTEXT: GPT2_EOT_ID},
        explicit_n_vocab=50257,
    )


class GPT2Tokenizer:
    """GPT-2's byte-pair encoding, loaded from the BPE table shipped in assets/ (no network)."""

    name = "gpt2"

    def __init__(self) -> None:
        self._enc = _gpt2_encoding()

    @property
    def vocab_size(self) -> int:
        return self._enc.n_vocab

    @property
    def eot_id(self) -> int:
        return GPT2_EOT_ID

    def encode(self, text: str) -> list[int]:
        return self._enc.encode(clean_text(text), allowed_special={ENDOFTEXT})

    def decode(self, ids: Iterable[int]) -> str:
        return self._enc.decode([int(i) for i in ids], errors="replace")

    def token_bytes(self, token_id: int) -> bytes:
        return self._enc.decode_single_token_bytes(int(token_id))

    def token_text(self, token_id: int) -> str:
        return self.token_bytes(token_id).decode("utf-8", errors="replace")

    def pieces(self, text: str) -> list[TokenPiece]:
        text = clean_text(text)
        ids = self.encode(text)
        # A multi-byte character split over several tokens gives tokens that are not
        # valid UTF-8 alone; their span is the whole character.
        _, offsets = self._enc.decode_with_offsets(ids)
        bounds = offsets[1:] + [len(text)]
        result = []
        for token_id, start, end in zip(ids, offsets, bounds):
            result.append(TokenPiece(token_id, self.token_text(token_id), start, max(start, end)))
        return result

    def to_spec(self) -> dict[str, Any]:
        return {"kind": "gpt2"}


class GPT2TrimmedTokenizer:
    """GPT-2's byte-pair encoding with a vocabulary trimmed to the tokens of one corpus.

    The text is cut exactly as GPT-2 cuts it; each GPT-2 id then maps to a row of the model's own,
    much smaller embedding table (rows in order of GPT-2 id, ``<|endoftext|>`` always included). A
    GPT-2 token the corpus never contained has no row: it becomes the last row, ``<|unk|>``, and
    ``pieces`` reports it as unknown. A small model then spends its parameters on the ~12 k tokens
    it sees instead of memorising rows for 50 k.
    """

    name = "gpt2-trimmed"

    def __init__(self, gpt2_ids: Iterable[int]) -> None:
        ids = sorted({int(i) for i in gpt2_ids} | {GPT2_EOT_ID})
        if ids[0] < 0 or ids[-1] > GPT2_EOT_ID:
            raise TokenizerError(f"GPT-2 token ids run from 0 to {GPT2_EOT_ID}; got {ids[0]}..{ids[-1]}")
        self._gpt2 = GPT2Tokenizer()
        self.gpt2_ids = ids  # row -> GPT-2 id (the unknown row is one past the end)
        self._row = {gpt2_id: row for row, gpt2_id in enumerate(ids)}
        self.unk_id = len(ids)

    @classmethod
    def from_corpus(cls, text: str) -> GPT2TrimmedTokenizer:
        return cls(GPT2Tokenizer().encode(text))

    @property
    def vocab_size(self) -> int:
        return len(self.gpt2_ids) + 1

    @property
    def eot_id(self) -> int:
        return self._row[GPT2_EOT_ID]

    def gpt2_id(self, token_id: int) -> int | None:
        """The GPT-2 id a row stands for; None for the unknown row (or an id out of range)."""
        i = int(token_id)
        return self.gpt2_ids[i] if 0 <= i < len(self.gpt2_ids) else None

    def encode(self, text: str) -> list[int]:
        return [self._row.get(i, self.unk_id) for i in self._gpt2.encode(text)]

    def decode(self, ids: Iterable[int]) -> str:
        parts, run = [], []
        for i in ids:
            gpt2_id = self.gpt2_id(i)
            if gpt2_id is None:  # the unknown row has no bytes; decode the run before it whole
                parts += [self._gpt2.decode(run), UNK]
                run = []
            else:
                run.append(gpt2_id)
        return "".join(parts) + self._gpt2.decode(run)

    def token_bytes(self, token_id: int) -> bytes:
        gpt2_id = self.gpt2_id(token_id)
        return UNK.encode() if gpt2_id is None else self._gpt2.token_bytes(gpt2_id)

    def token_text(self, token_id: int) -> str:
        return self.token_bytes(token_id).decode("utf-8", errors="replace")

    def pieces(self, text: str) -> list[TokenPiece]:
        result = []
        for p in self._gpt2.pieces(text):
            row = self._row.get(p.id)
            result.append(TokenPiece(self.unk_id if row is None else row, p.text, p.start, p.end, row is not None))
        return result

    def to_spec(self) -> dict[str, Any]:
        return {"kind": "gpt2-trimmed", "gpt2_ids": list(self.gpt2_ids)}


# --------------------------------------------------------------------------- characters


class CharTokenizer:
    """One token per character; the vocabulary is the sorted set of a corpus's characters.

    A character the corpus never contained has no id; it is replaced by the fallback
    character (a space when the vocabulary has one) and reported as unknown by ``pieces``.
    """

    name = "char"

    def __init__(self, chars: Iterable[str]) -> None:
        vocab = sorted(set(chars))
        if not vocab:
            raise TokenizerError("a character vocabulary needs at least one character")
        if any(len(c) != 1 for c in vocab):
            raise TokenizerError("a character vocabulary holds single characters only")
        self.chars = vocab
        self._stoi = {c: i for i, c in enumerate(vocab)}
        self._fallback = self._stoi.get(" ", 0)

    @classmethod
    def from_corpus(cls, text: str) -> CharTokenizer:
        return cls(clean_text(text))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    @property
    def eot_id(self) -> None:
        return None

    def encode(self, text: str) -> list[int]:
        return [self._stoi.get(c, self._fallback) for c in clean_text(text)]

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.token_text(i) for i in ids)

    def token_text(self, token_id: int) -> str:
        i = int(token_id)
        return self.chars[i] if 0 <= i < len(self.chars) else "\ufffd"

    def pieces(self, text: str) -> list[TokenPiece]:
        text = clean_text(text)
        return [TokenPiece(self._stoi.get(c, self._fallback), c, i, i + 1, c in self._stoi) for i, c in enumerate(text)]

    def unknown_chars(self, text: str) -> list[str]:
        return sorted({c for c in clean_text(text) if c not in self._stoi})

    def to_spec(self) -> dict[str, Any]:
        return {"kind": "char", "chars": "".join(self.chars)}


# --------------------------------------------------------------------------- words

# Words, or single punctuation marks, or the special token; whitespace separates.
_WORD_RE = re.compile(r"<\|endoftext\|>|<\|unk\|>|--|[,.:;?_!\"()']|[^\s,.:;?_!\"()']+")
_NO_SPACE_BEFORE = re.compile(r"\s+([,.:;?_!\"()'])")


class WordTokenizer:
    """The textbook's first tokenizer: split on whitespace and punctuation, look words up.

    Words missing from the corpus's vocabulary become ``<|unk|>``.
    """

    name = "word"

    def __init__(self, words: Iterable[str]) -> None:
        vocab = sorted(set(words) - {ENDOFTEXT, UNK})
        self.words = vocab + [ENDOFTEXT, UNK]
        self._stoi = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def from_corpus(cls, text: str) -> WordTokenizer:
        return cls(split_words(clean_text(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    @property
    def eot_id(self) -> int:
        return self._stoi[ENDOFTEXT]

    @property
    def unk_id(self) -> int:
        return self._stoi[UNK]

    def encode(self, text: str) -> list[int]:
        return [p.id for p in self.pieces(text)]

    def decode(self, ids: Iterable[int]) -> str:
        text = " ".join(self.token_text(i) for i in ids)
        return _NO_SPACE_BEFORE.sub(r"\1", text)

    def token_text(self, token_id: int) -> str:
        i = int(token_id)
        return self.words[i] if 0 <= i < len(self.words) else UNK

    def pieces(self, text: str) -> list[TokenPiece]:
        result = []
        for m in _WORD_RE.finditer(clean_text(text)):
            word = m.group()
            token_id = self._stoi.get(word, self.unk_id)
            result.append(TokenPiece(token_id, word, m.start(), m.end(), word in self._stoi))
        return result

    def to_spec(self) -> dict[str, Any]:
        return {"kind": "word", "words": self.words[:-2]}


def split_words(text: str) -> list[str]:
    """The word tokenizer's split, without the vocabulary lookup."""
    return _WORD_RE.findall(text)


# --------------------------------------------------------------------------- factory

TOKENIZER_KINDS = ("gpt2", "gpt2-trimmed", "char", "word")


def get_tokenizer(kind: str, corpus: str | None = None) -> Tokenizer:
    """Build a tokenizer. ``gpt2-trimmed``, ``char`` and ``word`` need a corpus to take their vocabulary from."""
    if kind == "gpt2":
        return GPT2Tokenizer()
    if kind in ("gpt2-trimmed", "char", "word"):
        if not corpus:
            raise TokenizerError(f"the {kind} tokenizer needs a non-empty corpus for its vocabulary")
        if kind == "gpt2-trimmed":
            return GPT2TrimmedTokenizer.from_corpus(corpus)
        return CharTokenizer.from_corpus(corpus) if kind == "char" else WordTokenizer.from_corpus(corpus)
    raise TokenizerError(f"unknown tokenizer {kind!r}; choose from {', '.join(TOKENIZER_KINDS)}")


def tokenizer_from_spec(spec: dict[str, Any]) -> Tokenizer:
    """Rebuild a tokenizer from what ``to_spec`` wrote (stored inside checkpoints)."""
    kind = spec.get("kind")
    if kind == "gpt2":
        return GPT2Tokenizer()
    ids = spec.get("gpt2_ids")
    if kind == "gpt2-trimmed" and isinstance(ids, list) and ids and all(type(i) is int for i in ids):
        return GPT2TrimmedTokenizer(ids)
    if kind == "char" and isinstance(spec.get("chars"), str):
        return CharTokenizer(spec["chars"])
    if kind == "word" and isinstance(spec.get("words"), list):
        return WordTokenizer(str(w) for w in spec["words"])
    raise TokenizerError(f"unrecognised tokenizer description: {spec!r:.200}")

"""Tokenizers: known GPT-2 ids offline, round trips, spans for display, odd input never crashes."""

from __future__ import annotations

import hashlib

import pytest

from gpt.tokenizers import (
    ENDOFTEXT,
    GPT2_BPE_PATH,
    GPT2_BPE_SHA256,
    GPT2_EOT_ID,
    UNK,
    CharTokenizer,
    GPT2Tokenizer,
    GPT2TrimmedTokenizer,
    TokenizerError,
    WordTokenizer,
    get_tokenizer,
    tokenizer_from_spec,
    visible,
)

ODD_TEXTS = [
    "",
    "   ",
    "emoji 😀🎉 and CJK 漢字かな and RTL שלום مرحبا",
    "combining e\u0301 and zero\u200bwidth",
    "nul\x00 bell\x07 escape\x1b tab\t cr\r",
    "lone surrogate \ud800 here",
    "<script>alert(1)</script> <b>bold</b>",
    "<|endoftext|><|endoftext|>",
    "<|unk|> <|im_start|>",
]


def test_gpt2_reproduces_known_ids_offline() -> None:
    text = "Hello, do you like tea? <|endoftext|> In the sunlit terraces of someunknownPlace."
    expected = [15496, 11, 466, 345, 588, 8887, 30, 220, 50256, 554, 262, 4252, 18250, 8812, 2114, 286, 617]
    expected += [34680, 27271, 13]
    assert get_tokenizer("gpt2").encode(text) == expected


def test_shipped_bpe_table_has_the_published_hash() -> None:
    assert hashlib.sha256(GPT2_BPE_PATH.read_bytes()).hexdigest() == GPT2_BPE_SHA256


def test_gpt2_splits_a_rare_word_into_pieces() -> None:
    pieces = get_tokenizer("gpt2").pieces("someunknownPlace")
    assert [p.text for p in pieces] == ["some", "unknown", "Place"]


def test_endoftext_typed_by_a_user_is_the_special_token() -> None:
    tok = get_tokenizer("gpt2")
    assert tok.encode("a<|endoftext|>b") == [64, 50256, 65]
    assert tok.decode(tok.encode("a<|endoftext|>b")) == "a<|endoftext|>b"


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_gpt2_pieces_cover_the_input(text: str) -> None:
    tok = get_tokenizer("gpt2")
    pieces = tok.pieces(text)
    assert [p.id for p in pieces] == tok.encode(text)
    for a, b in zip(pieces, pieces[1:]):
        assert a.start <= b.start
    if pieces:
        assert pieces[0].start == 0 and pieces[-1].end == len(text)


@pytest.mark.parametrize("text", [t for t in ODD_TEXTS if "\ud800" not in t])
def test_gpt2_round_trips(text: str) -> None:
    tok = get_tokenizer("gpt2")
    assert tok.decode(tok.encode(text)) == text


def test_lone_surrogate_becomes_replacement_character() -> None:
    tok = get_tokenizer("gpt2")
    assert tok.decode(tok.encode("a\ud800b")) == "a\ufffdb"


def test_char_tokenizer_vocab_is_sorted_corpus_chars_and_round_trips() -> None:
    tok = get_tokenizer("char", "hello world")
    assert tok.chars == sorted(set("hello world"))
    assert tok.decode(tok.encode("hello")) == "hello"
    assert tok.vocab_size == len(set("hello world"))


def test_char_tokenizer_reports_unknown_characters_and_keeps_going() -> None:
    tok = CharTokenizer.from_corpus("ab ")
    pieces = tok.pieces("abz")
    assert [p.known for p in pieces] == [True, True, False]
    assert tok.unknown_chars("abzz!") == ["!", "z"]
    assert tok.decode(tok.encode("abz")) == "ab "  # fallback is the space


@pytest.mark.parametrize("kind", ["char", "word", "gpt2-trimmed"])
@pytest.mark.parametrize("text", ODD_TEXTS)
def test_corpus_tokenizers_never_crash(kind: str, text: str) -> None:
    tok = get_tokenizer(kind, "The quick brown fox, it jumps.")
    ids = tok.encode(text)
    assert all(0 <= i < tok.vocab_size for i in ids)
    tok.decode(ids)


def test_trimmed_gpt2_cuts_as_gpt2_and_keeps_only_the_corpus_tokens() -> None:
    gpt2 = GPT2Tokenizer()
    corpus = "the cat sat on the mat. The cat"
    tok = GPT2TrimmedTokenizer.from_corpus(corpus)
    corpus_ids = set(gpt2.encode(corpus))
    assert tok.vocab_size == len(corpus_ids) + 2  # plus <|endoftext|> and the unknown row
    text = "the cat sat on the dog"
    pieces, gpt2_pieces = tok.pieces(text), gpt2.pieces(text)
    assert [(p.text, p.start, p.end) for p in pieces] == [(p.text, p.start, p.end) for p in gpt2_pieces]
    assert [p.known for p in pieces] == [p.id in corpus_ids for p in gpt2_pieces]
    assert not pieces[-1].known and pieces[-1].id == tok.unk_id  # " dog" never occurs in the corpus
    assert [tok.gpt2_id(p.id) for p in pieces[:-1]] == [p.id for p in gpt2_pieces[:-1]]
    assert tok.gpt2_id(tok.unk_id) is None
    assert tok.decode(tok.encode(text)) == f"the cat sat on the{UNK}"
    assert tok.decode(tok.encode("the mat")) == "the mat"
    assert tok.token_text(tok.encode(" cat")[0]) == " cat"


def test_trimmed_gpt2_always_has_endoftext_and_refuses_foreign_ids() -> None:
    tok = GPT2TrimmedTokenizer.from_corpus("no separator here")
    assert tok.encode(f"a{ENDOFTEXT}")[-1] == tok.eot_id
    assert tok.gpt2_id(tok.eot_id) == GPT2_EOT_ID
    with pytest.raises(TokenizerError, match="0 to 50256"):
        GPT2TrimmedTokenizer([5, 60_000])
    with pytest.raises(TokenizerError, match="unrecognised"):
        tokenizer_from_spec({"kind": "gpt2-trimmed", "gpt2_ids": "1,2,3"})


def test_word_tokenizer_maps_unknown_words_to_unk() -> None:
    tok = WordTokenizer.from_corpus("the cat sat on the mat.")
    pieces = tok.pieces("the dog sat.")
    assert [tok.token_text(p.id) for p in pieces] == ["the", UNK, "sat", "."]
    assert [p.known for p in pieces] == [True, False, True, True]
    assert tok.decode(tok.encode("the cat sat.")) == "the cat sat."


def test_word_tokenizer_keeps_endoftext_special() -> None:
    tok = WordTokenizer.from_corpus("a b")
    assert tok.encode(f"a {ENDOFTEXT} b")[1] == tok.eot_id


def test_word_tokenizer_spans_point_into_the_input() -> None:
    text = "Hello, world -- again!"
    for p in WordTokenizer.from_corpus(text).pieces(text):
        assert text[p.start : p.end] == p.text


@pytest.mark.parametrize("kind", ["gpt2", "gpt2-trimmed", "char", "word"])
def test_spec_round_trip_gives_the_same_ids(kind: str) -> None:
    tok = get_tokenizer(kind, "some corpus text, with punctuation!")
    again = tokenizer_from_spec(tok.to_spec())
    assert again.encode("some text!") == tok.encode("some text!")
    assert again.vocab_size == tok.vocab_size


def test_bad_requests_give_clear_errors() -> None:
    with pytest.raises(TokenizerError, match="corpus"):
        get_tokenizer("char", "")
    with pytest.raises(TokenizerError, match="unknown tokenizer"):
        get_tokenizer("sentencepiece")
    with pytest.raises(TokenizerError, match="unrecognised"):
        tokenizer_from_spec({"kind": "char"})


def test_visible_shows_whitespace() -> None:
    assert visible(" a\nb\t") == "·a↵b⇥"

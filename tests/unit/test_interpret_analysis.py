"""Pure helpers behind the explorer pages (gpt/analysis.py)."""

from __future__ import annotations

import math

import pytest
import torch

from gpt import GPT, GenerationStep, get_tokenizer, preset
from gpt.interpret.analysis import (
    compare_tokenizers,
    corpus_tokenizer,
    cosine_similarity_matrix,
    count_words,
    generation_rows,
    hex_bytes,
    model_facts,
    pca_2d,
    token_bytes,
    token_label,
    token_table_rows,
    top_token_rows,
    training_facts,
)
from gpt.paths import DEFAULT_CORPUS


@pytest.fixture(scope="module")
def gpt2_tok():
    return get_tokenizer("gpt2")


def test_corpus_tokenizers_are_built_once_and_know_the_corpus() -> None:
    words = corpus_tokenizer("word", str(DEFAULT_CORPUS))
    assert corpus_tokenizer("word", str(DEFAULT_CORPUS)) is words  # cached
    chars = corpus_tokenizer("char", str(DEFAULT_CORPUS))
    assert chars.vocab_size == 76
    pieces = words.pieces("the fox jumps")
    assert [p.known for p in pieces] == [True, True, False]  # 'jumps' is not in Shakespeare


def test_gpt2_token_bytes_of_a_split_emoji_are_the_real_utf8_bytes(gpt2_tok) -> None:
    pieces = gpt2_tok.pieces("🦊")
    assert len(pieces) > 1  # one emoji, several byte-level tokens
    joined = b"".join(token_bytes(gpt2_tok, p) for p in pieces)
    assert joined == "🦊".encode()


def test_token_table_rows_show_whitespace_and_hex(gpt2_tok) -> None:
    rows = token_table_rows(gpt2_tok, gpt2_tok.pieces("Hi there"))
    assert [r["token"] for r in rows] == ["Hi", "·there"]
    assert rows[1]["bytes (hex)"] == hex_bytes(b" there") == "20 74 68 65 72 65"
    assert rows[1]["id"] == gpt2_tok.encode(" there")[0]
    assert [r["position"] for r in rows] == [0, 1]


def test_token_table_of_a_trimmed_vocabulary_gives_gpt2_ids_beside_its_rows(gpt2_tok) -> None:
    from gpt.tokenizers import GPT2TrimmedTokenizer

    trimmed = GPT2TrimmedTokenizer.from_corpus("Hi there, friend")
    rows = token_table_rows(trimmed, trimmed.pieces("Hi there, enemy"))
    assert [r["GPT-2 id"] for r in rows] == [str(i) for i in gpt2_tok.encode("Hi there,")] + ["unknown"]
    assert rows[1]["id"] != gpt2_tok.encode(" there")[0]  # the model's own row, not GPT-2's id
    assert rows[-1]["bytes (hex)"] == hex_bytes(b" enemy") and not rows[-1]["in vocabulary"]
    assert "GPT-2 id" not in token_table_rows(gpt2_tok, gpt2_tok.pieces("Hi"))[0]


def test_rare_word_splits_into_three_gpt2_pieces(gpt2_tok) -> None:
    summary = compare_tokenizers("someunknownPlace", {"gpt2": gpt2_tok})[0]
    assert [p.text for p in summary.pieces] == ["some", "unknown", "Place"]


def test_compare_tokenizers_counts_and_unknowns(gpt2_tok) -> None:
    words = corpus_tokenizer("word", str(DEFAULT_CORPUS))
    chars = corpus_tokenizer("char", str(DEFAULT_CORPUS))
    text = "The quick brown fox jumps over the lazy dog"
    by_name = {s.name: s for s in compare_tokenizers(text, {"gpt2": gpt2_tok, "char": chars, "word": words})}
    assert by_name["char"].n_tokens == len(text) == 43
    assert by_name["word"].n_tokens == count_words(text) == 9
    assert by_name["gpt2"].n_tokens == 9
    assert by_name["word"].n_unknown == 1
    assert by_name["gpt2"].n_unknown == 0


def test_model_facts_name_every_shape() -> None:
    cfg = preset("tiny")
    facts = dict(model_facts(cfg, 1234, "char", 64))
    assert facts["layers (transformer blocks)"] == "2"
    assert facts["d_k (dimensions per head)"] == "8"
    assert facts["parameters"] == "1,234"
    assert facts["positional encoding"].startswith("learned")


def test_a_bigram_model_has_no_head_facts() -> None:
    facts = dict(model_facts(preset("tiny").with_changes(n_layer=0), 1234, "char", 64))
    assert facts["layers (transformer blocks)"] == "0 (a bigram model: no attention)"
    assert not any("head" in fact for fact in facts)  # no heads to count, no d_k to quote
    assert facts["d_model (embedding width)"] == str(preset("tiny").n_embd)


def test_training_facts_keep_simple_values_and_skip_nested() -> None:
    meta = {"iter": 5000, "val_loss": 1.4712345, "seed": 1337, "config": {"n_layer": 4}, "note": "demo"}
    facts = dict(training_facts(meta))
    assert facts == {"training iterations": "5,000", "validation loss": "1.4712", "random seed": "1337", "note": "demo"}
    assert "none" in dict(training_facts({"untrained": True}))["training"]
    options = {"train_options": {"data": "shakespeare.txt", "lr": 0.001, "batch_size": 32, "grad_clip": 1.0}}
    assert dict(training_facts(options)) == {
        "training text": "shakespeare.txt",
        "batch size": "32",
        "learning rate": "0.001",
    }


def test_pca_finds_the_direction_of_variation() -> None:
    # Points on a line along (1, 1, 0): all variance on PC 1.
    t = torch.arange(5, dtype=torch.float32).unsqueeze(1)
    vectors = t * torch.tensor([[1.0, 1.0, 0.0]]) + torch.tensor([[3.0, -2.0, 7.0]])
    proj = pca_2d(vectors)
    assert proj.coords.shape == (5, 2)
    assert proj.explained[0] == pytest.approx(1.0)
    assert proj.coords[:, 1].abs().max() < 1e-5
    gaps = proj.coords[1:, 0] - proj.coords[:-1, 0]
    assert torch.allclose(gaps.abs(), torch.full((4,), math.sqrt(2)), atol=1e-5)


def test_pca_of_one_or_identical_points_is_all_zero() -> None:
    assert pca_2d(torch.ones(1, 8)).coords.tolist() == [[0.0, 0.0]]
    same = pca_2d(torch.ones(3, 8))
    assert same.coords.abs().max() == 0 and same.explained == (0.0, 0.0)


def test_cosine_similarity_matrix() -> None:
    vectors = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [0.0, 0.0]])
    sim = cosine_similarity_matrix(vectors)
    assert sim[0, 0] == pytest.approx(1.0)
    assert sim[0, 1] == pytest.approx(0.0)
    assert sim[0, 2] == pytest.approx(-1.0)
    assert sim[3, 3] == 0.0  # a zero vector is similar to nothing, not NaN


def test_top_token_rows_are_sorted_and_visible() -> None:
    tok = get_tokenizer("char", "ab \n")
    probs = torch.tensor([0.1, 0.6, 0.3, 0.0])  # sorted vocab: newline, space, a, b
    rows = top_token_rows(probs, tok, k=2, raw_probs=torch.tensor([0.25, 0.25, 0.25, 0.25]))
    assert [r["token"] for r in rows] == ["·", "a"]
    assert [r["rank"] for r in rows] == [1, 2]
    assert rows[0]["probability"] == pytest.approx(0.6)
    assert rows[0]["probability at T=1, no cut-off"] == pytest.approx(0.25)


def test_generation_rows_list_choice_and_alternatives() -> None:
    tok = get_tokenizer("char", "ab")
    steps = [GenerationStep(1, 0.7, [(1, 0.7), (0, 0.3)])]
    rows = generation_rows(steps, tok)
    assert rows == [
        {"step": 1, "chosen token": "b", "id": 1, "probability": 0.7, "top alternatives": "b (0.7), a (0.3)"}
    ]


def test_facts_match_a_real_model_parameter_count() -> None:
    cfg = preset("tiny")
    model = GPT(cfg)
    facts = dict(model_facts(cfg, model.num_params(), "char", 64))
    assert facts["parameters"] == f"{sum(p.numel() for p in model.parameters()):,}"


def test_token_label_names_partial_characters_by_their_bytes(gpt2_tok) -> None:
    pieces = gpt2_tok.pieces("a🦊")
    labels = [token_label(gpt2_tok, p) for p in pieces]
    assert labels[0] == "a"
    assert all(label.startswith("⟨") for label in labels[1:])
    assert " ".join(label.strip("⟨⟩") for label in labels[1:]) == "f0 9f a6 8a"
    chars = corpus_tokenizer("char", str(DEFAULT_CORPUS))
    assert [token_label(chars, p) for p in chars.pieces("a b\x00")] == ["a", "·", "b", "\u2400"]

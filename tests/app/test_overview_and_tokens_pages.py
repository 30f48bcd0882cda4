"""AppTest checks of the shared sidebar, the Overview page and the Tokens page."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import decode_array, figure_by_title, open_page, texts
from safetensors.torch import save_file

from gpt import GPT, GPTConfig, get_tokenizer, pretrained
from gpt.models import available_models
from ui import state

CHAR = "random:shakespeare-char"
BPE = "random:gpt2-bpe-small"
FOX = "The quick brown fox jumps over the lazy dog"


# --------------------------------------------------------------------------- sidebar and shared state


def test_default_model_is_the_char_demo_or_the_first_available_and_the_page_renders() -> None:
    at = open_page("overview")
    assert not at.exception
    ids = [m.model_id for m in available_models()]
    expected = state.DEFAULT_MODEL if state.DEFAULT_MODEL in ids else ids[0]
    assert at.sidebar.selectbox(key="w_model").value == expected
    assert at.sidebar.text_area(key="w_sentence").value == FOX


def test_query_params_open_that_sentence_and_model() -> None:
    at = open_page("tokens", model=BPE, sentence="Hello class", layer=1, head=2)
    assert not at.exception
    assert at.sidebar.text_area(key="w_sentence").value == "Hello class"
    assert at.sidebar.selectbox(key="w_model").value == BPE
    assert "**2 / 128 tokens** (gpt2 tokenizer)" in [c.value for c in at.sidebar.caption]
    assert at.dataframe[0].value["token"].tolist() == ["Hello", "·class"]
    # The URL keeps the whole state, so a copied link opens the same view.
    assert at.query_params["sentence"] == "Hello class"
    assert at.query_params["layer"] == "1"


def test_sentence_and_model_carry_over_to_other_pages() -> None:
    at = open_page("tokens", model=CHAR)
    at.sidebar.text_area(key="w_sentence").input("to be or not").run()
    at.sidebar.selectbox(key="w_model").select(BPE).run()
    assert not at.exception
    at.switch_page("pages/embeddings.py").run()
    assert not at.exception
    assert at.sidebar.text_area(key="w_sentence").value == "to be or not"
    assert at.sidebar.selectbox(key="w_model").value == BPE
    fig = figure_by_title(at, "Token embeddings")
    assert fig["layout"]["yaxis"]["ticktext"] == ["0: to", "1: ·be", "2: ·or", "3: ·not"]


def test_unknown_model_in_link_falls_back_with_a_warning() -> None:
    at = open_page("overview", model="run:does-not-exist")
    assert not at.exception
    assert any("not available" in w.value for w in at.sidebar.warning)


def test_token_count_and_truncation_notice() -> None:
    at = open_page("tokens", model=CHAR, sentence=FOX)
    assert "**43 / 64 tokens** (char tokenizer)" in [c.value for c in at.sidebar.caption]
    assert not at.sidebar.warning
    long_text = "abcdefghij" * 10  # 100 characters = 100 char tokens > 64
    at = open_page("tokens", model=CHAR, sentence=long_text)
    assert not at.exception
    assert "**64 / 64 tokens** (char tokenizer)" in [c.value for c in at.sidebar.caption]
    assert "only the first 64 fit" in at.sidebar.warning[0].value
    assert len(at.dataframe[0].value) == 64  # the model's token table holds what the model reads


def test_gpt2_download_offline_explains_where_to_put_the_files(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ATTN_EXPLORER_GPT2_DIR", str(tmp_path / "gpt2"))

    def offline(folder, progress=None):
        raise OSError("network is unreachable")

    monkeypatch.setattr(pretrained, "download_gpt2", offline)
    at = open_page("overview", model=CHAR)
    at.sidebar.button(key="gpt2_download").click().run()
    assert not at.exception
    message = " ".join(e.value for e in at.sidebar.error)
    assert "did not work" in message and "could not reach the Hugging Face Hub" in message
    assert "OSError" not in message  # words, not an exception's class name
    assert str(tmp_path / "gpt2") in message and "config.json" in message
    assert at.sidebar.selectbox(key="w_model").value == CHAR


def _write_tiny_hf_gpt2(folder: Path) -> None:
    """A 1-layer model in Hugging Face GPT-2 layout (Conv1D weights transposed), for a fake download."""
    cfg = GPTConfig(vocab_size=50257, block_size=32, n_layer=1, n_head=2, n_embd=8)
    torch.manual_seed(0)
    model = GPT(cfg)
    state = {}
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":
            continue
        if name.endswith(("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")):
            tensor = tensor.t()
        state[f"transformer.{name}"] = tensor.contiguous()
    folder.mkdir(parents=True, exist_ok=True)
    save_file(state, str(folder / "model.safetensors"))
    hf_config = {"vocab_size": 50257, "n_positions": 32, "n_layer": 1, "n_head": 2, "n_embd": 8}
    (folder / "config.json").write_text(json.dumps(hf_config))


def test_gpt2_download_reports_progress_and_switches_to_gpt2(monkeypatch, tmp_path: Path) -> None:
    target = tmp_path / "gpt2"
    monkeypatch.setenv("ATTN_EXPLORER_GPT2_DIR", str(target))
    seen: list[tuple[int, int]] = []

    def fake(folder, progress=None):
        assert Path(folder) == target
        for done in (0, 250, 500):
            progress(done, 500)
            seen.append((done, 500))
        _write_tiny_hf_gpt2(Path(folder))
        return Path(folder)

    monkeypatch.setattr(pretrained, "download_gpt2", fake)
    at = open_page("tokens", model=CHAR, sentence="Hello class")
    at.sidebar.button(key="gpt2_download").click().run()
    assert not at.exception
    assert seen[-1] == (500, 500)
    assert at.sidebar.selectbox(key="w_model").value == "gpt2"
    assert "**2 / 32 tokens** (gpt2 tokenizer)" in [c.value for c in at.sidebar.caption]
    assert not at.sidebar.button  # nothing left to download


# --------------------------------------------------------------------------- overview


def test_overview_links_every_step_and_states_the_model_facts() -> None:
    at = open_page("overview", model=CHAR, sentence=FOX)
    assert not at.exception
    links = [e.proto.page for e in at.get("page_link")]
    for page in ("tokens", "embeddings", "attention", "heads", "next_token"):
        assert any(page in link for link in links), (page, links)
    facts = at.table[0].value["value"].to_dict()
    assert facts["layers (transformer blocks)"] == "4"
    assert facts["attention heads per layer"] == "4"
    assert facts["d_model (embedding width)"] == "128"
    assert facts["d_k (dimensions per head)"] == "32"
    assert facts["context (longest input, tokens)"] == "64"
    assert facts["positional encoding"].startswith("learned")
    training = at.table[1].value["value"].to_dict()
    assert training["training"].startswith("none")
    shown = texts(at)
    assert "43 tokens" in shown and "43 × 128" in shown
    assert "This page is being built" not in shown


def test_overview_shows_training_info_from_a_run_checkpoint(isolated_runs_dir: Path) -> None:
    from gpt import save_checkpoint

    tokenizer = get_tokenizer("char", "abc ")
    model = GPT(GPTConfig(vocab_size=4, block_size=8, n_layer=1, n_head=1, n_embd=8, pos_encoding="sinusoidal"))
    save_checkpoint(
        isolated_runs_dir / "lesson1" / "checkpoint", model, tokenizer, {"iter": 250, "val_loss": 1.25, "seed": 7}
    )
    at = open_page("overview", model="run:lesson1", sentence="abc")
    assert not at.exception
    facts = at.table[0].value["value"].to_dict()
    assert facts["positional encoding"].startswith("sinusoidal")
    training = at.table[1].value["value"].to_dict()
    assert training["training iterations"] == "250"
    assert training["validation loss"] == "1.2500"
    assert training["random seed"] == "7"


# --------------------------------------------------------------------------- tokens page


def test_tokens_chips_render_html_and_scripts_as_text() -> None:
    nasty = "<script>alert(1)</script> <b>x</b>"
    at = open_page("tokens", model=BPE, sentence=nasty)
    assert not at.exception
    bodies = [h.proto.body for h in at.get("html")]
    assert bodies
    for body in bodies:
        assert "<script" not in body and "<b>" not in body
    assert any("&lt;script&gt;" in body for body in bodies)
    assert any("&lt;b&gt;" in body for body in bodies)


def test_tokens_comparison_counts_and_unknown_words() -> None:
    at = open_page("tokens", model=CHAR, sentence=FOX)
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["characters"] == "43"
    assert metrics["words and punctuation"] == "9"
    captions = [c.value for c in at.caption]
    assert "9 tokens · vocabulary 50,257" in captions
    assert "43 tokens · vocabulary 76" in captions
    assert "9 tokens · vocabulary 14,369" in captions
    bodies = "".join(h.proto.body for h in at.get("html"))
    assert "jumps → &lt;|unk|&gt;" in bodies  # Shakespeare never says "jumps"
    counts = figure_by_title(at, "Tokens needed")
    assert decode_array(counts["data"][0]["x"]).tolist() == [9, 43, 9]


def test_tokens_table_has_ids_and_bytes_of_the_model_tokens() -> None:
    at = open_page("tokens", model=BPE, sentence="Hi 🦊")
    assert not at.exception
    table = at.dataframe[0].value
    ids = get_tokenizer("gpt2").encode("Hi 🦊")
    assert table["id"].tolist() == ids
    joined = bytes.fromhex(" ".join(table["bytes (hex)"]))
    assert joined == "Hi 🦊".encode()
    assert any(b.label == "Download token table (CSV)" for b in at.get("download_button"))


def test_rare_word_box_splits_the_typed_word() -> None:
    at = open_page("tokens", model=CHAR)
    assert "GPT-2 needs **3** piece(s) for it:" in texts(at)  # someunknownPlace: some|unknown|Place
    at.text_input(key="rare_word").input("Akwirw").run()
    assert not at.exception
    n = len(get_tokenizer("gpt2").encode("Akwirw"))
    assert f"GPT-2 needs **{n}** piece(s) for it:" in texts(at)
    at.text_input(key="rare_word").input("   ").run()
    assert "Type a word to see its pieces." in [i.value for i in at.info]


@pytest.mark.parametrize("model", [CHAR, BPE])
def test_model_tokens_match_the_tokenizer(model: str) -> None:
    at = open_page("tokens", model=model, sentence="to be")
    table = at.dataframe[0].value
    kind = "char" if model == CHAR else "gpt2"
    assert len(table) == (5 if kind == "char" else 2)
    assert np.all(table["n_bytes"].to_numpy() >= 1)


def test_tokens_page_of_a_trimmed_vocabulary_gives_gpt2_ids_beside_the_models_rows() -> None:
    at = open_page("tokens", model="demo:kjv-shakespeare-bpe", sentence="The quick brown fox jumps over the lazy dog")
    assert not at.exception
    assert any("rows of this model's own embedding table" in str(i.value) for i in at.info)
    assert any("not in this model's vocabulary" in str(w.value) for w in at.warning)  # " jumps"
    table = next(d.value for d in at.dataframe if "GPT-2 id" in d.value.columns)
    gpt2 = get_tokenizer("gpt2").encode("The quick brown fox jumps over the lazy dog")
    assert list(table["GPT-2 id"]) == [str(i) if n != 4 else "unknown" for n, i in enumerate(gpt2)]

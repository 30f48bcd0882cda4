"""AppTest checks of the Embeddings & positions page and the Next-token page: the numbers drawn
are the model's numbers, and the widgets change what they should."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import decode_array, figure_by_title, open_page, texts

from gpt import GPT, GPTConfig, SamplingSettings, generate, get_tokenizer, save_checkpoint, sinusoidal_positions
from gpt.models import load_model

CHAR = "random:shakespeare-char"
SENTENCE = "to be or not to be"


@pytest.fixture(scope="module")
def char_model():
    return load_model(CHAR)  # seeded: the same weights the app shows


def _ids(loaded, text: str) -> list[int]:
    return loaded.tokenizer.encode(text)


def _z(fig: dict) -> np.ndarray:
    return decode_array(fig["data"][0]["z"]).astype(np.float64)


# --------------------------------------------------------------------------- embeddings


def test_embedding_heatmaps_show_the_model_rows(char_model) -> None:
    at = open_page("embeddings", model=CHAR, sentence=SENTENCE)
    assert not at.exception
    ids = _ids(char_model, SENTENCE)
    wte = char_model.model.wte.weight.detach().double().numpy()
    wpe = char_model.model.wpe.weight.detach().double().numpy()
    tok = _z(figure_by_title(at, "Token embeddings"))
    np.testing.assert_allclose(tok, wte[ids, :32], atol=1e-6)
    pos = _z(figure_by_title(at, "Position vectors used by this model"))
    np.testing.assert_allclose(pos, wpe[: len(ids), :32], atol=1e-6)
    total = _z(figure_by_title(at, "Token + position vectors"))
    np.testing.assert_allclose(total, tok + pos, atol=1e-5)
    title = figure_by_title(at, "Token embeddings")["layout"]["title"]["text"]
    assert "model: Untrained" in title and "seed: 1337" in title


def test_dimension_slider_changes_the_columns() -> None:
    at = open_page("embeddings", model=CHAR, sentence=SENTENCE)
    at.slider(key="emb_dims").set_value((8, 24)).run()
    assert not at.exception
    fig = figure_by_title(at, "Token embeddings")
    assert fig["layout"]["xaxis"]["ticktext"] == [f"d{j}" for j in range(8, 24)]
    assert _z(fig).shape == (len(SENTENCE), 16)
    sinus = _z(figure_by_title(at, "Sinusoidal encoding (original"))
    np.testing.assert_allclose(sinus, sinusoidal_positions(len(SENTENCE), 128)[:, 8:24].numpy(), atol=1e-6)


def test_learned_model_is_not_presented_as_sinusoidal() -> None:
    at = open_page("embeddings", model=CHAR, sentence=SENTENCE)
    shown = texts(at)
    assert "This model uses learned position embeddings" in shown
    assert "fixed sinusoidal encoding" not in shown
    assert any("10000" in latex.value for latex in at.latex)  # the 2017 formula beside it
    assert "not used by GPT-2" in figure_by_title(at, "Sinusoidal encoding (original")["layout"]["title"]["text"]


def test_sinusoidal_model_says_so_and_draws_sinusoids(isolated_runs_dir: Path) -> None:
    tokenizer = get_tokenizer("char", "abc ")
    model = GPT(GPTConfig(vocab_size=4, block_size=8, n_layer=1, n_head=2, n_embd=8, pos_encoding="sinusoidal"))
    save_checkpoint(isolated_runs_dir / "sinus" / "checkpoint", model, tokenizer, {"iter": 1})
    at = open_page("embeddings", model="run:sinus", sentence="abc a")
    assert not at.exception
    assert "This model uses the fixed sinusoidal encoding" in texts(at)
    pos = _z(figure_by_title(at, "Position vectors used by this model (sinusoidal)"))
    np.testing.assert_allclose(pos, sinusoidal_positions(5, 8).numpy(), atol=1e-6)


def test_pca_map_and_position_switch() -> None:
    at = open_page("embeddings", model=CHAR, sentence="abab")
    assert not at.exception
    fig = figure_by_title(at, "PCA of token embeddings")
    xs, ys = decode_array(fig["data"][0]["x"]), decode_array(fig["data"][0]["y"])
    # The same token has the same embedding: same point on the map, one label, every position in the hover.
    assert (xs[0], ys[0]) == pytest.approx((xs[2], ys[2]))
    assert (xs[0], ys[0]) != pytest.approx((xs[1], ys[1]))
    assert list(fig["data"][0]["text"]) == ["a", "b", "", ""]
    assert list(fig["data"][0]["hovertext"]) == ["0, 2: a", "1, 3: b", "0, 2: a", "1, 3: b"]
    at.radio(key="emb_pca_vectors").set_value("token + position (input to layer 0)").run()
    fig = figure_by_title(at, "PCA of token + position")
    xs, ys = decode_array(fig["data"][0]["x"]), decode_array(fig["data"][0]["y"])
    assert (xs[0], ys[0]) != pytest.approx((xs[2], ys[2]))  # positions pull the two a's apart
    assert list(fig["data"][0]["hovertext"]) == ["0: a", "1: b", "2: a", "3: b"]
    at.radio(key="emb_similarity_vectors").set_value("token + position (input to layer 0)").run()
    cosine = _z(figure_by_title(at, "Cosine similarity of token + position"))
    np.testing.assert_allclose(np.diag(cosine), np.ones(4), atol=1e-3)


def test_single_token_gets_a_message_instead_of_a_map() -> None:
    at = open_page("embeddings", model=CHAR, sentence="a")
    assert not at.exception
    assert "The map needs at least two tokens." in [i.value for i in at.info]


# --------------------------------------------------------------------------- next token


def _bars(at) -> tuple[list[str], np.ndarray]:
    fig = figure_by_title(at, "Next token after")
    data = fig["data"][0]
    return list(data["y"]), decode_array(data["x"]).astype(np.float64)


def test_next_token_bars_are_the_model_softmax(char_model) -> None:
    at = open_page("next_token", model=CHAR, sentence=SENTENCE)
    assert not at.exception
    logits = char_model.model.trace(_ids(char_model, SENTENCE)).logits[-1]
    expected = torch.topk(torch.softmax(logits, -1), 10)
    labels, values = _bars(at)
    np.testing.assert_allclose(values, expected.values.double().numpy(), atol=1e-6)
    tokens = [char_model.tokenizer.token_text(int(i)).replace(" ", "·") for i in expected.indices]
    assert labels == [f"{r}. {t}" for r, t in enumerate(tokens, start=1)]
    assert "sampling: T=1, top-k=off, top-p=off" in figure_by_title(at, "Next token after")["layout"]["title"]["text"]


def test_temperature_top_k_and_top_p_reshape_the_distribution() -> None:
    at = open_page("next_token", model=CHAR, sentence=SENTENCE)
    assert any("76 of 76 tokens can still be drawn" in c.value for c in at.caption)
    at.slider(key="nt_temperature").set_value(0.0).run()
    _, values = _bars(at)
    assert values[0] == 1.0 and values[1:].sum() == 0.0
    assert any("1 of 76 tokens" in c.value for c in at.caption)
    at.slider(key="nt_temperature").set_value(1.0).run()
    at.number_input(key="nt_top_k").set_value(5).run()
    _, values = _bars(at)
    assert values[:5].sum() == pytest.approx(1.0) and values[5:].sum() == 0.0
    at.number_input(key="nt_top_k").set_value(0).run()
    at.slider(key="nt_top_p").set_value(0.05).run()
    assert not at.exception
    alive = [c.value for c in at.caption if "tokens can still be drawn" in c.value][0]
    assert int(alive.split(" of ")[0]) < 76
    at.slider(key="nt_bars").set_value(20).run()
    assert len(_bars(at)[1]) == 20


def test_position_slider_predicts_after_an_earlier_token(char_model) -> None:
    at = open_page("next_token", model=CHAR, sentence=SENTENCE)
    at.slider(key=f"nt_position_{len(SENTENCE)}").set_value(2).run()
    assert not at.exception
    assert "(position 2)" in figure_by_title(at, "Next token after")["layout"]["title"]["text"]
    logits = char_model.model.trace(_ids(char_model, SENTENCE)).logits[2]
    _, values = _bars(at)
    np.testing.assert_allclose(values[0], float(torch.softmax(logits, -1).max()), atol=1e-6)


def _generate(at, n: int, seed: int):
    at.number_input(key="nt_n_new").set_value(n)
    at.number_input(key="nt_seed").set_value(seed)
    at.button(key="nt_generate").click().run()
    assert not at.exception
    return at.dataframe[0].value


def test_generation_is_seeded_and_matches_the_model(char_model) -> None:
    at = open_page("next_token", model=CHAR, sentence=SENTENCE)
    assert "Press **Generate** to continue the sentence." in [c.value for c in at.caption]
    table = _generate(at, 12, 42)
    expected = generate(char_model.model, _ids(char_model, SENTENCE), 12, SamplingSettings(seed=42))
    assert table["id"].tolist() == [s.token_id for s in expected]
    np.testing.assert_allclose(table["probability"].to_numpy(), [s.prob for s in expected], atol=1e-6)
    body = at.get("html")[-1].proto.body
    assert body.count('title="step ') == 12
    assert f'title="step 12">{html.escape(char_model.tokenizer.token_text(expected[-1].token_id))}<' in body
    again = _generate(open_page("next_token", model=CHAR, sentence=SENTENCE), 12, 42)
    assert again["id"].tolist() == table["id"].tolist()  # same seed, same text
    other = _generate(open_page("next_token", model=CHAR, sentence=SENTENCE), 12, 7)
    assert other["id"].tolist() != table["id"].tolist()
    assert any(b.label == "Download all steps (CSV)" for b in at.get("download_button"))


def test_generation_step_view_highlights_the_drawn_token() -> None:
    at = open_page("next_token", model=CHAR, sentence=SENTENCE)
    table = _generate(at, 5, 3)
    at.slider(key="nt_step_5").set_value(3).run()
    fig = figure_by_title(at, "Step 3: the candidates")
    colours = fig["data"][0]["marker"]["color"]
    chosen = colours.index("#d62728")
    chosen_label = fig["data"][0]["y"][chosen]
    assert chosen_label.endswith(table["chosen token"].iloc[2])
    assert "step: 3" in fig["layout"]["title"]["text"]


def test_generation_length_is_capped_and_a_new_sentence_clears_it() -> None:
    at = open_page("next_token", model=CHAR, sentence=SENTENCE)
    assert at.number_input(key="nt_n_new").proto.max == 50
    _generate(at, 3, 1)
    at.sidebar.text_area(key="w_sentence").input("a new line").run()
    assert not at.exception
    assert "Press **Generate** to continue the sentence." in [c.value for c in at.caption]


def test_wide_and_odd_width_models_are_cut_to_readable_heatmaps(isolated_runs_dir: Path) -> None:
    tokenizer = get_tokenizer("char", "abc ")
    model = GPT(GPTConfig(vocab_size=4, block_size=8, n_layer=1, n_head=3, n_embd=201))  # wide and odd
    save_checkpoint(isolated_runs_dir / "wide" / "checkpoint", model, tokenizer, {"iter": 1})
    at = open_page("embeddings", model="run:wide", sentence="abc")
    assert not at.exception
    at.slider(key="emb_dims").set_value((0, 201)).run()
    assert not at.exception
    assert _z(figure_by_title(at, "Token embeddings")).shape == (3, 128)
    assert any("at most 128 columns" in c.value for c in at.caption)
    at.slider(key="emb_dims").set_value((190, 201)).run()
    sinus = _z(figure_by_title(at, "Sinusoidal encoding (original"))
    np.testing.assert_allclose(sinus, sinusoidal_positions(3, 202)[:, 190:201].numpy(), atol=1e-6)

"""AppTest of the Next token page's generation timeline and sampling tree: every number drawn is the
model's own (checked against plain traces and forward passes), the step and branch controls move
what they should, and the link carries the seed, the settings and the chosen branch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import decode_array, figure_by_title, figure_json, open_page, texts

from gpt import SamplingSettings, generate, next_token_probs
from gpt.interpret import sampling_tree, shown_token
from gpt.models import load_model

CHAR = "random:shakespeare-char"
SENTENCE = "to be or not to be"


@pytest.fixture(scope="module")
def char_model():
    return load_model(CHAR)


def generate_on(at, n: int, seed: int):
    at.number_input(key="nt_n_new").set_value(n)
    at.number_input(key="nt_seed").set_value(seed)
    at.button(key="nt_generate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at.dataframe[0].value


def chart(at, key: str) -> dict:
    found = [figure_json(c) for c in at.get("plotly_chart") if c.proto.id.rsplit("-", 1)[-1] == key]
    assert len(found) == 1, key
    return found[0]


def probs_after(loaded, ids: list[int], settings: SamplingSettings) -> torch.Tensor:
    with torch.no_grad():
        logits, _ = loaded.model(torch.tensor([ids[-loaded.model.config.block_size :]]))
    return next_token_probs(logits[0, -1], settings)


def test_the_timeline_walks_the_steps_with_its_buttons_and_keeps_the_step_in_the_link() -> None:
    at = open_page("next_token", model=CHAR, sentence=SENTENCE)
    generate_on(at, 5, 3)
    assert at.slider(key="nt_step_5").value == 1 and at.button(key="nt_step_back").disabled
    assert at.button(key="nt_step_next").proto.shortcut == "right"
    at.button(key="nt_step_next").click().run()
    at.button(key="nt_step_next").click().run()
    assert at.slider(key="nt_step_5").value == 3 and at.query_params["gen_step"] == "3"
    assert "step: 3" in figure_by_title(at, "Step 3: the candidates")["layout"]["title"]["text"]
    at.button(key="nt_step_back").click().run()
    assert at.slider(key="nt_step_5").value == 2
    at.slider(key="nt_step_5").set_value(5).run()
    assert at.button(key="nt_step_next").disabled


def test_each_step_shows_what_its_token_was_drawn_from_and_where_the_cut_off_falls(char_model) -> None:
    at = open_page("next_token", model=CHAR, sentence=SENTENCE)
    at.number_input(key="nt_top_k").set_value(5).run()
    table = generate_on(at, 4, 2)
    at.slider(key="nt_step_4").set_value(3).run()
    fig = chart(at, "generation_step")
    prefix = char_model.tokenizer.encode(SENTENCE) + table["id"].tolist()[:2]
    settings = SamplingSettings(top_k=5, seed=2)
    after, before = probs_after(char_model, prefix, settings), probs_after(char_model, prefix, SamplingSettings())
    order = torch.argsort(before, descending=True)[:10]
    np.testing.assert_allclose(decode_array(fig["data"][0]["x"]), after[order].numpy(), atol=1e-5)
    np.testing.assert_allclose(decode_array(fig["data"][1]["x"]), before[order].numpy(), atol=1e-5)
    labels = [f"{r}. {shown_token(char_model.tokenizer.token_text(int(i)))}" for r, i in enumerate(order, 1)]
    assert fig["data"][0]["y"] == labels and fig["layout"]["yaxis"]["type"] == "category"
    red = fig["data"][0]["marker"]["color"].index("#d62728")
    assert fig["data"][0]["y"][red].endswith(table["chosen token"].iloc[2])
    (line,) = [s for s in fig["layout"]["shapes"] if s["type"] == "line"]
    assert line["y0"] == line["y1"] == 4.5  # between rank 5, the last kept, and rank 6
    assert "cut-off: 5 token(s) kept" in [a["text"] for a in fig["layout"]["annotations"]]


def test_each_steps_attention_row_is_the_trace_of_its_prefix(char_model) -> None:
    at = open_page("next_token", model=CHAR, sentence=SENTENCE, layer=1, head=1)
    table = generate_on(at, 6, 4)
    at.slider(key="nt_step_6").set_value(4).run()
    prefix = char_model.tokenizer.encode(SENTENCE) + table["id"].tolist()[:3]
    alone = char_model.model.trace(prefix).layers[1]
    z = decode_array(chart(at, "generation_attention")["data"][0]["z"])
    np.testing.assert_allclose(z, alone.steps(1).attn_weights[-1:].numpy(), atol=1e-6)
    at.toggle(key="nt_all_heads").set_value(True).run()
    z = decode_array(chart(at, "generation_attention")["data"][0]["z"])
    np.testing.assert_allclose(z, alone.attn_weights()[:, -1, :].numpy(), atol=1e-6)
    assert z.shape == (char_model.model.config.n_head, len(prefix))


def test_the_first_token_sink_is_named_where_it_dominates() -> None:
    at = open_page("next_token", model="demo:shakespeare-char", layer=2, head=3)
    generate_on(at, 10, 1337)
    at.slider(key="nt_step_10").set_value(3).run()
    assert "**First-token sink:** head 3 (74%) puts most of its attention on the first token" in texts(at)
    at = open_page("next_token", model="demo:shakespeare-char", layer=0, head=3)
    generate_on(at, 10, 1337)
    at.slider(key="nt_step_10").set_value(3).run()
    assert "First-token sink" not in texts(at)


def test_the_tree_shows_the_filtered_top_k_and_a_picked_branch_continues_the_text(char_model) -> None:
    at = open_page("next_token", model=CHAR, sentence=SENTENCE)
    at.slider(key="nt_temperature").set_value(0.8).run()
    generate_on(at, 5, 9)
    settings = SamplingSettings(temperature=0.8, seed=9)
    prompt = char_model.tokenizer.encode(SENTENCE)
    tree = sampling_tree(char_model.model, prompt, settings, depth=3, width=3)
    points = chart(at, "nt_tree")["data"][-1]
    assert len(points["customdata"]) == 1 + 3 + 9 + 27 and points["customdata"][:3] == ["", "1", "1.1"]
    top = torch.topk(probs_after(char_model, prompt, settings), 3)
    firsts = [t for t, b in zip(points["text"], points["customdata"]) if b in ("1", "2", "3")]
    assert firsts == [
        f"{shown_token(char_model.tokenizer.token_text(int(i)))} ({p:.2f})" for i, p in zip(top.indices, top.values)
    ]
    leaf = tree.node((0, 0, 0))
    assert points["text"][points["customdata"].index("1.1.1")].endswith(f"path {leaf.path_prob:.2g})")
    at.selectbox(key="nt_branch_pick").select("2.1").run()
    assert not at.exception
    table = at.dataframe[0].value
    branch = tree.tokens((1, 0))
    after = generate(char_model.model, prompt + branch, 5, settings)
    assert table["id"].tolist() == branch + [s.token_id for s in after]
    assert table["how"].tolist() == ["chosen in the tree"] * 2 + ["drawn"] * 5
    assert at.query_params["gen_branch"] == "2.1"
    figure_by_title(at, "Step 1: the candidates, the token chosen in the tree in red")
    greedy = next(t for t in chart(at, "nt_tree")["data"] if t.get("name", "").startswith("greedy"))
    assert [x for x in greedy["x"] if x is not None] == [0, 1, 1, 2, 2, 3]


def test_the_link_carries_the_seed_the_settings_and_the_branch(char_model) -> None:
    link = {"gen_temperature": 0.7, "gen_top_k": 5, "gen_seed": 42, "gen_n_new": 4, "gen_branch": "3.2"}
    at = open_page("next_token", model=CHAR, sentence=SENTENCE, gen_depth=2, gen_width=3, **link)
    assert at.slider(key="nt_temperature").value == 0.7 and at.number_input(key="nt_top_k").value == 5
    assert at.number_input(key="nt_seed").value == 42 and at.number_input(key="nt_tree_depth").value == 2
    assert "Generate then continues from branch 3\\.2 of the tree" in texts(at)
    at.button(key="nt_generate").click().run()
    assert not at.exception
    settings = SamplingSettings(temperature=0.7, top_k=5, seed=42)
    prompt = char_model.tokenizer.encode(SENTENCE)
    branch = sampling_tree(char_model.model, prompt, settings, depth=2, width=3).tokens((2, 1))
    expected = branch + [s.token_id for s in generate(char_model.model, prompt + branch, 4, settings)]
    assert at.dataframe[0].value["id"].tolist() == expected
    assert {k: at.query_params[k] for k in link} == {k: str(v) for k, v in link.items()}


@pytest.mark.parametrize("branch", ["9.9", "<b>1</b>", "1.1.1.1.1"])
def test_a_branch_from_a_hand_edited_link_gets_a_message_and_the_text_starts_from_the_sentence(branch, char_model):
    at = open_page(
        "next_token",
        model=CHAR,
        sentence=SENTENCE,
        gen_branch=branch,
        gen_temperature="nan",
        gen_top_k=-4,
        gen_n_new=1000,
    )
    assert at.slider(key="nt_temperature").value == 1.0 and at.number_input(key="nt_top_k").value == 0
    assert at.number_input(key="nt_n_new").value == 50
    at.button(key="nt_generate").click().run()
    assert not at.exception
    warning = " ".join(w.value for w in at.warning)
    assert "cannot be followed" in warning and "Continuing from the sentence" in warning
    assert "<b>" not in warning
    assert at.dataframe[0].value["how"].tolist() == ["drawn"] * 50
    assert "gen_branch" not in at.query_params


def test_a_tree_over_the_node_budget_is_refused_with_a_message() -> None:
    at = open_page("next_token", model=CHAR, sentence=SENTENCE, gen_depth=4, gen_width=5)
    at.button(key="nt_generate").click().run()
    assert not at.exception
    assert any("more than this server draws at once" in e.value for e in at.error)
    assert "Press **Generate** to continue the sentence." in [c.value for c in at.caption]


def test_while_presenting_the_timeline_takes_shift_and_the_arrows() -> None:
    at = open_page("next_token", model=CHAR, sentence=SENTENCE, present=1)
    generate_on(at, 3, 1)
    assert at.button(key="nt_step_next").proto.shortcut == "shift+right"
    assert at.button(key="nt_step_back").proto.shortcut == "shift+left"
    assert at.button(key="lesson_arrow_back").proto.shortcut == "left"  # the remote's keys stay the lesson's

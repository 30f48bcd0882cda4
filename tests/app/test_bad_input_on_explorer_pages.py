"""Bad input on the Overview, Tokens, Embeddings and Next-token pages: a message, never a traceback."""

from __future__ import annotations

import pytest
from bad_inputs import BPE, BY_ID, CHAR, SENTENCES, BadInput, ids, open_with_sentence
from helpers import open_page, texts

PAGES = ("overview", "tokens", "embeddings", "next_token", "why")
# The sentences of the shared bad-input catalogue; their messages are checked in test_bad_input_catalogue.py.
TYPED = [c for c in SENTENCES if c.value and not c.via_session]  # the browser can type these


def _check(at, case: BadInput) -> None:
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at)
    assert "<script" not in "".join(h.proto.body for h in at.get("html"))
    if not case.value:
        assert "Type a sentence in the sidebar" in shown
    elif "only the first" in case.message:
        warnings = " ".join(w.value for w in at.sidebar.warning)
        assert "only the first" in warnings  # cut to the context with a visible notice
    else:
        # Something real is shown for the text: a token count in the sidebar.
        assert any("tokens** (" in c.value for c in at.sidebar.caption)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("case", SENTENCES, ids=ids(SENTENCES))
def test_bad_sentence_from_a_link(page: str, case: BadInput) -> None:
    _check(open_with_sentence(page, case), case)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("case", TYPED, ids=ids(TYPED))
def test_bad_sentence_typed_with_the_gpt2_tokenizer(page: str, case: BadInput) -> None:
    at = open_page(page, model=BPE, sentence="Hello")
    at.sidebar.text_area(key="w_sentence").input(case.value[:20_000]).run()  # the box holds 20,000 characters
    _check(at, case)


def test_endoftext_is_one_special_token_under_gpt2() -> None:
    at = open_page("tokens", model=BPE, sentence=BY_ID["endoftext"].value)
    assert at.dataframe[0].value["id"].tolist().count(50256) == 1
    assert "is one special token (ID 50256)" in texts(at)


def test_characters_outside_the_vocabulary_are_reported() -> None:
    at = open_page("tokens", model=CHAR, sentence=BY_ID["emoji-cjk-rtl"].value)
    assert any("not in this model's vocabulary" in i.value for i in at.sidebar.info)
    assert any("not in this model's vocabulary" in w.value for w in at.warning)


def test_control_characters_are_shown_as_symbols() -> None:
    at = open_page("tokens", model=CHAR, sentence="a\x00b")
    assert at.dataframe[0].value["token"].tolist() == ["a", "\u2400", "b"]
    assert "\x00" not in "".join(h.proto.body for h in at.get("html"))


def test_text_longer_than_the_box_limit_is_cut_not_an_error() -> None:
    at = open_page("tokens", model=CHAR, sentence="ab" * 15_000)  # 30,000 characters in a link
    assert not at.exception
    assert len(at.sidebar.text_area(key="w_sentence").value) == 20_000
    assert "**64 / 64 tokens** (char tokenizer)" in [c.value for c in at.sidebar.caption]


def test_unknown_characters_are_listed_as_code_not_markdown() -> None:
    at = open_page("tokens", model=CHAR, sentence="a*b*c $x$ `q` <i>")
    assert not at.exception
    note = [i.value for i in at.sidebar.info if "not in this model's vocabulary" in i.value][0]
    assert note.startswith("5 different character(s)")  # * $ ` < >
    for part in ("`*`", "`$`", "`<`", "`>`", "`` ` ``"):
        assert part in note


def test_gpt2_link_without_weights_says_where_to_put_them(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ATTN_EXPLORER_GPT2_DIR", str(tmp_path / "gpt2"))
    at = open_page("tokens", model="gpt2", sentence="Hello")
    assert not at.exception
    warning = " ".join(w.value for w in at.sidebar.warning)
    assert str(tmp_path / "gpt2") in warning and "model.safetensors" in warning


@pytest.mark.parametrize("page", PAGES)
def test_broken_checkpoint_gives_a_message(page: str, isolated_runs_dir) -> None:
    folder = isolated_runs_dir / "broken" / "checkpoint"
    folder.mkdir(parents=True)
    (folder / "checkpoint.json").write_text("{not json")
    at = open_page(page, model="run:broken", sentence="Hello")
    assert not at.exception
    assert any("cannot be loaded" in e.value for e in at.sidebar.error)

"""Every case of the bad-input catalogue (tests/bad_inputs.py): through the ``gpt/`` API, on the pages,
and in README's table. Each gives a clear message, never a traceback, and the page keeps working."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path

import pytest
import streamlit
import torch
from bad_inputs import (
    BPE,
    BY_ID,
    CATALOGUE,
    CONFIGS,
    CORPORA,
    FIELD_REFUSES,
    SENTENCES,
    UPLOADS,
    BadInput,
    ids,
    open_with_sentence,
)
from helpers import open_page, texts
from streamlit.testing.v1 import AppTest

import ui.train_estimate
from gpt.config import ConfigError, GPTConfig
from gpt.runs import JobError, check_upload
from gpt.tokenizers import GPT2_EOT_ID, get_tokenizer
from gpt.train import APP_MAX_LR, ProbeQueue, SettingsError, TrainSettings
from gpt.train.data import DataError, check_fits, split_ids
from gpt.train.device import physical_memory
from gpt.train.estimate import EstimateError, ProbeResult, corpus_stats, memory_estimate
from ui.text import WORD_JOINER, md_escape

README = Path(__file__).resolve().parents[2] / "README.md"
CORPUS = "To be, or not to be: that is the question. Whether 'tis nobler in the mind to suffer\n" * 4


# ------------------------------------------------------------------------------------ README


def _readme_rows() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Bad input: what the user sees", 1)
    assert len(section) == 2, "README has no section 'Bad input: what the user sees'"
    body = section[1].split("\n## ", 1)[0]
    rows = {}
    for line in body.splitlines():
        found = re.match(r"\|\s*`([^`]+)`\s*\|", line)
        if found:
            rows[found.group(1)] = line
    return rows


def test_readme_table_lists_every_case_with_its_message() -> None:
    rows = _readme_rows()
    assert sorted(rows) == sorted(BY_ID), "README's table and tests/bad_inputs.py list different cases"
    for case in CATALOGUE:
        assert case.message in rows[case.id], f"README row {case.id!r} does not quote {case.message!r}"
        if case.page_message:
            assert case.page_message in rows[case.id]


# ------------------------------------------------------------------------------- gpt/ API


@pytest.fixture(scope="module")
def tokenizers() -> dict:
    return {kind: get_tokenizer(kind, CORPUS) for kind in ("gpt2", "char", "word")}


@pytest.mark.parametrize("case", SENTENCES, ids=ids(SENTENCES))
@pytest.mark.parametrize("kind", ["gpt2", "char", "word"])
def test_every_tokenizer_takes_every_bad_sentence(case: BadInput, kind: str, tokenizers: dict) -> None:
    tok = tokenizers[kind]
    ids_ = tok.encode(case.value)
    pieces = tok.pieces(case.value)
    assert [p.id for p in pieces] == ids_
    assert all(0 <= i < tok.vocab_size for i in ids_)
    decoded = tok.decode(ids_)
    decoded.encode("utf-8")  # always valid text (no unpaired surrogate survives)
    if kind == "gpt2" and case.id != "invalid-surrogates":
        assert decoded == case.value  # BPE is lossless
    if not case.value.strip():
        assert kind == "gpt2" or not [p for p in pieces if p.text.strip()]


def test_char_tokenizer_reports_characters_it_does_not_know(tokenizers: dict) -> None:
    char = tokenizers["char"]
    assert {"🦊", "狐", "ש", "م"} <= set(char.unknown_chars(BY_ID["emoji-cjk-rtl"].value))
    assert "\u0301" in char.unknown_chars(BY_ID["combining-marks"].value)
    assert "\x00" in char.unknown_chars(BY_ID["control-chars"].value)
    assert not all(p.known for p in char.pieces(BY_ID["emoji-cjk-rtl"].value))


def test_endoftext_is_one_special_token_and_other_special_looking_strings_are_text(tokenizers: dict) -> None:
    gpt2 = tokenizers["gpt2"]
    assert gpt2.encode(BY_ID["endoftext"].value).count(GPT2_EOT_ID) == 1
    assert gpt2.encode("<|endoftext|>") == [GPT2_EOT_ID]
    special_looking = BY_ID["special-looking"].value
    assert GPT2_EOT_ID not in gpt2.encode(special_looking)
    assert len(gpt2.encode("<|im_start|>")) > 1  # not a token of GPT-2: ordinary characters
    assert gpt2.decode(gpt2.encode(special_looking)) == special_looking


@pytest.mark.parametrize("kind", ["gpt2", "char", "word"])
def test_unpaired_surrogates_become_the_replacement_character(kind: str, tokenizers: dict) -> None:
    pieces = tokenizers[kind].pieces(BY_ID["invalid-surrogates"].value)
    shown = "".join(p.text for p in pieces)
    assert "\ufffd" in shown and not re.search("[\ud800-\udfff]", shown)


@pytest.mark.parametrize("case", CONFIGS, ids=ids(CONFIGS))
def test_bad_configs_are_refused_by_name_before_any_memory_is_used(case: BadInput) -> None:
    settings = replace(TrainSettings(), **case.settings)
    if case.id == "too-big-for-memory":
        # Each knob is allowed; together they cannot fit: the Train page compares with the machine's memory.
        cfg = settings.validate(65, max_lr=APP_MAX_LR)
        memory = physical_memory()
        assert memory is not None and memory_estimate(cfg, settings.batch_size).total_bytes > memory
        return
    with pytest.raises((SettingsError, ConfigError), match=re.escape(case.message)):
        settings.validate(65, max_lr=APP_MAX_LR)
    model_fields = {k: v for k, v in case.settings.items() if k in ("n_layer", "n_head", "n_embd")}
    if model_fields:  # the model's own config refuses it too, before a single weight exists
        with pytest.raises(ConfigError, match=re.escape(case.message)):
            GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128).with_changes(**model_fields)


@pytest.mark.parametrize("case", UPLOADS, ids=ids(UPLOADS))
def test_bad_uploads_are_refused_with_a_reason(case: BadInput) -> None:
    with pytest.raises(JobError, match=re.escape(case.message)):
        check_upload(case.value)


def test_a_corpus_shorter_than_one_window_says_so() -> None:
    case = CORPORA[0]
    text = check_upload(case.value)  # a fine upload ...
    with pytest.raises(EstimateError, match=case.message):  # ... too short for the model's context
        corpus_stats(text, "char", 64)
    tok = get_tokenizer("char", text)
    with pytest.raises(DataError, match="block_size \\+ 1 = 65"):
        check_fits(split_ids(torch.tensor(tok.encode(text))), 64)


# ---------------------------------------------------------------------------- explorer pages


@pytest.mark.parametrize("case", SENTENCES, ids=ids(SENTENCES))
def test_bad_sentence_shows_its_message_and_the_page_recovers(case: BadInput) -> None:
    at = open_with_sentence("tokens", case)
    assert not at.exception, [e.value for e in at.exception]
    chips = "".join(h.proto.body for h in at.get("html"))
    assert "<script" not in chips  # HTML is shown as text, never rendered
    shown = texts(at) + "\n" + "\n".join(e.value for e in at.sidebar.caption)
    assert case.message in html.unescape(shown)
    context = 128 if case.model == BPE else 64
    at.sidebar.text_area(key="w_sentence").input("Hello").run()
    assert not at.exception
    assert any(f"/ {context} tokens" in c.value for c in at.sidebar.caption)
    assert at.dataframe[0].value["token"].size > 0


def test_typed_special_looking_strings_show_no_special_token_note() -> None:
    at = open_page("tokens", model=BPE, sentence="Hello")
    at.sidebar.text_area(key="w_sentence").input(BY_ID["special-looking"].value).run()
    assert not at.exception
    assert GPT2_EOT_ID not in at.dataframe[0].value["id"].tolist()
    assert "is one special token" not in texts(at)


# ------------------------------------------------------------------------------- Train page


@pytest.fixture
def train_page(monkeypatch: pytest.MonkeyPatch):
    """The Train page with a fake speed probe (no child process, no training), cache cleared afterwards."""

    def fake_probe(cfg: GPTConfig, batch_size: int, device: str, **_: object) -> ProbeResult:
        return ProbeResult(device, 0.01, 3, 0.03, None, batch_size * cfg.block_size / 0.01, batch_size)

    ui.train_estimate.forget_probes()  # a real probe another test left running ends first
    monkeypatch.setattr(ui.train_estimate, "SPEED_PROBES", ProbeQueue(ui.train_estimate.MEASURED, probe=fake_probe))
    yield lambda: open_page("train")
    streamlit.cache_data.clear()
    ui.train_estimate.forget_probes()  # no fake measurement may reach another test


def launch_button(at: AppTest) -> list:
    return [b for b in at.button if b.key == "train_launch"]


def as_read(markdown: str) -> str:
    """Markdown as the user reads it: backslash escapes (``md_escape``) and word joiners gone."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace(WORD_JOINER, "")


def page_errors(at: AppTest) -> str:
    return "\n".join(as_read(e.value) for e in at.error)


@pytest.mark.parametrize("case", CONFIGS, ids=ids(CONFIGS))
def test_bad_config_on_the_train_page(case: BadInput, train_page) -> None:
    at = train_page()
    good = {name: at.number_input(key=f"w_train_{name}").value for name in case.settings}
    for name, value in case.settings.items():
        at.number_input(key=f"w_train_{name}").set_value(value)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if case.page_message == FIELD_REFUSES:
        for name, value in case.settings.items():
            box = at.number_input(key=f"w_train_{name}")
            assert box.value != value and box.proto.min <= box.value <= box.proto.max
        assert not page_errors(at)
    else:
        assert case.message in page_errors(at)
        assert md_escape(case.message) in "\n".join(e.value for e in at.error)  # as escaped Markdown: literal
        assert not launch_button(at)
    for name, value in good.items():
        at.number_input(key=f"w_train_{name}").set_value(value)
    at.run()
    assert not at.exception and not page_errors(at)
    assert launch_button(at)


class FakeUpload:
    """What st.file_uploader returns, for AppTest, which cannot upload files."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def getvalue(self) -> bytes:
        return self.raw


@pytest.mark.parametrize("case", UPLOADS + CORPORA, ids=ids(UPLOADS + CORPORA))
def test_bad_upload_on_the_train_page(case: BadInput, train_page, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streamlit, "file_uploader", lambda *a, **k: FakeUpload(case.value))
    at = train_page()
    at.radio(key="w_train_corpus").set_value("Upload my own .txt file").run()
    assert not at.exception, [e.value for e in at.exception]
    prefix = "These settings cannot be trained: " if case.kind == "corpus" else "This file cannot be used: "
    errors = page_errors(at)
    assert prefix in errors and case.message in errors
    assert not launch_button(at)
    at.radio(key="w_train_corpus").set_value("Shakespeare (bundled, about 1 MB)").run()
    assert not at.exception and not page_errors(at)
    assert launch_button(at)


def test_an_error_text_full_of_markdown_is_shown_as_typed(train_page, monkeypatch: pytest.MonkeyPatch) -> None:
    hostile = "**bold** [a link](http://example.com) :material/home: $x^2$ <b>html</b>"

    def refuse(*_: object) -> None:
        raise EstimateError(hostile)

    monkeypatch.setattr(ui.train_estimate, "cached_corpus_stats", refuse)
    at = train_page()
    assert not at.exception, [e.value for e in at.exception]
    raw = "\n".join(e.value for e in at.error)
    assert f"These settings cannot be trained: {md_escape(hostile)}" in raw
    assert "**bold**" not in raw and "](http" not in raw  # no Markdown left to render
    assert hostile in page_errors(at)  # ... and the reader sees every character of it
    assert not launch_button(at)

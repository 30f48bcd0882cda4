"""AppTest: characters a char model does not know are marked on their chips, and the sidebar says
which token the model reads instead (no silent substitution)."""

from __future__ import annotations

from gpt.models import load_model
from tests import helpers

MODEL = "demo:shakespeare-char"
SENTENCE = "café — 你好"


def test_unknown_characters_say_what_the_model_reads_instead() -> None:
    tokenizer = load_model(MODEL).tokenizer
    space = tokenizer.encode(" ")[0]
    assert tokenizer.token_text(space) == " " and [tokenizer.encode(c)[0] for c in "é—你好"] == [space] * 4
    at = helpers.open_page("tokens", model=MODEL, sentence=SENTENCE)
    assert not at.exception
    note = [i.value for i in at.sidebar.info if "not in this model's vocabulary" in i.value]
    assert len(note) == 1
    assert note[0].startswith("4 different character(s) are not in this model's vocabulary:")
    for ch in "é—你好":
        assert f"`{ch}`" in note[0]
    assert f"The model reads each of them as `·` (ID {space}), the space" in note[0]
    chips = "".join(h.proto.body for h in at.get("html"))
    for ch in "é—你好":
        assert f"{ch} → · (unknown)" in chips
    assert "a → ·" not in chips and "f → ·" not in chips
    assert f"not in the vocabulary: the model reads ID {space}, ·" in chips

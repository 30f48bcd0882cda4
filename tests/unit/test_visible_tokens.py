"""Unit: ``shown_token`` leaves nothing invisible: every format character (bidi controls, zero-width
joiners, the soft hyphen, the byte-order mark), odd spaces and C1 controls get a visible picture."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from gpt.interpret import shown_token

BMP_FORMAT = [chr(c) for c in range(0x10000) if unicodedata.category(chr(c)) == "Cf"]
INVISIBLE_CATEGORIES = ("Cc", "Cf", "Zl", "Zp")


def test_the_bmp_has_the_format_characters_the_issue_names() -> None:
    for cp in (0x00AD, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF, *range(0x202A, 0x202F)):
        assert chr(cp) in BMP_FORMAT, hex(cp)
    for cp in range(0x2066, 0x206A):
        assert chr(cp) in BMP_FORMAT, hex(cp)


@pytest.mark.parametrize("ch", BMP_FORMAT, ids=[f"U+{ord(c):04X}" for c in BMP_FORMAT])
def test_no_format_character_survives_alone_or_inside_a_token(ch: str) -> None:
    for token in (ch, f"a{ch}b", f"{ch}{ch}"):
        shown = shown_token(token)
        assert shown, f"U+{ord(ch):04X} shows as nothing"
        assert not any(unicodedata.category(c) == "Cf" for c in shown), (hex(ord(ch)), shown)
        assert not any(unicodedata.category(c) in INVISIBLE_CATEGORIES for c in shown)


def test_bidi_override_is_named_and_does_not_reorder_its_neighbours() -> None:
    assert shown_token("\u202eabc") == "⟨RLO⟩abc"
    assert shown_token("x\u2066y\u2069") == "x⟨LRI⟩y⟨PDI⟩"
    assert shown_token("\u200b") == "⟨ZWSP⟩"
    assert shown_token("\u00ad") == "⟨SHY⟩"
    assert shown_token("\ufeff") == "⟨BOM⟩"


def test_odd_spaces_and_c1_controls_are_pictured_too() -> None:
    assert shown_token("\u00a0") == "⟨NBSP⟩"
    assert shown_token("\u3000") == "⟨IDSP⟩"
    assert shown_token("\x85") == "⟨U+0085⟩"
    assert shown_token("\u2003") == "⟨U+2003⟩"
    for cp in range(0x80, 0xA0):
        assert unicodedata.category(shown_token(chr(cp))[0]) not in INVISIBLE_CATEGORIES


def test_format_characters_beyond_the_bmp_are_pictured() -> None:
    assert shown_token("\U000e0001") == "⟨U+E0001⟩"  # LANGUAGE TAG
    assert sys.maxunicode > 0xFFFF


def test_a_lone_variation_selector_shows_but_one_after_a_character_keeps_the_emoji() -> None:
    assert shown_token("\ufe0f") == "⟨U+FE0F⟩"
    assert shown_token("\u2764\ufe0f") == "\u2764\ufe0f"


def test_ordinary_tokens_are_unchanged() -> None:
    assert shown_token("café") == "café"
    assert shown_token(" the") == "·the"
    assert shown_token("a\x00b") == "a\u2400b"
    assert shown_token("你好") == "你好"
    assert shown_token("\u0301") == "\u25cc\u0301"

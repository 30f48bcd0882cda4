"""The shared sidebar lists the available models once per rerun (the list walks every run folder)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from helpers import open_page

from ui import shell

BPE = "random:gpt2-bpe-small"


def counting(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Replace ``ui.shell.<name>`` by a wrapper that counts its calls; the one-item list holds the count."""
    calls = [0]
    original: Callable = getattr(shell, name)

    def wrapper(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(shell, name, wrapper)
    return calls


@pytest.mark.parametrize("page", ["overview", "tokens"])
def test_the_sidebar_scans_the_models_once_per_rerun(page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    scans = counting(monkeypatch, "available_models")
    sidebars = counting(monkeypatch, "sidebar")  # pages call shell.sidebar(), so this counts the reruns
    at = open_page(page)
    assert not at.exception
    assert sidebars[0] == 1
    assert scans[0] == 1
    at.sidebar.text_area(key="w_sentence").input("Hello class").run()
    at.sidebar.selectbox(key="w_model").set_value(BPE).run()
    assert not at.exception
    assert at.sidebar.selectbox(key="w_model").value == BPE
    assert sidebars[0] == 3
    assert scans[0] == sidebars[0]

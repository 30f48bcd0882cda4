"""Every lab in the catalogue has its maths in gpt/labs/<module>.py and its view in ui/labs/<module>.py."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from gpt.labs import LABS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("lab", LABS, ids=[lab.lab_id for lab in LABS])
def test_every_lab_has_a_view_module_with_render(lab):
    assert (ROOT / "gpt" / "labs" / f"{lab.module}.py").is_file()
    assert (ROOT / "ui" / "labs" / f"{lab.module}.py").is_file()
    view = importlib.import_module(f"ui.labs.{lab.module}")
    assert callable(getattr(view, "render", None)), f"ui/labs/{lab.module}.py needs render(lab)"
    assert list(inspect.signature(view.render).parameters) == ["lab"]


def test_lab_files_stay_small():
    files = [ROOT / "pages" / "labs.py", *(ROOT / "ui" / "labs").glob("*.py"), *(ROOT / "gpt" / "labs").glob("*.py")]
    too_long = {f.name: n for f in files if (n := len(f.read_text(encoding="utf-8").splitlines())) > 400}
    assert too_long == {}
    assert len((ROOT / "pages" / "labs.py").read_text(encoding="utf-8").splitlines()) < 200

"""In classroom mode no page shows a student the server's folders (issue 12, attack 9).

The runs folder, the GPT-2 folder and the app's own folder are absolute paths on the teacher's
computer (a user name, a layout): students read "the server's runs folder" instead. The local user
and the teacher still see the paths, to fix a broken setup.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import open_page
from run_fixtures import make_run
from streamlit.testing.v1 import AppTest

from tests.app.test_classroom_mode import KEY, classroom, enter_key, everything_shown, teacher_key  # noqa: F401 - fixtures
from tests.app.test_no_markdown_injection import markdown_sources, unescaped
from tests.helpers import PAGES
from ui.teacher import GPT2_FOLDER, RUNS_FOLDER
from ui.text import WORD_JOINER

APP_FOLDER = Path(__file__).resolve().parents[2]


@pytest.fixture
def gpt2_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """GPT-2 is not installed: the sidebar says where its files would go."""
    folder = tmp_path / "gpt2-weights"
    monkeypatch.setenv("ATTN_EXPLORER_GPT2_DIR", str(folder))
    return folder


@pytest.fixture
def runs_with_paths(isolated_runs_dir: Path) -> Path:
    """A broken checkpoint (its load error names its file), a failed run whose message names a file,
    and an uploaded corpus (its settings hold the upload's path)."""
    broken = isolated_runs_dir / "broken" / "checkpoint"
    broken.mkdir(parents=True)
    (broken / "checkpoint.json").write_text("{not json")
    failed = make_run(isolated_runs_dir, "failed-run", state="failed")
    status = json.loads((failed / "status.json").read_text())
    status["message"] = f"[Errno 28] No space left on device: '{failed / 'checkpoint' / 'model.safetensors'}'"
    (failed / "status.json").write_text(json.dumps(status))
    run = json.loads((failed / "run.json").read_text())
    run["options"]["data"] = str(failed / "corpus.txt")
    (failed / "run.json").write_text(json.dumps(run))
    return isolated_runs_dir


def readable(at: AppTest) -> str:
    """The page's text as a reader sees it (Markdown escapes and word joiners gone), settings included."""
    texts = [unescaped(source).replace(WORD_JOINER, "") for source in markdown_sources(at)]
    return "\n".join(texts + [str(j.value) for j in at.json])


def open_with(page: str, **params: str) -> AppTest:
    at = open_page(page, run=False)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def server_paths_shown(at: AppTest, folders: list[Path]) -> list[str]:
    shown = everything_shown(at) + readable(at)  # every field, and escaped text as it reads
    forms = {str(f) for f in folders} | {str(f.resolve()) for f in folders}
    return sorted(form for form in forms if form in shown)


def visits() -> list[tuple[str, dict[str, str]]]:
    """Every page with a broken model, every page with missing GPT-2, and each run's own views."""
    found = [(page, {"model": "run:broken"}) for page in PAGES]
    found += [(page, {"model": "gpt2"}) for page in PAGES]
    found += [(page, {"run": "failed-run", "model": "run:failed-run"}) for page in ("train", "runs", "watch")]
    return found


@pytest.mark.usefixtures("teacher_key")
def test_students_see_no_server_path_on_any_page(runs_with_paths: Path, gpt2_folder: Path) -> None:
    folders = [runs_with_paths, gpt2_folder, APP_FOLDER]
    for page, params in visits():
        at = open_with(page, **params)
        assert not server_paths_shown(at, folders), (page, params, server_paths_shown(at, folders))
    runs = open_with("runs", run="failed-run")
    assert RUNS_FOLDER in readable(runs)  # a neutral word where the path was
    overview = open_with("overview", model="gpt2")
    assert GPT2_FOLDER in readable(overview)


@pytest.mark.usefixtures("teacher_key")
def test_the_teacher_sees_the_paths_after_unlocking(runs_with_paths: Path, gpt2_folder: Path) -> None:
    at = open_with("runs", run="failed-run")
    enter_key(at, KEY)
    assert str(runs_with_paths) in readable(at)
    at = open_with("overview", model="run:broken")
    enter_key(at, KEY)
    shown = readable(at)
    assert str(gpt2_folder) in shown and str(runs_with_paths / "broken") in shown


def test_the_local_user_sees_the_paths(runs_with_paths: Path, gpt2_folder: Path) -> None:
    at = open_with("runs", run="failed-run")
    shown = readable(at)
    assert str(runs_with_paths) in shown and str(runs_with_paths / "failed-run" / "corpus.txt") in shown
    assert str(gpt2_folder) in readable(open_with("overview", model="gpt2"))

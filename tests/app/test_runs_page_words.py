"""The Runs page as a class sees it (issue 11): one status word per run in the table, in "One run" and
on the run's dashboard; no server folder for students; no command-line hints on Train or Runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import open_page, texts
from run_fixtures import make_run
from streamlit.testing.v1 import AppTest

from gpt.runs import JobError, check_upload
from tests.app.test_classroom_mode import KEY, classroom, enter_key, teacher_key  # noqa: F401 - fixtures
from tests.app.test_train_run_status import no_real_probe  # noqa: F401 - a fixture
from ui.teacher import RUNS_FOLDER

# (run id, what its folder says, the word every page must show for it)
RUNS = [
    ("done", "finished", "finished"),
    ("paused", "stopped", "stopped"),
    ("crashed", "failed", "failed"),
    ("lost", "running", "interrupted"),  # its worker's pid is gone
]
COMMAND_LINE_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]+")


@pytest.fixture
def runs(isolated_runs_dir: Path) -> Path:
    for run_id, state, _ in RUNS:
        make_run(
            isolated_runs_dir, run_id, state=state, checkpoint=False, pid=999_999_999 if run_id == "lost" else None
        )
    return isolated_runs_dir


def one_run_word(at: AppTest) -> str:
    line = next(m.value for m in at.markdown if m.value.startswith("**:material/"))
    return line.split("**")[1].split()[-1]  # "**:material/icon: <state>** · step ..."


def dashboard_word(run_id: str) -> str:
    at = open_page("train", run=False)
    at.query_params["run"] = run_id
    at.run()
    header = next(s.value for s in at.subheader if s.value.endswith(f"`{run_id}`"))
    return header.split(" · ")[0].split()[-1]


@pytest.mark.usefixtures("runs", "no_real_probe")
def test_the_table_one_run_and_the_dashboard_use_the_same_status_word() -> None:
    at = open_page("runs")
    assert not at.exception
    table = at.dataframe[0].value
    in_table = dict(zip(table["run"], table["status"], strict=True))
    for run_id, _, word in RUNS:
        at.selectbox(key="runs_selected").select(run_id).run()
        assert (in_table[run_id], one_run_word(at), dashboard_word(run_id)) == (word, word, word), run_id


@pytest.mark.usefixtures("runs", "teacher_key")
def test_students_read_the_server_s_runs_folder_and_the_teacher_its_path(isolated_runs_dir: Path) -> None:
    student = open_page("runs")
    caption = next(c.value for c in student.caption if "run(s) in" in c.value)
    assert f"{len(RUNS)} run(s) in {RUNS_FOLDER}." in caption
    assert str(isolated_runs_dir) not in texts(student) and isolated_runs_dir.name not in caption
    teacher = open_page("runs")
    enter_key(teacher, KEY)
    assert str(isolated_runs_dir) in next(c.value for c in teacher.caption if "run(s) in" in c.value)


@pytest.mark.usefixtures("no_real_probe")
def test_no_command_line_hints_on_the_train_and_runs_pages(runs: Path) -> None:
    status = json.loads((runs / "paused" / "status.json").read_text())
    status["message"] = "stopped at step 100; it can be resumed from its checkpoint"  # what a worker writes
    (runs / "paused" / "status.json").write_text(json.dumps(status))
    shown = [texts(open_page("runs"))] + [texts(open_page("train", run=run_id)) for run_id, _, _ in RUNS]
    for text in shown:
        assert not COMMAND_LINE_OPTION.findall(text)
    with pytest.raises(JobError) as refused:  # what the Train page shows for a too big upload
        check_upload(b"a" * (6 * 1024 * 1024))
    assert "uploads are limited to 5 MB" in str(refused.value)
    assert not COMMAND_LINE_OPTION.findall(str(refused.value)) and "python -m" not in str(refused.value)

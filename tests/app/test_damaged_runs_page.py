"""AppTest: one damaged run among good ones leaves the Runs and Watch pages working for everyone."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import streamlit.dataframe_util as dataframe_util
from helpers import open_page, texts
from run_fixtures import PROBE_TOKENS, make_run
from streamlit.testing.v1 import AppTest


def shown(at: AppTest) -> str:
    """The page's text as a reader sees it: without Markdown's escaping backslashes and word joiners."""
    return texts(at).replace("\\", "").replace("\u2060", "")


def no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.fixture
def one_damaged_run(isolated_runs_dir: Path) -> Path:
    make_run(isolated_runs_dir, "good-old", checkpoint=False)
    damaged = make_run(isolated_runs_dir, "damaged", checkpoint=False)
    status = json.loads((damaged / "status.json").read_text())
    (damaged / "status.json").write_text(json.dumps({**status, "iter": "abc"}))
    run = json.loads((damaged / "run.json").read_text())
    (damaged / "run.json").write_text(json.dumps({**run, "created_at": 1e20}))
    (damaged / "metrics.jsonl").unlink()
    os.mkfifo(damaged / "metrics.jsonl")  # would hang the compare chart if it were opened
    probes = [json.loads(line) for line in (damaged / "probe.jsonl").read_text().splitlines()]
    probes[-1]["tokens"] = PROBE_TOKENS[:3]  # the step-100 attention covers 7 tokens
    (damaged / "probe.jsonl").write_text("".join(json.dumps(p) + "\n" for p in probes))
    make_run(isolated_runs_dir, "good-new", checkpoint=False)
    return damaged


@pytest.fixture
def arrow_must_not_need_fixing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A table column of mixed types makes Streamlit log a traceback and patch the column: fail instead."""

    def refuse(df):
        raise AssertionError(f"a table mixes types in a column: {df.dtypes.to_dict()}")

    monkeypatch.setattr(dataframe_util, "fix_arrow_incompatible_column_types", refuse)


def test_the_runs_page_lists_every_run_and_says_which_one_is_damaged(
    one_damaged_run: Path, arrow_must_not_need_fixing: None
) -> None:
    at = open_page("runs")
    no_exceptions(at)
    table = at.dataframe[0].value
    assert set(table["run"]) == {"good-old", "damaged", "good-new"}
    assert table.set_index("run").loc["damaged", "status"] == "unknown"
    at.selectbox(key="runs_selected").select("damaged").run()
    no_exceptions(at)
    assert "this run's status file is damaged (iter is 'abc'" in shown(at)
    assert "run.json is damaged: created_at is 1e+20, not a time" in shown(at)
    at.selectbox(key="runs_selected").select("good-new").run()
    no_exceptions(at)
    assert "finished for a test" in shown(at)


def test_the_watch_page_skips_a_probe_record_that_disagrees_with_its_attention(one_damaged_run: Path) -> None:
    at = open_page("watch", run=False)
    at.query_params["run"] = "damaged"
    at.run()
    no_exceptions(at)
    assert "step 100 was skipped" in shown(at)
    assert at.select_slider(key="watch_step").options == ["0", "50"]  # the two records that fit


def test_the_train_pages_queue_table_has_one_type_per_column(
    isolated_runs_dir: Path, monkeypatch: pytest.MonkeyPatch, arrow_must_not_need_fixing: None
) -> None:
    import shlex
    import sys

    from gpt.train import TrainSettings
    from ui.jobs import manager

    worker = Path(__file__).resolve().parents[1] / "fake_train_worker.py"
    monkeypatch.setenv("ATTN_EXPLORER_TRAIN_COMMAND", shlex.join([sys.executable, str(worker)]))
    monkeypatch.setenv("FAKE_STEP_S", "5")  # the first run holds the CPU while the test looks
    jobs = manager()  # the page's own manager (one per server process)
    try:
        running = jobs.submit("running", TrainSettings(max_iters=100), "cpu")
        waiting = jobs.submit("waiting", TrainSettings(max_iters=100), "cpu")
        at = open_page("train")
        no_exceptions(at)
        queue = next(d.value for d in at.dataframe if "place in queue" in d.value.columns)
        assert dict(zip(queue["run"], queue["place in queue"], strict=True)) == {running: "now", waiting: "1"}
    finally:
        jobs.close()

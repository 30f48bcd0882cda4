"""AppTest: the architecture ladder lab, and the explorer pages with checkpoints of its rungs.

The lab draws the shipped table and curves, hides them behind the predict question, starts a rung's
own command through the job manager (only for the teacher in classroom mode); every explorer page
opened on a model without attention (the bigram rung) or without residual connections says what the
model lacks instead of failing.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers import figures, open_page, texts
from streamlit import config

from gpt import DEFAULT_CORPUS, GPT, get_tokenizer, save_checkpoint
from gpt.labs import ladder, ladder_results
from gpt.runs.reader import read_run
from ui.classroom import KEY_ENV

FAKE_WORKER = shlex.join([sys.executable, str(Path(__file__).resolve().parents[1] / "fake_train_worker.py")])
STUDENT_MESSAGE = "is for the teacher in classroom mode"


def no_trouble(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def ladder_table(at):
    return next(t.value for t in at.table if "val loss (mean)" in t.value.columns)


def rung_checkpoint(runs_dir: Path, rung_id: str) -> str:
    """A run folder holding a checkpoint of the rung's model (random weights: the pages need its shape)."""
    tokenizer = get_tokenizer("char", DEFAULT_CORPUS.read_text(encoding="utf-8"))
    torch.manual_seed(0)
    model = GPT(ladder.rung_by_id(rung_id).settings().model_config(tokenizer.vocab_size))
    run_id = f"rung-{rung_id}"
    save_checkpoint(runs_dir / run_id / "checkpoint", model, tokenizer, {"iter": 0, "seed": 0, "run_id": run_id})
    return f"run:{run_id}"


def test_the_lab_shows_every_rung_the_curves_and_the_equal_budget() -> None:
    shipped = ladder_results.load_results()
    at = open_page("labs", lab="ladder")
    no_trouble(at)
    table = ladder_table(at)
    assert list(table.index) == [r.label for r in ladder.RUNGS]
    assert list(table["val loss (mean)"]) == pytest.approx([r.val.mean for r in shipped.rungs])
    assert list(table["parameters"]) == [r.n_params for r in shipped.rungs]
    assert table.loc[ladder.RUNGS[0].label, "the source prints"] == "≈ 2.48"
    chart = next(f for f in figures(at) if "every rung" in f["layout"]["title"]["text"])
    assert [trace["name"] for trace in chart["data"]] == [r.label for r in ladder.RUNGS]
    shown = texts(at)
    assert "Equal budgets" in shown and f"{ladder.BUDGET.max_iters:,} steps" in shown
    assert "standard deviation over the seeds" in shown
    assert ladder.train_command(ladder.RUNGS[0]) in [c.value for c in at.code]


def test_the_table_waits_for_a_guess_in_predict_mode() -> None:
    answer = ladder_results.load_results().biggest_drop().rung.label
    at = open_page("labs", lab="ladder")
    at.toggle(key="labs_predict_mode").set_value(True).run()
    assert not [t for t in at.table if "val loss (mean)" in t.value.columns]
    radio = next(r for r in at.radio if r.key and r.key.startswith("guess_ladder"))
    assert radio.options == [r.label for r in ladder.RUNGS[1:]]
    radio.set_value(answer).run()
    next(b for b in at.button if b.key and b.key.startswith("reveal_ladder")).click().run()
    no_trouble(at)
    assert any("which is right" in s.value for s in at.success)
    assert list(ladder_table(at).index) == [r.label for r in ladder.RUNGS]


def test_a_student_cannot_start_a_rung_in_classroom_mode(monkeypatch, isolated_runs_dir: Path) -> None:
    config.set_option("server.address", "0.0.0.0")  # the autouse local_server fixture puts it back
    monkeypatch.setenv(KEY_ENV, "Correct-Horse-42")
    at = open_page("labs", lab="ladder")
    no_trouble(at)
    button = at.button(key="ladder_train")
    assert button.disabled
    assert any(STUDENT_MESSAGE in i.value for i in at.info)
    button.proto.disabled = False  # a hand-made click on the disabled button starts nothing either
    button.click().run()
    no_trouble(at)
    assert not list(isolated_runs_dir.iterdir())


@pytest.mark.slow
def test_train_this_rung_now_starts_the_rungs_command_through_the_job_manager(
    monkeypatch, isolated_runs_dir: Path
) -> None:
    monkeypatch.setenv("ATTN_EXPLORER_TRAIN_COMMAND", FAKE_WORKER)
    monkeypatch.setenv("FAKE_STEP_S", "0.001")
    at = open_page("labs", lab="ladder")
    at.selectbox(key="ladder_rung").set_value("four-heads").run()
    at.button(key="ladder_train").click().run()
    no_trouble(at)
    (run_dir,) = isolated_runs_dir.iterdir()
    rung = ladder.rung_by_id("four-heads")
    assert ladder.is_rung_run(run_dir.name, rung)
    job = json.loads((run_dir / "job.json").read_text())
    assert job["worker_args"] == ["--out", str(run_dir), *rung.settings().to_argv()]
    assert any(run_dir.name in m.value for m in at.markdown)  # its live view
    deadline = time.time() + 30  # let the fake worker finish, so no process outlives the test
    while read_run(run_dir).state.active and time.time() < deadline:
        time.sleep(0.05)
    at.run()
    no_trouble(at)
    assert any("this run beside the shipped one" in f["layout"]["title"]["text"] for f in figures(at))


@pytest.mark.slow
def test_every_explorer_page_says_so_when_the_model_has_no_attention(isolated_runs_dir: Path) -> None:
    model = rung_checkpoint(isolated_runs_dir, "bigram")
    at = open_page("overview", model=model)
    no_trouble(at)
    for page in ("tokens", "embeddings", "attention", "heads", "next_token", "why"):
        at.switch_page(f"pages/{page}.py").run()
        no_trouble(at)
        shown = " ".join(i.value for i in at.info)
        if page in ("attention", "heads"):
            assert "This model has no attention" in shown
        if page == "embeddings":
            assert "This model has no position vectors" in shown
    for view in ("attribution", "knockout", "neuron", "inputs"):
        at.query_params["why_view"] = view
        at.session_state["why_view"] = view
        at.run()
        no_trouble(at)
        assert "This model has no attention" in " ".join(i.value for i in at.info)


def test_attribution_says_so_when_the_blocks_have_no_residual_connections(isolated_runs_dir: Path) -> None:
    at = open_page("why", model=rung_checkpoint(isolated_runs_dir, "one-head"), why_view="attribution")
    no_trouble(at)
    assert "This model has no residual connections and no LayerNorm" in " ".join(i.value for i in at.info)
    at.switch_page("pages/attention.py").run()
    no_trouble(at)
    assert not [i for i in at.info if "This model has no" in i.value]  # its attention is there to follow

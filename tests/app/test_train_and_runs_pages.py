"""AppTest of the Train, Runs and Watch pages, with fabricated run folders and a fake fast worker."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from helpers import decode_array, figure_by_title, figures, open_page, texts
from run_fixtures import make_run
from streamlit.testing.v1 import AppTest

import ui.train_estimate
from gpt.runs.reader import read_run
from ui.text import md_escape

FAKE_WORKER = shlex.join([sys.executable, str(Path(__file__).resolve().parents[1] / "fake_train_worker.py")])


@pytest.fixture
def fake_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs launched from the pages start the torch-free fake worker (fast, follows the contract)."""
    monkeypatch.setenv("ATTN_EXPLORER_TRAIN_COMMAND", FAKE_WORKER)
    monkeypatch.setenv("FAKE_STEP_S", "0.02")


def open_with_run(page: str, run_id: str) -> AppTest:
    """A fresh session opened from a URL carrying ?run=<run_id> (what a browser reload does)."""
    at = open_page(page, run=False)
    at.query_params["run"] = run_id
    at.run()
    return at


def no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def metric(at: AppTest, label: str) -> str:
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}; have {[m.label for m in at.metric]}"
    return found[0]


def wait_for(at: AppTest, check, timeout: float = 30.0) -> None:
    """run_every fragments never tick in AppTest: rerun until the page shows what we wait for."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        at.run()
        if check(at):
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out; page text: {texts(at)[:800]}")


# ----------------------------------------------------------------------------------------- Train


@pytest.mark.slow
def test_train_page_shows_size_memory_and_measured_time_before_launch() -> None:
    at = open_page("train")
    no_exceptions(at)
    assert at.selectbox(key="w_train_preset").options == [
        "2-minute CPU demo",
        "nanoGPT's recipe (for comparison)",
        "10-minute char model",
        "3-minute BPE model",
        "GPU BPE model",
    ]
    assert at.selectbox(key="w_train_optimizer").value == "muon"  # the demo's recipe, editable
    assert metric(at, "parameters") == "0.81 M"  # the 4x4x128 char model on Shakespeare's 65+ characters
    assert "MB" in metric(at, "training memory")
    # The real probe runs in the background: the page shows it is measuring, its poll shows the result.
    assert metric(at, "estimated time") == "–" and "Measuring the speed on cpu" in texts(at)
    wait_for(at, lambda a: metric(a, "estimated time") not in ("–", ""), timeout=120)
    assert "Measured on cpu" in texts(at) and "real training steps" in texts(at)
    device = at.selectbox(key="w_train_device")
    assert any("CPU" in label and "threads" in label for label in device.options)


@pytest.fixture
def instant_probes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The speed probe answers at once: a real one of the GPU preset on this CPU would keep timing a
    30 M-parameter model in the background for minutes, slowing every test after it."""
    real_run = subprocess.run
    answer = {"device": "cpu", "seconds_per_iter": 0.5, "steps_timed": 3, "warmup_s": 0.1}
    answer |= {"peak_memory_bytes": None, "tokens_per_s": 1000.0, "batch_measured": 4}

    def run(argv, *args, **kwargs):
        if "gpt.train.estimate" not in argv:
            return real_run(argv, *args, **kwargs)
        return subprocess.CompletedProcess(argv, 0, stdout=json.dumps(answer) + "\n", stderr="")

    ui.train_estimate.forget_probes()
    monkeypatch.setattr(subprocess, "run", run)
    yield
    ui.train_estimate.forget_probes()  # no made-up measurement may reach another test


@pytest.mark.slow
def test_choosing_a_preset_fills_the_knobs(instant_probes) -> None:
    at = open_page("train", run=False)
    at.session_state["train_preset"] = "2-minute CPU demo"
    at.run()
    at.selectbox(key="w_train_preset").select("GPU BPE model").run()
    no_exceptions(at)
    assert at.selectbox(key="w_train_tokenizer").value == "gpt2"
    assert at.number_input(key="w_train_n_embd").value == 384
    assert at.number_input(key="w_train_block_size").value == 256
    at.selectbox(key="w_train_preset").select("3-minute BPE model").run()
    no_exceptions(at)
    assert at.selectbox(key="w_train_tokenizer").value == "gpt2-trimmed"
    assert at.number_input(key="w_train_unknown_fraction").value == 0.03  # the unknown-word practice
    assert not at.error  # a preset the form accepts as it is


def test_a_trimmed_gpt2_vocabulary_cuts_the_same_tokens_into_a_smaller_model() -> None:
    at = open_page("train")
    sizes, captions = {}, {}
    for kind in ("gpt2", "gpt2-trimmed"):
        at.selectbox(key="w_train_tokenizer").select(kind).run()
        no_exceptions(at)
        sizes[kind] = float(metric(at, "parameters").removesuffix(" M"))
        captions[kind] = next(c.value for c in at.caption if c.value.startswith("Corpus:"))
    assert captions["gpt2"] == captions["gpt2-trimmed"]  # GPT-2's cut, token for token
    # 4 x 4 x 128 blocks (0.8 M) plus 128 dims per vocabulary row: 50,257 rows against ~12 k.
    assert sizes["gpt2"] > 7 and 2 < sizes["gpt2-trimmed"] < 3


def test_impossible_settings_give_a_message_and_no_launch_button() -> None:
    at = open_page("train")
    at.number_input(key="w_train_n_head").set_value(3).run()  # 128 dims do not split into 3 heads
    no_exceptions(at)
    assert any(md_escape("divisible by n_head") in e.value for e in at.error)  # the error's text, escaped
    assert not [b for b in at.button if b.key == "train_launch"]
    at.number_input(key="w_train_n_head").set_value(4).run()
    assert [b for b in at.button if b.key == "train_launch"]


def test_the_ladders_switches_shape_the_model_and_reach_the_worker(fake_worker, isolated_runs_dir) -> None:
    at = open_page("train")
    full = float(metric(at, "parameters").removesuffix(" M"))
    at.checkbox(key="w_train_mlp").uncheck().run()  # attention only
    at.selectbox(key="w_train_pos_encoding").select("none").run()
    no_exceptions(at)
    lean = float(metric(at, "parameters").removesuffix(" M"))
    # 4 blocks lose their 128 x 512 x 2 MLP (0.53 M) and the 64 x 128 position table goes.
    assert full - lean == pytest.approx(0.54, abs=0.02)
    at.number_input(key="w_train_max_iters").set_value(4).run()
    at.button(key="train_launch").click().run()
    no_exceptions(at)
    run_json = isolated_runs_dir / at.session_state["run"] / "run.json"
    wait_for(at, lambda _: run_json.is_file())  # the worker writes it once it has started
    argv = json.loads(run_json.read_text())["argv"]
    assert "--no-mlp" in argv and argv[argv.index("--pos-encoding") + 1] == "none"


def test_the_unknown_token_share_is_for_the_trimmed_vocabulary_only() -> None:
    at = open_page("train")
    at.number_input(key="w_train_unknown_fraction").set_value(0.05).run()
    no_exceptions(at)
    assert any("needs a tokenizer with an unknown token" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "train_launch"]
    at.selectbox(key="w_train_tokenizer").select("gpt2-trimmed").run()
    no_exceptions(at)
    assert not at.error and [b for b in at.button if b.key == "train_launch"]


def test_an_empty_probe_sentence_is_refused_with_a_message() -> None:
    at = open_page("train")
    at.text_input(key="w_train_probe").input("   ").run()
    no_exceptions(at)
    assert any("probe sentence" in e.value for e in at.error)


@pytest.mark.slow
def test_launch_shows_the_run_and_its_live_numbers_and_keeps_it_in_the_url(fake_worker, isolated_runs_dir) -> None:
    at = open_page("train")
    at.number_input(key="w_train_max_iters").set_value(30).run()
    at.text_input(key="train_name").input("my class run").run()
    at.button(key="train_launch").click().run()
    no_exceptions(at)
    run_id = at.session_state["run"]
    assert run_id.startswith("my-class-run-")
    assert at.query_params["run"] == run_id
    assert (isolated_runs_dir / run_id).is_dir()
    wait_for(at, lambda a: "finished" in texts(a))
    no_exceptions(at)
    fig = figure_by_title(at, "Loss while training")
    assert [t["name"] for t in fig["data"]] == ["train", "validation"]  # one run: no run id in its legend
    assert all(t["meta"] == run_id for t in fig["data"])  # ... it is in the hover
    train = fig["data"][0]
    assert len(decode_array(train["x"])) == 30  # every fake step logged a loss
    assert metric(at, "tokens / s") == "1,000"
    # a page switch keeps the run (session state) and puts it back into the URL
    at.switch_page("pages/overview.py").run()
    at.switch_page("pages/train.py").run()
    no_exceptions(at)
    assert any(run_id in s.value for s in at.subheader)
    assert at.query_params["run"] == run_id
    # a reload is a new session that only has the URL
    again = open_with_run("train", run_id)
    no_exceptions(again)
    assert any(run_id in s.value for s in again.subheader)
    assert figure_by_title(again, "Loss while training")


@pytest.mark.slow
def test_a_second_launch_waits_visibly_in_the_queue(fake_worker, monkeypatch, isolated_runs_dir) -> None:
    monkeypatch.setenv("FAKE_STEP_S", "0.2")
    at = open_page("train")
    at.number_input(key="w_train_max_iters").set_value(200).run()
    at.button(key="train_launch").click().run()
    first = at.session_state["run"]
    at.button(key="train_launch").click().run()
    second = at.session_state["run"]
    no_exceptions(at)
    assert first != second
    queue = at.dataframe[0].value
    assert list(queue["run"]) == [first, second]
    assert list(queue["place in queue"]) == ["now", "1"]
    assert list(queue["state"])[1] == "queued"
    assert any(s.value.endswith(f"queued · `{second}`") for s in at.subheader)  # the dashboard follows the newest
    wait_for(at, lambda a: list(a.dataframe[0].value["state"]) == ["running", "queued"])
    # a new model size is not timed next to the running run unless asked
    at.number_input(key="w_train_n_embd").set_value(64).run()
    assert any("would slow it down" in i.value for i in at.info)
    assert at.button(key="train_probe_anyway")
    at.button(key=f"stop_{second}").click().run()
    assert read_run(isolated_runs_dir / second).state == "stopped"
    deadline = time.time() + 30
    while read_run(isolated_runs_dir / first).state != "stopped" and time.time() < deadline:
        from ui.jobs import manager

        try:
            manager().stop(first)
        except ValueError:
            pass
        time.sleep(0.2)
    assert read_run(isolated_runs_dir / first).state == "stopped"


# ----------------------------------------------------------------------------------------- Runs


def test_runs_page_lists_runs_with_their_true_status(isolated_runs_dir: Path) -> None:
    make_run(isolated_runs_dir, "finished-run")
    make_run(isolated_runs_dir, "killed-run", state="running", pid=999_999_999, checkpoint=False)
    at = open_page("runs")
    no_exceptions(at)
    table = at.dataframe[0].value
    status = dict(zip(table["run"], table["status"]))
    assert "interrupted" in status["killed-run"] and "finished" in status["finished-run"]
    assert dict(zip(table["run"], table["final val loss"]))["finished-run"] == 2.2
    assert all(s.endswith("KB") for s in table["size"])


def test_runs_page_compares_loss_curves_of_several_runs(isolated_runs_dir: Path) -> None:
    make_run(isolated_runs_dir, "run-a", checkpoint=False)
    make_run(isolated_runs_dir, "run-b", evals=(0, 200), checkpoint=False)
    at = open_page("runs")
    at.multiselect(key="runs_compare").set_value(["run-a", "run-b"]).run()
    fig = figure_by_title(at, "Loss curves")
    names = [t["name"] for t in fig["data"]]
    assert names == ["run-a · train", "run-a · validation", "run-b · train", "run-b · validation"]
    assert [t["meta"] for t in fig["data"]] == ["run-a", "run-a", "run-b", "run-b"]  # the hover names the run
    assert decode_array(fig["data"][3]["x"]).tolist() == [0, 200]


def test_the_compare_legend_names_runs_by_what_their_user_typed(isolated_runs_dir: Path) -> None:
    ids = ["class-3-shakespeare-20250301-101500", "class-3-shakespeare-20250301-111500", "tiny-20250301-090000"]
    for run_id in ids:
        make_run(isolated_runs_dir, run_id, checkpoint=False)
    at = open_page("runs")
    at.multiselect(key="runs_compare").set_value(ids).run()
    fig = figure_by_title(at, "Loss curves")
    legend = [t["name"] for t in fig["data"] if t["name"].endswith("train")]
    assert legend == ["class-3-shakespeare 10:15 · train", "class-3-shakespeare 11:15 · train", "tiny · train"]
    assert [t["meta"] for t in fig["data"] if t["name"].endswith("train")] == ids  # whole ids in the hover
    assert all(t["hovertemplate"].startswith("%{meta}<br>") for t in fig["data"])


def test_open_in_explorer_sets_the_shared_model_and_switches_page(isolated_runs_dir: Path) -> None:
    make_run(isolated_runs_dir, "trained")
    at = open_page("runs")
    at.button(key="runs_open").click().run()
    no_exceptions(at)
    assert at.session_state["model"] == "run:trained"
    assert at.query_params["model"] == "run:trained"


def test_delete_needs_a_confirmation(isolated_runs_dir: Path) -> None:
    make_run(isolated_runs_dir, "doomed", checkpoint=False)
    at = open_page("runs")
    assert at.button(key="runs_delete").disabled
    at.checkbox(key="runs_confirm_doomed").check().run()
    at.button(key="runs_delete").click().run()
    no_exceptions(at)
    assert not (isolated_runs_dir / "doomed").exists()
    assert any("No training runs yet" in i.value for i in at.info)


def test_an_interrupted_run_can_be_resumed(isolated_runs_dir: Path, fake_worker) -> None:
    path = make_run(isolated_runs_dir, "cut-short", state="running", pid=999_999_999, checkpoint=False, evals=(0, 10))
    job = {"device": "cpu", "worker_args": ["--out", str(path), "--max-iters", "20"]}  # what a launch records
    (path / "job.json").write_text(json.dumps(job))
    at = open_page("runs")
    at.button(key="runs_resume").click().run()
    no_exceptions(at)
    assert at.session_state["run"] == "cut-short"
    deadline = time.time() + 30
    while read_run(isolated_runs_dir / "cut-short").state != "finished" and time.time() < deadline:
        time.sleep(0.1)
    assert read_run(isolated_runs_dir / "cut-short").state == "finished"


def test_runs_page_without_runs_points_to_the_train_page() -> None:
    at = open_page("runs")
    no_exceptions(at)
    assert any("No training runs yet" in i.value for i in at.info)


# ----------------------------------------------------------------------------------------- Watch


def test_watch_page_shows_attention_its_change_and_head_scores(isolated_runs_dir: Path) -> None:
    make_run(isolated_runs_dir, "watched", checkpoint=False, evals=(0, 50, 100))
    at = open_with_run("watch", "watched")
    no_exceptions(at)
    titles = [f["layout"]["title"]["text"] for f in figures(at)]
    assert any("Attention weights at this step" in t and "step: 100" in t for t in titles)
    assert any("Change since step 50" in t for t in titles)
    scores = figure_by_title(at, "previous-token score of each head")
    assert [t["name"] for t in scores["data"]] == ["head 0", "head 1"]  # this layer (0): one chart
    assert np.allclose(decode_array(scores["data"][0]["y"]), [0.0, 0.1, 0.2])
    # scrub back to the first evaluation: no earlier step to compare with
    at.select_slider(key="watch_step").set_value(0).run()
    assert any("first evaluation" in i.value for i in at.info)
    heat = figure_by_title(at, "Attention weights at this step")
    z = decode_array(heat["data"][0]["z"])
    assert z.shape == (7, 7) and np.allclose(np.nansum(z, axis=1), 1.0, atol=1e-5)


def test_watch_page_all_layers_and_other_scores(isolated_runs_dir: Path) -> None:
    make_run(isolated_runs_dir, "watched", checkpoint=False)
    at = open_with_run("watch", "watched")
    at.selectbox(key="watch_layer").select(1).run()
    at.radio(key="watch_scope").set_value("all layers").run()
    at.selectbox(key="watch_kind").select("induction").run()
    no_exceptions(at)
    fig = figure_by_title(at, "induction score of each head")
    # one chart per layer, the heads of each in the same colours
    assert [(t["name"], t["xaxis"]) for t in fig["data"]] == [
        ("head 0", "x"),
        ("head 1", "x"),
        ("head 0", "x2"),
        ("head 1", "x2"),
    ]
    assert np.allclose(decode_array(fig["data"][3]["y"]), [0.1, 0.1, 0.1])  # induction of L1 H1
    assert "layer: 1" in figure_by_title(at, "Attention weights")["layout"]["title"]["text"]


def test_watch_page_without_recorded_attention_says_so(isolated_runs_dir: Path) -> None:
    at = open_page("watch")
    no_exceptions(at)
    assert any("No run has recorded attention yet" in i.value for i in at.info)


def test_the_dashboard_of_a_finished_run_opens_its_checkpoint_in_the_explorer(isolated_runs_dir: Path) -> None:
    make_run(isolated_runs_dir, "done-run")
    at = open_with_run("train", "done-run")
    no_exceptions(at)
    assert any("done-run" in s.value and "finished" in s.value for s in at.subheader)
    assert metric(at, "val loss") == "2.200"
    # The prompt in a box of its own, then what the model wrote: both as text, never as HTML.
    assert [c.value for c in at.code] == ["ROMEO:", " sample <b>100</b>"]
    captions = [c.value for c in at.caption]
    assert captions.index("Prompt, given to the model:") < captions.index("Continued by the model:")
    assert not [b for b in at.button if b.key == "stop_done-run"]
    at.button(key="open_done-run").click().run()
    no_exceptions(at)
    assert at.session_state["model"] == "run:done-run"


@pytest.mark.parametrize("bad", ["no-such-run", "../../etc", "/etc/passwd"])
def test_a_bad_run_in_the_url_gives_a_message_not_a_traceback(bad: str) -> None:
    at = open_with_run("train", bad)
    no_exceptions(at)
    if bad == "no-such-run":
        assert any("cannot be shown" in w.value for w in at.warning)
    assert "run" not in at.query_params  # forgotten, so a reload does not ask again
    for page in ("runs", "watch"):
        no_exceptions(open_with_run(page, bad))


def test_every_run_state_has_a_badge() -> None:
    from gpt.runs import RunState
    from ui.jobs import STATE_BADGES, badge

    assert set(STATE_BADGES) == set(RunState)
    assert badge("running").endswith(" running") and badge("garbage").endswith(" unknown")

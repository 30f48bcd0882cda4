"""AppTest of the Watch page ("Attention during training") as a class sees it on a projector: the
pattern beside its change, where the replay stands, Play, a live run followed, one chart per layer.

``run_every`` fragments never tick in AppTest; each ``at.run()`` here stands for one tick (the page
draws the same on a tick as on a rerun). The ticking itself is checked in a real browser
(tests/browser/test_watch_live_in_chromium.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from helpers import figure_json, figure_title, figures, open_page
from run_fixtures import PROBE_TOKENS, make_run
from safetensors.numpy import save_file
from streamlit.testing.v1 import AppTest


def open_run(run_id: str) -> AppTest:
    at = open_page("watch", run=False)
    at.query_params["run"] = run_id
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def record_evaluation(run_path: Path, step: int, tokens: list[str] = PROBE_TOKENS) -> None:
    """What the worker writes at an evaluation: the probe's attention file, then its line in probe.jsonl."""
    t = len(tokens)
    raw = np.tril(np.random.default_rng(step).random((2, 2, t, t))) + np.eye(t)
    save_file({"attn_weights": (raw / raw.sum(-1, keepdims=True)).astype(np.float32)},
              str(run_path / "probe" / f"iter-{step:06d}.safetensors"))  # fmt: skip
    scores = {kind: [[0.1, 0.2], [0.3, 0.4]] for kind in ("previous_token", "first_token", "induction")}
    with open(run_path / "probe.jsonl", "a") as f:
        f.write(json.dumps({"iter": step, "tokens": tokens, "scores": scores}) + "\n")


def indicator(at: AppTest) -> str:
    found = [m.value for m in at.markdown if "evaluation" in m.value and m.value.startswith("**Step")]
    assert len(found) == 1, [m.value for m in at.markdown]
    return found[0]


def side_by_side_titles(at: AppTest) -> list[list[str]]:
    """For each row of columns on the page, the figure titles in each of its columns."""
    rows = []

    def walk(node) -> None:
        kids = list(getattr(node, "children", {}).values())
        if kids and all(getattr(k, "type", "") == "column" for k in kids):
            rows.append([[figure_title(figure_json(c)) for c in col.get("plotly_chart")] for col in kids])
        for kid in kids:
            walk(kid)

    walk(at._tree)
    return rows


# ------------------------------------------------------------------------------------------- layout


def test_the_pattern_and_its_change_stand_side_by_side_and_fit_a_projector(isolated_runs_dir: Path) -> None:
    path = make_run(isolated_runs_dir, "long-probe", checkpoint=False, evals=(0, 50, 100))
    (path / "probe.jsonl").unlink()
    for step in (0, 50, 100):
        record_evaluation(path, step, [f"w{i}" for i in range(24)])  # a 24-token probe sentence
    at = open_run("long-probe")
    pairs = [row for row in side_by_side_titles(at) if len(row) == 2 and all(len(col) == 1 for col in row)]
    assert len(pairs) == 1, side_by_side_titles(at)
    (now,), (change,) = pairs[0]
    assert now.startswith("Attention weights at this step") and "step: 100" in now
    assert change.startswith("Change since step 50")
    heights = [figure_json(c)["layout"]["height"] for c in at.get("plotly_chart")[:2]]
    assert all(h <= 560 for h in heights), heights  # below the controls, on a 768-pixel-high screen
    z = np.asarray(figure_json(at.get("plotly_chart")[0])["data"][0]["z"]["shape"].split(","), dtype=int)
    assert list(z) == [24, 24]


def test_the_step_indicator_says_where_the_replay_stands(isolated_runs_dir: Path) -> None:
    make_run(isolated_runs_dir, "watched", checkpoint=False, evals=(0, 50, 100))
    at = open_run("watched")
    assert indicator(at) == "**Step 100 of 100 · evaluation 3 of 3**"
    at.select_slider(key="watch_step").set_value(50).run()
    assert indicator(at) == "**Step 50 of 100 · evaluation 2 of 3**"


# ---------------------------------------------------------------------------------------- play


def test_play_runs_through_the_steps_from_the_first_and_stops_at_the_last(isolated_runs_dir: Path) -> None:
    make_run(isolated_runs_dir, "watched", checkpoint=False, evals=(0, 50, 100))
    at = open_run("watched")
    assert at.button(key="watch_play").label == "Play"
    at.button(key="watch_play").click().run()  # at the last step: Play starts again from the first
    assert indicator(at) == "**Step 0 of 100 · evaluation 1 of 3** · playing"
    assert at.button(key="watch_play").label == "Pause"
    at.run()
    assert indicator(at).startswith("**Step 50 of 100")
    assert "step: 50" in figure_title(figures(at)[0])  # the heatmaps move with it
    at.run()
    assert indicator(at).startswith("**Step 100 of 100")
    at.run()  # past the last step: playback stops there
    assert indicator(at) == "**Step 100 of 100 · evaluation 3 of 3**"
    assert at.button(key="watch_play").label == "Play"


def test_pause_keeps_the_step_and_repeat_wraps_around(isolated_runs_dir: Path) -> None:
    make_run(isolated_runs_dir, "watched", checkpoint=False, evals=(0, 50, 100))
    at = open_run("watched")
    at.checkbox(key="watch_loop").check().run()
    at.select_slider(key="watch_step").set_value(50).run()
    at.button(key="watch_play").click().run()  # from the step shown
    assert indicator(at).startswith("**Step 50 of 100")
    at.run()
    at.run()  # past the last step, Repeat starts over
    assert indicator(at).startswith("**Step 0 of 100")
    at.button(key="watch_play").click().run()  # Pause
    at.run()
    at.run()
    assert indicator(at) == "**Step 0 of 100 · evaluation 1 of 3**"


# ---------------------------------------------------------------------------------------- live runs


def test_a_live_run_is_followed_until_an_earlier_step_is_chosen(isolated_runs_dir: Path) -> None:
    path = make_run(isolated_runs_dir, "live", state="running", checkpoint=False, evals=(0, 50))
    status = json.loads((path / "status.json").read_text())
    (path / "status.json").write_text(json.dumps({**status, "max_iters": 200}))
    at = open_run("live")
    assert indicator(at) == "**Step 50 of 200 · evaluation 2 of 2** · following the run"
    assert at.toggle(key="w_watch_follow").value is True
    record_evaluation(path, 100)
    at.run()  # the fragment's next tick
    assert indicator(at) == "**Step 100 of 200 · evaluation 3 of 3** · following the run"
    at.select_slider(key="watch_step").set_value(0).run()  # the teacher goes back to the start
    assert at.toggle(key="w_watch_follow").value is False
    record_evaluation(path, 150)
    at.run()
    assert indicator(at) == "**Step 0 of 200 · evaluation 1 of 4**"
    assert at.select_slider(key="watch_step").options == ["0", "50", "100", "150"]
    at.toggle(key="w_watch_follow").set_value(True).run()
    assert indicator(at) == "**Step 150 of 200 · evaluation 4 of 4** · following the run"


def test_a_run_that_has_not_evaluated_yet_is_listed_and_appears_by_itself(isolated_runs_dir: Path) -> None:
    path = make_run(isolated_runs_dir, "starting", state="running", checkpoint=False, evals=(0,))
    (path / "probe.jsonl").unlink()  # the worker has not reached its first evaluation
    at = open_run("starting")
    assert any("has not reached its first evaluation yet; it appears here by itself" in i.value for i in at.info)
    record_evaluation(path, 0)
    at.run()  # the fragment's next tick
    assert indicator(at) == "**Step 0 · evaluation 1 of 1**"  # (this fixture plans 0 steps: length unknown)
    assert at.get("plotly_chart")


@pytest.fixture
def fragment_rates(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """The ``run_every`` of every replay fragment the page starts, as Streamlit is asked for it."""
    rates: list[float | None] = []
    real = st.fragment

    def recording(func=None, *, run_every=None):
        if func is not None and getattr(func, "__name__", "") == "replay":
            rates.append(run_every)
        return real(func, run_every=run_every)

    monkeypatch.setattr(st, "fragment", recording)
    return rates


def test_only_a_live_or_playing_replay_refreshes_itself(isolated_runs_dir: Path, fragment_rates: list) -> None:
    make_run(isolated_runs_dir, "done", checkpoint=False, evals=(0, 50, 100))
    make_run(isolated_runs_dir, "live", state="running", checkpoint=False, evals=(0, 50))
    at = open_run("done")
    assert fragment_rates[-1] is None  # a finished run's page never polls
    at.radio(key="watch_speed").set_value(2.0).run()
    at.button(key="watch_play").click().run()
    assert fragment_rates[-1] == 0.5
    at.button(key="watch_play").click().run()
    assert fragment_rates[-1] is None
    at.selectbox(key="watch_run").select("live").run()
    assert fragment_rates[-1] == 2.0


# ---------------------------------------------------------------------------------------- scores


def test_all_layers_get_a_chart_each_and_the_legend_names_each_head_once(isolated_runs_dir: Path) -> None:
    make_run(isolated_runs_dir, "watched", checkpoint=False, evals=(0, 50, 100))
    at = open_run("watched")
    at.radio(key="watch_scope").set_value("all layers").run()
    fig = next(f for f in figures(at) if "score of each head" in figure_title(f))
    subplot_titles = [a["text"] for a in fig["layout"]["annotations"]]
    assert subplot_titles == ["layer 0", "layer 1"]
    legend = [t for t in fig["data"] if t.get("showlegend", True)]
    assert [t["name"] for t in legend] == ["head 0", "head 1"]
    styles = {(t["line"]["color"], t["line"]["dash"]) for t in legend}
    assert len(styles) == 2
    assert {t["legendgroup"] for t in fig["data"]} == {"head 0", "head 1"}  # one click hides head h everywhere
    # the shown step (the newest) is marked in both charts
    marks = [s for s in fig["layout"]["shapes"] if s["type"] == "line"]
    assert len(marks) == 2 and all(s["x0"] == s["x1"] == 100 for s in marks)


def test_no_run_one_evaluation_and_an_unreadable_file_each_get_their_message(isolated_runs_dir: Path) -> None:
    at = open_page("watch")
    assert any("No run has recorded attention yet" in i.value for i in at.info)
    make_run(isolated_runs_dir, "young", checkpoint=False, evals=(0,))
    at = open_run("young")
    assert indicator(at) == "**Step 0 · evaluation 1 of 1**"  # max_iters 0 in this fixture: length unknown
    assert not [b for b in at.button if b.key == "watch_play"]  # one evaluation: nothing to play
    path = make_run(isolated_runs_dir, "torn", checkpoint=False, evals=(0, 50))
    (path / "probe" / "iter-000050.safetensors").write_bytes(b"not a safetensors file")
    at = open_run("torn")
    assert indicator(at) == "**Step 50 of 50 · evaluation 2 of 2**"
    assert any("The attention file of step 50 is missing or unreadable" in w.value for w in at.warning)


def test_a_missing_attention_file_is_skipped_for_the_latest_earlier_one(isolated_runs_dir: Path) -> None:
    path = make_run(isolated_runs_dir, "gappy", checkpoint=False, evals=(0, 50, 100))
    (path / "probe" / "iter-000050.safetensors").unlink()  # e.g. deleted by hand to save space
    at = open_run("gappy")
    assert not at.exception
    change = [figure_title(f) for f in figures(at) if figure_title(f).startswith("Change since")]
    assert len(change) == 1 and change[0].startswith("Change since step 0"), change
    assert any("Step 50's attention file is missing or unreadable: compared with step 0" in c.value for c in at.caption)
    (path / "probe" / "iter-000000.safetensors").unlink()
    at = open_run("gappy")
    assert any("No earlier step's attention file is readable" in w.value for w in at.warning)

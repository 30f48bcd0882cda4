"""The ladder lab's shipped results: complete, made by today's commands, and reproduced by a short run.

The full numbers come from ``bench/ladder.py`` (every rung, 3 seeds, about a minute each); here a few
steps of two rungs retrace the first points of the shipped curves, and the file is checked for what
the lab shows (every rung, every seed, the summaries, the one-minute budget).
"""

from __future__ import annotations

import copy
import json

import pytest
import torch

from gpt import GPT
from gpt.labs import ladder, ladder_results
from gpt.runs import read_metrics
from gpt.train.cli import main as train_main


@pytest.fixture(scope="module")
def shipped() -> ladder_results.LadderResults:
    return ladder_results.load_results()


@pytest.fixture(scope="module")
def raw() -> dict:
    return json.loads(ladder_results.RESULTS_PATH.read_text(encoding="utf-8"))


def test_the_shipped_file_has_every_rung_every_seed_and_its_summaries(shipped, raw) -> None:
    assert [r.rung.rung_id for r in shipped.rungs] == list(ladder.RUNG_IDS)
    for result, stored in zip(shipped.rungs, raw["rungs"]):
        assert [s.seed for s in result.seeds] == list(ladder.SEEDS)
        assert result.command == ladder.train_command(result.rung)
        for name, value in result.summary().items():  # the file's summaries are the seeds' summaries
            assert stored["summary"][name] == pytest.approx(value)
        assert max(s.seconds for s in result.seeds) < 60, "every rung trains in under a minute"
        assert result.curve.val[0][0] == 0 and result.curve.val[-1][0] == ladder.BUDGET.max_iters
    assert shipped.vocab_size == 76 and shipped.machine["cores"] >= 1
    assert shipped.biggest_drop().rung in ladder.RUNGS[1:]


def test_parameter_counts_are_the_rungs_models(shipped) -> None:
    for result in shipped.rungs:
        with torch.device("meta"):
            model = GPT(result.rung.settings().model_config(shipped.vocab_size))
        assert result.n_params == model.num_params()


def test_stale_or_damaged_results_are_refused_with_the_way_to_remake_them(raw, tmp_path) -> None:
    def refused(change, message: str) -> None:
        data = copy.deepcopy(raw)
        change(data)
        with pytest.raises(ladder.LadderError, match=message):
            ladder_results.results_from_dict(data)

    refused(lambda d: d["budget"].update(max_iters=10), "another budget")
    refused(lambda d: d["rungs"][2].update(command="python -m gpt.train --out x"), "another command")
    refused(lambda d: d["rungs"].pop(), "lack the rung")
    refused(lambda d: d["rungs"][0]["seeds"][0].update(val_loss="nan"), "not a finite number")
    refused(lambda d: d.update(format_version=0), "format")
    with pytest.raises(ladder.LadderError, match="bench/ladder.py"):
        ladder_results.load_results(tmp_path / "missing.json")


def test_a_knob_added_later_at_its_default_keeps_the_file_valid(raw) -> None:
    data = copy.deepcopy(raw)
    del data["budget"]["sample_tokens"]  # as if the file were older than that knob
    assert ladder_results.budget_matches(data["budget"])
    data["budget"]["no_such_knob"] = 1
    assert not ladder_results.budget_matches(data["budget"])


def test_run_ids_of_a_rung_are_told_apart() -> None:
    one, four = ladder.rung_by_id("one-head"), ladder.rung_by_id("four-heads")
    assert ladder.is_rung_run("ladder-one-head-20260101-120000", one)
    assert ladder.is_rung_run("ladder-one-head-20260101-120000-2", one)
    assert not ladder.is_rung_run("ladder-one-head-20260101-120000", four)
    assert not ladder.is_rung_run("ladder-one-head-x-20260101-120000", one)


@pytest.mark.slow
@pytest.mark.parametrize("rung_id", ["bigram", "layernorm"])
def test_a_short_run_of_the_shipped_command_retraces_the_first_steps(rung_id: str, shipped, tmp_path) -> None:
    """12 steps (all in the warm-up, whose learning rate does not depend on the run's length) with the
    shipped command's first seed: its logged losses at steps 0 and 10 are the shipped curve's."""
    rung = ladder.rung_by_id(rung_id)
    out = tmp_path / "run"
    argv = ladder.train_argv(rung, ladder.SEEDS[0], out)
    assert train_main([*argv, "--max-iters", "12", "--threads", "1", "--sample-tokens", "1"]) == 0
    metrics = read_metrics(out)
    curve = shipped.by_id(rung_id).curve
    ran_train, ran_val = (
        dict(zip(metrics.train_iters, metrics.train_loss)),
        dict(zip(metrics.val_iters, metrics.val_loss)),
    )
    shipped_train, shipped_val = dict(curve.train), dict(curve.val)
    assert ran_val[0] == pytest.approx(shipped_val[0], abs=2e-3)
    assert ran_train[0] == pytest.approx(shipped_train[0], abs=2e-3)
    assert ran_train[10] == pytest.approx(shipped_train[10], abs=2e-3)

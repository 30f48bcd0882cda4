"""Damaged or crafted run folders: each is refused or read as damaged, and nothing blocks or crashes."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path

import pytest
import torch
from run_fixtures import PROBE_TOKENS, make_run

import gpt.model
import gpt.runs.metrics as metrics_module
from gpt.checkpoint import CheckpointError, load_checkpoint
from gpt.models import available_models, load_model
from gpt.runs.layout import read_json
from gpt.runs.reader import list_runs, read_metrics, read_probe_history, read_run, read_samples
from gpt.runs.writer import RunFiles


def finishes(action, timeout: float = 20.0) -> object:
    """Run ``action`` in a thread; fail (instead of hanging the suite) when it blocks."""
    result: dict[str, object] = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", action()), daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the read blocked"
    assert "value" in result, "the read raised"
    return result["value"]


def edit_json(path: Path, **changes: object) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


# ------------------------------------------------------------------------ crafted checkpoint sidecars


@pytest.fixture
def model_builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The default device of every GPT built from now on ('meta' builds allocate nothing)."""
    devices: list[str] = []
    original = gpt.model.GPT.__init__

    def spy(self, cfg) -> None:
        devices.append(str(torch.get_default_device()))
        original(self, cfg)

    monkeypatch.setattr(gpt.model.GPT, "__init__", spy)
    return devices


@pytest.mark.parametrize(
    "config",
    [
        {"n_layer": 59, "n_embd": 2048, "n_head": 16},  # 3 billion parameters over a tiny weights file
        {"n_layer": 96, "n_embd": 8192, "n_head": 64, "block_size": 8192},  # past the parameter cap
        {"n_layer": 2, "n_embd": 16, "n_head": 2, "block_size": 17},  # one row more than the weights hold
    ],
)
def test_a_sidecar_that_does_not_fit_its_weights_is_refused_before_any_model_is_built(
    isolated_runs_dir: Path, model_builds: list[str], config: dict
) -> None:
    run = make_run(isolated_runs_dir, "crafted")
    model_builds.clear()  # the fixture's own model
    edit_json(
        run / "checkpoint" / "checkpoint.json",
        config={**read_json(run / "checkpoint" / "checkpoint.json")["config"], **config},
    )
    with pytest.raises(CheckpointError, match="config|parameters"):
        load_checkpoint(run / "checkpoint")
    assert model_builds and set(model_builds) == {"meta"}, model_builds  # shapes only, never weights


def test_an_honest_checkpoint_still_loads(isolated_runs_dir: Path, model_builds: list[str]) -> None:
    run = make_run(isolated_runs_dir, "honest")
    model_builds.clear()
    assert load_checkpoint(run / "checkpoint").model.config.n_layer == 2
    assert "cpu" in model_builds


def test_weights_stored_as_integers_are_refused(isolated_runs_dir: Path) -> None:
    from safetensors.torch import load_file, save_file

    run = make_run(isolated_runs_dir, "ints")
    weights = run / "checkpoint" / "model.safetensors"
    tensors = {k: v.to(torch.int32) for k, v in load_file(str(weights)).items()}
    save_file(tensors, str(weights))
    edit_json(run / "checkpoint" / "checkpoint.json", sha256={})
    with pytest.raises(CheckpointError, match="not as floating-point"):
        load_checkpoint(run / "checkpoint")


def test_a_named_pipe_as_the_weights_file_is_refused_without_blocking(isolated_runs_dir: Path) -> None:
    run = make_run(isolated_runs_dir, "pipe-weights")
    (run / "checkpoint" / "model.safetensors").unlink()
    os.mkfifo(run / "checkpoint" / "model.safetensors")

    def load() -> str:
        try:
            load_checkpoint(run / "checkpoint")
        except CheckpointError as exc:
            return str(exc)
        return "loaded"

    assert finishes(load) != "loaded"


# ------------------------------------------------------------------------ status.json and run.json


@pytest.mark.parametrize(
    "damage",
    ['"iter": "abc"', '"max_iters": [1, 2]', '"iter": 1e400', '"iter": -5', '"message": {"a": 1}', '"cause": ["x"]'],
)
def test_a_status_with_a_field_of_the_wrong_type_reads_as_damaged(isolated_runs_dir: Path, damage: str) -> None:
    make_run(isolated_runs_dir, "good", checkpoint=False)
    bad = make_run(isolated_runs_dir, "bad", state="stopped", checkpoint=False)
    text = json.dumps({"state": "stopped", "pid": 1, "device": "cpu"})
    (bad / "status.json").write_text(text[:-1] + ", " + damage + "}")
    runs = {r.run_id: r for r in list_runs(isolated_runs_dir)}
    assert runs["good"].state == "finished" and runs["good"].iter == 100  # the rest of the list is untouched
    info = runs["bad"]
    assert info.state == "unknown" and info.message.startswith("this run's status file is damaged")
    assert isinstance(info.iter, int) and isinstance(info.max_iters, int) and not info.resumable


@pytest.mark.parametrize("created_at", ["NaN", "1e20", "Infinity", '"yesterday"', "-3"])
def test_a_run_json_with_an_impossible_created_at_keeps_the_run_listed(
    isolated_runs_dir: Path, created_at: str
) -> None:
    run = make_run(isolated_runs_dir, "odd-date", checkpoint=False)
    data = json.loads((run / "run.json").read_text())
    data.pop("created_at")
    (run / "run.json").write_text(json.dumps(data)[:-1] + f', "created_at": {created_at}}}')
    info = read_run(run)
    assert info.state == "finished"
    assert abs(info.created_at - run.stat().st_mtime) < 1  # the folder's time instead
    dt.datetime.fromtimestamp(info.created_at)  # what the Runs page shows
    if created_at not in ("NaN", "Infinity"):  # those two are JSON's null to every reader
        assert "run.json is damaged" in info.message


def test_settings_of_the_wrong_type_are_left_out(isolated_runs_dir: Path) -> None:
    run = make_run(isolated_runs_dir, "odd-options", checkpoint=False)
    data = json.loads((run / "run.json").read_text())
    data["options"].update(block_size="abc", n_layer=True, tokenizer=7, seed=10**400)
    (run / "run.json").write_text(json.dumps(data))
    options = read_run(run).options
    assert options["n_head"] == 2 and options["n_embd"] == 16  # the well-typed ones stay
    assert not {"block_size", "n_layer", "tokenizer", "seed"} & set(options)


# ------------------------------------------------------------------------ pipes, links, huge lines


def test_named_pipes_as_status_metrics_and_probe_files_do_not_block(isolated_runs_dir: Path) -> None:
    run = make_run(isolated_runs_dir, "pipes", checkpoint=False)
    for name in ("status.json", "metrics.jsonl", "samples.jsonl", "probe.jsonl"):
        (run / name).unlink()
        os.mkfifo(run / name)
    runs = finishes(lambda: list_runs(isolated_runs_dir))
    assert [(r.run_id, r.state) for r in runs] == [("pipes", "unknown")]
    assert finishes(lambda: read_metrics(run)).train_iters == []
    assert finishes(lambda: read_samples(run)) == []
    assert finishes(lambda: read_probe_history(run)).records == []


def test_a_symlinked_run_folder_is_in_neither_the_runs_list_nor_the_model_picker(
    isolated_runs_dir: Path, tmp_path: Path
) -> None:
    make_run(isolated_runs_dir, "real")
    elsewhere = make_run(tmp_path, "elsewhere")
    (isolated_runs_dir / "linked").symlink_to(elsewhere, target_is_directory=True)
    assert [r.run_id for r in list_runs(isolated_runs_dir)] == ["real"]
    runs_in_picker = [m.model_id for m in available_models() if m.kind == "run"]
    assert runs_in_picker == ["run:real"]
    with pytest.raises(CheckpointError, match="is a link"):  # nor by a hand-typed ?model=run:linked
        load_model("run:linked")


def test_a_symlinked_status_file_is_not_followed(isolated_runs_dir: Path, tmp_path: Path) -> None:
    run = make_run(isolated_runs_dir, "link-status", checkpoint=False)
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps({"state": "finished", "message": "read through a link"}))
    (run / "status.json").unlink()
    (run / "status.json").symlink_to(outside)
    assert read_run(run).state == "unknown"


def test_a_probe_record_whose_tokens_and_attention_disagree_is_skipped_with_a_note(isolated_runs_dir: Path) -> None:
    run = make_run(isolated_runs_dir, "mismatch", checkpoint=False)
    lines = [json.loads(line) for line in (run / "probe.jsonl").read_text().splitlines()]
    lines[1]["tokens"] = PROBE_TOKENS + ["extra", "tokens"]  # the step-50 tensor covers 7 tokens
    (run / "probe.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    history = read_probe_history(run)
    assert [r.iter for r in history.records] == [0, 100]
    assert len(history.notes) == 1 and "step 50" in history.notes[0] and "9" in history.notes[0]


# ------------------------------------------------------------------------ metrics read incrementally


def metric_lines(start: int, stop: int) -> str:
    return "".join(
        json.dumps({"iter": i, "train_loss": 5.0 - i / 1000, "elapsed_s": i * 0.1}) + "\n" for i in range(start, stop)
    )


def test_metrics_are_read_incrementally_and_a_rewritten_file_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[dict] = []  # every record the reader parsed
    original = metrics_module.parse_lines
    monkeypatch.setattr(metrics_module, "parse_lines", lambda lines: parsed.extend(original(lines)) or original(lines))
    file = tmp_path / "metrics.jsonl"
    file.write_text(metric_lines(0, 1000) + '{"iter": 1000, "train_lo')  # a torn last line
    first = read_metrics(tmp_path, max_points=5000)
    assert first.train_iters[-1] == 999 and len(parsed) == 1000
    with open(file, "a") as f:
        f.write('ss": 4.0}\n' + metric_lines(1001, 1003))
    parsed.clear()
    second = read_metrics(tmp_path, max_points=5000)
    assert second.train_iters[-3:] == [1000, 1001, 1002] and len(parsed) == 3  # only the new lines
    assert second.seconds_per_iter == pytest.approx(0.1)
    with open(file, "a") as f:  # damaged lines, among good ones, cost only themselves
        f.write(
            'garbage\n{"iter": 2000, "train_loss": 1.0}, {"iter": 2001, "train_loss": 1.0}\n' + metric_lines(1003, 1004)
        )
    assert read_metrics(tmp_path, max_points=5000).train_iters[-3:] == [1001, 1002, 1003]
    files = RunFiles(tmp_path)
    files.truncate_after(500)  # what a resume does: the file is replaced by a shorter one
    parsed.clear()
    third = read_metrics(tmp_path, max_points=5000)
    assert third.train_iters[-1] == 500 and len(parsed) == 501


def test_a_long_run_keeps_its_curve_ends_and_an_over_long_line_is_skipped(tmp_path: Path) -> None:
    file = tmp_path / "metrics.jsonl"
    file.write_text(metric_lines(0, 20_000) + "x" * (3 << 20) + "\n" + metric_lines(20_000, 20_010))
    curve = read_metrics(tmp_path, max_points=300)
    assert len(curve.train_iters) <= 300
    assert curve.train_iters[0] == 0 and curve.train_iters[-1] == 20_009
    gaps = {b - a for a, b in zip(curve.train_iters, curve.train_iters[1:-1], strict=False)}
    assert max(gaps) <= 2 * min(gaps)  # evenly spread

"""The one schema of training settings: the command line, the app's settings and the validator
all come from ``TrainSettings``; run states are one enum."""

from __future__ import annotations

import argparse
import json
from dataclasses import fields

import pytest

from gpt.runs import RunState
from gpt.train import APP_MAX_LR, APP_SETTINGS, TRAINING_PRESETS, SettingsError, TrainSettings
from gpt.train.cli import UsageError, build_parser, gather_options
from gpt.train.settings import FIXED_ON_RESUME, MODEL_KNOBS, add_arguments, flag_name


def parse(argv: list[str]) -> TrainSettings:
    parser = argparse.ArgumentParser(argument_default=argparse.SUPPRESS)
    add_arguments(parser)
    return TrainSettings().with_changes(**vars(parser.parse_args(argv)))


def test_every_knob_is_a_command_line_option_with_help() -> None:
    help_text = build_parser().format_help()
    for f in fields(TrainSettings):
        assert flag_name(f.name) in help_text, f.name
    assert "--untied-head" in help_text and "--n-layer" in help_text


def test_settings_survive_the_trip_through_the_worker_command_line() -> None:
    changed = TrainSettings(
        tokenizer="gpt2-trimmed",
        repeat_fraction=0.25,
        unknown_fraction=0.03,
        n_layer=2,
        dropout=0.2,
        tie_embeddings=False,
        lr=3e-3,
        lr_decay_iters=500,
        compile=True,
        sample_prompt="ROMEO:",
        device="cpu",
    )
    assert parse(changed.to_argv()) == changed
    assert TrainSettings().to_argv() == []  # defaults are the worker's own: nothing to pass


def test_every_preset_reaches_the_worker_unchanged() -> None:
    for name, preset in TRAINING_PRESETS.items():
        assert parse(preset.settings.to_argv()) == preset.settings, name
    assert APP_SETTINGS.eval_iters != TrainSettings().eval_iters  # the app's one deliberate difference


def test_every_cpu_preset_states_what_bench_train_measured() -> None:
    for name, preset in TRAINING_PRESETS.items():
        if preset.wants_gpu:
            assert "Not timed here" in preset.description, name  # no GPU figure is claimed
            continue
        assert preset.measured is not None and preset.measured.wall_s > 0 and preset.measured.val_loss > 0, name
        assert f"{preset.measured.val_loss:.2f}" in preset.description and "bench/train.py" in preset.description
    assert TRAINING_PRESETS["2-minute CPU demo"].measured.wall_s <= 120  # the name is a promise
    assert TRAINING_PRESETS["10-minute char model"].measured.wall_s <= 600
    assert TRAINING_PRESETS["3-minute BPE model"].measured.wall_s <= 180
    assert TRAINING_PRESETS["nanoGPT's recipe (for comparison)"].settings.optimizer == "adamw"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"batch_size": 0}, "batch_size must be at least 1, got 0"),
        ({"warmup_iters": -1}, "warmup_iters must not be negative, got -1"),
        ({"lr": 0.0}, "lr must be positive, got 0"),
        ({"lr": float("nan")}, "lr must be a finite number"),
        ({"tokenizer": "word"}, "tokenizer must be one of char, gpt2"),
        ({"probe": "  "}, "the probe sentence needs some text"),
        ({"repeat_fraction": 1.5}, "repeat_fraction must be at most 1, got 1.5"),
        ({"unknown_fraction": 0.6, "tokenizer": "gpt2-trimmed"}, "unknown_fraction must be at most 0.5, got 0.6"),
        (
            {"unknown_fraction": 0.1},
            r"unknown-token share \(unknown_fraction\) needs a tokenizer with an unknown token",
        ),
    ],
)
def test_the_one_validator_names_the_knob(changes: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        TrainSettings(**changes).validate()


def test_the_command_line_says_the_same_with_the_options_name(tmp_path) -> None:
    with pytest.raises(UsageError, match="--batch-size must be at least 1, got 0"):
        gather_options(["--out", str(tmp_path / "r"), "--batch-size", "0"])


def test_the_apps_learning_rate_limit_sits_on_top_of_the_schema() -> None:
    typo = TrainSettings(lr=1e9)
    assert typo.validate() is None  # the command line lets a run diverge, which is worth seeing once
    with pytest.raises(SettingsError, match=r"the learning rate \(lr\) must be greater than 0 and at most 1"):
        typo.validate(max_lr=APP_MAX_LR)


def test_validate_builds_the_model_the_settings_describe() -> None:
    cfg = TrainSettings(n_layer=2, n_head=2, n_embd=32, block_size=16).validate(vocab_size=65)
    assert (cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.block_size, cfg.vocab_size) == (2, 2, 32, 16, 65)


def test_old_saved_records_load_with_todays_defaults() -> None:
    old = {"n_layer": 3, "out": "runs/x", "parent_pid": 12, "nice": 10, "resume": None}  # process options too
    loaded = TrainSettings.from_dict(old)
    assert loaded.n_layer == 3 and loaded.batch_size == TrainSettings().batch_size


def test_a_resumed_run_keeps_its_shape_data_and_seed() -> None:
    assert set(MODEL_KNOBS) <= set(FIXED_ON_RESUME)
    assert {"data", "tokenizer", "seed"} <= set(FIXED_ON_RESUME)
    assert "max_iters" not in FIXED_ON_RESUME  # a run may be made longer


def test_run_states_read_damaged_values_as_unknown_and_write_plain_strings() -> None:
    assert RunState.parse("running") is RunState.RUNNING
    assert RunState.parse("exploded") is RunState.UNKNOWN and RunState.parse(None) is RunState.UNKNOWN
    assert json.dumps({"state": RunState.QUEUED}) == '{"state": "queued"}'
    assert f"{RunState.STOPPED}" == "stopped"
    assert {s for s in RunState if s.active} == {RunState.QUEUED, RunState.RUNNING}
    assert {s for s in RunState if s.resumable} == {RunState.STOPPED, RunState.INTERRUPTED}

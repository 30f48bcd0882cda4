"""The training engine through its command line (in-process, tiny configs): files, losses, resume, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gpt.checkpoint import load_checkpoint, load_optimizer_state
from gpt.runs.layout import read_jsonl
from gpt.train.cli import main
from gpt.train.trainer import Trainer, TrainResult

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "8"]
FAST = ["--eval-iters", "2", "--sample-tokens", "8", "--log-interval", "5", "--warmup-iters", "5"]


def train(corpus: Path, out: Path, *extra: str) -> int:
    return main(["--data", str(corpus), "--out", str(out), *TINY, *FAST, *extra])


def status(run: Path) -> dict:
    return json.loads((run / "status.json").read_text())


@pytest.mark.slow
def test_loss_falls_and_every_contract_file_is_written(corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "run1"
    assert train(corpus, run, "--max-iters", "60", "--eval-interval", "20", "--lr", "3e-3") == 0

    st = status(run)
    assert st["state"] == "finished" and st["iter"] == 60 and st["max_iters"] == 60 and st["device"] == "cpu"
    info = json.loads((run / "run.json").read_text())
    assert info["run_id"] == "run1" and info["options"]["max_iters"] == 60 and "--max-iters" in info["argv"]

    metrics = read_jsonl(run / "metrics.jsonl")
    evals = [m for m in metrics if "val_loss" in m]
    assert [m["iter"] for m in evals] == [0, 20, 40, 60]
    assert evals[-1]["val_loss"] < evals[0]["val_loss"] - 0.8  # from ~ln(14)=2.6 to well below
    assert {"iter", "train_loss", "lr", "tokens_per_s", "elapsed_s"} <= set(metrics[1])
    assert [m["iter"] for m in metrics] == sorted(m["iter"] for m in metrics)

    summary = json.loads((run / "summary.json").read_text())
    assert summary["state"] == "finished" and summary["iters"] == 60
    assert summary["final_val_loss"] == pytest.approx(evals[-1]["val_loss"])
    assert summary["best_val_loss"] <= summary["final_val_loss"] + 1e-9
    assert summary["tokens_per_s"] > 0 and summary["n_params"] > 0 and summary["wall_s"] > 0

    samples = read_jsonl(run / "samples.jsonl")
    assert [s["iter"] for s in samples] == [0, 20, 40, 60]
    assert samples[0]["prompt"] == "the cat sat on the mat. the dog " and len(samples[-1]["text"]) == 8

    probes = read_jsonl(run / "probe.jsonl")
    assert [p["iter"] for p in probes] == [0, 20, 40, 60]
    probe = probes[-1]
    assert probe["tokens"][:4] == ["T", "h", "e", " "]  # 'T' is not in this corpus: shown, id falls back
    assert len(probe["tokens"]) == 16  # cut to the model's context
    for name in ("previous_token", "first_token", "induction"):
        assert len(probe["scores"][name]) == 1 and len(probe["scores"][name][0]) == 2
    weights = load_file(str(run / "probe" / "iter-000060.safetensors"))["attn_weights"]
    assert weights.shape == (1, 2, 16, 16) and weights.dtype == torch.float32
    assert torch.allclose(weights.sum(-1), torch.ones(1, 2, 16))

    meta = json.loads((run / "checkpoint" / "checkpoint.json").read_text())
    assert meta["iter"] == 60 and meta["run_id"] == "run1" and meta["seed"] == 1337
    assert meta["train_options"]["lr"] == 3e-3 and meta["best_val_loss"] == summary["best_val_loss"]


def test_the_saved_checkpoint_reproduces_the_trained_model_and_optimizer(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Keep the Trainer so the model and optimizer still in memory can be compared with what was saved.
    trainers: list[Trainer] = []
    real_train = Trainer.train

    def keep_trainer(self: Trainer) -> TrainResult:
        trainers.append(self)
        return real_train(self)

    monkeypatch.setattr(Trainer, "train", keep_trainer)
    run = tmp_path / "run"
    # (threads and dtype typed: "auto" would first time candidate steps through Trainer.train as well)
    assert train(corpus, run, "--max-iters", "10", "--eval-interval", "10", "--threads", "1", "--dtype", "float32") == 0
    (trainer,) = trainers
    trained = trainer.model.eval()
    loaded = load_checkpoint(run / "checkpoint")
    assert loaded.meta["iter"] == trainer.iter == 10
    ids = torch.tensor([loaded.tokenizer.encode("the dog sat on")])
    with torch.no_grad():
        assert torch.equal(trained(ids)[0], loaded.model(ids)[0])
    saved_weights = loaded.model.state_dict()
    for name, tensor in trained.state_dict().items():
        assert torch.equal(tensor, saved_weights[name]), name

    state = load_optimizer_state(run / "checkpoint")
    assert len(state["param_groups"]) == 2  # decay / no-decay groups
    assert {g["weight_decay"] for g in state["param_groups"]} == {0.1, 0.0}
    in_memory = trainer.optimizer_state()["state"]
    assert sorted(state["state"]) == sorted(in_memory)
    for pid, slots in in_memory.items():
        for slot in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(state["state"][pid][slot], slots[slot]), (pid, slot)


@pytest.mark.slow
def test_resume_continues_the_same_loss_curve(corpus: Path, tmp_path: Path) -> None:
    common = ["--eval-interval", "10", "--log-interval", "2", "--dropout", "0.1", "--lr", "3e-3"]
    full, half = tmp_path / "full", tmp_path / "half"
    # The half run stops at 10 but keeps the 20-step schedule, as a run stopped halfway would.
    assert train(corpus, full, "--max-iters", "20", *common) == 0
    assert train(corpus, half, "--max-iters", "10", "--lr-decay-iters", "20", *common) == 0
    assert json.loads((half / "checkpoint" / "checkpoint.json").read_text())["iter"] == 10
    assert main(["--resume", str(half), "--max-iters", "20"]) == 0

    full_rows = read_jsonl(full / "metrics.jsonl")
    half_rows = read_jsonl(half / "metrics.jsonl")
    assert [r["iter"] for r in half_rows] == [r["iter"] for r in full_rows]  # no duplicated or missing steps
    for a, b in zip(full_rows, half_rows):
        assert b["train_loss"] == pytest.approx(a["train_loss"], abs=1e-4), a["iter"]
    a_final = json.loads((full / "summary.json").read_text())["final_val_loss"]
    b_final = json.loads((half / "summary.json").read_text())["final_val_loss"]
    assert b_final == pytest.approx(a_final, abs=1e-4)
    assert status(half)["state"] == "finished" and status(half)["iter"] == 20
    assert [p["iter"] for p in read_jsonl(half / "probe.jsonl")] == [0, 10, 20]


def test_resume_refuses_to_change_the_model(corpus: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    assert train(corpus, run, "--max-iters", "5", "--eval-interval", "5") == 0
    assert main(["--resume", str(run), "--n-layer", "3"]) == 2
    assert "cannot change --n-layer when resuming" in capsys.readouterr().err
    assert status(run)["state"] == "finished"  # the refused resume did not touch the run


def test_resume_refuses_another_optimizer(corpus: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    assert train(corpus, run, "--max-iters", "4", "--eval-interval", "4") == 0
    assert main(["--resume", str(run), "--max-iters", "8", "--optimizer", "muon"]) == 2
    assert "cannot change --optimizer when resuming" in capsys.readouterr().err


def test_resume_refuses_an_optimizer_state_of_another_model_with_one_line(corpus: Path, tmp_path: Path, capsys) -> None:
    import hashlib
    import shutil

    mine, other = tmp_path / "mine", tmp_path / "other"
    assert train(corpus, mine, "--max-iters", "4", "--eval-interval", "4") == 0
    assert train(corpus, other, "--max-iters", "4", "--eval-interval", "4", "--n-embd", "24") == 0
    # Another run's optimizer file, with a checksum that matches it: only its shapes give it away.
    ckpt, theirs = mine / "checkpoint", other / "checkpoint"
    shutil.copy(theirs / "optimizer.safetensors", ckpt / "optimizer.safetensors")
    meta = json.loads((ckpt / "checkpoint.json").read_text())
    meta["optimizer"] = json.loads((theirs / "checkpoint.json").read_text())["optimizer"]
    meta["sha256"]["optimizer.safetensors"] = hashlib.sha256((ckpt / "optimizer.safetensors").read_bytes()).hexdigest()
    (ckpt / "checkpoint.json").write_text(json.dumps(meta))
    weights = (ckpt / "model.safetensors").read_bytes()
    capsys.readouterr()
    assert main(["--resume", str(mine), "--max-iters", "8"]) == 2
    err = capsys.readouterr().err
    assert (
        "optimizer state has exp_avg of shape (14, 24) for a parameter of shape (14, 16)" in err
        and "Traceback" not in err
        and err.count("\n") == 1
    )
    assert (ckpt / "model.safetensors").read_bytes() == weights  # the run's own weights are untouched


def test_huge_learning_rate_diverges_and_keeps_the_last_good_checkpoint(corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    code = train(corpus, run, "--max-iters", "50", "--eval-interval", "25", "--lr", "1e9", "--warmup-iters", "0")
    assert code == 1
    st = status(run)
    assert st["state"] == "diverged"
    assert "lower learning rate" in st["message"]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["state"] == "diverged" and summary["final_val_loss"] is None
    loaded = load_checkpoint(run / "checkpoint")  # the step-0 checkpoint, written before the damage
    assert loaded.meta["iter"] == 0
    assert all(torch.isfinite(p).all() for p in loaded.model.parameters())


def test_existing_run_folder_is_not_overwritten(corpus: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    assert train(corpus, run, "--max-iters", "5", "--eval-interval", "5") == 0
    before = (run / "metrics.jsonl").read_text()
    assert train(corpus, run, "--max-iters", "5") == 2
    assert "already holds a run" in capsys.readouterr().err
    assert (run / "metrics.jsonl").read_text() == before and status(run)["state"] == "finished"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--n-embd", "30", "--n-head", "4"], "n_embd (30) must be divisible by n_head (4)"),
        (["--max-iters", "0"], "--max-iters must be at least 1"),
        (["--lr", "-1"], "--lr must be positive"),
        (["--block-size", "400"], "corpus is too short"),
        (["--unknown-fraction", "0.1"], "needs a tokenizer with an unknown token (gpt2-trimmed), not char"),
    ],
)
def test_bad_options_give_one_line_and_exit_code_2(corpus: Path, tmp_path: Path, capsys, args, message) -> None:
    run = tmp_path / "run"
    assert main(["--data", str(corpus), "--out", str(run), "--max-iters", "5", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "is empty"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary file"), (b"\xff\xfe\xfa caf\xe9", "not UTF-8")],
)
def test_bad_corpus_files_fail_cleanly(tmp_path: Path, capsys, content: bytes, message: str) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    run = tmp_path / "run"
    assert main(["--data", str(bad), "--out", str(run)]) == 2
    assert message in capsys.readouterr().err
    st = status(run)
    assert st["state"] == "failed" and message in st["message"]


def test_missing_out_and_unknown_corpus(tmp_path: Path, capsys) -> None:
    assert main(["--max-iters", "5"]) == 2
    assert "--out DIR is required" in capsys.readouterr().err
    assert main(["--data", "no-such-corpus", "--out", str(tmp_path / "run")]) == 2
    assert "not found" in capsys.readouterr().err


def test_untied_head_option_trains_a_model_with_its_own_output_matrix(corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "untied"
    assert train(corpus, run, "--max-iters", "4", "--eval-interval", "2", "--untied-head") == 0
    model = load_checkpoint(run / "checkpoint").model
    assert model.config.tie_embeddings is False
    assert not torch.equal(model.lm_head.weight, model.wte.weight)


def test_auto_threads_and_dtype_are_measured_and_recorded_in_run_json(corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "auto"
    assert train(corpus, run, "--max-iters", "2", "--eval-interval", "2") == 0
    options = json.loads((run / "run.json").read_text())["options"]
    assert options["dtype"] in ("float32", "bfloat16") and options["threads"] >= 1
    assert options["speed_choice"].startswith(f"{options['threads']} thread")
    assert "measured" in options["speed_choice"] or "remembered" in options["speed_choice"]
    typed = tmp_path / "typed"
    assert train(corpus, typed, "--max-iters", "2", "--eval-interval", "2", "--threads", "1", "--dtype", "float32") == 0
    options = json.loads((typed / "run.json").read_text())["options"]
    assert (options["threads"], options["dtype"], options["speed_choice"]) == (
        1,
        "float32",
        "1 thread, float32 (given)",
    )


def test_a_preset_from_the_command_line_with_options_that_override_it(corpus: Path, tmp_path: Path) -> None:
    from gpt.train.presets import PRESETS_BY_COMMAND_NAME

    run = tmp_path / "preset"
    argv = ["--data", str(corpus), "--out", str(run), "--preset", "char-10min"]
    quick = [
        "--max-iters",
        "2",
        "--eval-interval",
        "2",
        "--eval-iters",
        "1",
        "--n-embd",
        "24",
        "--threads",
        "1",
        "--dtype",
        "float32",
    ]
    assert main([*argv, *quick]) == 0
    options = json.loads((run / "run.json").read_text())["options"]
    preset = PRESETS_BY_COMMAND_NAME["char-10min"].settings
    assert (options["n_layer"], options["n_head"], options["block_size"]) == (6, 6, 128)  # from the preset
    assert (options["n_embd"], options["max_iters"]) == (24, 2)  # typed: they win
    assert options["dropout"] == preset.dropout and options["batch_size"] == preset.batch_size
    with pytest.raises(SystemExit):
        main(["--data", str(corpus), "--out", str(tmp_path / "x"), "--preset", "no-such-preset"])
    assert main(["--resume", str(run), "--preset", "cpu-demo"]) == 2  # a resumed run keeps its settings


def test_unknown_fraction_reaches_the_trainer_with_the_trimmed_vocabularys_unknown_row(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gpt.train.trainer as trainer_module

    asked = []
    real = trainer_module.get_batch
    monkeypatch.setattr(trainer_module, "get_batch", lambda *a: asked.append(a[-1]) or real(*a))
    run = tmp_path / "unknown"
    extra = ["--tokenizer", "gpt2-trimmed", "--unknown-fraction", "0.05", "--max-iters", "2", "--eval-interval", "2"]
    assert train(corpus, run, *extra, "--threads", "1", "--dtype", "float32") == 0
    tokenizer = load_checkpoint(run / "checkpoint").tokenizer
    training = [a for a in asked if not isinstance(a, torch.device)]  # evaluation batches end at the device
    assert len(training) == 2 and all(a == (0.05, tokenizer.unk_id) for a in training)
    assert json.loads((run / "run.json").read_text())["options"]["unknown_fraction"] == 0.05

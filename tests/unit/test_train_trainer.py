"""The Trainer on its own (no files): schedule, weight-decay groups, callbacks, an injected NaN."""

from __future__ import annotations

import math

import pytest
import torch

from gpt.config import preset
from gpt.model import GPT
from gpt.train.data import split_ids
from gpt.train.device import resolve_bf16
from gpt.train.optim import make_optimizer
from gpt.train.settings import TrainSettings
from gpt.train.trainer import Trainer, TrainerCallbacks, lr_at
from gpt.train.tuning import tuned_choice


def test_warmup_then_cosine_down_to_min_lr() -> None:
    cfg = TrainSettings(lr=1e-3, min_lr=1e-4, warmup_iters=10, max_iters=110)
    lrs = [lr_at(i, cfg) for i in range(120)]
    assert lrs[0] < lrs[5] < lrs[9] < 1e-3  # linear warmup
    assert lrs[10] == pytest.approx(1e-3)  # peak right after warmup
    assert all(a >= b for a, b in zip(lrs[10:110], lrs[11:110]))  # then only down
    assert lrs[60] == pytest.approx((1e-3 + 1e-4) / 2)  # cosine midpoint
    assert lrs[110] == lrs[119] == pytest.approx(1e-4)


def test_weight_decay_applies_to_matrices_only() -> None:
    model = GPT(preset("tiny"))
    opt = make_optimizer(model, TrainSettings(weight_decay=0.1), "cpu")
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decay["params"]) and all(p.dim() == 1 for p in no_decay["params"])
    assert any(p is model.wte.weight for p in decay["params"])  # the tied embedding, once
    assert sum(p.numel() for g in opt.param_groups for p in g["params"]) == model.num_params()


def test_threads_auto_under_torchrun_never_measures_and_never_gives_zero() -> None:
    choice = tuned_choice(preset("tiny"), 4, torch.device("cpu"), threads=0, dtype="auto", world_size=64)
    assert choice.threads == 1 and choice.how == "given" and not choice.bf16


def test_float32_is_never_autocast() -> None:
    assert resolve_bf16("float32", torch.device("cpu")) is False
    assert resolve_bf16("bfloat16", torch.device("cpu")) is True


class Recorder(TrainerCallbacks):
    def __init__(self, stop_at: int | None = None) -> None:
        self.logs: list[dict] = []
        self.evals: list[int] = []
        self.stop_at = stop_at

    def on_log(self, trainer, record) -> None:
        self.logs.append(record)

    def on_eval(self, trainer, it, losses) -> None:
        self.evals.append(it)

    def stop_reason(self, trainer):
        return "stopped" if self.stop_at is not None and trainer.iter >= self.stop_at else None


def tiny_trainer(callbacks: TrainerCallbacks, **cfg) -> Trainer:
    torch.manual_seed(0)
    model = GPT(preset("tiny", vocab_size=10))
    data = torch.arange(2000) % 10  # 0 1 2 ... 9 0 1 2 ...: trivially predictable
    base = {
        "batch_size": 4,
        "max_iters": 20,
        "eval_interval": 10,
        "eval_iters": 2,
        "log_interval": 5,
        "warmup_iters": 2,
    }
    return Trainer(model, TrainSettings(**{**base, **cfg}), split_ids(data), torch.device("cpu"), callbacks)


def test_callbacks_see_logs_and_evaluations_and_loss_falls() -> None:
    rec = Recorder()
    result = tiny_trainer(rec, lr=1e-2).train()
    assert result.state == "finished" and result.iters == 20
    assert rec.evals == [0, 10, 20]
    assert [r["iter"] for r in rec.logs] == [0, 5, 10, 15, 20]
    assert result.final_losses["val"] < math.log(10) - 1  # well below guessing among 10 tokens
    assert result.tokens_per_s > 0


def test_stop_request_ends_after_the_current_step_with_an_evaluation() -> None:
    rec = Recorder(stop_at=7)
    result = tiny_trainer(rec).train()
    assert result.state == "stopped" and result.iters == 7
    assert rec.evals == [0, 7] and result.final_losses is not None


class NaNAfter(torch.nn.Module):
    """Wraps a model; from step ``n`` on its loss is NaN (as after an overflow)."""

    def __init__(self, model: GPT, n: int) -> None:
        super().__init__()
        self.model, self.n, self.calls = model, n, 0

    def forward(self, idx, targets=None):
        logits, loss = self.model(idx, targets)
        if self.model.training:
            self.calls += 1
            if self.calls > self.n:
                loss = loss * float("nan")
        return logits, loss


def test_injected_nan_ends_as_diverged_without_reporting_the_bad_state() -> None:
    rec = Recorder()
    trainer = tiny_trainer(rec, max_iters=40)
    trainer.train_model = NaNAfter(trainer.model, n=12)
    result = trainer.train()
    assert result.state == "diverged"
    assert "lower learning rate" in result.message
    assert rec.evals == [0, 10]  # nothing after the NaN was evaluated as good (or checkpointed)
    assert result.final_losses is None and result.iters <= 15


class InputsSeen(torch.nn.Module):
    """Wraps a model and keeps the inputs of its training steps and of its evaluations apart."""

    def __init__(self, model: GPT) -> None:
        super().__init__()
        self.model, self.train_inputs, self.eval_inputs = model, [], []

    def forward(self, idx, targets=None):
        (self.train_inputs if self.model.training else self.eval_inputs).append(idx)
        return self.model(idx, targets)


def test_unknown_fraction_shows_the_unknown_row_in_training_inputs_only() -> None:
    torch.manual_seed(0)
    model = GPT(preset("tiny", vocab_size=11))  # rows 0-9 occur in the data; row 10 plays <|unk|>
    data = torch.arange(2000) % 10
    cfg = TrainSettings(
        tokenizer="gpt2-trimmed", unknown_fraction=0.2, batch_size=4, max_iters=6, eval_interval=3, eval_iters=1
    )
    trainer = Trainer(model, cfg, split_ids(data), torch.device("cpu"), unknown_id=10)
    seen = InputsSeen(model)
    trainer.train_model = seen
    trainer.model = model
    trainer.train()
    shown = torch.cat([x.flatten() for x in seen.train_inputs])
    assert 0.1 < (shown == 10).float().mean().item() < 0.3
    assert trainer.tokens_trained == 6 * 4 * model.config.block_size

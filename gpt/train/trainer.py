"""A small minGPT-style trainer: the optimisation loop and nothing else.

It knows no files and no UI. Whoever runs it passes ``TrainerCallbacks`` that are told about
logged steps and evaluations (to write metrics, checkpoints, probes) and that can ask it to stop.
Works on one device or under ``torchrun`` with DistributedDataParallel (one process per device).

Reproducibility: the random numbers of step ``i`` (data windows, dropout) come from a seed
derived from (seed, rank, i). A run resumed at step i therefore draws exactly the batches the
uninterrupted run would have drawn, without saving any RNG state.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from gpt.checkpoint import check_optimizer_state
from gpt.model import GPT
from gpt.train.data import Splits, get_batch
from gpt.train.optim import make_optimizer
from gpt.train.settings import TrainSettings

EVAL_SEED = 4242  # evaluation batches are the same at every evaluation: curves show the model, not the dice


def lr_at(it: int, cfg: TrainSettings) -> float:
    """Linear warmup over warmup_iters, then cosine decay from lr down to min_lr (never above lr:
    the schedule does not climb while it decays)."""
    decay_iters = cfg.lr_decay_iters or cfg.max_iters
    min_lr = min(cfg.min_lr, cfg.lr)
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / (cfg.warmup_iters + 1)
    if it >= decay_iters:
        return min_lr
    progress = (it - cfg.warmup_iters) / max(1, decay_iters - cfg.warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * progress))  # 1 -> 0
    return min_lr + coeff * (cfg.lr - min_lr)


@dataclass
class Distributed:
    """Where this process sits in a torchrun job (world_size 1 when run alone)."""

    rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def mean(self, value: float, device: torch.device) -> float:
        if not self.enabled:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return float(t.item()) / self.world_size

    def any(self, flag: bool, device: torch.device) -> bool:
        if not self.enabled:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)


class TrainerCallbacks:
    """Override what you need. Only the main process (rank 0) should write anything."""

    def on_log(self, trainer: Trainer, record: dict[str, Any]) -> None:
        """A logged step: {"iter", "train_loss", "lr", "tokens_per_s", "elapsed_s"} (+ "val_loss")."""

    def on_eval(self, trainer: Trainer, it: int, losses: dict[str, float]) -> None:
        """After an evaluation at ``it`` completed steps, with finite losses {"train", "val"}."""

    def stop_reason(self, trainer: Trainer) -> str | None:
        """Return a reason ("stopped", "interrupted") to end training after the current step."""
        return None


@dataclass
class TrainResult:
    state: str  # "finished" | "stopped" | "interrupted" | "diverged"
    iters: int  # completed optimizer steps
    final_losses: dict[str, float] | None  # last evaluation (None when it diverged or was interrupted)
    best_val_loss: float | None
    train_time_s: float  # time spent in training steps (evaluation excluded)
    tokens_per_s: float
    message: str = ""


class DivergedError(Exception):
    """The loss became NaN or infinite."""


class Trainer:
    def __init__(
        self,
        model: GPT,
        cfg: TrainSettings,
        splits: Splits,
        device: torch.device,
        callbacks: TrainerCallbacks | None = None,
        dist_info: Distributed | None = None,
        bf16: bool = False,
        unknown_id: int | None = None,
    ) -> None:
        self.model = model.to(device)
        self.cfg = cfg
        self.bf16 = bf16  # autocast matmuls to bfloat16 (resolved from cfg.dtype by the caller)
        self.splits = splits
        self.unknown_id = unknown_id  # the tokenizer's <|unk|> row, for cfg.unknown_fraction
        self.device = device
        self.callbacks = callbacks or TrainerCallbacks()
        self.dist = dist_info or Distributed()
        self.block_size = model.config.block_size
        self.optimizer = make_optimizer(model, cfg, device.type)
        self.iter = 0  # completed optimizer steps
        self.best_val_loss: float | None = None
        self.last_losses: dict[str, float] | None = None
        self._last_eval_iter = -1
        self.train_time_s = 0.0
        self.tokens_trained = 0
        self._gen = torch.Generator()
        wrapped: torch.nn.Module = model
        if self.dist.enabled:
            ids = [device.index] if device.type == "cuda" else None
            wrapped = DistributedDataParallel(model, device_ids=ids)
        self.train_model = torch.compile(wrapped) if cfg.compile else wrapped

    # ----------------------------------------------------------------- state for checkpoints

    def optimizer_state(self) -> dict[str, Any]:
        return self.optimizer.state_dict()

    def load_optimizer_state(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint's optimizer state, refusing one that was not made for this model
        and optimizer (CheckpointError) instead of failing steps later or mixing up parameters."""
        check_optimizer_state(self.optimizer, state)
        self.optimizer.load_state_dict(state)

    @property
    def tokens_per_iter(self) -> int:
        return self.cfg.batch_size * self.block_size * self.dist.world_size

    def _autocast(self) -> contextlib.AbstractContextManager:
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)

    def _seed_step(self, it: int) -> None:
        # A distinct, reproducible stream per (seed, rank, step): see the module docstring.
        step_seed = (self.cfg.seed * 1_000_003 + self.dist.rank * 7_919 + it) % (2**63)
        self._gen.manual_seed(step_seed)
        torch.manual_seed(step_seed)  # dropout

    # ----------------------------------------------------------------- evaluation

    @torch.no_grad()
    def estimate_loss(self) -> dict[str, float]:
        """Mean loss over eval_iters fixed batches of each split (averaged over processes)."""
        self.model.eval()
        gen = torch.Generator().manual_seed(EVAL_SEED + self.dist.rank)
        out = {}
        for name, data in (("train", self.splits.train), ("val", self.splits.val)):
            total = torch.zeros((), device=self.device)
            for _ in range(self.cfg.eval_iters):
                x, y = get_batch(data, self.block_size, self.cfg.batch_size, gen, self.device)
                with self._autocast():
                    _, loss = self.model(x, y)
                total += loss.float()
            out[name] = self.dist.mean(float(total.item()) / self.cfg.eval_iters, self.device)
        self.model.train()
        return out

    def _evaluate(self, elapsed: float) -> dict[str, float]:
        losses = self.estimate_loss()
        if not all(math.isfinite(v) for v in losses.values()):
            raise DivergedError(f"the evaluation loss became {losses['val']} at step {self.iter}")
        self.last_losses = losses
        self._last_eval_iter = self.iter
        if self.best_val_loss is None or losses["val"] < self.best_val_loss:
            self.best_val_loss = losses["val"]
        record = {
            "iter": self.iter,
            "train_loss": losses["train"],
            "val_loss": losses["val"],
            "lr": lr_at(max(self.iter - 1, 0), self.cfg),
            "tokens_per_s": self.tokens_per_s,
            "elapsed_s": elapsed,
        }
        self.callbacks.on_log(self, record)
        self.callbacks.on_eval(self, self.iter, losses)
        return losses

    @property
    def tokens_per_s(self) -> float:
        return self.tokens_trained / self.train_time_s if self.train_time_s > 0 else 0.0

    # ----------------------------------------------------------------- the loop

    def train(self) -> TrainResult:
        cfg = self.cfg
        t0 = time.perf_counter()
        self.model.train()
        state, message = "finished", ""
        try:
            if self.iter == 0 and self._last_eval_iter != 0:
                self._evaluate(0.0)  # the untrained model: a baseline and a first attention snapshot
            while self.iter < cfg.max_iters:
                reason = self.callbacks.stop_reason(self) if self.dist.is_main else None
                if self.dist.enabled:
                    codes = {None: 0, "stopped": 1, "interrupted": 2}
                    flag = torch.tensor([codes.get(reason, 1)], device=self.device)
                    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
                    reason = {0: None, 1: "stopped", 2: "interrupted"}[int(flag.item())]
                if reason:
                    state = reason
                    break
                loss = self._step()
                self.iter += 1
                last = self.iter == cfg.max_iters
                if self.iter % cfg.eval_interval == 0 or last:
                    self._evaluate(time.perf_counter() - t0)
                elif self.iter % cfg.log_interval == 0:
                    loss_value = self.dist.mean(float(loss.item()), self.device)
                    if not math.isfinite(loss_value):
                        raise DivergedError(f"the training loss became {loss_value} at step {self.iter}")
                    self.callbacks.on_log(
                        self,
                        {
                            "iter": self.iter,
                            "train_loss": loss_value,
                            "lr": lr_at(self.iter - 1, cfg),
                            "tokens_per_s": self.tokens_per_s,
                            "elapsed_s": time.perf_counter() - t0,
                        },
                    )
            if state in ("finished", "stopped") and self._last_eval_iter != self.iter:
                self._evaluate(time.perf_counter() - t0)  # the final evaluation always runs
        except DivergedError as exc:
            state = "diverged"
            message = (
                f"training diverged: {exc}. Try a lower learning rate (now {cfg.lr:g}, e.g. {cfg.lr / 10:g}) "
                f"or keep gradient clipping on; the last good checkpoint is kept."
            )
        final = self.last_losses if state in ("finished", "stopped") else None
        return TrainResult(
            state=state,
            iters=self.iter,
            final_losses=final,
            best_val_loss=self.best_val_loss,
            train_time_s=self.train_time_s,
            tokens_per_s=self.tokens_per_s,
            message=message,
        )

    def _step(self) -> torch.Tensor:
        cfg = self.cfg
        start = time.perf_counter()
        self._seed_step(self.iter)
        lr = lr_at(self.iter, cfg)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)  # Muon's matrices have their own peak
        unknown = (cfg.unknown_fraction, self.unknown_id) if self.unknown_id is not None else None
        x, y = get_batch(
            self.splits.train, self.block_size, cfg.batch_size, self._gen, self.device, cfg.repeat_fraction, unknown
        )
        with self._autocast():
            _, loss = self.train_model(x, y)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # honest timing; one sync per step is cheap next to the step
        self.train_time_s += time.perf_counter() - start
        self.tokens_trained += self.tokens_per_iter
        return loss.detach()

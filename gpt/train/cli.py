"""Train a GPT from the command line: ``python -m gpt.train --out runs/my-run [options]``.

Writes the run folder described in docs/run-folder.md (status, metrics, samples, attention
probes, checkpoint, summary). Works alone or under ``torchrun --nproc_per_node=N`` (DDP).

Exit codes: 0 finished / stopped / interrupted, 1 diverged, out of memory, disk full or an unexpected failure,
2 a bad option, corpus or checkpoint (one line on stderr says what to change).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from gpt.checkpoint import CheckpointError, load_checkpoint, load_optimizer_state, read_meta
from gpt.config import ConfigError
from gpt.model import GPT
from gpt.paths import CHECKPOINT_DIR
from gpt.runs.layout import (
    CAUSE_DISK_FULL,
    CAUSE_OUT_OF_MEMORY,
    METRICS,
    STATUS_JSON,
    RunState,
    is_disk_full,
    read_json,
)
from gpt.runs.writer import RunFiles, RunRecorder, resume_space_needed
from gpt.train.data import DataError, check_fits, load_splits, read_corpus, split_ids
from gpt.train.device import resolve_device
from gpt.train.presets import PRESETS_BY_COMMAND_NAME
from gpt.train.settings import FIXED_ON_RESUME, SettingsError, TrainSettings, add_arguments, flag_name
from gpt.train.trainer import Distributed, Trainer, TrainResult
from gpt.train.tuning import apply_choice, tuned_choice


class UsageError(ValueError):
    """Bad options: reported in one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    # SUPPRESS: only options actually typed appear, so --resume can tell them from defaults.
    p = argparse.ArgumentParser(prog="python -m gpt.train", description=__doc__, argument_default=argparse.SUPPRESS)
    add_arguments(p)  # one option per training knob (gpt.train.settings)
    p.add_argument("--parent-pid", type=int, help="stop (status 'interrupted') when this process is gone")
    p.add_argument(
        "--nice",
        type=int,
        help="lower this process's CPU priority by N (0-19); the app uses 10, so that the class's clicks "
        "come before training steps when the CPU is busy",
    )
    p.add_argument(
        "--preset",
        choices=list(PRESETS_BY_COMMAND_NAME),
        help="start from one of the app's training presets; options given as well override its values",
    )
    p.add_argument("--out", help="run folder to write")
    p.add_argument("--resume", help="run folder to continue from its checkpoint (writes into the same folder)")
    return p


@dataclass(frozen=True)
class WorkerArgs:
    """How this process runs, as opposed to what it trains."""

    out: str
    resume: str | None = None  # continuing the run in ``out`` from its checkpoint
    parent_pid: int | None = None
    nice: int = 0


def gather_options(argv: Sequence[str]) -> tuple[TrainSettings, WorkerArgs, dict[str, Any] | None]:
    """The run's settings (defaults, then the checkpoint's when resuming, then what was typed), the
    process's own arguments, and the checkpoint's sidecar when resuming."""
    given = vars(build_parser().parse_args(argv))
    process = {name: given.pop(name) for name in ("out", "resume", "parent_pid", "nice") if name in given}
    preset_name = given.pop("preset", None)
    settings, meta = TrainSettings(), None
    if preset_name is not None:
        if "resume" in process:
            raise UsageError("--preset starts a new run; a resumed run keeps its own settings (leave out --preset)")
        settings = PRESETS_BY_COMMAND_NAME[preset_name].settings
    if "resume" in process:
        meta = read_meta(Path(process["resume"]) / CHECKPOINT_DIR)
        settings = TrainSettings.from_dict(meta.get("train_options") or {})
        changed = [k for k in FIXED_ON_RESUME if k in given and given[k] != getattr(settings, k)]
        if changed:
            raise UsageError(
                f"cannot change {', '.join(map(flag_name, changed))} when resuming; start a new run instead"
            )
        process.setdefault("out", process["resume"])
        if Path(process["out"]).resolve() != Path(process["resume"]).resolve():
            raise UsageError("--resume continues the run in its own folder; leave out --out or give the same folder")
    if not process.get("out"):
        raise UsageError("--out DIR is required (the run folder to write), or --resume DIR")
    settings = settings.with_changes(**given)
    try:
        settings.validate()
    except SettingsError as exc:
        raise UsageError(exc.for_command_line()) from exc
    worker = WorkerArgs(**process)
    if not 0 <= worker.nice <= 19:
        raise UsageError(f"--nice must be between 0 and 19, got {worker.nice}")
    out = Path(worker.out)
    if meta is None and ((out / CHECKPOINT_DIR).exists() or (out / METRICS).exists()):
        raise UsageError(f"{out} already holds a run; continue it with --resume or choose a new --out folder")
    return settings, worker, meta


def setup_distributed(device: str = "auto") -> Distributed:
    """Join the torchrun job when there is one: NCCL between GPUs, gloo between CPU processes."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    on_gpu = device in ("auto", "cuda") and torch.cuda.is_available()
    backend = "nccl" if on_gpu else "gloo"
    dist.init_process_group(backend=backend)
    return Distributed(rank=dist.get_rank(), world_size=dist.get_world_size())


class StopFlags:
    """SIGTERM/SIGINT ask for a clean stop; a vanished parent process means 'interrupted'."""

    def __init__(self, parent_pid: int | None) -> None:
        self.parent_pid = parent_pid
        self.requested = False
        self._last_check = 0.0
        self._previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore(self) -> None:
        """Give the signals back (matters when ``main`` runs inside another program, e.g. tests)."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.requested = True

    def parent_alive(self) -> bool:
        if self.parent_pid is None:
            return True
        try:
            os.kill(self.parent_pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # exists, owned by someone else
        return True

    def reason(self) -> str | None:
        if self.requested:
            return "stopped"
        now = time.monotonic()
        if self.parent_pid is not None and now - self._last_check > 0.5:  # a syscall, but not every step
            self._last_check = now
            if not self.parent_alive():
                return "interrupted"
        return None


def build(settings: TrainSettings, resume: str | None, device: torch.device):
    """Model, tokenizer and data for a new run, or for the run being resumed from ``resume``."""
    if resume is None:
        tokenizer, splits, text = load_splits(settings.data, settings.tokenizer, settings.block_size)
        torch.manual_seed(settings.seed)
        model = GPT(settings.model_config(tokenizer.vocab_size))
    else:
        loaded = load_checkpoint(Path(resume) / CHECKPOINT_DIR)
        model, tokenizer = loaded.model, loaded.tokenizer
        text = read_corpus(settings.data)
        splits = split_ids(torch.tensor(tokenizer.encode(text), dtype=torch.long))
        check_fits(splits, model.config.block_size)
    return model.to(device), tokenizer, splits, text


def run(
    settings: TrainSettings, worker: WorkerArgs, meta: dict[str, Any] | None, argv: Sequence[str], ddp: Distributed
) -> int:
    t_start = time.perf_counter()
    if worker.nice and hasattr(os, "nice"):
        os.nice(worker.nice)  # before torch starts its thread pool: the threads inherit it
    stops = StopFlags(worker.parent_pid)  # first: a SIGTERM while the data loads still stops cleanly
    try:
        return _run(settings, worker, meta, argv, ddp, stops, t_start)
    finally:
        stops.restore()


def _run(settings, worker, meta, argv: Sequence[str], ddp: Distributed, stops: StopFlags, t_start: float) -> int:
    device = resolve_device(settings.device, ddp.enabled)
    files = RunFiles(worker.out, device=str(device)) if ddp.is_main else None
    model, tokenizer, splits, text = build(settings, worker.resume, device)
    threads_before = torch.get_num_threads()
    # "auto" threads / dtype: the fastest candidate measured for this model on this machine (remembered
    # from the Train page's probe when it ran), never a guess from flags or the load average.
    speed = tuned_choice(
        model.config,
        settings.batch_size,
        device,
        settings.threads,
        settings.dtype,
        ddp.world_size,
        optimizer=settings.optimizer,
    )
    apply_choice(speed, device)
    bf16 = speed.bf16
    recorder = None
    if files is not None:
        files.max_iters = settings.max_iters
        prompt = settings.sample_prompt or text.lstrip()[:32].split("\n")[0] or text[:8]
        recorder = RunRecorder(
            files, tokenizer, settings.to_dict(), settings.probe, prompt, settings.sample_tokens, stops.reason
        )
        if meta is None:
            resolved = {"device": str(device), "dtype": speed.dtype, "speed_choice": speed.describe()}
            resolved |= {"threads": speed.threads} if device.type == "cpu" else {}
            files.write_run_json(list(argv), {**settings.to_dict(), **resolved})
    try:
        unknown_id = getattr(tokenizer, "unk_id", None) if settings.unknown_fraction > 0 else None
        trainer = Trainer(model, settings, splits, device, recorder, ddp, bf16=bf16, unknown_id=unknown_id)
        result = _train(trainer, worker.resume, meta, recorder)
    finally:
        torch.set_num_threads(threads_before)
    if files is not None and recorder is not None:
        finish(files, recorder, trainer, result, time.perf_counter() - t_start)
    if ddp.is_main:
        print(f"{result.state}: {result.iters} steps, " + (result.message or _loss_text(result)), file=sys.stderr)
    if ddp.enabled:
        dist.barrier()  # leave together: a process tearing down gloo while another still talks aborts
    return 1 if result.state == "diverged" else 0


def _train(trainer: Trainer, resume: str | None, meta: dict[str, Any] | None, recorder) -> TrainResult:
    if resume is not None and meta is not None:
        trainer.load_optimizer_state(load_optimizer_state(Path(resume) / CHECKPOINT_DIR))
        trainer.iter = int(meta.get("iter", 0))
        trainer.best_val_loss = meta.get("best_val_loss")
        if recorder is not None:
            recorder.files.truncate_after(trainer.iter)
    if recorder is not None:
        verb = "resuming" if meta else "starting"
        recorder.files.write_status(RunState.RUNNING, f"{verb} at step {trainer.iter}", trainer.iter)
    return trainer.train()


def _loss_text(result: TrainResult) -> str:
    if not result.final_losses:
        return "no final evaluation"
    return f"val loss {result.final_losses['val']:.4f}, {result.tokens_per_s:,.0f} tokens/s"


def finish(files: RunFiles, recorder: RunRecorder, trainer: Trainer, result: TrainResult, wall_s: float) -> None:
    if result.state == "interrupted" and recorder.saved_iter != trainer.iter:
        if all(torch.isfinite(p).all() for p in trainer.model.parameters()):
            recorder.save(trainer)
    messages = {
        "finished": f"finished {result.iters} steps",
        "stopped": f"stopped at step {result.iters}; it can be resumed from its checkpoint",
        "interrupted": f"interrupted at step {result.iters} (the parent process ended); it can be resumed from its checkpoint",
    }
    message = result.message or messages[result.state]
    if result.state != "interrupted":
        files.write_summary(
            {
                "final_val_loss": result.final_losses["val"] if result.final_losses else None,
                "final_train_loss": result.final_losses["train"] if result.final_losses else None,
                "best_val_loss": result.best_val_loss,
                "iters": result.iters,
                "tokens_per_s": result.tokens_per_s,
                "train_time_s": result.train_time_s,
                "wall_s": wall_s,
                "device": files.device,
                "n_params": trainer.model.num_params(),
                "state": result.state,
            }
        )
    files.write_status(RunState(result.state), message, result.iters)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ddp = Distributed()
    out_dir = None
    try:
        settings, worker, meta = gather_options(argv)
        out_dir = worker.out
        ddp = setup_distributed(settings.device)
        return run(settings, worker, meta, argv, ddp)
    except (UsageError, ConfigError, DataError, CheckpointError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        _report_failure(out_dir, ddp, message)
        print(f"error: {message}", file=sys.stderr)
        return 2
    except Exception as exc:
        known = known_failure(exc, out_dir)
        if known is not None:  # the machine's limits, not a bug: say what to do instead
            cause, message = known
            _report_failure(out_dir, ddp, message, cause)
            print(f"error: {message}", file=sys.stderr)
            return 1
        traceback.print_exc()  # an unexpected bug: keep the traceback for whoever debugs it
        _report_failure(out_dir, ddp, f"{type(exc).__name__}: {exc}")
        return 1
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, (MemoryError, torch.OutOfMemoryError)):
        return True
    text = str(exc).lower()  # CPU allocator failures are plain RuntimeErrors
    return isinstance(exc, RuntimeError) and ("can't allocate memory" in text or "out of memory" in text)


def known_failure(exc: BaseException, run_dir: str | None = None) -> tuple[str, str] | None:
    """(cause, message) for a failure the user can fix: a full disk or too little memory."""
    if is_disk_full(exc):
        need = resume_space_needed(run_dir) if run_dir else None
        if need is None:
            return CAUSE_DISK_FULL, (
                "disk full: there is no space left for this run's files, and it has no checkpoint yet: "
                "delete old runs or free disk space, then start it again."
            )
        return CAUSE_DISK_FULL, (
            "disk full: there is no space left for this run's files. Its last checkpoint is intact: "
            f"delete old runs or free at least {_megabytes(need)} of disk space, then resume it."
        )
    if is_out_of_memory(exc):
        return CAUSE_OUT_OF_MEMORY, (
            "out of memory: this model and batch do not fit in the device's memory. Start again with a "
            "smaller batch size, a shorter context (block size) or a smaller model."
        )
    return None


def _megabytes(n: int) -> str:
    return f"{max(1, -(-n // 1_000_000))} MB"  # rounded up: "free at least" must be enough


def _report_failure(out_dir: str | None, ddp: Distributed, message: str, cause: str | None = None) -> None:
    """Tell the app why the run failed (status 'failed'), when there is a run folder to tell it in.
    The step reached so far is kept from the last status."""
    if out_dir is None or not ddp.is_main:
        return
    try:
        files = RunFiles(out_dir)
        last = read_json(files.dir / STATUS_JSON) or {}
        files.max_iters = int(last.get("max_iters") or 0)
        extra = {"cause": cause} if cause else {}
        files.write_status(RunState.FAILED, message, int(last.get("iter") or 0), **extra)
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())

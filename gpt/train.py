"""Train a GPT from the command line: ``python -m gpt.train --out runs/my-run [options]``.

Writes the run folder described in the run-folder contract (status, metrics, samples, attention
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
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from gpt.checkpoint import CheckpointError, load_checkpoint, load_optimizer_state, read_meta
from gpt.config import ConfigError, GPTConfig, preset
from gpt.data import DataError, check_fits, load_splits, read_corpus, split_ids
from gpt.model import GPT
from gpt.run_files import RunFiles, RunRecorder
from gpt.run_layout import (
    CAUSE_DISK_FULL,
    CAUSE_OUT_OF_MEMORY,
    CHECKPOINT_DIR,
    METRICS,
    STATUS_JSON,
    is_disk_full,
    read_json,
)
from gpt.trainer import (
    Distributed,
    TrainConfig,
    Trainer,
    TrainResult,
    cpu_threads,
    resolve_bf16,
    resolve_device,
)

DEFAULT_PROBE = "The quick brown fox jumps over the lazy dog"
# Options that shape the model (the vocabulary comes from the corpus) and options handed to
# TrainConfig as they are. Their defaults live in one place each: the CPU preset and TrainConfig.
MODEL_OPTIONS = ("block_size", "n_layer", "n_head", "n_embd", "dropout", "pos_encoding", "tie_embeddings")
SCHEDULE_OPTIONS = tuple(f.name for f in fields(TrainConfig) if f.name not in ("beta1", "beta2", "bf16"))


def _defaults() -> dict[str, Any]:
    cpu_model = preset("shakespeare-char")
    return {
        "data": "shakespeare",
        "tokenizer": "char",
        **{name: getattr(cpu_model, name) for name in MODEL_OPTIONS},
        **{name: getattr(TrainConfig, name) for name in SCHEDULE_OPTIONS},  # the dataclass's defaults
        "device": "auto",
        "dtype": "auto",
        "threads": 0,
        "probe": DEFAULT_PROBE,
        "sample_prompt": None,
        "sample_tokens": 200,
        "parent_pid": None,
        "nice": 0,
        "out": None,
        "resume": None,
    }


DEFAULTS = _defaults()
# What a resumed run must keep: the model's shape, the data it reads and its random streams.
FIXED_ON_RESUME = ("data", "tokenizer", *MODEL_OPTIONS, "seed")


class UsageError(ValueError):
    """Bad options: reported in one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    # SUPPRESS: only options actually typed appear, so --resume can tell them from defaults.
    p = argparse.ArgumentParser(prog="python -m gpt.train", description=__doc__, argument_default=argparse.SUPPRESS)
    p.add_argument("--data", help="UTF-8 text file, or a bundled corpus name: shakespeare (default)")
    p.add_argument("--tokenizer", choices=("char", "gpt2"), help="char (default) or gpt2 (BPE)")
    for name in ("n-layer", "n-head", "n-embd", "block-size", "batch-size", "max-iters", "warmup-iters"):
        p.add_argument(f"--{name}", type=int)
    for name in ("lr", "min-lr", "grad-clip", "weight-decay", "dropout"):
        p.add_argument(f"--{name}", type=float)
    p.add_argument("--pos-encoding", choices=("learned", "sinusoidal"), help="position vectors (default learned)")
    p.add_argument(
        "--untied-head",
        dest="tie_embeddings",
        action="store_false",
        help="give the output layer its own matrix instead of reusing the token embeddings (GPT-2 ties them)",
    )
    p.add_argument("--lr-decay-iters", type=int, help="cosine decay length (default: --max-iters)")
    p.add_argument("--eval-interval", type=int, help="evaluate (val loss, sample, probe, checkpoint) every N steps")
    p.add_argument("--eval-iters", type=int, help="batches per split in each evaluation")
    p.add_argument("--log-interval", type=int, help="write a metrics line every N steps")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--dtype", choices=("auto", "float32", "bfloat16"), help="auto: bf16 where the hardware has it")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (slow start, faster steps)")
    p.add_argument("--threads", type=int, help="CPU threads for torch (0: torch's default)")
    p.add_argument("--probe", help=f"sentence whose attention is recorded at each evaluation ({DEFAULT_PROBE!r})")
    p.add_argument("--sample-prompt", help="prompt for the text sample at each evaluation (default: corpus start)")
    p.add_argument("--sample-tokens", type=int, help="tokens generated for each sample (default 200)")
    p.add_argument("--parent-pid", type=int, help="stop (status 'interrupted') when this process is gone")
    p.add_argument(
        "--nice",
        type=int,
        help="lower this process's CPU priority by N (0-19); the app uses 10, so that the class's clicks "
        "come before training steps when the CPU is busy",
    )
    p.add_argument("--out", help="run folder to write")
    p.add_argument("--resume", help="run folder to continue from its checkpoint (writes into the same folder)")
    return p


def check_options(o: dict[str, Any]) -> None:
    positive = ("batch_size", "max_iters", "eval_interval", "eval_iters", "log_interval", "sample_tokens")
    for name in positive:
        if o[name] < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {o[name]}")
    for name in ("warmup_iters", "min_lr", "grad_clip", "weight_decay", "threads"):
        if o[name] < 0:
            raise UsageError(f"--{name.replace('_', '-')} must not be negative, got {o[name]}")
    if o["lr_decay_iters"] is not None and o["lr_decay_iters"] < 1:
        raise UsageError(f"--lr-decay-iters must be at least 1, got {o['lr_decay_iters']}")
    if not o["lr"] > 0:  # a huge one is allowed here: the run ends "diverged", which is worth seeing once
        raise UsageError(f"--lr must be positive, got {o['lr']}")
    if not 0 <= o["nice"] <= 19:
        raise UsageError(f"--nice must be between 0 and 19, got {o['nice']}")
    if not o["probe"].strip():
        raise UsageError("--probe must contain some text")


def gather_options(argv: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """All options (defaults, then the checkpoint's when resuming, then what was typed)."""
    given = vars(build_parser().parse_args(argv))
    meta = None
    options = dict(DEFAULTS)
    if "resume" in given:
        ckpt = Path(given["resume"]) / CHECKPOINT_DIR
        meta = read_meta(ckpt)
        saved = meta.get("train_options") or {}
        options.update({k: v for k, v in saved.items() if k in DEFAULTS})
        changed = [k for k in FIXED_ON_RESUME if k in given and given[k] != saved.get(k)]
        if changed:
            names = ", ".join("--" + k.replace("_", "-") for k in changed)
            raise UsageError(f"cannot change {names} when resuming; start a new run instead")
        given.setdefault("out", given["resume"])
        if Path(given["out"]).resolve() != Path(given["resume"]).resolve():
            raise UsageError("--resume continues the run in its own folder; leave out --out or give the same folder")
    options.update(given)
    if not options["out"]:
        raise UsageError("--out DIR is required (the run folder to write), or --resume DIR")
    check_options(options)
    out = Path(options["out"])
    if meta is None and ((out / CHECKPOINT_DIR).exists() or (out / METRICS).exists()):
        raise UsageError(f"{out} already holds a run; continue it with --resume or choose a new --out folder")
    return options, meta


def model_config(o: dict[str, Any], vocab_size: int) -> GPTConfig:
    """The model these options describe (ConfigError names a knob that does not work)."""
    return GPTConfig(vocab_size=vocab_size, **{name: o.get(name, DEFAULTS[name]) for name in MODEL_OPTIONS})


def train_config(o: dict[str, Any], bf16: bool) -> TrainConfig:
    cfg = TrainConfig(**{name: o[name] for name in SCHEDULE_OPTIONS}, bf16=bf16)
    return replace(cfg, min_lr=min(cfg.min_lr, cfg.lr))  # the schedule never climbs while decaying


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


def build(o: dict[str, Any], meta: dict[str, Any] | None, device: torch.device, seed_offset: int = 0):
    """Model, tokenizer and data for a new or resumed run."""
    if meta is None:
        tokenizer, splits, text = load_splits(o["data"], o["tokenizer"], o["block_size"])
        cfg = model_config(o, tokenizer.vocab_size)
        torch.manual_seed(o["seed"])
        model = GPT(cfg)
    else:
        loaded = load_checkpoint(Path(o["resume"]) / CHECKPOINT_DIR)
        model, tokenizer = loaded.model, loaded.tokenizer
        text = read_corpus(o["data"])
        splits = split_ids(torch.tensor(tokenizer.encode(text), dtype=torch.long))
        check_fits(splits, model.config.block_size)
    return model.to(device), tokenizer, splits, text


def run(o: dict[str, Any], meta: dict[str, Any] | None, argv: Sequence[str], ddp: Distributed) -> int:
    t_start = time.perf_counter()
    if o["nice"] and hasattr(os, "nice"):
        os.nice(o["nice"])  # before torch starts its thread pool: the threads inherit it
    stops = StopFlags(o["parent_pid"])  # first: a SIGTERM while the data loads still stops cleanly
    try:
        return _run(o, meta, argv, ddp, stops, t_start)
    finally:
        stops.restore()


def _run(o: dict[str, Any], meta, argv: Sequence[str], ddp: Distributed, stops: StopFlags, t_start: float) -> int:
    device = resolve_device(o["device"], ddp)
    bf16 = resolve_bf16(o["dtype"], device)
    files = RunFiles(o["out"], device=str(device)) if ddp.is_main else None
    model, tokenizer, splits, text = build(o, meta, device)
    threads_before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(cpu_threads(o["threads"], ddp.world_size))
    cfg = train_config(o, bf16)
    recorder = None
    if files is not None:
        files.max_iters = cfg.max_iters
        prompt = o["sample_prompt"] or text.lstrip()[:32].split("\n")[0] or text[:8]
        options_record = {**o, "device": str(device), "dtype": "bfloat16" if bf16 else "float32"}
        recorder = RunRecorder(files, tokenizer, o, o["probe"], prompt, o["sample_tokens"], stops.reason)
        if meta is None:
            files.write_run_json(list(argv), options_record)
    try:
        result, trainer = _train(o, meta, model, cfg, splits, device, recorder, ddp)
    finally:
        torch.set_num_threads(threads_before)
    if files is not None and recorder is not None:
        finish(files, recorder, trainer, result, time.perf_counter() - t_start)
    if ddp.is_main:
        print(f"{result.state}: {result.iters} steps, " + (result.message or _loss_text(result)), file=sys.stderr)
    if ddp.enabled:
        dist.barrier()  # leave together: a process tearing down gloo while another still talks aborts
    return 1 if result.state == "diverged" else 0


def _train(o, meta, model, cfg, splits, device, recorder, ddp) -> tuple[TrainResult, Trainer]:
    trainer = Trainer(model, cfg, splits, device, recorder, ddp)
    if meta is not None:
        trainer.load_optimizer_state(load_optimizer_state(Path(o["resume"]) / CHECKPOINT_DIR))
        trainer.iter = int(meta.get("iter", 0))
        trainer.best_val_loss = meta.get("best_val_loss")
        if recorder is not None:
            recorder.files.truncate_after(trainer.iter)
    if recorder is not None:
        verb = "resuming" if meta else "starting"
        recorder.files.write_status("running", f"{verb} at step {trainer.iter}", trainer.iter)
    return trainer.train(), trainer


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
        "stopped": f"stopped at step {result.iters}; continue with --resume",
        "interrupted": f"interrupted at step {result.iters} (the parent process ended); continue with --resume",
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
    files.write_status(result.state, message, result.iters)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ddp = Distributed()
    out_dir = None
    try:
        options, meta = gather_options(argv)
        out_dir = options["out"]
        ddp = setup_distributed(options["device"])
        return run(options, meta, argv, ddp)
    except (UsageError, ConfigError, DataError, CheckpointError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        _report_failure(out_dir, ddp, message)
        print(f"error: {message}", file=sys.stderr)
        return 2
    except Exception as exc:
        known = known_failure(exc)
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


def known_failure(exc: BaseException) -> tuple[str, str] | None:
    """(cause, message) for a failure the user can fix: a full disk or too little memory."""
    if is_disk_full(exc):
        return CAUSE_DISK_FULL, (
            "disk full: there is no space left for this run's files. Its last checkpoint is intact: "
            "delete old runs or free disk space, then resume it."
        )
    if is_out_of_memory(exc):
        return CAUSE_OUT_OF_MEMORY, (
            "out of memory: this model and batch do not fit in the device's memory. Start again with a "
            "smaller batch size, a shorter context (block size) or a smaller model."
        )
    return None


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
        files.write_status("failed", message, int(last.get("iter") or 0), **extra)
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())

"""Measured speed choices for "auto": how many CPU threads, and float32 or bf16 autocast.

Guessing was wrong twice: the load average counted the app's own server as "busy" (1 thread instead
of 2: 0.5x nanoGPT's speed), and "the CPU has native bf16" chose bf16, slower than float32 for
matrices this small. So the candidates are timed instead, with a few real training steps of *this*
model, batch and device, and the fastest wins. The choice is remembered per (model shape, batch,
device, machine) in a small JSON file, so the speed probe of the Train page measures it once and the
run it estimates trains with the same choice.
"""

from __future__ import annotations

import functools
import json
import os
import platform
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from gpt.config import GPTConfig
from gpt.paths import ROOT
from gpt.train.device import cpu_has_native_bf16, cpu_model_name, usable_cores

CACHE_FORMAT = 2  # bump when what a choice means changes: older files are then measured anew
DEFAULT_CACHE = ROOT / "data" / "speed-choices.json"
TUNING_TARGET_S = 0.4  # step time timed per candidate (after warm-up): enough to rank, quick to do
# Each candidate is timed this many times, in turn (every other round in reverse order), and keeps its
# fastest median: on a 2-core AMD EPYC one timing of bf16 at 2 threads came out 49 ms where the run
# then took 30, and the slower float32 won. A burst of other work now spoils one timing, not the choice.
TUNING_ROUNDS = 2
RETIME_WITHIN = 1.3  # after the first round, only candidates within 30 % of the best are timed again
MAX_REMEMBERED = 256  # choices kept in the file (the oldest go first)

Candidate = tuple[int, bool]  # (threads, bf16)
# Seconds per step of one candidate (raises EstimateError when it cannot run).
Measure = Callable[[GPTConfig, int, torch.device, int, bool], float]


@dataclass(frozen=True)
class SpeedChoice:
    threads: int  # torch CPU threads (on a GPU: torch's own default, untouched)
    bf16: bool  # bf16 autocast
    how: str  # "measured" (now), "remembered" (measured before on this machine) or "given" (typed)
    timings: dict[str, float] = field(default_factory=dict)  # candidate -> seconds per step, when measured

    @property
    def dtype(self) -> str:
        return "bfloat16" if self.bf16 else "float32"

    def describe(self) -> str:
        """'2 threads, float32 (measured: the fastest of 1 thread float32 61 ms, ...)'."""
        what = f"{self.threads} thread{'s' if self.threads != 1 else ''}, {self.dtype}" if self.threads else self.dtype
        if not self.timings:
            return f"{what} ({self.how})"
        tried = ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in self.timings.items())
        return f"{what} ({self.how}: the fastest per step of {tried})"


def candidate_name(candidate: Candidate, device: torch.device) -> str:
    threads, bf16 = candidate
    dtype = "bf16" if bf16 else "float32"
    return f"{threads} thread{'s' if threads != 1 else ''} {dtype}" if device.type == "cpu" else dtype


def bf16_possible(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_native_bf16()


def candidates(device: torch.device, threads: int = 0, dtype: str = "auto", world_size: int = 1) -> list[Candidate]:
    """What "auto" may choose between; a typed value (threads > 0, dtype not auto) is kept fixed."""
    if device.type == "cpu":
        most = max(1, usable_cores() // world_size)
        thread_options = [threads] if threads > 0 else list(range(1, most + 1))
    else:
        thread_options = [0]  # GPU: the CPU threads only feed it
    if dtype == "auto":
        precisions = [False, True] if bf16_possible(device) else [False]
    else:
        precisions = [dtype == "bfloat16"]
    return [(t, b) for t in thread_options for b in precisions]


def pick_fastest(timings: Mapping[Candidate, float]) -> Candidate:
    """The candidate with the shortest step; a tie (within 3 %) goes to fewer threads, then float32,
    which leave more of the machine to the class and change nothing in the maths."""
    best = min(timings.values())
    close = [c for c, seconds in timings.items() if seconds <= best * 1.03]
    return min(close, key=lambda c: (c[0], c[1]))


def _close_to_best(timings: Mapping[Candidate, float]) -> list[Candidate]:
    """The candidates worth timing again: a far slower one will not win on a second try, and timing
    it costs the most (a 0.5 s step of a BPE model, several times)."""
    best = min(timings.values())
    return [c for c, seconds in timings.items() if seconds <= best * RETIME_WITHIN]


def machine_key(device: torch.device) -> str:
    """What a remembered choice is only valid for: this processor (or GPU), its cores and this torch."""
    if device.type == "cuda":
        hardware = torch.cuda.get_device_name(device)
    else:
        hardware = cpu_model_name() or platform.processor() or platform.machine()
    return f"{hardware} | cores {usable_cores()} | torch {torch.__version__}"


def cache_path() -> Path:
    """Where choices are remembered; ATTN_EXPLORER_SPEED_CACHE overrides (tests use a temporary file)."""
    return Path(os.environ.get("ATTN_EXPLORER_SPEED_CACHE", DEFAULT_CACHE))


def choice_key(
    cfg: GPTConfig,
    batch_size: int,
    device: torch.device,
    fixed: tuple[int, str],
    world_size: int,
    optimizer: str = "adamw",
) -> str:
    shape = json.dumps(cfg.to_dict(), sort_keys=True)
    # device.type: the probe sees its GPU as "cuda", the run as "cuda:0"; machine_key names the GPU.
    # The optimizer: Muon's orthogonalisation is matrix work of its own, and may favour other threads.
    parts = [CACHE_FORMAT, machine_key(device), device.type, shape, batch_size, list(fixed), world_size, optimizer]
    return json.dumps(parts)


def _read_cache(path: Path) -> dict[str, dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or damaged: measure again, and write a good file
    return data if isinstance(data, dict) else {}


def _remember(path: Path, key: str, choice: SpeedChoice) -> None:
    """Add ``choice`` atomically (write a temporary file, then rename): a run and a probe writing at
    once leave one whole file, never a torn one."""
    entries = _read_cache(path)
    entries.pop(key, None)
    entries[key] = asdict(choice)
    while len(entries) > MAX_REMEMBERED:
        entries.pop(next(iter(entries)))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entries, indent=0), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only checkout still trains: the choice is just measured again next time


def _recalled(path: Path, key: str) -> SpeedChoice | None:
    entry = _read_cache(path).get(key)
    try:
        return SpeedChoice(int(entry["threads"]), bool(entry["bf16"]), "remembered", dict(entry.get("timings", {})))
    except (TypeError, KeyError, ValueError):
        return None


def tuned_choice(
    cfg: GPTConfig,
    batch_size: int,
    device: torch.device,
    threads: int = 0,
    dtype: str = "auto",
    world_size: int = 1,
    measure: Measure | None = None,
    path: Path | None = None,
    optimizer: str = "adamw",
) -> SpeedChoice:
    """Threads and precision for this model, batch, optimizer and device: as typed where typed, else the
    fastest candidate, measured once per machine and remembered."""
    options = candidates(device, threads, dtype, world_size)
    if world_size > 1:  # torchrun: processes timing at once would measure each other; no guess either
        return SpeedChoice(options[0][0], dtype == "bfloat16", "given")
    if len(options) == 1:
        chosen_threads, chosen_bf16 = options[0]
        return SpeedChoice(chosen_threads, chosen_bf16, "given")
    path = cache_path() if path is None else path
    key = choice_key(cfg, batch_size, device, (threads, dtype), world_size, optimizer)
    remembered = _recalled(path, key)
    if remembered is not None:
        return remembered
    measure = measure or functools.partial(measure_candidate, optimizer=optimizer)
    timings: dict[Candidate, float] = {}
    for round_index in range(TUNING_ROUNDS):
        contenders = options if round_index == 0 else _close_to_best(timings)
        for c in contenders if round_index % 2 == 0 else contenders[::-1]:
            seconds = measure(cfg, batch_size, device, c[0], c[1])
            timings[c] = min(seconds, timings.get(c, seconds))
    best = pick_fastest(timings)
    named = {candidate_name(c, device): round(seconds, 5) for c, seconds in timings.items()}
    choice = SpeedChoice(best[0], best[1], "measured", named)
    _remember(path, key, choice)
    return choice


def measure_candidate(
    cfg: GPTConfig, batch_size: int, device: torch.device, threads: int, bf16: bool, optimizer: str = "adamw"
) -> float:
    """Seconds per training step with ``threads`` and ``bf16`` (the probe's own steps, shorter)."""
    from gpt.train.estimate import measure_step_time

    result = measure_step_time(
        cfg,
        batch_size,
        str(device),
        threads=threads,
        bf16=bf16,
        target_s=TUNING_TARGET_S,
        max_seconds=10.0,
        optimizer=optimizer,
    )
    return result.seconds_per_iter


def apply_choice(choice: SpeedChoice, device: torch.device) -> None:
    """Use the choice's threads in this process (CPU only; a GPU run keeps torch's default)."""
    if device.type == "cpu" and choice.threads > 0:
        torch.set_num_threads(choice.threads)

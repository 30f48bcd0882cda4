"""The architecture ladder's shipped results: per rung and seed the losses and times, one seed's curve.

``bench/ladder.py`` writes ``assets/labs/ladder.json``; the lab reads it back with ``load_results``,
which refuses a file made for other rungs or another budget than ``gpt.labs.ladder`` defines today
(regenerate it instead of showing numbers that no longer belong to the commands shown beside them).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpt.labs.ladder import BUDGET, RUNGS, LadderError, Rung, train_command
from gpt.paths import ASSETS_DIR
from gpt.train.settings import TrainSettings

RESULTS_PATH = ASSETS_DIR / "labs" / "ladder.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Spread:
    mean: float
    spread: float  # sample standard deviation over the seeds (0 with one seed)

    def text(self) -> str:
        return f"{self.mean:.3f} ± {self.spread:.3f}"


def spread_of(values: Sequence[float]) -> Spread:
    if not values:
        raise ValueError("no values to summarise")
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return Spread(statistics.fmean(values), spread)


@dataclass(frozen=True)
class SeedResult:
    seed: int
    train_loss: float  # whole training split, after the last step
    val_loss: float  # whole validation split
    seconds: float  # wall time of the whole training command (start-up, evaluations, checkpoints)
    train_time_s: float  # the optimizer steps alone


@dataclass(frozen=True)
class Curve:
    """One seed's loss while training, as the run recorded it (train: one batch per logged step)."""

    seed: int
    train: tuple[tuple[int, float], ...]  # (step, loss)
    val: tuple[tuple[int, float], ...]  # (step, loss of eval_iters batches)


@dataclass(frozen=True)
class RungResult:
    rung: Rung
    command: str  # the command of the first seed, as written in the file
    n_params: int
    seeds: tuple[SeedResult, ...]
    curve: Curve

    @property
    def val(self) -> Spread:
        return spread_of([s.val_loss for s in self.seeds])

    @property
    def train(self) -> Spread:
        return spread_of([s.train_loss for s in self.seeds])

    @property
    def seconds(self) -> Spread:
        return spread_of([s.seconds for s in self.seeds])

    def summary(self) -> dict[str, Any]:
        """What the file stores beside the per-seed numbers, for a reader of the JSON."""
        return {
            "val_loss": {"mean": self.val.mean, "spread": self.val.spread},
            "train_loss": {"mean": self.train.mean, "spread": self.train.spread},
            "seconds": {"mean": self.seconds.mean, "spread": self.seconds.spread},
        }


@dataclass(frozen=True)
class LadderResults:
    rungs: tuple[RungResult, ...]
    machine: dict[str, Any]  # cpu, cores, torch version, date
    evaluation: str  # how the table's losses were measured
    vocab_size: int  # characters of the corpus: ln of it is the loss of a uniform guess

    def by_id(self, rung_id: str) -> RungResult:
        for result in self.rungs:
            if result.rung.rung_id == rung_id:
                return result
        raise LadderError(f"the results have no rung {rung_id!r}")

    def drops(self) -> list[tuple[RungResult, float]]:
        """Each rung after the first with how much it lowered the mean validation loss of the rung before."""
        pairs = zip(self.rungs[:-1], self.rungs[1:])
        return [(after, before.val.mean - after.val.mean) for before, after in pairs]

    def biggest_drop(self) -> RungResult:
        """The rung that lowers the mean validation loss the most: the answer to the lab's question."""
        return max(self.drops(), key=lambda pair: pair[1])[0]


def budget_dict() -> dict[str, Any]:
    """The settings every rung shares, as the file records them (model knobs aside)."""
    shared = BUDGET.to_dict()
    for rung in RUNGS:
        for name, _ in rung.changes:
            shared.pop(name, None)
    shared.pop("seed")
    return shared


def results_to_dict(results: LadderResults) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "machine": results.machine,
        "evaluation": results.evaluation,
        "vocab_size": results.vocab_size,
        "seeds": [s.seed for s in results.rungs[0].seeds] if results.rungs else [],
        "budget": budget_dict(),
        "rungs": [
            {
                "rung_id": r.rung.rung_id,
                "title": r.rung.title,
                "command": r.command,
                "n_params": r.n_params,
                "seeds": [vars(s) for s in r.seeds],
                "summary": r.summary(),
                "curve": {
                    "seed": r.curve.seed,
                    "train": [[i, round(v, 4)] for i, v in r.curve.train],
                    "val": [[i, round(v, 4)] for i, v in r.curve.val],
                },
            }
            for r in results.rungs
        ],
    }


def write_results(results: LadderResults, path: Path = RESULTS_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results_to_dict(results), indent=1) + "\n", encoding="utf-8")


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LadderError(f"{what} is not a finite number")
    return float(value)


def _points(raw: Any, what: str) -> tuple[tuple[int, float], ...]:
    if not isinstance(raw, list):
        raise LadderError(f"{what} is not a list of (step, loss) pairs")
    return tuple((int(_number(p[0], what)), _number(p[1], what)) for p in raw if isinstance(p, list) and len(p) == 2)


def _rung_result(raw: Mapping[str, Any], rung: Rung) -> RungResult:
    where = f"rung {rung.rung_id!r}"
    if raw.get("command") != train_command(rung):
        raise LadderError(f"{where} was trained with another command than this version's; regenerate the file")
    seeds = tuple(
        SeedResult(
            seed=int(_number(s.get("seed"), f"{where}: a seed")),
            train_loss=_number(s.get("train_loss"), f"{where}: a train loss"),
            val_loss=_number(s.get("val_loss"), f"{where}: a validation loss"),
            seconds=_number(s.get("seconds"), f"{where}: a time"),
            train_time_s=_number(s.get("train_time_s"), f"{where}: a time"),
        )
        for s in raw.get("seeds") or []
        if isinstance(s, dict)
    )
    if not seeds:
        raise LadderError(f"{where} has no results")
    curve = raw.get("curve") if isinstance(raw.get("curve"), dict) else {}
    return RungResult(
        rung=rung,
        command=raw["command"],
        n_params=int(_number(raw.get("n_params"), f"{where}: the parameter count")),
        seeds=seeds,
        curve=Curve(
            int(_number(curve.get("seed", seeds[0].seed), f"{where}: the curve's seed")),
            _points(curve.get("train"), f"{where}: the train curve"),
            _points(curve.get("val"), f"{where}: the validation curve"),
        ),
    )


def budget_matches(stored: Any) -> bool:
    """Whether a file's budget is today's: every setting it records has today's value, and a setting
    added since (a new knob) is at its default, which is what the file's runs trained with."""
    if not isinstance(stored, dict):
        return False
    today, defaults = budget_dict(), TrainSettings().to_dict()
    if any(name not in today or today[name] != value for name, value in stored.items()):
        return False
    return all(today[name] == defaults[name] for name in today if name not in stored)


def results_from_dict(data: Any) -> LadderResults:
    """Parse and check the file's contents against this version's rungs and budget."""
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        raise LadderError("the ladder results are not in this version's format; regenerate them")
    if not budget_matches(data.get("budget")):
        raise LadderError("the ladder results were trained with another budget than this version's; regenerate them")
    raw_rungs = {r.get("rung_id"): r for r in data.get("rungs") or [] if isinstance(r, dict)}
    missing = [r.rung_id for r in RUNGS if r.rung_id not in raw_rungs]
    if missing:
        raise LadderError(f"the ladder results lack the rung(s) {', '.join(missing)}; regenerate them")
    machine = data.get("machine") if isinstance(data.get("machine"), dict) else {}
    return LadderResults(
        rungs=tuple(_rung_result(raw_rungs[r.rung_id], r) for r in RUNGS),
        machine=machine,
        evaluation=str(data.get("evaluation") or ""),
        vocab_size=int(_number(data.get("vocab_size"), "the vocabulary size")),
    )


def load_results(path: Path = RESULTS_PATH) -> LadderResults:
    """The shipped results; LadderError (with the command that makes them) when missing or out of date."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LadderError(f"{path.name} is missing; make it with bench/ladder.py") from exc
    except (OSError, ValueError) as exc:
        raise LadderError(f"{path.name} cannot be read ({exc}); make it again with bench/ladder.py") from exc
    return results_from_dict(data)

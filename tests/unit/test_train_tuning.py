"""Measured speed choices (gpt.train.tuning): the fastest candidate wins, typed values are kept,
and a choice is remembered per model, batch, device and machine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gpt import preset
from gpt.train import tuning

CPU = torch.device("cpu")
CFG = preset("tiny")


class CountingMeasure:
    """A stand-in for timing real steps: 50 ms a step for the candidates made slow on purpose, 1 ms
    for the others (what is tested is the choice made from the timings, not a clock)."""

    def __init__(self, slow: set[tuple[int, bool]]) -> None:
        self.slow, self.calls = slow, []

    def __call__(self, cfg, batch_size, device, threads, bf16) -> float:
        self.calls.append((threads, bf16))
        return 0.05 if (threads, bf16) in self.slow else 0.001


@pytest.fixture
def two_cores_with_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tuning, "usable_cores", lambda: 2)
    monkeypatch.setattr(tuning, "cpu_has_native_bf16", lambda: True)


def test_the_faster_candidate_is_chosen_when_another_is_made_slow(two_cores_with_bf16, tmp_path: Path) -> None:
    measure = CountingMeasure(slow={(1, False), (1, True), (2, True)})
    choice = tuning.tuned_choice(CFG, 8, CPU, measure=measure, path=tmp_path / "c.json")
    assert (choice.threads, choice.bf16, choice.how) == (2, False, "measured")
    # every candidate timed once; then only those close to the best again (here the one fast one)
    assert measure.calls == [(1, False), (1, True), (2, False), (2, True), (2, False)]
    assert set(choice.timings) == {"1 thread float32", "1 thread bf16", "2 threads float32", "2 threads bf16"}
    measure = CountingMeasure(slow={(2, False), (2, True), (1, False)})
    choice = tuning.tuned_choice(CFG, 16, CPU, measure=measure, path=tmp_path / "c.json")
    assert (choice.threads, choice.bf16) == (1, True)  # bf16 wins when it is the fast one


class FirstTimingSlow(CountingMeasure):
    """Every candidate's first timing is spoilt for one candidate only (a burst of someone else's work)."""

    def __call__(self, cfg, batch_size, device, threads, bf16) -> float:
        first = (threads, bf16) not in self.calls
        self.calls.append((threads, bf16))
        spoilt = first and (threads, bf16) in self.slow
        return {(2, True): 0.030, (2, False): 0.041}.get((threads, bf16), 0.060) + (0.020 if spoilt else 0.0)


def test_one_spoilt_timing_does_not_decide(two_cores_with_bf16, tmp_path: Path) -> None:
    # bf16 at 2 threads is the fastest (30 ms) but its first timing came out 50 ms, slower than float32's 41.
    choice = tuning.tuned_choice(CFG, 8, CPU, measure=FirstTimingSlow(slow={(2, True)}), path=tmp_path / "c.json")
    assert (choice.threads, choice.bf16) == (2, True)
    assert choice.timings["2 threads bf16"] == 0.03  # the candidate keeps its faster timing


def test_close_candidates_are_timed_again_in_reverse_order(two_cores_with_bf16, tmp_path: Path) -> None:
    measure = CountingMeasure(slow={(1, False), (1, True)})  # the 2-thread ones tie
    tuning.tuned_choice(CFG, 8, CPU, measure=measure, path=tmp_path / "c.json")
    assert measure.calls[4:] == [(2, True), (2, False)]  # a burst that hit the last one first cannot hit it last


def test_a_tie_goes_to_fewer_threads_and_float32() -> None:
    assert tuning.pick_fastest({(2, True): 0.100, (1, False): 0.102, (2, False): 0.101}) == (1, False)
    assert tuning.pick_fastest({(2, False): 0.050, (1, False): 0.100}) == (2, False)


def test_typed_threads_and_dtype_are_kept_without_measuring(two_cores_with_bf16, tmp_path: Path) -> None:
    measure = CountingMeasure(slow=set())
    choice = tuning.tuned_choice(CFG, 8, CPU, threads=2, dtype="float32", measure=measure, path=tmp_path / "c.json")
    assert (choice.threads, choice.bf16, choice.how, measure.calls) == (2, False, "given", [])
    only_dtype = tuning.tuned_choice(CFG, 8, CPU, dtype="bfloat16", measure=measure, path=tmp_path / "c.json")
    assert only_dtype.bf16 and sorted(set(measure.calls)) == [(1, True), (2, True)]  # threads still measured


def test_a_choice_is_measured_once_and_remembered_per_model_batch_and_machine(
    two_cores_with_bf16, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.json"
    first = CountingMeasure(slow={(1, False), (1, True), (2, True)})
    tuning.tuned_choice(CFG, 8, CPU, measure=first, path=path)
    again = CountingMeasure(slow=set())
    remembered = tuning.tuned_choice(CFG, 8, CPU, measure=again, path=path)
    assert (remembered.threads, remembered.bf16, remembered.how, again.calls) == (2, False, "remembered", [])
    tuning.tuned_choice(CFG, 9, CPU, measure=again, path=path)  # another batch: measured anew
    assert len(again.calls) == 4 * tuning.TUNING_ROUNDS
    bigger = CFG.with_changes(n_embd=32)
    tuning.tuned_choice(bigger, 8, CPU, measure=again, path=path)  # another model shape
    assert len(again.calls) == 8 * tuning.TUNING_ROUNDS
    tuning.tuned_choice(CFG, 8, CPU, measure=again, path=path, optimizer="muon")  # Muon's steps cost more
    assert len(again.calls) == 12 * tuning.TUNING_ROUNDS
    monkeypatch.setattr(tuning, "machine_key", lambda device: "another machine")
    tuning.tuned_choice(CFG, 8, CPU, measure=again, path=path)  # the file travelled to another machine
    assert len(again.calls) == 16 * tuning.TUNING_ROUNDS


def test_a_damaged_file_is_measured_again_and_rewritten_whole(two_cores_with_bf16, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"half a file', encoding="utf-8")
    measure = CountingMeasure(slow={(1, False), (1, True), (2, True)})
    choice = tuning.tuned_choice(CFG, 8, CPU, measure=measure, path=path)
    assert choice.how == "measured"
    entries = json.loads(path.read_text(encoding="utf-8"))
    assert len(entries) == 1 and next(iter(entries.values()))["threads"] == 2
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_the_description_says_what_was_chosen_and_from_what() -> None:
    choice = tuning.SpeedChoice(2, False, "measured", {"1 thread float32": 0.061, "2 threads float32": 0.041})
    assert choice.describe() == (
        "2 threads, float32 (measured: the fastest per step of 1 thread float32 61 ms, 2 threads float32 41 ms)"
    )


def test_real_steps_rank_the_candidates_of_a_tiny_model(tmp_path: Path) -> None:
    # The real measurement: every candidate trains a few steps and gets a positive step time.
    choice = tuning.tuned_choice(CFG, 4, CPU, path=tmp_path / "c.json")
    assert choice.how in ("measured", "given")
    assert all(seconds > 0 for seconds in choice.timings.values())
    assert 1 <= choice.threads <= tuning.usable_cores()


def test_the_candidates_are_timed_with_the_runs_own_optimizer(
    two_cores_with_bf16, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gpt.train import estimate

    asked = []

    def fake_steps(cfg, batch_size, device, **kwargs):
        asked.append(kwargs["optimizer"])
        return estimate.ProbeResult(device, 0.01, steps_timed=3, warmup_s=0.0, peak_memory_bytes=None, tokens_per_s=1.0)

    monkeypatch.setattr(estimate, "measure_step_time", fake_steps)
    tuning.tuned_choice(CFG, 8, CPU, path=tmp_path / "c.json", optimizer="muon")
    assert asked == ["muon"] * 4 * tuning.TUNING_ROUNDS

"""The server's shared caches are bounded by bytes; its compute slots are served first come, first served."""

from __future__ import annotations

import random
import threading
import time

import pytest
import torch

from gpt import GPT, preset
from ui.budget_cache import ByteBudgetCache
from ui.models import check_trace_fits, trace_estimate
from ui.slots import FairSlots


def sized_cache(budget: int, **kwargs) -> ByteBudgetCache[str, bytes]:
    return ByteBudgetCache(budget, len, **kwargs)  # a value's size is its length


def test_the_least_recently_used_entry_goes_first() -> None:
    evicted: list[str] = []
    cache = sized_cache(30, on_evict=evicted.append)
    cache.put("a", b"x" * 10)
    cache.put("b", b"x" * 10)
    cache.put("c", b"x" * 10)
    assert cache.get("a") is not None  # "a" used again: "b" is now the oldest
    cache.put("d", b"x" * 10)
    assert cache.keys() == ["c", "a", "d"] and evicted == ["b"]
    cache.put("e", b"x" * 25)  # needs room for 25: everything older goes
    assert cache.keys() == ["e"] and cache.nbytes == 25 and evicted == ["b", "c", "a", "d"]


def test_an_entry_bigger_than_the_budget_is_refused_and_nothing_is_evicted() -> None:
    cache = sized_cache(100)
    cache.put("small", b"x" * 60)
    assert cache.put("huge", b"x" * 101) is False
    assert cache.keys() == ["small"] and cache.nbytes == 60
    assert cache.get_or_create("huge", lambda: b"x" * 101) == b"x" * 101  # the caller still gets it
    assert cache.keys() == ["small"] and cache.nbytes == 60


def test_concurrent_puts_never_exceed_the_budget_and_the_count_stays_exact() -> None:
    budget = 1_000
    cache = sized_cache(budget)
    seen_over: list[int] = []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        for i in range(400):
            cache.put(f"{seed}-{rng.randrange(50)}", b"x" * rng.randrange(1, 300))
            if cache.nbytes > budget:
                seen_over.append(cache.nbytes)
            cache.get(f"{seed}-{i % 50}")

    threads = [threading.Thread(target=writer, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen_over == []
    assert cache.nbytes == sum(len(cache.get(k) or b"") for k in cache.keys()) <= budget


def test_one_computation_per_key_when_many_sessions_ask_at_once() -> None:
    cache = sized_cache(1_000)
    calls: list[int] = []
    started = threading.Event()

    def slow() -> bytes:
        calls.append(1)
        started.set()
        time.sleep(0.2)  # keeps the others waiting on the same key (not a timed assertion)
        return b"trace"

    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_create("k", slow))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1] and results == [b"trace"] * 6


def test_a_failed_computation_is_not_stored_and_the_next_caller_tries_again() -> None:
    cache = sized_cache(100)

    def broken() -> bytes:
        raise ValueError("no")

    with pytest.raises(ValueError):
        cache.get_or_create("k", broken)
    assert cache.get_or_create("k", lambda: b"ok") == b"ok"


def test_the_trace_estimate_is_never_below_what_a_trace_holds() -> None:
    for pos_encoding in ("learned", "sinusoidal"):
        torch.manual_seed(0)
        model = GPT(preset("tiny", pos_encoding=pos_encoding)).eval()
        for n in (1, 7, 15):
            assert model.trace(list(range(n))).nbytes <= trace_estimate(model, n)
        full = model.config.block_size  # the estimate counts the position table whole: exact at full context
        assert model.trace(list(range(full))).nbytes == trace_estimate(model, full)


def test_a_gpt2_sized_trace_over_the_budget_is_refused_with_the_limit_named(monkeypatch) -> None:
    with torch.device("meta"):  # the shape only: nothing is allocated
        model = GPT(preset("gpt2"))
    from ui import models

    monkeypatch.setattr(models, "TRACE_CACHE", sized_cache(200 * 1024 * 1024))
    check_trace_fits(model, 100)  # ~36 MB: fine
    with pytest.raises(ValueError, match=r"limit of 200 MB per trace.*shorter text \(about \d+ tokens fit\)"):
        check_trace_fits(model, 1024)  # ~355 MB


def test_a_waiting_request_is_served_before_the_holder_can_take_the_slot_back() -> None:
    slots = FairSlots(1)
    slots.acquire()  # a long generation holds the only slot
    served = threading.Event()

    def short_trace() -> None:
        with slots:
            served.set()

    waiter = threading.Thread(target=short_trace)
    waiter.start()
    while slots.waiting == 0:
        time.sleep(0.001)
    slots.release()  # the generation's step ends ...
    assert slots.acquire(blocking=False) is False  # ... and its next step queues behind the trace
    waiter.join()
    assert served.is_set()
    assert slots.acquire(blocking=False) is True


def test_generations_at_full_tilt_still_leave_a_compute_slot_for_a_trace() -> None:
    from contextlib import ExitStack

    from ui import models

    if models.COMPUTE_SLOTS < 2:
        pytest.skip("with one compute slot, generation and traces take turns step by step")
    with ExitStack() as generations:
        for _ in range(models.COMPUTE_SLOTS - 1):  # as many generation steps as may run at once
            generations.enter_context(models.generation_step())
        extra = threading.Event()

        def one_more_generation_step() -> None:
            with models.generation_step():
                extra.set()

        blocked = threading.Thread(target=one_more_generation_step)
        blocked.start()
        while models._GENERATION.waiting == 0 and not extra.is_set():  # the extra generation step queues ...
            time.sleep(0.001)
        assert not extra.is_set()
        assert models._COMPUTE.acquire(blocking=False)  # ... while a trace still gets a slot at once
        models._COMPUTE.release()
        assert not extra.is_set()
    blocked.join()
    assert extra.is_set()

"""Speed probes in the background of the server process: one at a time, in the order asked for.

A page that needs a model's measured speed must not wait seconds for it (the Train page answers
at once and shows the estimate when it is in), and ten tabs must not start ten probes. So a page
asks ``ProbeQueue.request`` and returns; one daemon thread runs the probes one after the other,
each in its own child process (``probe_in_subprocess``: niced, without the teacher key), and puts
every outcome into a results store that every session reads. No Streamlit here: the app's side
is ``ui/train_estimate.py``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from gpt.config import ConfigError, GPTConfig
from gpt.train.estimate import EstimateError, ProbeResult, probe_in_subprocess

MAX_WAITING_PROBES = 8  # a teacher clicking through every model size must not queue an hour of probes


@dataclass(frozen=True)
class ProbeRequest:
    """One speed probe: a model (its config as sorted JSON, so equal models are one key), a batch, a
    device and the optimiser (Muon's steps take longer than AdamW's)."""

    config_json: str
    batch_size: int
    device: str
    optimizer: str = "adamw"

    @classmethod
    def of(cls, cfg: GPTConfig, batch_size: int, device: str, optimizer: str = "adamw") -> ProbeRequest:
        return cls(json.dumps(cfg.to_dict(), sort_keys=True), batch_size, device, optimizer)


ProbeOutcome = ProbeResult | str  # the result, or the message why the probe failed (it would fail again)


class ProbeResults(Protocol):
    """Where outcomes are kept (the app's: a process-wide store that no cache clear can empty)."""

    def get(self, key: ProbeRequest) -> ProbeOutcome | None: ...

    def put(self, key: ProbeRequest, value: ProbeOutcome) -> None: ...


@dataclass(frozen=True)
class ProbeStatus:
    """Where one probe stands: done (``outcome``); queued, ``place`` being how many probes run before it
    (0: it is being measured, or is next with none running); or neither (not asked, or no room)."""

    outcome: ProbeOutcome | None = None
    place: int | None = None


class ProbeQueue:
    """Runs speed probes one at a time in a background thread, oldest request first.

    The thread starts with the first request and ends when nothing waits. Each outcome is put into
    ``results`` before the probe stops counting as running, so a caller always finds a probe
    waiting, running or done, never in between (and never asks for it twice).
    """

    def __init__(
        self,
        results: ProbeResults,
        probe: Callable[..., ProbeResult] = probe_in_subprocess,  # (cfg, batch_size, device, optimizer=)
        max_waiting: int = MAX_WAITING_PROBES,
    ) -> None:
        self.results = results
        self._probe = probe
        self._max_waiting = max_waiting
        self._waiting: list[ProbeRequest] = []
        self._running: ProbeRequest | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)

    def status(self, request: ProbeRequest) -> ProbeStatus:
        """Where ``request`` stands; starts nothing (all a student's page may do)."""
        with self._lock:
            return self._status(request)

    def request(self, request: ProbeRequest) -> ProbeStatus:
        """Queue ``request`` and return at once; nothing is added when it is done, waiting or running
        already, or when MAX_WAITING_PROBES wait (then ask again later)."""
        with self._lock:
            status = self._status(request)
            if status.outcome is not None or status.place is not None or len(self._waiting) >= self._max_waiting:
                return status
            self._waiting.append(request)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run_all, daemon=True, name="speed-probes")
                self._thread.start()
            return self._status(request)

    def _status(self, request: ProbeRequest) -> ProbeStatus:
        outcome = self.results.get(request)
        if outcome is not None:
            return ProbeStatus(outcome=outcome)
        if request == self._running:
            return ProbeStatus(place=0)
        if request in self._waiting:
            return ProbeStatus(place=self._waiting.index(request) + int(self._running is not None))
        return ProbeStatus()

    def _run_all(self) -> None:
        while True:
            with self._lock:
                if not self._waiting:
                    self._thread = None
                    self._idle.notify_all()
                    return
                request = self._running = self._waiting.pop(0)
            self.results.put(request, self._measure(request))  # first: it is never neither running nor done
            with self._lock:
                self._running = None

    def _measure(self, request: ProbeRequest) -> ProbeOutcome:
        try:
            cfg = GPTConfig.from_dict(json.loads(request.config_json))
            return self._probe(cfg, request.batch_size, request.device, optimizer=request.optimizer)
        except (EstimateError, ConfigError) as exc:
            return str(exc)
        except Exception as exc:  # the thread must survive anything, or every later probe would wait for ever
            return f"the speed probe failed: {type(exc).__name__}: {exc}"

    def forget_waiting(self) -> None:
        """Drop the probes that have not started; the running one ends on its own."""
        with self._lock:
            self._waiting.clear()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no probe runs or waits (tests, benchmarks); False when ``timeout`` s passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._thread is None, timeout)

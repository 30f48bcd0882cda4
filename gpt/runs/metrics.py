"""Loss curves from a run's ``metrics.jsonl``, read incrementally.

The live dashboard asks for a run's curves every 2 s for every viewer, and a million-step run has a
million lines. So each file's parsed, evenly thinned series is kept in this process together with
the byte offset of its last complete line; a call reads only the bytes appended since. A file that
was replaced or shrank (a resume rewrites it, ``RunFiles.truncate_after``) is read again from the start.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from gpt.runs.layout import METRICS, finite, open_regular, parse_json, parse_jsonl_line

KEEP_TRAIN = 2048  # train points kept per file, evenly thinned; charts ask for a few hundred
KEEP_VAL = 2048  # every evaluation up to this many, then thinned the same way
SPEED_WINDOW = 20  # timed lines the speed (and so the ETA) is measured over
CHUNK_BYTES = 8 << 20  # a first read of a long file goes in pieces, never the whole file at once
MAX_LINE_BYTES = 1 << 20  # a metrics line is ~120 bytes; a longer one is damage and is skipped
TAIL_BYTES = 64  # bytes before the offset compared on each call: a rewritten file shows itself
MAX_FILES = 64  # files remembered (least recently read forgotten first)


@dataclass
class Metrics:
    """Loss curves of a run as plain lists (x = iteration)."""

    train_iters: list[int]
    train_loss: list[float]
    val_iters: list[int]
    val_loss: list[float]
    last: dict[str, Any]  # the latest metrics line (lr, tokens/s, elapsed)
    seconds_per_iter: float | None  # recent wall time per iteration, evaluations included


def downsample(n: int, max_points: int) -> list[int]:
    """Indices of at most ``max_points`` evenly spread items of ``n``; first and last are kept."""
    if n <= max_points or max_points < 2:
        return list(range(n))
    step = (n - 1) / (max_points - 1)
    return sorted({round(i * step) for i in range(max_points)})


def recent_seconds_per_iter(timed: list[tuple[int, float]]) -> float | None:
    """Wall time per step over the recent (iter, elapsed_s) pairs."""
    recent = timed[-SPEED_WINDOW:]
    # A resumed run's clock starts again from 0: only the lines since the last restart count.
    for i in range(len(recent) - 1, 0, -1):
        if recent[i - 1][1] > recent[i][1] or recent[i - 1][0] >= recent[i][0]:
            recent = recent[i:]
            break
    if len(recent) < 2:
        return None
    d_iter = recent[-1][0] - recent[0][0]
    d_time = recent[-1][1] - recent[0][1]
    if d_iter <= 0 or d_time <= 0:
        return None
    return d_time / d_iter


class Thinned:
    """Every ``stride``-th point of everything added, plus the latest; the stride doubles whenever
    more than ``budget`` points would be kept, so memory stays bounded and the spread stays even."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.stride = 1
        self.count = 0
        self.points: list[tuple[int, float]] = []
        self.latest: tuple[int, float] | None = None

    def add(self, point: tuple[int, float]) -> None:
        if self.count % self.stride == 0:
            self.points.append(point)
            if len(self.points) > self.budget:
                self.stride *= 2
                self.points = self.points[::2]  # the multiples of the doubled stride
        self.count += 1
        self.latest = point

    def values(self) -> list[tuple[int, float]]:
        if self.latest is not None and (not self.points or self.points[-1] is not self.latest):
            return [*self.points, self.latest]
        return list(self.points)


def parse_lines(lines: list[bytes]) -> list[Any]:
    """The JSON value of each line, None for a damaged one. All lines are parsed as one JSON array
    (twice as fast as line by line on a long first read); when that fails or a line held more than
    one value, line by line, so a damaged line costs only itself."""
    lines = [line for line in lines if line.strip()]
    try:
        values = parse_json(b"[" + b",".join(lines) + b"]")
    except (ValueError, RecursionError):
        values = None
    if isinstance(values, list) and len(values) == len(lines):
        return values
    return [parse_jsonl_line(line) for line in lines]


class _FileState:
    """What has been read of one metrics file so far."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset(None)

    def reset(self, ident: tuple[int, int] | None) -> None:
        self.ident = ident
        self.offset = 0  # just past the last complete line read
        self.tail = b""  # the TAIL_BYTES before ``offset``
        self.skipping = False  # inside an over-long (damaged) line: drop bytes up to its newline
        self.train = Thinned(KEEP_TRAIN)
        self.val = Thinned(KEEP_VAL)
        self.timed: deque[tuple[int, float]] = deque(maxlen=SPEED_WINDOW)
        self.last: dict[str, Any] = {}

    def catch_up(self, file: Path) -> None:
        """Read the lines appended since the last call (all of them for a new or replaced file)."""
        try:
            f = open_regular(file)
        except OSError:
            self.reset(None)  # missing, or not a regular file: no metrics
            return
        with f:
            st = os.fstat(f.fileno())
            ident = (st.st_dev, st.st_ino)
            if ident != self.ident or st.st_size < self.offset or not self._tail_matches(f):
                self.reset(ident)
            f.seek(self.offset)
            self._read_from(f)

    def _tail_matches(self, f: BinaryIO) -> bool:
        if not self.tail:
            return True
        f.seek(self.offset - len(self.tail))
        return f.read(len(self.tail)) == self.tail

    def _read_from(self, f: BinaryIO) -> None:
        carry = b""  # bytes of a line whose newline has not been read yet
        while chunk := f.read(CHUNK_BYTES):
            data = carry + chunk
            cut = data.rfind(b"\n") + 1
            if cut:
                self._consume(data[:cut])
            carry = data[cut:]
            if len(carry) > MAX_LINE_BYTES:
                self._consume(carry, complete=False)
                carry = b""

    def _consume(self, block: bytes, complete: bool = True) -> None:
        """Take ``block`` (whole lines, or part of an over-long line when not ``complete``) as read."""
        self.offset += len(block)
        self.tail = (self.tail + block[-TAIL_BYTES:])[-TAIL_BYTES:]
        if not complete:
            self.skipping = True
            return
        lines = block.split(b"\n")[:-1]
        if self.skipping:
            lines, self.skipping = lines[1:], False  # the end of the over-long line
        for record in parse_lines(lines):
            if isinstance(record, dict):
                self._add(record)

    def _add(self, record: dict[str, Any]) -> None:
        self.last = record
        it = record.get("iter")
        if isinstance(it, bool) or not isinstance(it, int):
            return
        if (train := finite(record.get("train_loss"))) is not None:
            self.train.add((it, train))
        if (val := finite(record.get("val_loss"))) is not None:
            self.val.add((it, val))
        if (elapsed := finite(record.get("elapsed_s"))) is not None:
            self.timed.append((it, elapsed))

    def metrics(self, max_points: int) -> Metrics:
        train = self.train.values()
        keep = downsample(len(train), max_points)
        val = self.val.values()
        return Metrics(
            train_iters=[train[i][0] for i in keep],
            train_loss=[train[i][1] for i in keep],
            val_iters=[i for i, _ in val],
            val_loss=[v for _, v in val],
            last=dict(self.last),
            seconds_per_iter=recent_seconds_per_iter(list(self.timed)),
        )


_files: OrderedDict[str, _FileState] = OrderedDict()
_files_lock = threading.Lock()


def _state_for(file: Path) -> _FileState:
    key = os.path.abspath(file)
    with _files_lock:
        state = _files.pop(key, None) or _FileState()
        _files[key] = state  # most recently read last
        while len(_files) > MAX_FILES:
            _files.popitem(last=False)
        return state


def read_metrics(path: Path, max_points: int = 500) -> Metrics:
    """Train/val loss curves of the run folder ``path``, downsampled to ``max_points`` for charts
    (every evaluation is kept, up to KEEP_VAL). Costs only the lines appended since the last call."""
    state = _state_for(Path(path) / METRICS)
    with state.lock:  # two viewers of one run: the second waits, then reads nothing new
        state.catch_up(Path(path) / METRICS)
        return state.metrics(max_points)

"""Which evaluation the Watch page shows, and how often it redraws: pure decisions, no Streamlit.

The page's live and playing views are ``st.fragment(run_every=...)`` ticks, which AppTest never
fires; keeping the decisions here lets unit tests check them, and the browser test the ticking.
"""

from __future__ import annotations

from collections.abc import Sequence

LIVE_REFRESH_S = 2.0  # how often a running run's probe record is read again
PLAY_SPEEDS = (0.5, 1.0, 2.0)  # evaluations per second while playing
DEFAULT_SPEED = 1.0


def shown_index(iters: Sequence[int], chosen: int | None, following: bool) -> int:
    """The index into ``iters`` (the recorded steps, ascending) of the evaluation to show.

    Following (the default) shows the newest one, so a live run's new evaluations appear as they
    are recorded. Otherwise the user's chosen step stays; if it is gone (a resume rewrote the
    record), the latest step before it stands in, else the first."""
    if not iters:
        raise ValueError("no evaluation recorded")
    if following or chosen is None:
        return len(iters) - 1
    earlier = [i for i, step in enumerate(iters) if step <= chosen]
    return earlier[-1] if earlier else 0


def play_start(n_steps: int, current: int) -> int:
    """Where pressing Play starts: from the current evaluation, or from the first one if the current is
    already the last (otherwise Play would end at once)."""
    return 0 if current >= n_steps - 1 else current


def played_index(n_steps: int, current: int, loop: bool) -> int | None:
    """The evaluation after ``current`` while playing; past the last one, the first again when looping,
    else None: playback stops there."""
    if current + 1 < n_steps:
        return current + 1
    return 0 if loop and n_steps > 1 else None


def refresh_seconds(playing: bool, speed: float, live: bool) -> float | None:
    """The fragment's ``run_every``: a tick per evaluation while playing, a slow poll while the run is
    going, and None (no ticks at all) for a finished run that is not being played."""
    if playing:
        return 1.0 / speed
    return LIVE_REFRESH_S if live else None


def step_indicator(iters: Sequence[int], index: int, max_iters: int) -> str:
    """'Step 300 of 1,000 · evaluation 4 of 11' (without 'of …' when the run's length is unknown)."""
    total = f" of {max_iters:,}" if max_iters else ""
    return f"Step {iters[index]:,}{total} · evaluation {index + 1} of {len(iters)}"

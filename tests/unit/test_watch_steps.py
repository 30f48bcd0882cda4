"""The Watch page's step decisions (ui/watch_steps.py): which evaluation is shown while following a
live run, after the user picked one, and while playing; and when the page refreshes itself."""

from __future__ import annotations

import pytest

from ui.watch_steps import (
    LIVE_REFRESH_S,
    play_start,
    played_index,
    refresh_seconds,
    shown_index,
    step_indicator,
)

STEPS = [0, 50, 100, 150]


def test_following_shows_the_newest_evaluation_as_records_grow() -> None:
    assert shown_index(STEPS[:2], chosen=0, following=True) == 1
    assert shown_index(STEPS, chosen=50, following=True) == 3  # a new evaluation arrived: move to it
    assert shown_index(STEPS, chosen=None, following=False) == 3  # nothing chosen yet: the newest


def test_a_chosen_step_stays_while_new_evaluations_arrive() -> None:
    assert shown_index(STEPS[:3], chosen=50, following=False) == 1
    assert shown_index(STEPS, chosen=50, following=False) == 1


def test_a_chosen_step_that_disappeared_falls_back_to_the_one_before() -> None:
    # a resume rewrote the record: step 75 is gone, 50 stands in; before the first step, the first
    assert shown_index(STEPS, chosen=75, following=False) == 1
    assert shown_index([10, 20], chosen=5, following=False) == 0


def test_no_records_is_refused() -> None:
    with pytest.raises(ValueError):
        shown_index([], chosen=None, following=True)


def test_play_advances_one_evaluation_and_stops_or_wraps_at_the_end() -> None:
    assert [played_index(4, i, loop=False) for i in range(4)] == [1, 2, 3, None]
    assert [played_index(4, i, loop=True) for i in range(4)] == [1, 2, 3, 0]
    assert played_index(1, 0, loop=True) is None  # a single evaluation has nothing to loop through


def test_play_from_the_last_evaluation_starts_over() -> None:
    assert play_start(4, 3) == 0
    assert play_start(4, 1) == 1


def test_only_playing_or_a_live_run_refreshes() -> None:
    assert refresh_seconds(playing=False, speed=1.0, live=False) is None  # a finished run never polls
    assert refresh_seconds(playing=False, speed=2.0, live=True) == LIVE_REFRESH_S
    assert refresh_seconds(playing=True, speed=2.0, live=False) == 0.5  # one tick per evaluation
    assert refresh_seconds(playing=True, speed=0.5, live=True) == 2.0


def test_the_indicator_names_the_step_and_the_evaluation() -> None:
    assert step_indicator([0, 100, 300], 2, 1000) == "Step 300 of 1,000 · evaluation 3 of 3"
    assert step_indicator([0, 100], 0, 0) == "Step 0 · evaluation 1 of 2"

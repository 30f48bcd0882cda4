"""Guessing the teacher key is slowed down: per browser session, and for the whole server (issue 12).

The back-off runs on an injected clock, so nothing here sleeps.
"""

from __future__ import annotations

import pytest
from helpers import open_page

import ui.teacher
from tests.app.test_classroom_mode import KEY, classroom, enter_key, launch_button, teacher_key  # noqa: F401 - fixtures
from ui.classroom import KeyGuard

WRONG = "Correct-Horse-43"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def install_guard(monkeypatch: pytest.MonkeyPatch, guard: KeyGuard) -> KeyGuard:
    """The server's one guard replaced by ``guard`` for this test (the page looks it up in ui.teacher)."""
    monkeypatch.setattr(ui.teacher, "GUARD", guard)
    return guard


def sidebar_errors(at) -> str:
    return " ".join(e.value for e in at.sidebar.error)


# ----------------------------------------------------------------------------------------- rules


def test_a_session_waits_longer_after_each_wrong_key_beyond_the_free_ones(clock: FakeClock) -> None:
    guard = KeyGuard(free_tries=3, first_wait_s=5, max_wait_s=60, clock=clock)
    for _ in range(2):
        guard.record("tab", right=False)
        assert guard.wait_s("tab") == 0  # a typo or two costs nothing
    waits = []
    for _ in range(5):
        guard.record("tab", right=False)
        waits.append(guard.wait_s("tab"))
        clock.now += waits[-1]
    assert waits == [5, 10, 20, 40, 60]  # doubling, capped
    assert guard.wait_s("other tab") == 0  # the others are not held up by one session
    guard.record("tab", right=True)
    guard.record("tab", right=False)
    assert guard.wait_s("tab") == 0  # the right key starts the count afresh


def test_many_wrong_keys_from_many_sessions_slow_every_check(clock: FakeClock) -> None:
    guard = KeyGuard(free_tries=3, server_limit=4, window_s=60, clock=clock)
    for tab in ("a", "b", "c", "d"):  # one guess each: no session reaches its own limit
        guard.record(tab, right=False)
        clock.now += 1
    assert guard.wait_s("a fresh tab") == pytest.approx(56)  # until the first guess is a minute old
    clock.now += 56
    assert guard.wait_s("a fresh tab") == 0


# ----------------------------------------------------------------------------------------- pages


@pytest.mark.usefixtures("teacher_key")
def test_after_three_wrong_keys_even_the_right_key_is_refused_until_the_wait_is_over(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    install_guard(monkeypatch, KeyGuard(free_tries=3, first_wait_s=5, clock=clock))
    at = open_page("train")
    for _ in range(2):
        enter_key(at, WRONG)
        assert sidebar_errors(at) == "That is not the teacher key."
    enter_key(at, WRONG)
    assert sidebar_errors(at) == "That is not the teacher key. Too many wrong keys; try again in 5 s."
    clock.now += 3
    enter_key(at, KEY)
    assert not at.exception
    assert sidebar_errors(at) == "Too many wrong keys; try again in 2 s."
    assert launch_button(at).disabled  # the right key was not even compared
    clock.now += 2
    enter_key(at, KEY)
    assert not at.sidebar.error
    assert not launch_button(at).disabled


@pytest.mark.usefixtures("teacher_key")
def test_a_server_wide_limit_holds_across_sessions(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    install_guard(monkeypatch, KeyGuard(free_tries=3, server_limit=4, window_s=60, clock=clock))
    first = open_page("train")  # two students, two guesses each: neither reaches the per-session limit
    enter_key(first, WRONG)
    enter_key(first, WRONG)
    assert sidebar_errors(first) == "That is not the teacher key."
    second = open_page("train")
    enter_key(second, WRONG)
    enter_key(second, WRONG)  # the server's fourth wrong key within a minute
    assert sidebar_errors(second) == "That is not the teacher key. Too many wrong keys; try again in 60 s."
    teacher = open_page("train")  # a new tab starts no count afresh on the server
    enter_key(teacher, KEY)
    assert sidebar_errors(teacher) == "Too many wrong keys; try again in 60 s."
    assert launch_button(teacher).disabled
    clock.now += 60
    enter_key(teacher, KEY)
    assert not teacher.sidebar.error
    assert not launch_button(teacher).disabled

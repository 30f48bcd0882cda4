"""Legend names of runs (ui/run_figures.py): what the user typed, told apart only as far as needed."""

from __future__ import annotations

from ui.run_figures import MAX_SHORT_NAME, short_run_names


def test_a_run_is_named_by_what_its_user_typed() -> None:
    assert short_run_names(["class-3-shakespeare-20250301-101500"]) == {
        "class-3-shakespeare-20250301-101500": "class-3-shakespeare"
    }


def test_runs_sharing_a_name_get_their_launch_time_then_date() -> None:
    ids = [
        "demo-20250301-101500",
        "demo-20250301-111500",
        "demo-20250302-111500",
        "demo-20250302-111500-2",
        "tiny-20250301-090000",
    ]
    assert short_run_names(ids) == {
        "demo-20250301-101500": "demo 03-01 10:15:00",
        "demo-20250301-111500": "demo 03-01 11:15:00",
        "demo-20250302-111500": "demo 03-02 11:15:00",
        "demo-20250302-111500-2": "demo 03-02 11:15:00 #2",
        "tiny-20250301-090000": "tiny",
    }
    assert short_run_names(ids[:2]) == {"demo-20250301-101500": "demo 10:15", "demo-20250301-111500": "demo 11:15"}


def test_other_ids_are_kept_or_shortened_and_names_stay_distinct() -> None:
    long_a, long_b = "x" * 40 + "-a", "x" * 40 + "-b"
    names = short_run_names(["run-a", long_a, long_b])
    assert names["run-a"] == "run-a"
    assert names[long_a] == long_a and names[long_b] == long_b  # the shortened forms would be equal
    alone = short_run_names([long_a])[long_a]
    assert len(alone) == MAX_SHORT_NAME and alone.endswith("…")

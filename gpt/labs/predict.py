"""'Predict, then reveal': the pure part (grading a guess, keeping a running score)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Score:
    """Guesses made and guesses right in this session."""

    attempts: int = 0
    correct: int = 0

    def record(self, was_right: bool) -> Score:
        return Score(self.attempts + 1, self.correct + int(was_right))

    def text(self) -> str:
        if self.attempts == 0:
            return "no guesses yet"
        return f"{self.correct} / {self.attempts} right ({100 * self.correct / self.attempts:.0f} %)"


def largest_label(values: Sequence[float], labels: Sequence[str]) -> str:
    """Label of the largest value (the first one on ties), e.g. the token that gets the most weight."""
    if len(values) != len(labels) or not values:
        raise ValueError("values and labels must be non-empty and of equal length")
    best = max(range(len(values)), key=lambda i: values[i])
    return labels[best]

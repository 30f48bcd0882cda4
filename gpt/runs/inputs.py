"""What a user hands in for a new run, checked before any folder is made: its name and its text.

A name becomes the readable part of a run id; path-like names are refused, not fixed, so that
nobody believes '../other' wrote somewhere else. An uploaded corpus must be small UTF-8 text.
"""

from __future__ import annotations

import os
import re

from gpt.train.data import DataError, decode_corpus

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # an uploaded corpus; bigger texts go through the command line
UPLOAD_NAME = "corpus.txt"  # an upload is saved under this name inside its run folder, never under the user's name
MAX_NAME_CHARS = 40


class JobError(ValueError):
    """A request the job manager refuses; the message is meant for the user."""


def sanitize_run_name(name: str) -> str:
    """A user's run name -> the readable part of a run id."""
    name = (name or "").strip()
    if not name:
        return "run"
    if "/" in name or "\\" in name or ".." in name or "\x00" in name or name.startswith("~") or os.path.isabs(name):
        raise JobError(
            f"“{name[:60]}” is not a plain name: a run name cannot contain '/', '\\', '..' or start with '~'."
        )
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-_")[:MAX_NAME_CHARS].strip("-_")
    return slug or "run"


def check_upload(raw: bytes) -> str:
    """An uploaded corpus must be small enough and UTF-8 text; returns the text, or raises JobError."""
    if len(raw) > MAX_UPLOAD_BYTES:
        raise JobError(
            f"the file is {len(raw) / 1e6:.1f} MB; uploads are limited to {MAX_UPLOAD_BYTES / 1e6:.0f} MB "
            "(use a shorter excerpt of the text)"
        )
    try:
        return decode_corpus(raw, "the uploaded file")
    except DataError as exc:
        raise JobError(str(exc)) from exc

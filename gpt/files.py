"""Reading files that may be damaged or crafted (a run folder is only as trustworthy as whoever
could write to it): regular files only, and a safetensors header checked before any tensor is read."""

from __future__ import annotations

import errno
import json
import math
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO

MAX_HEADER_BYTES = 100 << 20  # safetensors' own limit on a header
# Bytes per element of the safetensors dtypes a weight may be stored in (load_state_dict casts them).
FLOAT_DTYPES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2}


class HeaderError(ValueError):
    """A safetensors file whose header cannot be trusted; the message names the file and the problem."""


def open_regular_file(path: str | Path) -> BinaryIO:
    """Open a file for reading only when it is a regular file (raises OSError otherwise).

    Checkpoints and run folders may be damaged or crafted: a symlink could point anywhere
    (O_NOFOLLOW refuses it), and a named pipe would block the reading thread until someone writes
    to it (O_NONBLOCK opens it at once; the fstat check then refuses it, and devices likewise).
    ``gpt.runs.layout`` reads every run-folder file through it."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_safetensors_header(path: str | Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """name -> (dtype, shape) of a safetensors file, from its header alone (an 8-byte length, then
    JSON), after checking that the header's offsets describe exactly the file's bytes."""
    path = Path(path)
    try:
        with open_regular_file(path) as f:
            size = os.fstat(f.fileno()).st_size
            length = int.from_bytes(f.read(8), "little")
            if not 2 <= length <= min(MAX_HEADER_BYTES, size - 8):
                raise HeaderError(f"{path} is not a safetensors file (its header length is wrong)")
            header = json.loads(f.read(length))
    except HeaderError:
        raise
    except OSError as exc:
        raise HeaderError(f"{path} cannot be read ({exc.strerror or exc})") from exc
    except (ValueError, RecursionError) as exc:
        raise HeaderError(f"{path} is not a safetensors file (its header is damaged)") from exc
    if not isinstance(header, dict):
        raise HeaderError(f"{path} is not a safetensors file (its header is damaged)")
    tensors, end = {}, 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype, shape, span = _header_entry(entry)
        if dtype is None:
            raise HeaderError(f"{path}: the header entry of {name!r} is damaged")
        if dtype in FLOAT_DTYPES and span[1] - span[0] != math.prod(shape) * FLOAT_DTYPES[dtype]:
            raise HeaderError(f"{path}: tensor {name} does not hold the bytes its shape needs")
        tensors[name] = (dtype, shape)
        end = max(end, span[1])
    if 8 + length + end != size:
        raise HeaderError(f"{path} is corrupt or half-written (its header does not describe its {size} bytes)")
    return tensors


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _header_entry(entry: Any) -> tuple[str | None, tuple[int, ...], tuple[int, int]]:
    """(dtype, shape, data offsets) of one header entry; dtype None when the entry is damaged."""
    bad: tuple[None, tuple[int, ...], tuple[int, int]] = (None, (), (0, 0))
    if not isinstance(entry, dict):
        return bad
    dtype, shape, span = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or not isinstance(shape, list) or not all(map(_whole, shape)):
        return bad
    if not isinstance(span, list) or len(span) != 2 or not all(map(_whole, span)) or span[0] > span[1]:
        return bad
    return dtype, tuple(shape), (span[0], span[1])

"""A client's ``clear_cache`` message, sent over a real server's websocket, harms nobody else.

Streamlit 1.67 lets any client send ``BackMsg(clear_cache=True)``; unguarded it cleared
``st.cache_resource`` for all: the job manager vanished with its queue (the next Start ran beside
the old queue's run), and every loaded model had to be loaded again. Here a run queue is started
through the Train page's own button, another client sends ``clear_cache``, and the queue is still
the server's and a shared cached value (the Tokens page's tokenizers) is not built again.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import StreamlitServer
from ws_session import WsSession, cache_entries

from gpt.runs import read_run

FAKE_WORKER = f"{sys.executable} {Path(__file__).resolve().parents[1] / 'fake_train_worker.py'}"

pytestmark = pytest.mark.slow


@pytest.fixture
def server(isolated_runs_dir: Path) -> Iterator[StreamlitServer]:
    """A real server whose runs are the torch-free fake worker, slow enough to keep a queue waiting."""
    env = {"ATTN_EXPLORER_TRAIN_COMMAND": FAKE_WORKER, "FAKE_STEP_S": "0.05"}
    server = StreamlitServer(isolated_runs_dir, env=env)
    yield server
    server.stop()
    for run in isolated_runs_dir.iterdir():  # the fake worker does not watch its parent: stop ours here
        pid = read_run(run).status.get("pid")
        try:
            if isinstance(pid, int) and b"fake_train_worker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGTERM)
        except OSError:
            pass  # already gone


def states(runs_dir: Path) -> list[str]:
    """The runs' states on disk, sorted (running after queued)."""
    return sorted(str(read_run(run).state) for run in runs_dir.iterdir())


def cache_misses(url: str, function: str) -> int:
    """How often the server computed ``function``'s cached value (a miss), from its own metrics."""
    pattern = rf'^cache_lookups_total{{cache="[^"]*\.{function}",cache_type="[^"]+",result="miss"}} (\d+)'
    found = re.search(pattern, cache_entries(url), flags=re.MULTILINE)
    return int(found.group(1)) if found else 0


def test_a_clients_clear_cache_leaves_the_run_queue_and_the_shared_caches(
    server: StreamlitServer, isolated_runs_dir: Path
) -> None:
    with WsSession(server.url) as teacher, WsSession(server.url) as student:
        student.run("tokens")  # builds the Tokens page's three tokenizers once (st.cache_resource)
        assert cache_misses(server.url, "compared_tokenizers") == 1
        teacher.run("train")
        assert "train_launch" in teacher.widgets, teacher.texts
        teacher.run("train", click="train_launch")
        teacher.run("train", click="train_launch")
        assert states(isolated_runs_dir) == ["queued", "running"]

        student.clear_cache()
        student.run("tokens")  # messages are handled in order: the clear has been handled now

        teacher.run("train", click="train_launch")
        assert states(isolated_runs_dir) == ["queued", "queued", "running"]  # still one run per device
        assert cache_misses(server.url, "compared_tokenizers") == 1  # the shared cache was not emptied

"""Kill the Streamlit server in the middle of a training run, start it again: the run is listed as
interrupted (never 'running' forever) and can be resumed from the page."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from gpt.runs.reader import read_run
from tests.conftest import StreamlitServer, no_exception, start_small_run, wait_for_app
from tests.helpers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWPORT = {"width": 1400, "height": 2000}


def _status(run: Path) -> dict:
    return json.loads((run / "status.json").read_text())


def _open_run_on_runs_page(page, server: StreamlitServer, run_id: str) -> None:
    page.goto(f"{server.url}/runs?run={run_id}")  # a deep link, as the fresh server's first request
    wait_for_app(page, timeout=180_000)
    no_exception(page, "runs page after a restart")
    page.get_by_text("interrupted").first.wait_for(timeout=30_000)
    wait_for_app(page, timeout=180_000)


def test_a_run_outlives_its_killed_server_and_resumes(browser, isolated_runs_dir: Path) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    first = StreamlitServer(isolated_runs_dir)
    try:
        page.goto(f"{first.url}/train")
        wait_for_app(page, timeout=180_000)
        run_id = start_small_run(page, "class run")
        run = isolated_runs_dir / run_id
        wait_until(lambda: read_run(run).has_checkpoint, timeout=180, what="a first checkpoint")
        first.proc.kill()  # SIGKILL: the server gets no chance to stop its workers
    finally:
        first.stop()
    # The worker watches its parent: it saves a checkpoint and says why it ended.
    wait_until(lambda: _status(run)["state"] == "interrupted", timeout=60, what="the worker to notice")

    second = StreamlitServer(isolated_runs_dir)
    try:
        _open_run_on_runs_page(page, second, run_id)
        before = read_run(run).iter
        page.get_by_role("button", name="Resume").click()
        wait_until(
            lambda: _status(run)["state"] == "running" and read_run(run).iter > before + 20,
            timeout=180,
            what="the resumed run to train on",
        )
        # Now a power cut: server and worker die together and nobody writes a word.
        worker_pid = _status(run)["pid"]
        second.proc.kill()
        os.kill(worker_pid, signal.SIGKILL)
    finally:
        second.stop()
    assert _status(run)["state"] == "running"  # what the disk says...

    third = StreamlitServer(isolated_runs_dir)
    try:
        _open_run_on_runs_page(page, third, run_id)  # ...and what the class is told
        resume = page.get_by_role("button", name="Resume")
        resume.wait_for(timeout=60_000)  # a fresh server's first visit runs the page twice
        assert resume.count() == 1
        info = read_run(run)
        assert info.state == "interrupted" and info.resumable and info.iter > before
    finally:
        third.stop()
        page.close()

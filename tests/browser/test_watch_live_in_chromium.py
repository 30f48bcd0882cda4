"""Real browser, real server, real training worker: the Watch page follows a live run. Opened while the
run trains, it shows each new evaluation as the worker records it, without the page being reloaded,
and on a 1024×768 projector the pattern and its change stand side by side."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from contextlib import suppress

import pytest

from tests.conftest import no_exception, screenshot, start_small_run, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PROJECTOR = {"width": 1024, "height": 768}
STEP = re.compile(r"^Step ([\d,]+) of 5,000 · evaluation (\d+) of (\d+)$")

# The titles of the page's heatmaps, read from Plotly's own layout in the page.
HEATMAP_TITLES_JS = """() => [...document.querySelectorAll('.js-plotly-plot')]
  .map(el => (el.layout && el.layout.title && el.layout.title.text) || '')"""
HEATMAP_BOXES_JS = """() => [...document.querySelectorAll('.js-plotly-plot')]
  .filter(el => /(Attention weights at this step|Change since step)/.test(el.layout.title.text))
  .map(el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })"""


def shown_step(page) -> int | None:
    """The step the page's indicator names ('Step 40 of 5,000 · evaluation 3 of 3'), None before one."""
    found = page.locator("strong", has_text=STEP)
    if found.count() == 0:
        return None
    match = STEP.match(found.first.inner_text().strip())
    return int(match.group(1).replace(",", "")) if match else None


def wait_for_step(page, after: int, timeout_s: float = 240) -> int:
    """Wait, without touching the page, until its indicator shows a step later than ``after``."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        step = shown_step(page)
        if step is not None and step > after:
            return step
        page.wait_for_timeout(500)
    raise AssertionError(f"the Watch page showed no step after {after} within {timeout_s} s (shows {shown_step(page)})")


def stop_worker(run_dir) -> None:
    """SIGTERM the run's worker (it saves a checkpoint and stops), as the Stop button does."""
    with suppress(OSError, ValueError, TypeError):
        status = json.loads((run_dir / "status.json").read_text())
        if status.get("state") == "running":
            os.kill(int(status["pid"]), signal.SIGTERM)


def test_the_watch_page_follows_a_live_run_without_a_reload(streamlit_server, browser, isolated_runs_dir) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.goto(streamlit_server.url)  # (a fresh server's very first request must not be a deep link)
    wait_for_app(page)
    page.locator("[data-testid=stSidebarNav] a[href$='/train']").first.click()
    page.wait_for_url("**/train*")
    wait_for_app(page, timeout=180_000)  # the first visit measures the default model's speed
    run_id = start_small_run(page, "watch live")
    try:
        page.set_viewport_size(PROJECTOR)
        page.goto(f"{streamlit_server.url}/watch?run={run_id}")
        wait_for_app(page, timeout=180_000)
        no_exception(page, "watch page")
        first = wait_for_step(page, after=-1)  # also when the page opened before the first evaluation
        page.evaluate("() => { window.__not_reloaded = true; }")  # a reload would forget it
        newer = wait_for_step(page, after=first)
        assert page.evaluate("() => window.__not_reloaded === true")
        no_exception(page, "after new evaluations")
        # The heatmap follows the indicator (its chart may be drawn a moment later, and the live run may
        # already have moved on by then): wait until it names the step the indicator shows.
        # While the live fragment redraws, the previous step's chart can stay in the page for a moment
        # (Streamlit's stale elements): wait for a settled moment with just the pair.
        deadline, titles, boxes = time.time() + 60, [], []
        while time.time() < deadline:
            titles, now = page.evaluate(HEATMAP_TITLES_JS), shown_step(page) or newer
            boxes = page.evaluate(HEATMAP_BOXES_JS)
            if any("Attention weights at this step" in t and f"step: {now}" in t for t in titles) and len(boxes) == 2:
                break
            page.wait_for_timeout(300)
        else:
            raise AssertionError(f"the heatmap pair never showed the indicator's step after {first}: {titles}")
        # The pattern and its change side by side, each no taller than the projector's screen.
        (left_x, left_y, left_w, left_h), (right_x, right_y, _, right_h) = boxes
        assert abs(left_y - right_y) < 5 and right_x >= left_x + left_w - 1
        assert max(left_h, right_h) < PROJECTOR["height"]
        screenshot(page, "watch-live-projector")
    finally:
        stop_worker(isolated_runs_dir / run_id)
        page.close()

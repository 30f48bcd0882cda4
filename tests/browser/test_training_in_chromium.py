"""Real browser, real server, real training worker: launch from the Train page, watch the loss chart
grow, reload the page and still see the run, stop it."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from gpt.runs.reader import list_runs
from tests.conftest import no_exception, screenshot, start_small_run, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWPORT = {"width": 1400, "height": 3000}
BAD_TEXT = "Ça, c'est très bien.\n".encode("latin-1") * 50
GOOD_TEXT = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n" * 80).encode()

# The train-loss point count of the live chart, read from Plotly's own data in the page.
TRAIN_POINTS_JS = """() => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const title = (el.layout && el.layout.title && el.layout.title.text) || '';
    if (!title.includes('Loss while training')) continue;
    const train = (el.data || []).find(t => (t.name || '').endsWith('train'));
    return train && train.x ? train.x.length : 0;
  }
  return -1;
}"""


def wait_for_points(page, more_than: int, timeout_s: float = 240) -> int:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        n = page.evaluate(TRAIN_POINTS_JS)
        if n > more_than:
            return n
        page.wait_for_timeout(500)
    raise AssertionError(f"the loss chart did not grow beyond {more_than} points in {timeout_s} s")


def test_launch_watch_reload_and_stop_a_real_run(streamlit_server, browser, isolated_runs_dir) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(streamlit_server.url)  # (a fresh server's very first request must not be a deep link)
    wait_for_app(page)
    page.locator("[data-testid=stSidebarNav] a[href$='/train']").first.click()
    page.wait_for_url("**/train*")
    wait_for_app(page, timeout=180_000)  # the first visit measures the default model's speed
    no_exception(page, "train page")
    assert page.get_by_text("estimated time", exact=True).count() == 1  # the metric, at once
    # The speed probe runs in the background: its measured estimate, and the speed choice the run will
    # use, appear without any click.
    measured = page.get_by_text(re.compile(r"Measured on cpu.*The run trains with \d+ threads?, "))
    expect(measured.first).to_be_visible(timeout=180_000)
    # your own text: a file that is not UTF-8 is refused with a message, a good one is used
    page.get_by_text("Upload my own .txt file").click()
    wait_for_app(page)
    uploader = page.locator("[data-testid=stFileUploaderDropzoneInput]")
    uploader.set_input_files(files=[{"name": "latin1.txt", "mimeType": "text/plain", "buffer": BAD_TEXT}])
    page.get_by_text("is not UTF-8 text").wait_for(timeout=60_000)
    no_exception(page, "bad upload")
    uploader.set_input_files(files=[{"name": "../../evil.txt", "mimeType": "text/plain", "buffer": GOOD_TEXT}])
    page.get_by_text(f"{len(GOOD_TEXT.decode()):,} characters").wait_for(timeout=60_000)
    wait_for_app(page, timeout=180_000)
    run_id = start_small_run(page, "browser run")
    first = wait_for_points(page, 0)
    grown = wait_for_points(page, first)
    assert grown > first
    screenshot(page, "train-live-dashboard")

    page.reload()
    wait_for_app(page, timeout=180_000)
    no_exception(page, "after reload")
    assert run_id in page.url
    assert page.get_by_text(run_id).count() >= 1
    assert wait_for_points(page, grown - 1) >= grown  # the same run's chart, still there and growing

    page.get_by_role("button", name=re.compile("Stop")).click()
    deadline = time.time() + 120
    while time.time() < deadline and [r.state for r in list_runs(isolated_runs_dir)] != ["stopped"]:
        time.sleep(0.5)
    assert [(r.run_id, r.state) for r in list_runs(isolated_runs_dir)] == [(run_id, "stopped")]
    assert (isolated_runs_dir / run_id / "corpus.txt").read_bytes() == GOOD_TEXT  # saved inside the run only
    assert not (isolated_runs_dir.parent / "evil.txt").exists()
    page.get_by_text("stopped", exact=False).first.wait_for(timeout=30_000)
    screenshot(page, "train-stopped")
    page.close()

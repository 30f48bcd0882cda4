"""Shared fixtures: an isolated runs folder, and a real Streamlit server + Chromium for browser tests."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

# One torch thread in the test process: the tests' models are tiny, and two threads beside a server,
# a worker or a browser that the same test started spent most of their time waiting for each other
# (measured: a 19 x 19 attention step took 20 ms instead of 0.1 ms while the other core was busy).
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
APP_READY = "[data-testid=stApp][data-test-script-state=notRunning]"


# A training corpus small enough for tests: ~3000 characters, 14 distinct.
TINY_CORPUS_TEXT = "the cat sat on the mat. the dog sat on the log. " * 60


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """The tiny corpus as a UTF-8 file."""
    path = tmp_path / "tiny.txt"
    path.write_text(TINY_CORPUS_TEXT, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def isolated_runs_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty runs folder, so no test sees (or harms) real runs."""
    path = tmp_path_factory.mktemp("runs")
    monkeypatch.setenv("ATTN_EXPLORER_RUNS_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def speed_choices_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file of measured speed choices for the whole session (gpt.train.tuning): each tiny model
    shape is timed once, not once per test, and the developer's own file is never touched."""
    return tmp_path_factory.mktemp("speed") / "speed-choices.json"


@pytest.fixture(autouse=True)
def isolated_speed_choices(speed_choices_file: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ATTN_EXPLORER_SPEED_CACHE", str(speed_choices_file))
    return speed_choices_file


@pytest.fixture(autouse=True)
def local_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Page tests see a localhost server (as .streamlit/config.toml sets) wherever pytest runs from.

    Classroom-mode tests switch ``server.address`` to a network address; it is put back here.
    """
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", "localhost")
    monkeypatch.delenv("ATTN_EXPLORER_CLASSROOM", raising=False)
    monkeypatch.delenv("ATTN_EXPLORER_TEACHER_KEY", raising=False)
    yield
    config.set_option("server.address", before)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not start within {timeout} s")


class StreamlitServer:
    """`streamlit run app.py` on a free localhost port, stopped at the end of the test."""

    def __init__(self, runs_dir: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = ARTIFACTS / f"streamlit-{self.port}.log"
        ARTIFACTS.mkdir(exist_ok=True)
        full_env = {**os.environ, "ATTN_EXPLORER_RUNS_DIR": str(runs_dir), **(env or {})}
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py", f"--server.port={self.port}"]
        cmd += ["--server.address=127.0.0.1", "--server.headless=true"]
        self._log_file = open(self.log, "w")  # closed in stop()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=self._log_file, stderr=subprocess.STDOUT)
        _wait_http(f"{self.url}/_stcore/health", 60)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log_file.close()


@pytest.fixture
def streamlit_server(isolated_runs_dir: Path) -> Iterator[StreamlitServer]:
    server = StreamlitServer(isolated_runs_dir)
    yield server
    server.stop()


def _browser_available() -> bool:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        return False
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def browser():
    """Headless Debian Chromium driven by Playwright. Missing browser: skip locally, fail in CI."""
    if not _browser_available():
        if os.environ.get("ATTN_EXPLORER_REQUIRE_BROWSER"):
            pytest.fail("Chromium/playwright are required for browser tests in CI but are missing")
        pytest.skip("needs /usr/bin/chromium and the playwright package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def wait_for_app(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished running the script for this page."""
    page.wait_for_selector(APP_READY, timeout=timeout)
    page.wait_for_timeout(300)  # let the last delta render
    page.wait_for_selector(APP_READY, timeout=timeout)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def no_exception(page, where: str) -> None:
    """No Streamlit exception box on the page."""
    errors = page.locator("[data-testid=stException]")
    assert errors.count() == 0, f"{where}: {errors.first.inner_text()[:500]}"


def set_number(page, label: str, value: int) -> None:
    """Type a value into a number input and wait for the rerun."""
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_timeout(300)
    wait_for_app(page, timeout=180_000)


def start_small_run(page, name: str) -> str:
    """On the Train page: a small, quick model (evaluated every 20 steps on 2 batches, 5000 steps so it
    is still running when the test looks), started under ``name``; returns the run id from the URL."""
    set_number(page, "embedding size (n_embd)", 32)
    set_number(page, "training steps (max_iters)", 5000)
    page.get_by_text("More settings").click()
    set_number(page, "evaluate every N steps", 20)
    set_number(page, "batches per evaluation", 2)
    page.get_by_label("Run name").fill(name)
    page.get_by_label("Run name").press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name=re.compile("Start training")).click()
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    page.wait_for_url(re.compile(rf"[?&]run={slug}-"), timeout=60_000)
    wait_for_app(page)
    no_exception(page, "after launch")
    return re.search(r"run=([^&]+)", page.url).group(1)


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MB tmpfs (a full disk on demand): room for one checkpoint of a tiny run (1.25 MB with
    optimizer state), not two. Mounting needs root, which CI and the dev machines have."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs needs root: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)

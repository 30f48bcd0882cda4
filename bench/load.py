"""A classroom at once: 29 websocket-level sessions + 1 real browser on one local server. Prints JSON.

    python bench/load.py [--clients 29] [--seconds 60] [--model random:shakespeare-char] [--no-train]
    python bench/load.py --seconds 600          # the 10-minute soak: server memory at start and end

Starts ``streamlit run app.py`` on a free 127.0.0.1 port (nothing else is contacted). Each
websocket client speaks Streamlit's own protocol (BackMsg/ForwardMsg protobufs, as the browser
does): it opens the attention page, then every 1-3 s (random, seeded) moves the step, the head
or the layer slider, or types another sentence, and measures the time from sending the change
to the server's "script finished" message. The browser (Chromium via Playwright) clicks
"Next"/"Previous" on the same page and measures until the new step's heading is shown.
Interaction latency percentiles are reported separately for the two kinds of client.

Meanwhile one training run is active (unless --no-train): the "2-minute CPU demo" preset, started
through ``gpt.runs.jobs.JobManager`` exactly as the Train page starts it (same worker command and
automatic thread choice), with enough steps to outlast the test. The server's resident memory
(RSS) is sampled every 10 s: after the warm-up, at the end, and its growth in percent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gpt.interpret.explain import STEPS  # noqa: E402

SENTENCES = [
    "The quick brown fox jumps over the lazy dog",
    "To be, or not to be, that is the question",
    "Now is the winter of our discontent",
    "Friends, Romans, countrymen, lend me your ears",
    "What light through yonder window breaks",
    "All the world's a stage",
    "Attention lets every token look back",
    "The mask hides the future",
]
STEP_LABELS = [f"{i + 1}. {s.title.split(':')[0]}" for i, s in enumerate(STEPS)]  # as the page formats them


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(runs_dir: str, torch_threads: int = 0) -> tuple[subprocess.Popen, str]:
    import urllib.request

    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", f"--server.port={port}"]
    cmd += ["--server.address=127.0.0.1", "--server.headless=true", "--browser.gatherUsageStats=false"]
    env = {**os.environ, "ATTN_EXPLORER_RUNS_DIR": runs_dir}
    if torch_threads:
        env["OMP_NUM_THREADS"] = str(torch_threads)  # torch's intra-op threads in the server process
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not start")


@dataclass
class WsClient:
    """One student's session, driven over the websocket the way the browser drives it."""

    url: str
    model: str
    rng: random.Random
    widgets: dict[str, str] = field(default_factory=dict)  # widget key -> widget id
    values: dict[str, object] = field(default_factory=dict)  # widget key -> current value
    page_hash: str = ""
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    def _back_msg(self, query: str) -> bytes:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        msg.rerun_script.query_string = query
        msg.rerun_script.page_name = "attention"
        if self.page_hash:
            msg.rerun_script.page_script_hash = self.page_hash
        for key, value in self.values.items():
            state = msg.rerun_script.widget_states.widgets.add()
            state.id = self.widgets[key]
            if isinstance(value, str):
                state.string_value = value
            else:
                state.string_array_value.data.append(str(value[0]))  # select_slider: formatted option
        return msg.SerializeToString()

    async def _run_once(self, ws, query: str) -> float:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        t0 = time.perf_counter()
        await ws.send(self._back_msg(query))
        while True:
            fm = ForwardMsg()
            fm.ParseFromString(await asyncio.wait_for(ws.recv(), timeout=120))
            kind = fm.WhichOneof("type")
            if kind == "navigation":
                self.page_hash = fm.navigation.page_script_hash
            elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                element = fm.delta.new_element
                sub = getattr(element, element.WhichOneof("type"))
                wid = getattr(sub, "id", "")
                if element.WhichOneof("type") == "exception":
                    self.errors += 1
                for key in ("w_sentence", "w_layer", "w_head", "w_step"):
                    if wid.endswith(f"-{key}"):
                        self.widgets[key] = wid
            elif kind == "script_finished":
                return (time.perf_counter() - t0) * 1000

    def _change(self) -> None:
        choice = self.rng.choice(["step", "step", "head", "layer", "sentence"])
        if choice == "sentence":
            self.values["w_sentence"] = self.rng.choice(SENTENCES)
        elif choice == "step":
            self.values["w_step"] = [self.rng.choice(STEP_LABELS)]
        else:
            self.values[f"w_{choice}"] = [str(self.rng.randrange(4))]

    async def run(self, deadline: float) -> None:
        import websockets

        ws_url = self.url.replace("http://", "ws://") + "/_stcore/stream"
        sentence = self.rng.choice(SENTENCES)
        query = f"model={quote(self.model)}&sentence={quote(sentence)}"
        async with websockets.connect(ws_url, subprotocols=["streamlit"], origin=self.url, max_size=None) as ws:
            await self._run_once(ws, query)  # opening the page is not an interaction
            self.values = {"w_sentence": sentence, "w_layer": ["0"], "w_head": ["0"], "w_step": [STEP_LABELS[0]]}
            self.values = {k: v for k, v in self.values.items() if k in self.widgets}
            while time.time() < deadline:
                await asyncio.sleep(self.rng.uniform(1.0, 3.0))
                self._change()
                self.latencies.append(await self._run_once(ws, query))


def run_ws_clients(url: str, model: str, n: int, deadline: float, out: list[WsClient]) -> None:
    async def main() -> None:
        clients = [WsClient(url, model, random.Random(i)) for i in range(n)]
        out.extend(clients)
        await asyncio.gather(*(c.run(deadline) for c in clients), return_exceptions=True)

    asyncio.run(main())


def run_browser(url: str, model: str, deadline: float) -> tuple[list[float], int, int]:
    """Latencies of the browser's clicks, page exceptions seen, and clicks that never showed their step."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    latencies: list[float] = []
    failures = 0
    rng = random.Random(99)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(f"{url}/attention?model={quote(model)}&sentence=Hello%20class&step=1", timeout=120_000)
        page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=120_000)
        page.get_by_role("heading", name="Step 1 of").wait_for(timeout=120_000)
        step = 0
        while time.time() < deadline:
            time.sleep(rng.uniform(1.0, 3.0))
            forward = step < len(STEPS) - 1
            step += 1 if forward else -1
            t0 = time.perf_counter()
            try:
                # force: a starved renderer may never report the button "stable"; the click is real
                page.get_by_role("button", name="Next ▶" if forward else "◀ Previous").click(force=True, timeout=60_000)
                page.get_by_role("heading", name=f"Step {step + 1} of").wait_for(timeout=60_000)
            except PlaywrightError:
                failures += 1
                step = int(page.url.split("step=")[1].split("&")[0]) - 1 if "step=" in page.url else step
                continue
            latencies.append((time.perf_counter() - t0) * 1000)
        errors = page.locator("[data-testid=stException]").count()
        browser.close()
    return latencies, errors, failures


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process, from /proc (Linux)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def sample_rss(pid: int, stop: threading.Event, out: list[tuple[float, float]], every_s: float = 10.0) -> None:
    start = time.time()
    while True:
        value = rss_mb(pid)
        if value is not None:
            out.append((round(time.time() - start, 1), round(value, 1)))
        if stop.wait(every_s):
            return


def rss_summary(rss: list[tuple[float, float]], settle_s: float) -> dict:
    """Memory after the warm-up (one client), once the whole class is connected (``settle_s``), at
    the end, and the growth from the connected class to the end: the soak's figure."""
    if not rss:
        return {}
    settled = next((mb for t, mb in rss if t >= settle_s), rss[-1][1])
    return {
        "after_warm_up": rss[0][1],
        f"class_connected_at_{settle_s:g}_s": settled,
        "end": rss[-1][1],
        "growth_percent_since_class_connected": round(100 * (rss[-1][1] / settled - 1), 1),
        "samples_s_mb": rss,
    }


def start_training(runs_dir: str):
    """One run of the '2-minute CPU demo' preset, long enough to outlast the test; (manager, run id)."""
    from gpt.runs import JobManager
    from gpt.train import TRAINING_PRESETS

    settings = replace(TRAINING_PRESETS["2-minute CPU demo"].settings, max_iters=100_000, eval_interval=200)
    manager = JobManager(Path(runs_dir))
    run_id = manager.submit("load-test run", settings, "cpu")
    deadline = time.time() + 120
    while manager.get_run(run_id).iter < 1 and time.time() < deadline:
        time.sleep(0.5)
    return manager, run_id


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(pick(0.95), 1),
        "max_ms": round(ordered[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=29, help="websocket-level sessions (plus one browser)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the class interacts")
    parser.add_argument("--model", default="random:shakespeare-char")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--no-train", action="store_true", help="no training run during the test")
    parser.add_argument(
        "--server-torch-threads", type=int, default=0, help="OMP_NUM_THREADS for the server (0: default)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="load-runs-") as runs:
        proc, url = start_server(runs, args.server_torch_threads)
        try:
            # one warm-up visit: loads the model and lets st.navigation take over from the legacy
            # pages/ mode, which would otherwise greet the first visitor with "Page not found"
            warm: list[WsClient] = []
            run_ws_clients(url, args.model, 1, time.time(), warm)
            training = None if args.no_train else start_training(runs)
            train_iter_before = training[0].get_run(training[1]).iter if training else 0
            rss: list[tuple[float, float]] = []
            stop_rss = threading.Event()
            rss_thread = threading.Thread(target=sample_rss, args=(proc.pid, stop_rss, rss), daemon=True)
            rss_thread.start()
            load_before = os.getloadavg()[0]
            deadline = time.time() + args.seconds
            clients: list[WsClient] = []
            thread = threading.Thread(target=run_ws_clients, args=(url, args.model, args.clients, deadline, clients))
            thread.start()
            browser_lat, browser_errors, browser_failures = (
                ([], 0, 0) if args.no_browser else run_browser(url, args.model, deadline)
            )
            thread.join(timeout=args.seconds + 300)
            stop_rss.set()
            rss_thread.join()
            ws_lat = [x for c in clients for x in c.latencies]
            train_info = None
            if training:
                manager, run_id = training
                info = manager.get_run(run_id)
                train_info = {
                    "state_at_end": info.state,
                    "steps_during_test": info.iter - train_iter_before,
                    "threads": info.options.get("threads", "auto"),
                }
                manager.close()
            result = {
                "clients": {"websocket": args.clients, "browser": 0 if args.no_browser else 1},
                "seconds": args.seconds,
                "model": args.model,
                "server_torch_threads": args.server_torch_threads or "default",
                "cpus": os.cpu_count(),
                "load_average_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                "websocket_interaction": percentiles(ws_lat),
                "browser_interaction": percentiles(browser_lat),
                "all_interactions": percentiles(ws_lat + browser_lat),
                "page_exceptions": sum(c.errors for c in clients) + browser_errors,
                "browser_clicks_without_result_in_60s": browser_failures,
                "clients_that_interacted": sum(1 for c in clients if c.latencies),
                "training_run": train_info,
                "server_rss_mb": rss_summary(rss, settle_s=min(60.0, args.seconds / 2)),
            }
            print(json.dumps(result, indent=1))
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()

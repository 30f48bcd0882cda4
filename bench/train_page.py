"""Server time of the Train page before its speed probe has answered. Prints JSON.

    .venv/bin/python bench/train_page.py [--switches 3]

How it is measured: Streamlit's AppTest runs the real app script (app.py -> sidebar -> pages/train.py)
in this process, as the server's script runner does, minus the websocket. Each ``run()`` is timed:

- ``cold_first_run_s``: a fresh app opened straight on the Train page (imports, tokenizing the
  bundled corpus, the device list: what the first visitor of a new server waits for);
- ``warm_first_visit_s``: a second session opening the Train page in the same server (another page
  opened first), with a model nobody has measured yet;
- ``preset_switch_s``: choosing each other preset in turn (median and max over the switches drawn
  before their probe answered; the first round's are all of them).

The speed probes are the real ones (a child process each, in the background), so the page runs
compete with them for the CPU as they would on a server. The first runs are checked to have been
drawn before their probe answered ("estimated time" still "–"), and ``probe_wait_s`` says how long
the queued probes took to answer after the last page run.
Timings on a shared machine vary with what else runs: the JSON records the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PAGE = "pages/train.py"


def timed_run(at, action=None) -> float:
    started = time.perf_counter()
    (action() if action is not None else at).run()
    return round(time.perf_counter() - started, 3)


def estimated_time(at) -> str:
    return next(m.value for m in at.metric if m.label == "estimated time")


def probe_text(at) -> str:
    return " ".join(i.value for i in at.info if "speed" in i.value)


def check_unmeasured(at, what: str) -> None:
    errors = [e.value for e in at.exception]
    if errors or estimated_time(at) != "–":
        raise SystemExit(f"{what}: expected a page drawn before the probe answered; got {errors or estimated_time(at)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switches", type=int, default=2, help="rounds through the other presets")
    args = parser.parse_args()
    os.environ["ATTN_EXPLORER_RUNS_DIR"] = tempfile.mkdtemp(prefix="bench-train-page-")  # no real runs touched

    from streamlit.testing.v1 import AppTest

    import ui.train_estimate
    from gpt.train import TRAINING_PRESETS
    from gpt.train.device import cpu_model_name

    cold = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    cold.switch_page(PAGE)
    cold_s = timed_run(cold)
    check_unmeasured(cold, "cold first run")
    cold_message = probe_text(cold)

    warm = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    warm.switch_page("pages/overview.py")
    overview_s = timed_run(warm)  # the anchor: a light explorer page, first visit, same process and moment
    presets = list(TRAINING_PRESETS)
    warm.switch_page(PAGE)
    warm.session_state["train_preset"] = presets[1]  # a model the cold session did not ask for
    warm_s = timed_run(warm)
    check_unmeasured(warm, "warm first visit")

    switches = []
    for _ in range(args.switches):
        for name in [*presets[2:], *presets[:2]]:
            box = warm.selectbox(key="w_train_preset")
            seconds = timed_run(warm, lambda box=box, name=name: box.select(name))
            # A later switch may find its probe answered already: its time is listed, not summarised.
            switches.append({"preset": name, "seconds": seconds, "before_the_probe": estimated_time(warm) == "–"})

    answered = time.perf_counter()
    idle = ui.train_estimate.SPEED_PROBES.wait_idle(600)
    unmeasured = [s["seconds"] for s in switches if s["before_the_probe"]]
    result = {
        "cold_first_run_s": cold_s,
        "warm_first_visit_s": warm_s,
        "anchor_overview_first_visit_s": overview_s,
        "train_over_overview": round(warm_s / max(overview_s, 1e-9), 2),
        "preset_switch_s": {
            "median": sorted(unmeasured)[len(unmeasured) // 2] if unmeasured else None,
            "max": max(unmeasured) if unmeasured else None,
            "runs": switches,
        },
        "shown_while_measuring": cold_message,
        "probe_wait_s": round(time.perf_counter() - answered, 1) if idle else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "cpu": cpu_model_name(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

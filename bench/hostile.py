"""A hostile classroom on one local server, with a GPT-2-124M-shaped model. Prints JSON.

    python bench/hostile.py [--attackers 20] [--seconds 60] [--tokens 1000] [--no-train]

Starts ``streamlit run app.py`` on a free 127.0.0.1 port (nothing else is contacted) with one run
in its runs folder whose checkpoint has GPT-2 small's exact shape (124M random weights, context
1024). Then, for ``--seconds``:
- ``--attackers`` websocket sessions each type a new random ~``--tokens``-token sentence on that
  model, as fast as the server answers (every sentence is new, so no cache can help);
- one session sends ``clear_cache`` every second (any client can: it is a plain BackMsg);
- one polite student opens the attention page on the char demo model every 3 s, in a new
  session each time, and times it from connecting to the script's end;
- one training run (the "2-minute CPU demo" preset) is active, started as the Train page does.

Reported: the server's resident memory every 2 s during the attack and for 30 s after the
attackers leave (peak, end, and the documented budget), the polite student's page-load p50/p95,
the attackers' own latencies and errors, and the training run's steps per minute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import WsClient, percentiles, sample_rss, start_server, start_training  # noqa: E402
from gpt.train.device import cpu_model_name  # noqa: E402

POLITE_MODEL = "demo:shakespeare-char"
BIG_RUN = "gpt2-shaped"


def make_gpt2_shaped_run(runs_dir: Path) -> str:
    """A run folder whose checkpoint is GPT-2 small's shape with random weights; its model id."""
    import torch

    from gpt import GPT, preset, save_checkpoint
    from gpt.tokenizers import GPT2Tokenizer

    torch.manual_seed(0)
    model = GPT(preset("gpt2"))
    save_checkpoint(runs_dir / BIG_RUN / "checkpoint", model, GPT2Tokenizer(), {"iter": 0, "run_id": BIG_RUN})
    (runs_dir / BIG_RUN / "status.json").write_text(json.dumps({"state": "finished", "iter": 0, "max_iters": 0}))
    return f"run:{BIG_RUN}"


def random_sentence(rng: random.Random, n_tokens: int) -> str:
    """About ``n_tokens`` GPT-2 tokens of random common words: new every time."""
    words = "the of and to in is was that for on as with by at from his her they this which".split()
    words += "model token attention head layer weight query key value softmax mask vector".split()
    return " ".join(rng.choice(words) + str(rng.randrange(100)) for _ in range(n_tokens // 2))


class Attacker(WsClient):
    """Types a new long sentence each time, without pausing."""

    n_tokens: int = 1000

    def _change(self) -> None:
        self.values["w_sentence"] = random_sentence(self.rng, self.n_tokens)

    async def run(self, deadline: float) -> None:
        import websockets

        ws_url = self.url.replace("http://", "ws://") + "/_stcore/stream"
        query = f"model={quote(self.model)}&sentence={quote('Hello')}"
        async with websockets.connect(ws_url, subprotocols=["streamlit"], origin=self.url, max_size=None) as ws:
            await self._run_once(ws, query)
            self.values = {"w_sentence": "Hello"} if "w_sentence" in self.widgets else {}
            while time.time() < deadline and self.values:
                self._change()
                self.latencies.append(await self._run_once(ws, query))


async def clear_cache_sender(url: str, deadline: float, sent: list[int]) -> None:
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg

    ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
    async with websockets.connect(ws_url, subprotocols=["streamlit"], origin=url, max_size=None) as ws:
        while time.time() < deadline:
            msg = BackMsg()
            msg.clear_cache = True
            await ws.send(msg.SerializeToString())
            sent.append(1)
            await asyncio.sleep(1.0)


async def polite_student(url: str, deadline: float, latencies: list[float], errors: list[int]) -> None:
    """A new session every 3 s: the time a student waits for the attention page to appear."""
    import websockets

    rng = random.Random(7)
    ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
    while time.time() < deadline:
        client = WsClient(url, POLITE_MODEL, rng)
        t0 = time.perf_counter()
        try:
            async with websockets.connect(ws_url, subprotocols=["streamlit"], origin=url, max_size=None) as ws:
                await client._run_once(ws, f"model={quote(POLITE_MODEL)}&sentence={quote('Hello class')}")
        except Exception:  # a refused or timed-out load is exactly what this bench looks for
            errors.append(1)
        else:
            latencies.append((time.perf_counter() - t0) * 1000)
            errors.append(client.errors)  # exceptions shown on the page
        await asyncio.sleep(3.0)


def attack(url: str, model: str, n: int, n_tokens: int, deadline: float, out: dict) -> None:
    async def main() -> None:
        attackers = []
        for i in range(n):
            a = Attacker(url, model, random.Random(1000 + i))
            a.n_tokens = n_tokens
            attackers.append(a)
        out["attackers"], out["clears"], out["polite"], out["polite_errors"] = attackers, [], [], []
        await asyncio.gather(
            *(a.run(deadline) for a in attackers),
            clear_cache_sender(url, deadline, out["clears"]),
            polite_student(url, deadline, out["polite"], out["polite_errors"]),
            return_exceptions=True,
        )

    asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attackers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--tokens", type=int, default=1000, help="GPT-2 tokens per attacking sentence (about)")
    parser.add_argument("--after", type=float, default=30.0, help="seconds of memory samples after the attack")
    parser.add_argument("--no-train", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hostile-runs-") as runs:
        model = make_gpt2_shaped_run(Path(runs))
        proc, url = start_server(runs)
        try:
            warm: list[WsClient] = []
            from bench.load import run_ws_clients

            run_ws_clients(url, POLITE_MODEL, 1, time.time(), warm)
            training = None if args.no_train else start_training(runs)
            iter_before = training[0].get_run(training[1]).iter if training else 0
            rss: list[tuple[float, float]] = []
            stop_rss = threading.Event()
            sampler = threading.Thread(target=sample_rss, args=(proc.pid, stop_rss, rss, 2.0), daemon=True)
            sampler.start()
            t_start = time.time()
            out: dict = {}
            attack(url, model, args.attackers, args.tokens, t_start + args.seconds, out)
            attack_s = time.time() - t_start
            iter_after = training[0].get_run(training[1]).iter if training else 0
            time.sleep(args.after)
            stop_rss.set()
            sampler.join()
            during = [mb for t, mb in rss if t <= attack_s]
            result = {
                "cpu": cpu_model_name() or "unknown",
                "attackers": args.attackers,
                "tokens_per_sentence_about": args.tokens,
                "seconds": round(attack_s, 1),
                "clear_cache_messages_sent": len(out["clears"]),
                "polite_page_load": percentiles(out["polite"]),
                "polite_failed_loads": sum(out["polite_errors"]),
                "attacker_interaction": percentiles([x for a in out["attackers"] for x in a.latencies]),
                "attacker_page_exceptions": sum(a.errors for a in out["attackers"]),
                "server_rss_mb": {
                    "peak_during_attack": max(during) if during else None,
                    "end_of_attack": during[-1] if during else None,
                    f"after_{args.after:g}_s_quiet": rss[-1][1] if rss else None,
                    "samples_s_mb": rss,
                },
                "trace_cache_budget_mb": os.environ.get("ATTN_EXPLORER_TRACE_CACHE_MB", "default"),
                "training_steps_per_min": round((iter_after - iter_before) / (attack_s / 60), 1) if training else None,
            }
            if training:
                training[0].close()
            print(json.dumps(result, indent=1))
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except Exception:
                proc.kill()


if __name__ == "__main__":
    main()

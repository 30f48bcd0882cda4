"""Server time of the Overview, Tokens, Embeddings and Next-token pages (AppTest, no browser).

For each page and model: the median time of a rerun after the sentence changed (new tokens, so
a fresh trace), and of a rerun where only a display widget changed (the trace comes from cache).

    .venv/bin/python bench/explorer_pages.py [--repeats 7]

Prints one JSON object. Numbers depend on the machine's load; run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gpt.models import available_models  # noqa: E402

PAGES = {
    "overview": None,
    "tokens": ("text_input", "rare_word", ("Akwirw", "someunknownPlace")),
    "embeddings": ("slider", "emb_dims", ((8, 40), (0, 32))),
    "next_token": ("slider", "nt_temperature", (0.7, 1.0)),
}
SENTENCES = [f"The quick brown fox number {i} jumps over the lazy dog" for i in range(100)]


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def bench_page(page: str, model: str, repeats: int) -> dict[str, float | None]:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["model"] = model
    at.switch_page(f"pages/{page}.py")
    at.run()
    sentence_ms = []
    for i in range(repeats):
        box = at.sidebar.text_area(key="w_sentence")
        sentence_ms.append(_time(lambda box=box, i=i: box.input(SENTENCES[i] + f" {model} {page}").run()))
        assert not at.exception, at.exception
    widget_ms = []
    display = PAGES[page]
    if display is not None:
        kind, key, values = display
        for i in range(repeats):  # alternate two values so every run really changes the widget
            widget = getattr(at, kind)(key=key)
            value = values[i % 2]
            widget_ms.append(_time(lambda widget=widget, value=value: widget.set_value(value).run()))
            assert not at.exception, at.exception
    return {
        "sentence_change_median_ms": round(statistics.median(sentence_ms), 1),
        "display_widget_median_ms": round(statistics.median(widget_ms), 1) if widget_ms else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    models = ["random:shakespeare-char", "random:gpt2-bpe-small"]
    models += [e.model_id for e in available_models() if e.kind in ("demo", "gpt2")]
    results = {model: {page: bench_page(page, model, args.repeats) for page in PAGES} for model in models}
    print(json.dumps({"repeats": args.repeats, "results": results}, indent=2))


if __name__ == "__main__":
    main()

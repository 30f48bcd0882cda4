"""The list of labs: URL id, title and the source each one reproduces."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lab:
    lab_id: str  # value of the ?lab= URL parameter
    title: str
    source: str  # where the worked example and its numbers come from


LABS: tuple[Lab, ...] = (
    Lab(
        "journey",
        "1 · Self-attention on “Your journey starts with one step”",
        "S. Raschka, *Build a Large Language Model (From Scratch)*, ch. 3.3–3.6",
    ),
    Lab("embedding", "2 · The embedding layer is a lookup", "S. Raschka, *Build a LLM (From Scratch)*, ch. 2.7"),
    Lab("sliding-window", "3 · Sliding-window data loader", "S. Raschka, *Build a LLM (From Scratch)*, ch. 2.6"),
    Lab(
        "fox",
        "4 · One-hot words, toy positions and the “fox” query",
        "“Lets build a GPT style LLM from scratch – Part 2a” (LinkedIn article, seed 000)",
    ),
    Lab(
        "averaging",
        "5 · From averaging the past to attention",
        "A. Karpathy, “Let's build GPT: from scratch, in code, spelled out” (lecture notes, seed 002)",
    ),
    Lab(
        "scaling",
        "6 · Why divide by √d_k",
        "Vaswani et al. 2017, §3.2.1; A. Karpathy's lecture (seed 002)",
    ),
    Lab(
        "positional",
        "7 · Sinusoidal positional encoding",
        "Vaswani et al. 2017, §3.5; “Transformers” paper notes (seed 003)",
    ),
    Lab(
        "dessert",
        "8 · “Life is short, eat dessert first”",
        "S. Raschka, “Understanding and Coding Self-Attention” (article, seed 004)",
    ),
    Lab(
        "bigram",
        "9 · A bigram baseline that cannot use context",
        "A. Karpathy, “Let's build GPT” lecture, bigram section (seed 002)",
    ),
)


def lab_by_id(lab_id: str | None) -> Lab:
    """The lab with this URL id; the first lab for an unknown or missing id."""
    for lab in LABS:
        if lab.lab_id == lab_id:
            return lab
    return LABS[0]

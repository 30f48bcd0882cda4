"""The list of labs: URL id, title and the source each one reproduces.

``source`` is the one place a lab's citation is written; the Labs page shows it under the lab's
title. Each lab's maths is ``gpt/labs/<module>.py`` and its view ``ui/labs/<module>.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

RASCHKA_BOOK = "Sebastian Raschka, *Build a Large Language Model (From Scratch)*"
KARPATHY_NOTES = (
    "Nagi-ovo, “The Evolution of LLMs (Part 5): Building the Path of Self-Attention” "
    "(notes on Andrej Karpathy's “Let's build GPT” lecture)"
)
VASWANI = "Ashish Vaswani et al., “Attention Is All You Need” (2017)"


@dataclass(frozen=True)
class Lab:
    lab_id: str  # value of the ?lab= URL parameter
    title: str
    source: str  # where the worked example and its numbers come from: author, title, chapter/section

    @property
    def module(self) -> str:
        """Module name of the lab's maths (``gpt/labs/<module>.py``) and view (``ui/labs/<module>.py``)."""
        return self.lab_id.replace("-", "_")


LABS: tuple[Lab, ...] = (
    Lab(
        "journey",
        "1 · Self-attention on “Your journey starts with one step”",
        f"{RASCHKA_BOOK}, chapter 3 “Coding Attention Mechanisms”, sections 3.3–3.6",
    ),
    Lab(
        "embedding",
        "2 · The embedding layer is a lookup",
        f"{RASCHKA_BOOK}, chapter 2 “Working with Text Data”, section 2.7 “Creating token embeddings”",
    ),
    Lab(
        "sliding-window",
        "3 · Sliding-window data loader",
        f"{RASCHKA_BOOK}, chapter 2 “Working with Text Data”, section 2.6 “Data sampling with a sliding window”",
    ),
    Lab(
        "fox",
        "4 · One-hot words, toy positions and the “fox” query",
        "Siddharth T., “Lets build a GPT style LLM from scratch – Part 2a, quick intro to Transformer and "
        "self-Attention” (LinkedIn article), the “Positional Encoding” sidebar and the “Multi-Head Attention” section",
    ),
    Lab(
        "averaging",
        "5 · From averaging the past to attention",
        f"{KARPATHY_NOTES}, section “Self-Attention”, versions 1–4 (loop, matrix multiplication, softmax, "
        "self-attention)",
    ),
    Lab(
        "scaling",
        "6 · Why divide by √d_k",
        f"{VASWANI}, section 3.2.1 “Scaled Dot-Product Attention”; {KARPATHY_NOTES}, section “Attention Summary”",
    ),
    Lab(
        "positional",
        "7 · Sinusoidal positional encoding",
        f"{VASWANI}, section 3.5 “Positional Encoding”, as read in the blog post “Transformers, following "
        "Vaswani et al. 2017” (a series on the seminal LLM papers), “Building Block 3: Positional Encoding”",
    ),
    Lab(
        "dessert",
        "8 · “Life is short, eat dessert first”",
        "Sebastian Raschka, “Understanding and Coding Self-Attention” (article), section “Embedding an Input Sentence”",
    ),
    Lab(
        "bigram",
        "9 · A bigram baseline that cannot use context",
        f"{KARPATHY_NOTES}, section “Bigram”",
    ),
    Lab(
        "ladder",
        "10 · The architecture ladder: build the GPT one part at a time",
        f"{KARPATHY_NOTES}, sections “Model Training” (the bigram's loss), “Self-Attention”, “Multi-Head "
        "Attention”, “Blocks”, “Feedforward Network”, “Residual Connections”, “Layer Norm” and “Dropout”",
    ),
)


def lab_by_id(lab_id: str | None) -> Lab:
    """The lab with this URL id; the first lab for an unknown or missing id."""
    for lab in LABS:
        if lab.lab_id == lab_id:
            return lab
    return LABS[0]

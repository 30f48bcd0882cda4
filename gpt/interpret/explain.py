"""The attention walk-through as data: the ordered steps a teacher shows, and per-head summaries.

Pure Python/torch (no UI). The attention page draws ``STEPS`` one at a time; each step
names the tensor of a ``LayerTrace`` / ``AttentionSteps`` it shows, so the numbers on
screen are exactly the ones the model computed. The head table turns every head's
attention weights into the scores of ``gpt.interpret.head_scores``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gpt.interpret.head_scores import head_scores, repeated_random_tokens
from gpt.trace import LayerTrace, Trace


@dataclass(frozen=True)
class Step:
    """One stage of attention as shown on screen."""

    id: str  # name of the tensor it shows (a LayerTrace field or an AttentionSteps field)
    title: str
    latex: str  # the formula, for st.latex
    explanation: str  # one paragraph, plain words
    shape: str  # symbolic shape, e.g. "(T, d_k)"
    kind: str  # how to colour it: "values" (diverging), "scores" (diverging, −∞ greyed), "weights" (0..1)
    per_head: bool  # True: depends on the chosen head; False: the whole layer
    square: bool  # True: rows are queries and columns are keys (T x T)


STEPS: tuple[Step, ...] = (
    Step(
        "x",
        "Input X: the normalised token vectors",
        r"X = \mathrm{LayerNorm}(h_{\ell-1}) \in \mathbb{R}^{T \times C}",
        "Each row is one token of the sentence as this layer receives it: its embedding plus whatever "
        "the earlier layers added, rescaled by layer normalisation so every row has a similar size. "
        "Attention starts from these T vectors of C numbers each; everything that follows is made from them.",
        "(T, C)",
        "values",
        False,
        False,
    ),
    Step(
        "q",
        "Queries Q: what each token is looking for",
        r"Q = X W_Q \in \mathbb{R}^{T \times d_k}",
        "A learned matrix W_Q turns every token vector into a query: a short vector (d_k numbers for this "
        "head) that describes what kind of earlier token would be useful to this position. Each head has "
        "its own W_Q, so different heads can look for different things.",
        "(T, d_k)",
        "values",
        True,
        False,
    ),
    Step(
        "k",
        "Keys K: what each token offers",
        r"K = X W_K \in \mathbb{R}^{T \times d_k}",
        "A second matrix W_K makes a key for every token: a vector that advertises what the token contains. "
        "A query and a key that point in a similar direction will give a large score in the next step.",
        "(T, d_k)",
        "values",
        True,
        False,
    ),
    Step(
        "v",
        "Values V: what each token hands over",
        r"V = X W_V \in \mathbb{R}^{T \times d_k}",
        "A third matrix W_V makes a value for every token: the information that is actually passed on "
        "when another token pays attention to it. Keys decide who gets attention; values decide what is sent.",
        "(T, d_k)",
        "values",
        True,
        False,
    ),
    Step(
        "raw_scores",
        "Raw scores QKᵀ: how well each query matches each key",
        r"S = Q K^{\top} \in \mathbb{R}^{T \times T}, \quad S_{ij} = q_i \cdot k_j",
        "Every query is compared with every key by a dot product. Row i holds the scores of token i "
        "(asking) against all tokens j (answering): positive means a good match, negative a poor one. "
        "These numbers are not yet probabilities and can be large.",
        "(T, T)",
        "scores",
        True,
        True,
    ),
    Step(
        "scaled_scores",
        "Scaled scores: divide by √d_k",
        r"S' = \frac{Q K^{\top}}{\sqrt{d_k}}",
        "A dot product of two d_k-long vectors grows with d_k, and very large scores would make the softmax "
        "put almost all weight on one token and learn slowly. Dividing by the square root of d_k keeps the "
        "scores in a moderate range whatever the head size.",
        "(T, T)",
        "scores",
        True,
        True,
    ),
    Step(
        "masked_scores",
        "Causal mask: no peeking at later tokens",
        r"S''_{ij} = \begin{cases} S'_{ij} & j \le i \\ -\infty & j > i \end{cases}",
        "A GPT predicts the next token, so while reading position i it must not see positions after i. "
        "Scores above the diagonal are set to minus infinity (grey cells): after the softmax they become "
        "exactly zero, whatever their value was.",
        "(T, T)",
        "scores",
        True,
        True,
    ),
    Step(
        "attn_weights",
        "Softmax: scores become attention weights",
        r"A_{ij} = \frac{e^{S''_{ij}}}{\sum_{j'} e^{S''_{ij'}}}",
        "Each row is turned into weights between 0 and 1 that add up to 1: the share of attention token i "
        "gives to each token j. A high weight (see the colour bar) means that key matters a lot to that query; "
        "masked cells are 0.",
        "(T, T)",
        "weights",
        True,
        True,
    ),
    Step(
        "context_vec",
        "Weights × V: the context vectors",
        r"Z = A V \in \mathbb{R}^{T \times d_k}, \quad z_i = \sum_j A_{ij} v_j",
        "Each token's new vector is a weighted average of the value vectors, using its row of attention "
        "weights. A token that attends mostly to one other token ends up with (nearly) that token's value: "
        "this is how information moves between positions.",
        "(T, d_k)",
        "values",
        True,
        False,
    ),
    Step(
        "concat",
        "Concatenate the heads",
        r"\mathrm{Concat}(Z_1, \ldots, Z_h) \in \mathbb{R}^{T \times (h \cdot d_k)} = \mathbb{R}^{T \times C}",
        "Every head did the same steps with its own weights, in parallel. Their context vectors are put side "
        "by side, so each token again has C = heads × d_k numbers; the columns of the chosen head are one "
        "block of this matrix.",
        "(T, C)",
        "values",
        False,
        False,
    ),
    Step(
        "attn_out",
        "Output projection W_O",
        r"\mathrm{MultiHead}(X) = \mathrm{Concat}(Z_1, \ldots, Z_h)\, W_O + b_O",
        "A last learned matrix mixes the heads' results together and writes them back in the shape of the "
        "residual stream. This output is added to the layer's input (the residual connection) before the MLP.",
        "(T, C)",
        "values",
        False,
        False,
    ),
)

STEP_IDS: tuple[str, ...] = tuple(s.id for s in STEPS)


def clamp_index(value: object, n: int) -> int:
    """A stored index (from the URL or an older model) made valid for ``n`` choices."""
    try:
        index = int(value)
    except (TypeError, ValueError):
        return 0
    return min(max(index, 0), max(n - 1, 0))


def step_matrix(step: Step, layer: LayerTrace, head: int) -> torch.Tensor:
    """The 2-D tensor a step shows for one layer and head, exactly as the model computed it."""
    if step.id in ("x", "concat", "attn_out"):
        return getattr(layer, step.id)  # (T, C)
    if step.id in ("q", "k", "v"):
        return getattr(layer, step.id)[head]  # (T, hs)
    return getattr(layer.steps(head), step.id)  # (T, T) or (T, hs)


def shape_text(step: Step, t: int, d_k: int, c: int) -> str:
    """The symbolic shape with this model's numbers, e.g. '(T, d_k) = (9, 32)'."""
    sizes = {"T": t, "d_k": d_k, "C": c}
    dims = step.shape.strip("()").split(", ")
    return f"{step.shape} = ({', '.join(str(sizes[d]) for d in dims)})"


def column_names(step: Step, d_k: int, c: int) -> list[str]:
    """Column labels of a non-square step: feature dimensions (per head for the concatenation)."""
    if step.id == "concat":
        return [f"h{i // d_k}·{i % d_k}" for i in range(c)]
    if step.shape == "(T, d_k)":
        return [f"d{i}" for i in range(d_k)]
    return [f"c{i}" for i in range(c)]


def scale_factor(d_k: int) -> float:
    return math.sqrt(d_k)


# --- what changes downstream when a teaching switch is flipped ----------------------------------


def top_next_tokens(trace: Trace, k: int = 5) -> list[tuple[int, float]]:
    """The k most likely next tokens after the last position, with their probabilities."""
    probs = trace.next_token_probs()
    values, ids = torch.topk(probs, min(k, probs.numel()))
    return [(int(i), float(p)) for i, p in zip(ids, values)]


def weight_change(normal: Trace, changed: Trace, layer: int, head: int) -> torch.Tensor:
    """(T, T) attention weights with the switch flipped minus the normal ones."""
    return changed.layers[layer].steps(head).attn_weights - normal.layers[layer].steps(head).attn_weights


LATER_WEIGHT_TEXT = (
    "On average, each token puts {value:.2f} of its attention on tokens after it "
    "(the mean over query rows of each row's weight above the diagonal; 0 = none, as the causal mask "
    "forces; the last token has nothing after it)."
)


def upper_triangle_mass(weights: torch.Tensor) -> float:
    """The weight a query row puts on later tokens (above the diagonal), averaged over the rows: 0-1,
    and exactly 0 whenever the causal mask is on. ``weights`` is (..., T, T); leading axes are averaged too."""
    if weights.shape[-1] == 0:
        return 0.0
    per_row = torch.triu(weights.double(), diagonal=1).sum(-1)  # (..., T)
    return float(per_row.mean())


# --- every head at once ---------------------------------------------------------------------------


def all_weights(trace: Trace) -> torch.Tensor:
    """(n_layer, n_head, T, T) attention weights of every head."""
    return torch.stack([layer.attn_weights() for layer in trace.layers])


def thumbnail(weights: torch.Tensor, max_size: int) -> torch.Tensor:
    """Shrink (..., T, T) maps to at most max_size x max_size by averaging blocks (keeps the pattern)."""
    t = weights.shape[-1]
    if t <= max_size:
        return weights
    lead = weights.shape[:-2]
    pooled = F.adaptive_avg_pool2d(weights.reshape(-1, 1, t, t), max_size)
    return pooled.reshape(*lead, max_size, max_size)


def dominant_keys(weights: torch.Tensor) -> list[tuple[int, float]]:
    """For one head's (T, T) weights: per query, the key it attends to most and that weight."""
    values, keys = weights.max(dim=-1)
    return [(int(k), float(v)) for k, v in zip(keys, values)]


def head_table(trace: Trace, token_texts: list[str], period: int | None = None) -> list[dict[str, object]]:
    """One record per (layer, head): entropy, head-type scores and the key attended to most.

    ``period``: the input repeats with this period (the induction test sequence); only then is the
    induction score meaningful and included.
    """
    weights = all_weights(trace)  # (L, nh, T, T)
    scores = head_scores(weights, period)
    key_share = weights.mean(dim=-2)  # (L, nh, T): average weight each key receives
    top_share, top_key = key_share.max(dim=-1)
    rows: list[dict[str, object]] = []
    for layer in range(weights.shape[0]):
        for head in range(weights.shape[1]):
            key = int(top_key[layer, head])
            row: dict[str, object] = {
                "layer": layer,
                "head": head,
                "entropy": float(scores["entropy"][layer, head]),
                "previous_token": float(scores["previous_token"][layer, head]),
                "first_token": float(scores["first_token"][layer, head]),
                "self": float(scores["self"][layer, head]),
            }
            if period:
                row["induction"] = float(scores["induction"][layer, head])
            row["top_key"] = f"{key}: {token_texts[key]}"
            row["top_key_share"] = float(top_share[layer, head])
            rows.append(row)
    return rows


def induction_sequence(vocab_size: int, block_size: int, seed: int = 0, max_period: int = 25) -> tuple[list[int], int]:
    """A random block of tokens shown twice, fitting the context; returns (token ids, period)."""
    period = max(1, min(max_period, block_size // 2))
    return repeated_random_tokens(vocab_size, period, repeats=2, seed=seed), period

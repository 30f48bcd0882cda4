"""The logit lens: what the model would predict if it stopped at each point of the residual stream.

Every point (after the embeddings, after each layer's attention, after each block) goes through the
final LayerNorm and the unembedding, exactly as the last one does; the last point *is* the model's
output. Only the top k tokens of each cell are kept, and the cells are scored in chunks, so GPT-2's
50,257-token vocabulary never needs rows x positions x vocab numbers at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gpt.config import GPTConfig
from gpt.model import GPT
from gpt.trace import Trace

POINTS = ("every", "blocks")  # every point of the residual stream, or only after each block
LENS_TOP_K = 10
LENS_CHUNK_BYTES = 32 * 1024 * 1024  # float32 logits of one chunk of cells, the largest thing the lens holds
# Above this many multiply-adds the grid shows only the points after each block by default
# (GPT-2 at 64 tokens: 25 points would take 62 G, the 13 after each block 32 G).
EVERY_POINT_MAX_MACS = 20e9


def point_names(n_layer: int, points: str = "every") -> list[str]:
    """Row names of the lens, top to bottom: the embeddings, then per layer (after attention and) after the block."""
    if points not in POINTS:
        raise ValueError(f"points is one of {', '.join(POINTS)}, got {points!r}")
    names = ["embeddings"]
    for layer in range(n_layer):
        if points == "every":
            names.append(f"layer {layer} after attention")
        names.append(f"layer {layer} after the block")
    return names


def residual_points(trace: Trace, points: str = "every") -> torch.Tensor:
    """(P, T, C) the residual stream at each point named by ``point_names``."""
    point_names(len(trace.layers), points)  # checks ``points``
    stream = [trace.embeddings]
    for layer in trace.layers:
        if points == "every":
            stream.append(layer.resid_mid)  # resid_in + attention's output
        stream.append(layer.resid_out)  # ... + the MLP's output
    return torch.stack(stream)


def default_points(config: GPTConfig, n_tokens: int) -> str:
    """``every`` point when the whole grid is cheap to score, else only the points after each block."""
    macs = (2 * config.n_layer + 1) * n_tokens * config.n_embd * config.vocab_size
    return "every" if macs <= EVERY_POINT_MAX_MACS else "blocks"


@dataclass(frozen=True)
class LogitLens:
    """The top k next tokens at every (point, position) cell. Shapes (P, T, k)."""

    names: list[str]  # one per point, as ``point_names``
    top_ids: torch.Tensor  # (P, T, k) token ids, most likely first
    top_probs: torch.Tensor  # (P, T, k) their probabilities (softmax over the whole vocabulary)

    @property
    def shape(self) -> tuple[int, int]:
        """(points, positions)."""
        return self.top_ids.shape[0], self.top_ids.shape[1]


def chunk_cells(vocab_size: int, chunk_bytes: int = LENS_CHUNK_BYTES) -> int:
    """How many cells are scored at once: their vocab-wide float32 logits fit in ``chunk_bytes``."""
    return max(1, chunk_bytes // (4 * vocab_size))


def log_sum_exp_(logits: torch.Tensor) -> torch.Tensor:
    """(n, 1) log-sum-exp of each row of ``logits``, overwriting ``logits`` (no second vocab-wide copy:
    ``torch.logsumexp`` keeps two, which tripled the lens's peak memory for GPT-2)."""
    peak = logits.max(dim=-1, keepdim=True).values  # subtracted first so exp never overflows
    return logits.sub_(peak).exp_().sum(dim=-1, keepdim=True).log_() + peak


@torch.no_grad()
def logit_lens(
    model: GPT, trace: Trace, k: int = LENS_TOP_K, points: str = "every", chunk_bytes: int = LENS_CHUNK_BYTES
) -> LogitLens:
    """Apply ln_f and the unembedding to every point of ``trace``'s residual stream; keep each cell's top ``k``.

    The probabilities are exact: each chunk's logits are normalised by their own log-sum-exp over
    the whole vocabulary before only the top k are kept. Peak memory: one chunk of logits.
    """
    stream = residual_points(trace, points)  # (P, T, C)
    n_points, n_tokens, n_embd = stream.shape
    unembed = model.lm_head.weight  # (vocab, C)
    k = max(1, min(k, unembed.shape[0]))
    cells = stream.reshape(-1, n_embd)  # (P*T, C)
    top_ids = torch.empty(cells.shape[0], k, dtype=torch.long)
    top_probs = torch.empty(cells.shape[0], k)
    step = chunk_cells(unembed.shape[0], chunk_bytes)
    for start in range(0, cells.shape[0], step):
        logits = model.ln_f(cells[start : start + step]) @ unembed.T  # (n, vocab): the model's own head
        values, ids = torch.topk(logits, k, dim=-1)  # (n, k)
        top_ids[start : start + step] = ids
        top_probs[start : start + step] = torch.exp(values - log_sum_exp_(logits))
        del logits
    shape = (n_points, n_tokens, k)
    return LogitLens(point_names(len(trace.layers), points), top_ids.view(shape), top_probs.view(shape))

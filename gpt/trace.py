"""What one inspection call records: a plain value object, owned by the caller."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import torch

from gpt.attention import AttentionSteps, attention_steps
from gpt.config import GPTConfig

# Per layer a trace keeps X, Q/K/V (one storage), context, concat, attn_out, resid_mid and
# resid_out: 9 rows of C numbers per token (resid_in is the previous layer's resid_out).
_ROWS_PER_LAYER = 9
# Outside the layers: tok_emb, embeddings, the first block's input and ln_f's output.
_ROWS_OUTSIDE = 4


def tensor_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes of the distinct storages behind ``tensors``: a view keeps its whole storage alive."""
    storages = {}
    for tensor in tensors:
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())


def _tensor_fields(record: object) -> list[torch.Tensor]:
    return [value for f in fields(record) if isinstance(value := getattr(record, f.name), torch.Tensor)]


def estimate_trace_bytes(cfg: GPTConfig, n_tokens: int, element_size: int = 4) -> int:
    """What ``GPT.trace`` of ``n_tokens`` tokens will hold, before running it (never less than ``Trace.nbytes``).

    The position vectors are counted for the whole context: sinusoids are a view of the
    model's (block_size, C) table. Nothing grows with T x T: attention matrices are recomputed.
    """
    rows = (_ROWS_PER_LAYER * cfg.n_layer + _ROWS_OUTSIDE) * n_tokens + cfg.block_size
    return rows * cfg.n_embd * element_size


ABLATIONS = ("mean", "zero")  # what a knocked-out head's output is replaced by; the first is the default


@dataclass(frozen=True)
class Knockout:
    """Heads whose output is replaced on the inspection path (a causal experiment: what if this head were gone?).

    A knocked-out head still computes its attention; its context vector z (what it hands to W_O) is
    replaced, at every position, by zeros ("zero") or by its own mean over the positions of this
    input ("mean", the usual choice: it removes what the head says about *this* token while keeping
    the average signal later layers are used to). With the causal mask on, position t gets the mean
    over positions 0..t, so no later token leaks into an earlier prediction; at the last position
    that is the mean over the whole input.
    """

    heads: tuple[tuple[int, int], ...] = ()  # (layer, head) pairs; stored sorted and without repeats
    kind: str = ABLATIONS[0]

    def __post_init__(self) -> None:
        if self.kind not in ABLATIONS:
            raise ValueError(f"an ablation is one of {', '.join(ABLATIONS)}, got {self.kind!r}")
        pairs = sorted({(int(layer), int(head)) for layer, head in self.heads})
        object.__setattr__(self, "heads", tuple(pairs))  # one spelling per set of heads: one cache entry

    def heads_in(self, layer: int) -> tuple[int, ...]:
        """The knocked-out heads of one layer."""
        return tuple(head for at, head in self.heads if at == layer)

    def check(self, n_layer: int, n_head: int) -> None:
        """Refuse a head the model does not have, with the model's range in the message."""
        for layer, head in self.heads:
            if not (0 <= layer < n_layer and 0 <= head < n_head):
                raise ValueError(
                    f"layer {layer} head {head} does not exist: this model has layers 0..{n_layer - 1} "
                    f"and heads 0..{n_head - 1}"
                )


@dataclass(frozen=True)
class TraceOptions:
    """Teaching switches, applied only on the inspection path."""

    scale: bool = True  # divide scores by sqrt(d_k); off shows why the scaling matters
    causal: bool = True  # hide future tokens; off lets every token see the whole sentence
    knockout: Knockout = Knockout()  # heads whose output is replaced (none by default)

    def __post_init__(self) -> None:
        if not self.knockout.heads and self.knockout != Knockout():  # no heads: the kind changes nothing
            object.__setattr__(self, "knockout", Knockout())


@dataclass(frozen=True)
class AttentionRecord:
    """What one attention layer computed, step by step, for a batch. Shapes: (B, nh, T, hs) or (B, T, C)."""

    q: torch.Tensor  # (B, nh, T, hs) queries, keys and values, split into heads
    k: torch.Tensor
    v: torch.Tensor
    context_vec: torch.Tensor  # (B, nh, T, hs) attention weights @ V per head (knocked-out heads replaced)
    concat: torch.Tensor  # (B, T, C) heads side by side
    attn_out: torch.Tensor  # (B, T, C) concat @ W_o + b_o


@dataclass(frozen=True)
class LayerTrace:
    """One block's attention for a single sequence. Shapes: (T, C) or (nh, T, hs)."""

    resid_in: torch.Tensor  # (T, C) residual stream entering the block
    x: torch.Tensor  # (T, C) ln_1(resid_in): the X that Q, K and V are made from
    q: torch.Tensor  # (nh, T, hs)
    k: torch.Tensor  # (nh, T, hs)
    v: torch.Tensor  # (nh, T, hs)
    context_vec: torch.Tensor  # (nh, T, hs) attention weights @ V per head: what each head hands to W_o
    concat: torch.Tensor  # (T, C) heads side by side
    attn_out: torch.Tensor  # (T, C) concat @ W_o + b_o
    resid_mid: torch.Tensor  # (T, C) resid_in + attn_out (attn_out alone in a model without residual connections)
    resid_out: torch.Tensor  # (T, C) after the MLP's residual add (resid_mid itself in a block without an MLP)
    options: TraceOptions
    knocked_out: tuple[int, ...] = ()  # heads whose context_vec was replaced (``steps`` still shows what they computed)

    @property
    def n_head(self) -> int:
        return self.q.shape[0]

    def tensors(self) -> list[torch.Tensor]:
        """Every tensor this layer keeps (views included: ``tensor_bytes`` counts shared storage once)."""
        return _tensor_fields(self)

    @property
    def nbytes(self) -> int:
        return tensor_bytes(self.tensors())

    def steps(self, head: int | None = None) -> AttentionSteps:
        """All attention steps for one head (T x T matrices) or for every head (nh x T x T)."""
        if head is None:
            return attention_steps(self.q, self.k, self.v, scale=self.options.scale, causal=self.options.causal)
        if not 0 <= head < self.n_head:
            raise IndexError(f"head {head} does not exist; this layer has heads 0..{self.n_head - 1}")
        return attention_steps(
            self.q[head], self.k[head], self.v[head], scale=self.options.scale, causal=self.options.causal
        )

    def attn_weights(self) -> torch.Tensor:
        """(nh, T, T) softmax weights of every head."""
        return self.steps().attn_weights


@dataclass(frozen=True)
class Trace:
    """Everything the model computed for one sequence, from token ids to logits."""

    token_ids: list[int]
    tok_emb: torch.Tensor  # (T, C) rows of the token embedding matrix
    pos_emb: torch.Tensor  # (T, C) position vectors (learned or sinusoidal)
    embeddings: torch.Tensor  # (T, C) their sum: the input to the first block
    layers: list[LayerTrace]
    final_norm: torch.Tensor  # (T, C) ln_f of the last residual stream
    lm_head_weight: torch.Tensor  # (vocab, C) the model's output matrix (shared, not a copy)
    options: TraceOptions

    @property
    def n_tokens(self) -> int:
        return len(self.token_ids)

    def tensors(self) -> list[torch.Tensor]:
        """Every tensor the trace itself holds; the output matrix belongs to the model, not to the trace."""
        own = [t for t in _tensor_fields(self) if t is not self.lm_head_weight]
        return own + [t for layer in self.layers for t in layer.tensors()]

    @property
    def nbytes(self) -> int:
        """Bytes of memory this trace keeps alive (what a cache of traces must account for)."""
        return tensor_bytes(self.tensors())

    @property
    def logits(self) -> torch.Tensor:
        """(T, vocab) next-token scores at every position, computed on each use and never stored.

        T x vocab floats are the biggest product of a long trace (206 MB for GPT-2 at 1,024
        tokens) and cheap to recompute; most views need one position only (``logits_at``).
        """
        with torch.no_grad():
            return self.final_norm @ self.lm_head_weight.T

    def logits_at(self, position: int = -1) -> torch.Tensor:
        """(vocab,) next-token scores after the token at ``position`` (the last by default)."""
        with torch.no_grad():
            return self.final_norm[position] @ self.lm_head_weight.T

    def next_token_probs(self, position: int = -1) -> torch.Tensor:
        """(vocab,) softmax of the logits at one position (the last by default)."""
        return torch.softmax(self.logits_at(position).float(), dim=-1)

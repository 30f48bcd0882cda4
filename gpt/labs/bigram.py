"""Lab 9: a character bigram model, the baseline attention has to beat.

A bigram model keeps one row of next-character logits per current character: nothing before
the current character can change its prediction. Training on every (current, next) pair of the
corpus only depends on how often each pair occurs, so we train on the (V, V) count table with
full-batch Adam: the same objective as minibatch training on all pairs, done in a fraction of
a second. The best any bigram can do is the count-based estimate, which we report alongside.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from gpt.tokenizers import CharTokenizer


def pair_counts(ids: Sequence[int] | torch.Tensor, vocab_size: int) -> torch.Tensor:
    """(V, V) counts[a, b] = how often character b follows character a."""
    t = torch.as_tensor(ids, dtype=torch.long)
    flat = t[:-1] * vocab_size + t[1:]
    return torch.bincount(flat, minlength=vocab_size * vocab_size).reshape(vocab_size, vocab_size).double()


def counts_loss(logits: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over all pairs, computed from the count table."""
    log_probs = torch.log_softmax(logits, dim=-1)
    return -(counts * log_probs).sum() / counts.sum()


@dataclass(frozen=True)
class BigramModel:
    chars: tuple[str, ...]  # id -> character
    logits: torch.Tensor  # (V, V) row = current char, column = next char
    loss_curve: tuple[float, ...]  # training loss after each step
    train_loss: float
    val_loss: float
    best_train_loss: float  # count-based optimum on the training pairs (lower bound for any bigram)
    initial_loss: float  # ln V: a uniform guess

    @property
    def vocab_size(self) -> int:
        return len(self.chars)


def train_bigram(text: str, *, steps: int = 200, lr: float = 0.2, val_fraction: float = 0.1) -> BigramModel:
    """Train the (V, V) logit table with Adam on the first (1 - val_fraction) of ``text``.

    The gradient of the mean cross-entropy has a closed form, (row_total * softmax(logits) - counts) / N,
    so the loop is a few NumPy operations per step: thread-pool overhead of tiny autograd ops made the
    same loop 50x slower on a busy 2-core machine.
    """
    if len(set(text)) < 2 or len(text) < 20:
        raise ValueError("the corpus needs at least 20 characters and 2 distinct ones")
    if steps < 1 or lr <= 0:
        raise ValueError("need at least one step and a positive learning rate")
    tok = CharTokenizer.from_corpus(text)
    vocab = tok.vocab_size
    ids = torch.tensor(tok.encode(text), dtype=torch.long)
    split = int(len(ids) * (1 - val_fraction))
    train_counts, val_counts = pair_counts(ids[:split], vocab), pair_counts(ids[split - 1 :], vocab)
    counts = train_counts.numpy()
    row_totals = counts.sum(axis=1, keepdims=True)  # (V, 1) how often each char is the current one
    n_pairs = counts.sum()
    logits = np.zeros((vocab, vocab))
    m, v = np.zeros_like(logits), np.zeros_like(logits)  # Adam moments
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    curve = []
    for step in range(1, steps + 1):
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        curve.append(float(-(counts * log_probs).sum() / n_pairs))  # loss before this update
        grad = (row_totals * np.exp(log_probs) - counts) / n_pairs
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad * grad
        logits -= lr * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + eps)
    trained = torch.from_numpy(logits)
    row_probs = train_counts / train_counts.sum(dim=-1, keepdim=True).clamp_min(1)
    best = -(train_counts * torch.log(row_probs.clamp_min(1e-300))).sum() / train_counts.sum()
    return BigramModel(
        chars=tuple(tok.token_text(i) for i in range(vocab)),
        logits=trained,
        loss_curve=tuple(curve),
        train_loss=float(counts_loss(trained, train_counts)),
        val_loss=float(counts_loss(trained, val_counts)),
        best_train_loss=float(best),
        initial_loss=math.log(vocab),
    )


def next_char_probs(model: BigramModel, char: str) -> torch.Tensor:
    """(V,) distribution of the next character given only the current one."""
    if char not in model.chars:
        raise ValueError(f"{char!r} is not in the corpus alphabet")
    return torch.softmax(model.logits[model.chars.index(char)], dim=-1)


def sample(model: BigramModel, start: str, n_chars: int, seed: int = 0) -> str:
    """Generate ``n_chars`` characters after ``start`` (its last character is all the model uses)."""
    if not start or any(c not in model.chars for c in start):
        raise ValueError("the start text must use characters of the corpus")
    gen = torch.Generator().manual_seed(seed)
    probs = torch.softmax(model.logits, dim=-1)  # (V, V)
    current = model.chars.index(start[-1])
    out = []
    for _ in range(n_chars):
        current = int(torch.multinomial(probs[current], 1, generator=gen))
        out.append(model.chars[current])
    return start + "".join(out)


def same_prediction(model: BigramModel, context_a: str, context_b: str) -> bool:
    """True when two contexts end in the same character: a bigram cannot tell them apart."""
    return bool(torch.equal(next_char_probs(model, context_a[-1]), next_char_probs(model, context_b[-1])))

"""GPT-2 written from scratch in plain PyTorch, with an inspection path for teaching.

Two paths through attention, one model:
- training (``model(idx)``): PyTorch's fused scaled_dot_product_attention;
- inspection (``model.trace(ids)``): the literal steps of ``gpt.attention.attention_steps``,
  recorded into a ``Trace`` that belongs to that one call (never stored on the model,
  so one cached model can serve many browser sessions at once); the what-if switches and head
  knockouts of ``TraceOptions`` exist on this path only;
- generation (``model.forward_cached(idx, cache)``): the fast path's maths on the new tokens
  only, with every earlier token's keys and values kept in a ``KVCache`` owned by the caller.

The config's switches (``mlp``, ``residual``, ``layernorm``, ``pos_encoding="none"``, ``n_layer=0``)
take parts away for the architecture ladder; all three paths honour every one of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from gpt.attention import attention_steps
from gpt.config import GPTConfig
from gpt.trace import AttentionRecord, Knockout, LayerTrace, Trace, TraceOptions


def sinusoidal_positions(n_positions: int, n_embd: int) -> torch.Tensor:
    """The original Transformer's encoding: PE[pos, 2i] = sin(pos / 10000^(2i/d)), cos for 2i+1."""
    position = torch.arange(n_positions, dtype=torch.float32).unsqueeze(1)  # (T, 1)
    div_term = torch.exp(torch.arange(0, n_embd, 2, dtype=torch.float32) * (-math.log(10000.0) / n_embd))
    pe = torch.zeros(n_positions, n_embd)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe


def knock_out(context_vec: torch.Tensor, heads: Sequence[int], kind: str, causal: bool = True) -> torch.Tensor:
    """(B, nh, T, hs) context vectors with ``heads`` replaced: by zeros, or by their mean over positions.

    The mean at position t covers positions 0..t when ``causal`` (a running mean: nothing from a later
    token reaches an earlier one), every position otherwise. A copy: the head's own result stays as it was.
    """
    if not heads:
        return context_vec
    out = context_vec.clone()
    picked = list(heads)
    if kind == "zero":
        out[:, picked] = 0.0
    elif causal:
        z = context_vec[:, picked]  # (B, k, T, hs)
        seen = torch.arange(1, z.shape[2] + 1, dtype=z.dtype, device=z.device).view(1, 1, -1, 1)
        out[:, picked] = z.cumsum(dim=2) / seen
    else:
        out[:, picked] = context_vec[:, picked].mean(dim=2, keepdim=True)
    return out


@dataclass
class KVCache:
    """Keys and values of every layer for the first ``length`` positions of one batch.

    Preallocated for the whole context, so a generation step writes one row per layer instead
    of copying everything seen so far. Belongs to one generation call, never to the model.
    """

    keys: list[torch.Tensor]  # per layer (B, nh, block_size, hs)
    values: list[torch.Tensor]
    capacity: int  # positions it has room for (kept apart: a model without blocks caches no tensor)
    length: int = 0  # positions filled so far


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.n_head = cfg.n_head
        self.n_embd = cfg.n_embd
        self.dropout = cfg.dropout
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)  # W_q, W_k, W_v side by side
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)  # output projection W_o
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def split_heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """X (B, T, C) -> Q, K, V each (B, nh, T, hs)."""
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        shape = (B, T, self.n_head, C // self.n_head)
        q, k, v = (t.view(shape).transpose(1, 2) for t in (q, k, v))
        return q, k, v

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.split_heads(x)
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True
        )  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # concatenate heads
        return self.resid_dropout(self.c_proj(y))

    def forward_cached(self, x: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, start: int) -> torch.Tensor:
        """``forward`` for tokens at positions start.. of a sequence whose earlier K/V are in ``keys``/``values``.

        The new keys and values are written into the caches (rows start..start+T) in place.
        """
        B, T, C = x.shape
        q, k, v = self.split_heads(x)
        end = start + T
        keys[:, :, start:end] = k
        values[:, :, start:end] = v
        mask = None
        if start > 0 and T > 1:  # new token i sees every cached position and new tokens up to i
            mask = torch.ones(T, end, dtype=torch.bool, device=x.device).tril(diagonal=start)
        y = F.scaled_dot_product_attention(
            q,
            keys[:, :, :end],
            values[:, :, :end],
            attn_mask=mask,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=start == 0 and T > 1,  # a fresh cache: exactly ``forward``'s causal attention
        )
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))

    def forward_traced(
        self, x: torch.Tensor, options: TraceOptions, knocked_out: Sequence[int] = ()
    ) -> AttentionRecord:
        """The same attention as ``forward``, step by step, returning what a trace keeps.

        ``knocked_out`` heads hand W_o a replacement instead of their context vector (``knock_out``).
        """
        B, T, C = x.shape
        q, k, v = self.split_heads(x)
        steps = attention_steps(q, k, v, scale=options.scale, causal=options.causal)
        context_vec = knock_out(steps.context_vec, knocked_out, options.knockout.kind, options.causal)
        concat = context_vec.transpose(1, 2).contiguous().view(B, T, C)
        attn_out = self.c_proj(concat)
        return AttentionRecord(q=q, k=k, v=v, context_vec=context_vec, concat=concat, attn_out=attn_out)


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.gelu = nn.GELU(approximate="tanh")  # GPT-2's GELU
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


def layer_norm(cfg: GPTConfig) -> nn.Module:
    """A LayerNorm, or the identity when the config switches LayerNorm off (no parameters then)."""
    return nn.LayerNorm(cfg.n_embd, bias=cfg.bias) if cfg.layernorm else nn.Identity()


class Block(nn.Module):
    """Pre-LayerNorm transformer block: x + attn(ln(x)), then x + mlp(ln(x)).

    The config can take parts away (the architecture ladder): without ``mlp`` there is no ln_2 and
    no MLP; without ``residual`` each sublayer's output replaces x instead of being added to it;
    without ``layernorm`` ln_1 and ln_2 are the identity.
    """

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.residual = cfg.residual
        self.ln_1 = layer_norm(cfg)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = layer_norm(cfg) if cfg.mlp else None
        self.mlp = MLP(cfg) if cfg.mlp else None

    def add(self, x: torch.Tensor, sublayer_out: torch.Tensor) -> torch.Tensor:
        """The skip connection x + sublayer(x), or the sublayer's output alone without residuals."""
        return x + sublayer_out if self.residual else sublayer_out

    def feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The MLP half of the block (nothing to do in a block without an MLP)."""
        if self.mlp is None or self.ln_2 is None:
            return x
        return self.add(x, self.mlp(self.ln_2(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.feed_forward(self.add(x, self.attn(self.ln_1(x))))

    def forward_cached(self, x: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, start: int) -> torch.Tensor:
        return self.feed_forward(self.add(x, self.attn.forward_cached(self.ln_1(x), keys, values, start)))

    def forward_traced(
        self, resid_in: torch.Tensor, options: TraceOptions, knocked_out: Sequence[int] = ()
    ) -> LayerTrace:
        """The block on one sequence (a batch of 1, (1, T, C)), recording every intermediate."""
        x = self.ln_1(resid_in)
        attn = self.attn.forward_traced(x, options, knocked_out)
        resid_mid = self.add(resid_in, attn.attn_out)
        resid_out = self.feed_forward(resid_mid)
        return LayerTrace(
            resid_in=resid_in[0],
            x=x[0],
            q=attn.q[0],
            k=attn.k[0],
            v=attn.v[0],
            context_vec=attn.context_vec[0],
            concat=attn.concat[0],
            attn_out=attn.attn_out[0],
            resid_mid=resid_mid[0],
            resid_out=resid_out[0],
            options=options,
            knocked_out=tuple(knocked_out),
        )


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)  # token embeddings
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd) if cfg.pos_encoding == "learned" else None  # GPT-2
        if self.wpe is None:  # fixed vectors: sinusoids, or zeros for "none" (adding them changes nothing)
            fixed = sinusoidal_positions(cfg.block_size, cfg.n_embd) if cfg.pos_encoding == "sinusoidal" else None
            fixed = torch.zeros(cfg.block_size, cfg.n_embd) if fixed is None else fixed
            self.register_buffer("fixed_positions", fixed, persistent=False)
        self.drop = nn.Dropout(cfg.dropout)
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = layer_norm(cfg)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.wte.weight  # weight tying, as GPT-2
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):  # GPT-2: scale residual projections by depth
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding: bool = False) -> int:
        n = sum(p.numel() for p in self.parameters())
        if non_embedding and self.wpe is not None:
            n -= self.wpe.weight.numel()
        return n

    def position_embeddings(self, t: int, device: torch.device, start: int = 0) -> torch.Tensor:
        """(T, C) vectors of positions start..start+t-1: learned rows for GPT-2, fixed sinusoids, or zeros
        for a model without position vectors."""
        if self.wpe is not None:
            return self.wpe(torch.arange(start, start + t, device=device))
        return self.fixed_positions[start : start + t]

    def _check_length(self, t: int) -> None:
        if t == 0:
            raise ValueError("cannot run the model on an empty sequence of tokens")
        if t > self.config.block_size:
            raise ValueError(f"sequence of {t} tokens is longer than the model's context ({self.config.block_size})")

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """idx (B, T) token ids -> logits (B, T, vocab), and the cross-entropy loss if targets given."""
        B, T = idx.shape
        self._check_length(T)
        logits = self.lm_head(self.final_hidden(self.wte(idx)))  # (B, T, vocab)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    def final_hidden(self, tok_emb: torch.Tensor) -> torch.Tensor:
        """(B, T, C) token embeddings -> (B, T, C) ln_f of the last residual stream (the fast path).

        ``lm_head`` of it gives the logits; a gradient can flow back to ``tok_emb`` (gradient x input),
        and a caller that needs one position's scores multiplies that row alone (T x vocab is large).
        """
        T = tok_emb.shape[1]
        x = self.drop(tok_emb + self.position_embeddings(T, tok_emb.device))  # (B, T, C)
        for block in self.h:
            x = block(x)
        return self.ln_f(x)

    def new_kv_cache(self, batch: int = 1, capacity: int | None = None) -> KVCache:
        """An empty cache for ``capacity`` positions (the whole context by default): 2 x layers x C numbers each."""
        cfg, weight = self.config, self.wte.weight
        positions = cfg.block_size if capacity is None else max(1, min(capacity, cfg.block_size))
        shape = (batch, cfg.n_head, positions, cfg.n_embd // cfg.n_head)
        empty = [torch.empty(shape, dtype=weight.dtype, device=weight.device) for _ in range(2 * cfg.n_layer)]
        return KVCache(empty[: cfg.n_layer], empty[cfg.n_layer :], positions)

    @torch.no_grad()
    def forward_cached(self, idx: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """idx (B, T) tokens that follow the ``cache.length`` cached ones -> (B, vocab) logits after the last.

        The same maths as ``forward`` on the whole sequence, but only the new tokens are computed:
        each layer appends their keys and values to ``cache``, which then covers them too.
        """
        B, T = idx.shape
        start = cache.length
        if T == 0:
            raise ValueError("forward_cached needs at least one new token")
        if start + T > cache.capacity:
            raise ValueError(f"{start + T} tokens do not fit in this KV cache ({cache.capacity} positions)")
        x = self.drop(self.wte(idx) + self.position_embeddings(T, idx.device, start))
        for block, keys, values in zip(self.h, cache.keys, cache.values):
            x = block.forward_cached(x, keys, values, start)
        cache.length = start + T
        return self.lm_head(self.ln_f(x[:, -1]))  # (B, vocab): the last position only

    @torch.no_grad()
    def trace(
        self,
        token_ids: Sequence[int] | torch.Tensor,
        options: TraceOptions | None = None,
        reuse: Trace | None = None,
    ) -> Trace:
        """Run one sequence through the model step by step and return everything it computed.

        Dropout is never applied here (inspection shows the deterministic model). The
        per-head T x T matrices are not stored: ``LayerTrace.steps`` recomputes them on
        demand from the stored Q, K, V with the same function, so a long input does not
        materialise layers x heads x T x T numbers unless a page asks for them.

        ``reuse``: a trace of the same tokens with the same switches and no knockout; the layers
        before the first knocked-out head cannot change, so they are taken from it (ranking every
        head by its knockout effect then costs about half the layers per head).
        """
        options = options or TraceOptions()
        options.knockout.check(self.config.n_layer, self.config.n_head)
        device = self.wte.weight.device
        idx = torch.as_tensor(list(token_ids) if not torch.is_tensor(token_ids) else token_ids, device=device)
        idx = idx.view(1, -1).long()
        T = idx.shape[1]
        self._check_length(T)
        start = self._reusable_layers(idx[0].tolist(), options, reuse)
        if start > 0:
            assert reuse is not None
            tok_emb, pos_emb, layers = reuse.tok_emb[None], reuse.pos_emb[None], reuse.layers[:start]
        else:
            tok_emb = self.wte(idx)  # (1, T, C)
            pos_emb = self.position_embeddings(T, device).unsqueeze(0)  # (1, T, C)
            layers = []
        x = layers[-1].resid_out.unsqueeze(0) if layers else tok_emb + pos_emb
        for i in range(start, len(self.h)):
            layer = self.h[i].forward_traced(x, options, options.knockout.heads_in(i))
            layers.append(layer)
            x = layer.resid_out.unsqueeze(0)
        return Trace(
            token_ids=idx[0].tolist(),
            tok_emb=tok_emb[0],
            pos_emb=pos_emb[0],
            embeddings=(tok_emb + pos_emb)[0],
            layers=layers,
            final_norm=self.ln_f(x)[0],
            lm_head_weight=self.lm_head.weight,
            options=options,
        )

    def _reusable_layers(self, token_ids: list[int], options: TraceOptions, reuse: Trace | None) -> int:
        """How many leading layers of ``reuse`` a trace with ``options`` would compute identically."""
        if reuse is None:
            return 0
        same_switches = (reuse.options.scale, reuse.options.causal) == (options.scale, options.causal)
        if reuse.token_ids != token_ids or not same_switches or reuse.options.knockout != Knockout():
            raise ValueError("reuse needs a trace of the same tokens, with the same switches and no knockout")
        first = min((layer for layer, _ in options.knockout.heads), default=len(self.h))
        return min(first, len(reuse.layers))

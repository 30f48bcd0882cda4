"""The tree of what the model could have written: at each step the k most likely tokens of the
distribution it would draw from (after temperature, top-k and top-p), a few steps deep.

A node's ``prob`` is its probability in its parent's filtered distribution, its ``path_prob`` the
product of the probabilities along the way from the prompt: the chance that sampling with these
settings writes exactly this branch. Leaves need no model call (their probability comes from their
parent's distribution), so a tree of depth d and width k costs 1 + k + ... + k^(d-1) calls.

The tree is grown depth first over one KV cache that remembers the token ids its rows were
computed from: a child reuses every row of its parent's prefix and computes one new token, and
going back up a branch only shortens the cache (``KVCache.length``). Nothing here samples; the
seed only decides the continuation drawn after a chosen branch (``generate(..., forced=...)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch

from gpt.generate import SamplingSettings, next_token_probs
from gpt.model import GPT

MAX_TREE_DEPTH = 4  # tokens ahead; deeper trees stop being readable on one screen
MAX_TREE_WIDTH = 5  # alternatives per step
# The node budget: every node is drawn and (above the leaves) costs a model call. 160 allows depth 4
# at width 3 (120 nodes) and depth 3 at width 5 (155) but not depth 4 at width 4 (340).
MAX_TREE_NODES = 160


class BranchError(ValueError):
    """A branch that is not in the tree, or text that does not name a branch (e.g. from a hand-edited link)."""


@dataclass(frozen=True)
class TreeNode:
    token_id: int
    prob: float  # probability in the parent's filtered distribution
    path_prob: float  # product of ``prob`` from the first step down to this node
    path: tuple[int, ...]  # child indices from the root (0 = the most likely alternative)
    children: tuple[TreeNode, ...] = ()

    @property
    def depth(self) -> int:
        return len(self.path)


@dataclass(frozen=True)
class SamplingTree:
    """The alternatives after ``prompt_ids``: ``children`` are the first step's top-k."""

    prompt_ids: tuple[int, ...]
    settings: SamplingSettings
    depth: int
    width: int
    children: tuple[TreeNode, ...]

    def nodes(self) -> Iterator[TreeNode]:
        """Every node, depth first, each before its children."""
        stack = list(reversed(self.children))
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def node(self, path: Sequence[int]) -> TreeNode:
        """The node at ``path`` (0-based child indices); BranchError when the tree has no such branch."""
        if not path:
            raise BranchError("an empty branch is the prompt itself, not a node of the tree")
        children, node = self.children, None
        for depth, index in enumerate(path):
            if not 0 <= index < len(children):
                raise BranchError(
                    f"branch {branch_text(path)} does not exist: step {depth + 1} of this tree has "
                    f"{len(children)} alternative(s) there (depth {self.depth}, width {self.width})"
                )
            node = children[index]
            children = node.children
        assert node is not None
        return node

    def tokens(self, path: Sequence[int]) -> list[int]:
        """The token ids along ``path`` (empty for the empty path)."""
        return [self.node(path[: i + 1]).token_id for i in range(len(path))]

    def greedy_path(self) -> tuple[int, ...]:
        """Always the most likely token: child 0 at every step (argmax survives temperature and cut-offs)."""
        path: tuple[int, ...] = ()
        children = self.children
        while children:
            path += (0,)
            children = children[0].children
        return path

    def follow(self, token_ids: Sequence[int]) -> tuple[int, ...]:
        """How far ``token_ids`` (e.g. a sampled text's first tokens) run along the tree, as a path."""
        path: tuple[int, ...] = ()
        children = self.children
        for token in token_ids:
            ids = [child.token_id for child in children]
            if token not in ids:
                break
            index = ids.index(token)
            path += (index,)
            children = children[index].children
        return path


def branch_text(path: Sequence[int]) -> str:
    """A path as people and links write it: 1-based ranks joined by dots ("1.3": best, then third)."""
    return ".".join(str(i + 1) for i in path)


def parse_branch(text: str) -> tuple[int, ...]:
    """``branch_text``'s inverse; "" is the prompt. BranchError names what is wrong with anything else."""
    text = text.strip()
    if not text:
        return ()
    parts = text.split(".")
    if len(parts) > MAX_TREE_DEPTH or not all(p.isdigit() and p.isascii() and int(p) >= 1 for p in parts):
        raise BranchError(f"a branch is written as up to {MAX_TREE_DEPTH} ranks from 1, joined by dots (like 1.3.2)")
    return tuple(int(p) - 1 for p in parts)


def tree_size(depth: int, width: int) -> tuple[int, int]:
    """(most nodes, most model calls) of a full tree: width + ... + width^depth, 1 + ... + width^(depth-1)."""
    nodes = sum(width**d for d in range(1, depth + 1))
    calls = sum(width**d for d in range(depth))
    return nodes, calls


def check_tree(depth: int, width: int, max_nodes: int = MAX_TREE_NODES) -> None:
    """Refuse, before any computing, a tree too deep, too wide or over the node budget."""
    if not 1 <= depth <= MAX_TREE_DEPTH:
        raise ValueError(f"the tree's depth must be between 1 and {MAX_TREE_DEPTH} steps, got {depth}")
    if not 1 <= width <= MAX_TREE_WIDTH:
        raise ValueError(f"the tree's width must be between 1 and {MAX_TREE_WIDTH} alternatives, got {width}")
    nodes, _ = tree_size(depth, width)
    if nodes > max_nodes:
        raise ValueError(
            f"a tree {depth} steps deep with {width} alternatives each has up to {nodes} branches, more than "
            f"this server draws at once ({max_nodes}); choose fewer steps or fewer alternatives"
        )


class PrefixCache:
    """A KV cache that knows which token ids its rows were computed from.

    Row i depends only on tokens 0..i (causal attention), so logits after any sequence can reuse the
    rows of the longest prefix it shares with what the cache holds, whatever branch filled them.
    Past the model's context the window slides and shares nothing: it is recomputed whole.
    """

    def __init__(self, model: GPT, capacity: int) -> None:
        self.model = model
        self.cache = model.new_kv_cache(capacity=capacity)
        self.ids: list[int] = []  # the tokens of rows 0..cache.length-1

    def logits_after(self, ids: Sequence[int]) -> torch.Tensor:
        """(vocab,) logits after ``ids`` cropped to the context, computing only what is not cached."""
        window = list(ids[-self.model.config.block_size :])
        shared = 0
        for cached, token in zip(self.ids[: self.cache.length], window):
            if cached != token:
                break
            shared += 1
        self.cache.length = min(shared, len(window) - 1)  # the last token is always fed: its logits are needed
        device = self.model.wte.weight.device
        new = torch.tensor([window[self.cache.length :]], device=device)
        logits = self.model.forward_cached(new, self.cache)[0]
        self.ids = window
        return logits


def top_children(probs: torch.Tensor, width: int) -> list[tuple[int, float]]:
    """The ``width`` most likely tokens that can still be drawn (probability > 0), best first."""
    alive = int((probs > 0).sum())
    values, ids = torch.topk(probs, min(width, alive))
    return [(int(i), float(p)) for i, p in zip(ids, values)]


@torch.no_grad()
def sampling_tree(
    model: GPT,
    prompt_ids: Sequence[int],
    settings: SamplingSettings,
    depth: int = 3,
    width: int = 3,
    step_guard: Callable[[], AbstractContextManager] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    max_nodes: int = MAX_TREE_NODES,
) -> SamplingTree:
    """Grow the tree of the ``width`` most likely continuations, ``depth`` tokens deep.

    ``step_guard`` is entered around every model call (a shared server's compute slot, as in
    ``generate``); ``on_progress(done, most)`` is called after each, ``most`` being a full tree's calls.
    """
    if not prompt_ids:
        raise ValueError("the tree needs at least one prompt token")
    check_tree(depth, width, max_nodes)
    guard = step_guard or nullcontext
    _, most_calls = tree_size(depth, width)
    capacity = len(prompt_ids) + depth
    cache = PrefixCache(model, capacity)
    done = 0

    def grow(ids: list[int], path: tuple[int, ...], path_prob: float) -> tuple[TreeNode, ...]:
        nonlocal done
        with guard():
            logits = cache.logits_after(ids)
        done += 1
        if on_progress is not None:
            on_progress(done, most_calls)
        probs = next_token_probs(logits.cpu(), settings)
        nodes = []
        for index, (token, prob) in enumerate(top_children(probs, width)):
            here = (*path, index)
            below = grow([*ids, token], here, path_prob * prob) if len(here) < depth else ()
            nodes.append(TreeNode(token, prob, path_prob * prob, here, below))
        return tuple(nodes)

    children = grow(list(prompt_ids), (), 1.0)
    return SamplingTree(tuple(prompt_ids), settings, depth, width, children)

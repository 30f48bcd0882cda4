"""The sampling tree and the generation timeline against the model's own full forward pass: a path's
probability is the product of its steps', a node's children are the filtered distribution's top-k,
the same settings give the same tree, a branch continues exactly like generating after it, and each
step's attention row is the trace of its prefix."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import torch

from gpt import GPT, SamplingSettings, generate, next_token_probs, preset
from gpt.interpret import (
    BranchError,
    branch_text,
    cut_off_view,
    parse_branch,
    sampling_tree,
    sink_heads,
    step_window,
    tree_size,
)

SETTINGS = SamplingSettings(temperature=0.8, top_k=20, top_p=0.95, seed=5)


@pytest.fixture(scope="module")
def model() -> GPT:
    torch.manual_seed(0)
    return GPT(preset("tiny", vocab_size=40)).eval()  # context 16, 2 layers x 2 heads


def full_probs(model: GPT, ids: list[int], settings: SamplingSettings) -> torch.Tensor:
    """The filtered next-token distribution from one plain forward pass of the cropped context."""
    window = ids[-model.config.block_size :]
    with torch.no_grad():
        logits, _ = model(torch.tensor([window]))
    return next_token_probs(logits[0, -1], settings)


PROMPT = [3, 1, 4, 1, 5, 9, 2, 6]


def test_a_paths_probability_is_the_product_of_its_steps(model: GPT) -> None:
    tree = sampling_tree(model, PROMPT, SETTINGS, depth=3, width=3)
    leaves = [n for n in tree.nodes() if not n.children]
    assert len(leaves) == 27 and {n.depth for n in leaves} == {3}
    for leaf in leaves:
        tokens = tree.tokens(leaf.path)
        product = 1.0
        for i, token in enumerate(tokens):
            product *= float(full_probs(model, PROMPT + tokens[:i], SETTINGS)[token])
        assert leaf.path_prob == pytest.approx(product, rel=1e-4)


def test_the_children_of_a_node_are_the_filtered_top_k(model: GPT) -> None:
    tree = sampling_tree(model, PROMPT, SETTINGS, depth=2, width=4)
    for parent_path in [(), *(n.path for n in tree.children)]:
        children = tree.children if not parent_path else tree.node(parent_path).children
        probs = full_probs(model, PROMPT + tree.tokens(parent_path), SETTINGS)
        top = torch.topk(probs, 4)
        assert [c.token_id for c in children] == top.indices.tolist()
        assert [c.prob for c in children] == pytest.approx(top.values.tolist(), rel=1e-4)
        assert [c.path for c in children] == [(*parent_path, i) for i in range(4)]


def test_a_cut_off_keeping_fewer_tokens_than_the_width_gives_fewer_children(model: GPT) -> None:
    tree = sampling_tree(model, PROMPT, SamplingSettings(top_k=2), depth=2, width=3)
    assert len(tree.children) == 2 and all(len(c.children) == 2 for c in tree.children)
    greedy = sampling_tree(model, PROMPT, SamplingSettings(temperature=0.0), depth=3, width=3)
    assert [n.prob for n in greedy.nodes()] == [1.0, 1.0, 1.0]  # temperature 0: one branch, certain


def test_the_same_settings_give_the_same_tree_and_the_greedy_path_is_greedy_generation(model: GPT) -> None:
    first = sampling_tree(model, PROMPT, SETTINGS, depth=3, width=3)
    assert sampling_tree(model, PROMPT, SETTINGS, depth=3, width=3) == first
    greedy_text = [s.token_id for s in generate(model, PROMPT, 3, SamplingSettings(temperature=0.0))]
    assert first.tokens(first.greedy_path()) == greedy_text
    sampled = [s.token_id for s in generate(model, PROMPT, 3, SETTINGS)]
    path = first.follow(sampled)
    assert first.tokens(path) == sampled[: len(path)]


def test_a_branch_continues_exactly_like_generating_after_it_with_the_same_seed(model: GPT) -> None:
    tree = sampling_tree(model, PROMPT, SETTINGS, depth=2, width=3)
    branch = tree.tokens((2, 1))
    steps = generate(model, PROMPT, 2 + 6, SETTINGS, forced=branch)
    assert [s.token_id for s in steps[:2]] == branch
    assert steps[0].prob == pytest.approx(tree.node((2,)).prob, rel=1e-4)
    after = generate(model, PROMPT + branch, 6, SETTINGS)
    assert [s.token_id for s in steps[2:]] == [s.token_id for s in after]
    again = generate(model, PROMPT, 8, SETTINGS, forced=branch)
    assert [s.token_id for s in again] == [s.token_id for s in steps]
    with pytest.raises(ValueError, match="forced tokens do not fit"):
        generate(model, PROMPT, 1, SETTINGS, forced=branch)
    with pytest.raises(ValueError, match="not in this model's vocabulary"):
        generate(model, PROMPT, 3, SETTINGS, forced=[40])


def test_a_tree_past_the_context_uses_the_sliding_window(model: GPT) -> None:
    prompt = list(range(1, 16))  # 15 of 16 positions: the second step's context slides
    tree = sampling_tree(model, prompt, SETTINGS, depth=3, width=2)
    for node in tree.nodes():
        if node.children:
            top = torch.topk(full_probs(model, prompt + tree.tokens(node.path), SETTINGS), 2)
            assert [c.token_id for c in node.children] == top.indices.tolist()


def test_every_model_call_takes_the_step_guard_and_reports_progress(model: GPT) -> None:
    entered, progress = [], []

    @contextmanager
    def guard():
        entered.append(1)
        yield

    sampling_tree(model, PROMPT, SETTINGS, 3, 3, step_guard=guard, on_progress=lambda d, m: progress.append((d, m)))
    _, calls = tree_size(3, 3)
    assert len(entered) == calls == 13
    assert progress == [(i, 13) for i in range(1, 14)]


def test_branches_from_a_link_are_parsed_or_refused_with_a_reason(model: GPT) -> None:
    tree = sampling_tree(model, PROMPT, SETTINGS, depth=2, width=2)
    assert parse_branch(" 2.1 ") == (1, 0) and branch_text((1, 0)) == "2.1" and parse_branch("") == ()
    for bad in ("0.1", "a", "1..2", "1.2.1.1.1", "-1", "²"):
        with pytest.raises(BranchError, match="ranks from 1"):
            parse_branch(bad)
    with pytest.raises(BranchError, match=r"branch 3 does not exist: step 1 of this tree has 2 alternative"):
        tree.node(parse_branch("3"))
    with pytest.raises(BranchError, match=r"step 3 of this tree has 0"):
        tree.node(parse_branch("1.1.1"))


def test_a_tree_over_the_budget_is_refused_before_computing(model: GPT) -> None:
    with pytest.raises(ValueError, match="up to 340 branches, more than this server draws at once"):
        sampling_tree(model, PROMPT, SETTINGS, depth=4, width=4)
    with pytest.raises(ValueError, match="depth must be between 1 and 4"):
        sampling_tree(model, PROMPT, SETTINGS, depth=0)
    with pytest.raises(ValueError, match="at least one prompt token"):
        sampling_tree(model, [], SETTINGS)


def test_each_steps_attention_row_is_the_trace_of_its_prefix(model: GPT) -> None:
    steps = generate(model, PROMPT, 12, SETTINGS)  # 8 + 12 tokens: the last steps slide past 16
    ids = PROMPT + [s.token_id for s in steps]
    for step in range(1, 13):
        window, position = step_window(ids, len(PROMPT), step, model.config.block_size)
        trace = model.trace(list(window))
        prefix = ids[: len(PROMPT) + step - 1][-model.config.block_size :]
        alone = model.trace(prefix)
        for layer in range(2):
            row = trace.layers[layer].attn_weights()[:, position, : position + 1]
            torch.testing.assert_close(row, alone.layers[layer].attn_weights()[:, -1, :], atol=1e-5, rtol=1e-5)
        drawn = full_probs(model, prefix, SETTINGS)
        torch.testing.assert_close(next_token_probs(trace.logits_at(position), SETTINGS), drawn, atol=1e-5, rtol=1e-4)
        assert float(drawn[steps[step - 1].token_id]) == pytest.approx(steps[step - 1].prob, rel=1e-4)
    with pytest.raises(ValueError, match="steps 1..12"):
        step_window(ids, len(PROMPT), 13, 16)


def test_the_cut_off_view_ranks_the_tokens_and_counts_what_is_kept() -> None:
    logits = torch.tensor([2.0, 0.5, 3.0, -1.0, 1.0, 0.0])
    view = cut_off_view(logits, SamplingSettings(temperature=1.0, top_k=2), shown=3, drawn=3)
    assert view.ids == [2, 0, 4, 3] and view.ranks == [1, 2, 3, 6] and view.kept == 2
    assert view.after[2:] == [0.0, 0.0] and sum(view.after) == pytest.approx(1.0)
    assert view.before == pytest.approx(torch.softmax(logits, -1)[[2, 0, 4, 3]].tolist())
    assert view.drawn == 3
    cold = cut_off_view(logits, SamplingSettings(temperature=0.0), shown=3, drawn=2)
    assert cold.ids == [2, 0, 4] and cold.kept == 1 and cold.drawn == 0


def test_a_first_token_sink_is_named_only_where_it_dominates() -> None:
    rows = torch.tensor([[0.7, 0.2, 0.1], [0.2, 0.3, 0.5], [0.5, 0.25, 0.25]])
    assert sink_heads(rows) == [(0, pytest.approx(0.7)), (2, 0.5)]
    assert sink_heads(torch.tensor([[0.5, 0.5]])) == []  # two tokens: even attention is not a sink

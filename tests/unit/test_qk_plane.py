"""Queries and keys in one plane: the normalisations leave every attention weight as it was, the
projection has the right shapes and axes, and a run's probe files carry (or, for older runs, lack)
each head's queries and keys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from gpt import GPT, attention_steps, get_tokenizer, preset
from gpt.interpret import fit_plane, normalise_qk, project, qk_plane
from gpt.runs import probe_has_qk, read_probe_qk, read_probe_weights
from gpt.runs.writer import RunFiles, compact, probe_trace


def random_qk(t: int = 9, hs: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    # Off-centre and of different sizes, as a trained head's are: the normalisation has work to do.
    q = torch.randn(t, hs, generator=g, dtype=torch.float64) * 3 + 2
    k = torch.randn(t, hs, generator=g, dtype=torch.float64) * 0.4 - 1
    return q, k


@pytest.mark.parametrize("scale", [True, False])
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_normalisations_leave_the_attention_weights_unchanged(seed: int, scale: bool, causal: bool) -> None:
    q, k = random_qk(seed=seed)
    qn, kn = normalise_qk(q, k)
    before = attention_steps(q, k, q, scale=scale, causal=causal).attn_weights
    after = attention_steps(qn, kn, qn, scale=scale, causal=causal).attn_weights
    torch.testing.assert_close(after, before, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(qn.mean(dim=0), kn.mean(dim=0), atol=1e-9, rtol=0)  # centroids coincide
    assert float(qn.norm(dim=-1).mean()) == pytest.approx(float(kn.norm(dim=-1).mean()), rel=1e-9)
    assert not torch.allclose(qn, q)  # they did move


def test_degenerate_heads_are_only_translated() -> None:
    q, _ = random_qk()
    same_keys = torch.ones(9, 6, dtype=torch.float64)
    qn, kn = normalise_qk(q, same_keys)
    torch.testing.assert_close(qn, q)
    torch.testing.assert_close(kn, q.mean(dim=0).expand(9, 6))
    zeros = torch.zeros(9, 6, dtype=torch.float64)
    qn, kn = normalise_qk(zeros, same_keys)
    assert torch.isfinite(kn).all() and torch.equal(qn, zeros)


def test_the_plane_has_a_point_per_query_and_key_and_lines_to_the_strongest_keys() -> None:
    q, k = random_qk()
    weights = attention_steps(q, k, q).attn_weights
    plane = qk_plane(q.float(), k.float(), weights)
    assert plane.queries.shape == plane.keys.shape == (9, 2)
    assert plane.strongest == weights.argmax(dim=-1).tolist()
    assert plane.strongest_weight == pytest.approx(weights.max(dim=-1).values.tolist())
    assert plane.strongest[0] == 0  # causal: the first query sees only the first key
    assert 0.0 < plane.shares[1] <= plane.shares[0] and sum(plane.shares) <= 1.0
    with pytest.raises(ValueError, match="do not fit"):
        qk_plane(q, k[:4], weights)


def test_the_pca_is_fitted_on_queries_and_keys_together() -> None:
    q, k = random_qk()
    qn, kn = normalise_qk(q, k)
    fit = fit_plane(q, k)
    torch.testing.assert_close(fit.mean, torch.cat([qn, kn]).mean(dim=0))
    torch.testing.assert_close(fit.axes @ fit.axes.T, torch.eye(2, dtype=torch.float64))
    # Points that already lie in a plane are drawn with their distances kept exactly.
    g = torch.Generator().manual_seed(3)
    flat = torch.randn(12, 2, generator=g, dtype=torch.float64) @ torch.randn(2, 6, generator=g, dtype=torch.float64)
    flat_q, flat_k = flat[:6] + 5, flat[6:]
    qn, kn = normalise_qk(flat_q, flat_k)
    points = torch.cat([qn, kn])
    drawn = project(fit_plane(flat_q, flat_k), points)
    torch.testing.assert_close(torch.cdist(drawn, drawn), torch.cdist(points, points), atol=1e-9, rtol=1e-9)


def test_another_steps_plane_projects_this_steps_vectors() -> None:
    q_last, k_last = random_qk(seed=4)
    q_now, k_now = random_qk(seed=5)
    fit = fit_plane(q_last, k_last)
    plane = qk_plane(q_now, k_now, attention_steps(q_now, k_now, q_now).attn_weights, fit=fit)
    qn, _ = normalise_qk(q_now, k_now)
    torch.testing.assert_close(plane.queries, ((qn - fit.mean) @ fit.axes.T).float())
    assert plane.shares == fit.shares  # the fit's own, not this step's


def test_queries_and_keys_are_stored_as_half_precision_unless_they_overflow_it() -> None:
    assert compact(torch.randn(2, 3)).dtype == torch.float16
    assert compact(torch.tensor([1e6, 1.0])).dtype == torch.float32


def test_a_probe_file_holds_every_heads_queries_and_keys(tmp_path: Path) -> None:
    tokenizer = get_tokenizer("char", "the cat sat")
    torch.manual_seed(0)
    model = GPT(preset("tiny", vocab_size=tokenizer.vocab_size)).eval()
    probe = probe_trace(model, tokenizer, "the cat")
    files = RunFiles(tmp_path / "run")
    files.append_probe(0, probe.tokens, {}, probe.weights, probe.queries, probe.keys)
    run = tmp_path / "run"
    assert probe_has_qk(run, 0)
    queries, keys = read_probe_qk(run, 0)
    assert queries.shape == keys.shape == (2, 2, 7, 8)
    trace = model.trace(tokenizer.encode("the cat"))
    np.testing.assert_allclose(queries[1, 0], trace.layers[1].q[0].numpy(), atol=1e-3)
    np.testing.assert_allclose(keys[0, 1], trace.layers[0].k[1].numpy(), atol=1e-3)
    assert read_probe_weights(run, 0).shape == (2, 2, 7, 7)


def test_older_or_damaged_probe_files_read_as_no_queries_and_keys(tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    probe.mkdir()
    weights = np.full((1, 1, 3, 3), 1 / 3, dtype=np.float32)
    save_file({"attn_weights": weights}, str(probe / "iter-000000.safetensors"))  # an older run's file
    assert not probe_has_qk(tmp_path, 0) and read_probe_qk(tmp_path, 0) is None
    assert read_probe_weights(tmp_path, 0) is not None  # the weights still read
    q = np.zeros((1, 1, 3, 2), dtype=np.float16)
    save_file({"attn_weights": weights, "queries": q, "keys": q[..., :1]}, str(probe / "iter-000001.safetensors"))
    assert read_probe_qk(tmp_path, 1) is None  # shapes that disagree
    inf = np.full((1, 1, 3, 2), np.inf, dtype=np.float16)
    save_file({"attn_weights": weights, "queries": inf, "keys": inf}, str(probe / "iter-000002.safetensors"))
    assert read_probe_qk(tmp_path, 2) is None  # a diverged run's infinities
    (probe / "iter-000003.safetensors").write_bytes(b"not a safetensors file")
    assert not probe_has_qk(tmp_path, 3) and read_probe_qk(tmp_path, 3) is None
    assert not probe_has_qk(tmp_path, 4) and read_probe_qk(tmp_path, 4) is None  # no file at all

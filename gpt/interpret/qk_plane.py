"""One head's queries and keys in one plane (the idea of AttentionViz, Yeh et al. 2023).

A query and a key that point the same way make a high score, so drawing both sets in one 2-D
projection shows what the head matches. Before projecting, the two sets are moved where the maths
allows without changing a single attention weight:

- every key moved by the same vector c adds q_i·c to all of row i's scores: softmax ignores a
  constant per row, so the keys are translated until their centroid is the queries' centroid;
- queries scaled by a and keys by 1/a leave every q·k as it was, so a is chosen to give both sets
  the same mean length (with the translation redone, so both hold at once).

Then a PCA is fitted on the queries and keys together. ``fit_plane`` keeps the fitted axes so other
steps of a training run can be drawn in the same plane (``project``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def _mean_norm(x: torch.Tensor) -> float:
    return float(x.norm(dim=-1).mean())


def normalise_qk(q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(T, hs) queries and keys -> (a q, (k - mean k) / a + a mean q): equal centroids, equal mean norms,
    the same attention weights (see the module's docstring). In float64."""
    q, k = q.detach().double(), k.detach().double()
    mean_q = q.mean(dim=0)
    centred = k - k.mean(dim=0)
    a = math.sqrt(_balancing_square(q, centred, mean_q))
    return a * q, centred / a + a * mean_q


def _balancing_square(q: torch.Tensor, centred: torch.Tensor, mean_q: torch.Tensor) -> float:
    """b = a^2 with b mean|q| = mean|centred + b mean q| (so mean|a q| = mean|keys|, multiplied by a).

    The left side grows with slope mean|q|, the right one with slope at most |mean q| <= mean|q|, and
    at b = 0 the left one is the smaller: a root exists unless every query points the same way (slopes
    equal) or all are zero, where the scaling is left out (b = 1) and only the translation applies.
    """
    q_norm = _mean_norm(q)
    if q_norm == 0.0:
        return 1.0

    def gap(b: float) -> float:
        return b * q_norm - _mean_norm(centred + b * mean_q)

    low, high = 0.0, 1.0
    while gap(high) < 0.0:
        high *= 2.0
        if high > 1e12:
            return 1.0
    if gap(low) >= 0.0:  # keys all equal: any length goes, keep the queries' own
        return 1.0
    for _ in range(80):  # bisection: 2^-80 of the bracket, below float64's resolution
        middle = (low + high) / 2
        low, high = (middle, high) if gap(middle) < 0.0 else (low, middle)
    return (low + high) / 2


@dataclass(frozen=True)
class PlaneFit:
    """A PCA plane: points are projected as (x - mean) @ axes.T."""

    mean: torch.Tensor  # (hs,) float64
    axes: torch.Tensor  # (2, hs) float64, orthonormal rows (zero rows where there is no direction)
    shares: tuple[float, float]  # share of the fitted points' variance along each axis


def fit_pca_plane(points: torch.Tensor) -> PlaneFit:
    """The two main directions of (N, hs) points; signs fixed (largest coordinate positive) so the
    picture does not flip between calls."""
    x = points.detach().double()
    mean = x.mean(dim=0)
    centred = x - mean
    axes = torch.zeros(2, x.shape[1], dtype=torch.float64)
    if x.shape[0] < 2 or float(centred.abs().max()) == 0.0:
        return PlaneFit(mean, axes, (0.0, 0.0))
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    found = vh[:2]
    signs = torch.sign(found.gather(1, found.abs().argmax(dim=1, keepdim=True)))
    axes[: found.shape[0]] = found * torch.where(signs == 0, torch.ones_like(signs), signs)
    variance = s**2
    total = float(variance.sum())
    shares = [float(v) / total for v in variance[:2]] + [0.0, 0.0]
    return PlaneFit(mean, axes, (shares[0], shares[1]))


def project(fit: PlaneFit, points: torch.Tensor) -> torch.Tensor:
    """(N, hs) points -> (N, 2) coordinates in ``fit``'s plane."""
    return (points.detach().double() - fit.mean) @ fit.axes.T


def fit_plane(q: torch.Tensor, k: torch.Tensor) -> PlaneFit:
    """The plane of one head's normalised queries and keys, fitted on both sets together."""
    qn, kn = normalise_qk(q, k)
    return fit_pca_plane(torch.cat([qn, kn]))


@dataclass(frozen=True)
class QKPlane:
    """Queries and keys of one head in one plane, and the key each query weights most."""

    queries: torch.Tensor  # (T, 2)
    keys: torch.Tensor  # (T, 2)
    strongest: list[int]  # per query, the key position with the largest weight
    strongest_weight: list[float]
    shares: tuple[float, float]  # variance kept by each axis (of the plane's own fit)


def qk_plane(q: torch.Tensor, k: torch.Tensor, weights: torch.Tensor, fit: PlaneFit | None = None) -> QKPlane:
    """(T, hs) queries and keys with their (T, T) attention weights -> the plane; ``fit`` (another
    step's plane, from ``fit_plane``) instead of fitting one on these vectors."""
    if q.shape != k.shape or weights.shape != (q.shape[0], k.shape[0]):
        raise ValueError(
            f"queries {tuple(q.shape)}, keys {tuple(k.shape)} and weights {tuple(weights.shape)} do not fit"
        )
    qn, kn = normalise_qk(q, k)
    fit = fit or fit_pca_plane(torch.cat([qn, kn]))
    best = weights.float().max(dim=-1)
    return QKPlane(
        queries=project(fit, qn).float(),
        keys=project(fit, kn).float(),
        strongest=[int(i) for i in best.indices],
        strongest_weight=[float(w) for w in best.values],
        shares=fit.shares,
    )

"""Lab 7: sinusoidal positional encoding and its shift property.

Columns 2i and 2i+1 hold sin(w_i pos) and cos(w_i pos) with w_i = 10000^(-2i/d). The angle-sum
identities give, for any offset k,

    [sin w(p+k), cos w(p+k)] = [[cos wk, sin wk], [-sin wk, cos wk]] @ [sin wp, cos wp],

a rotation that depends on k but not on p. So PE(p+k) = M_k PE(p) with one fixed block-diagonal
M_k: the linear map the original paper hoped the model could learn to attend by relative position.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gpt.model import sinusoidal_positions


def pe_matrix(n_positions: int, d_model: int) -> torch.Tensor:
    """(n_positions, d_model) encoding, the same function the model uses."""
    if n_positions < 1 or d_model < 2 or d_model % 2:
        raise ValueError("need at least one position and an even embedding size >= 2")
    return sinusoidal_positions(n_positions, d_model)


def frequencies(d_model: int) -> torch.Tensor:
    """(d_model/2,) angular frequency w_i of each sin/cos column pair."""
    return torch.pow(10000.0, -torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)


def shift_matrix(offset: int, d_model: int) -> torch.Tensor:
    """(d, d) block-diagonal M_k with a 2x2 rotation by w_i * k per frequency pair."""
    angles = frequencies(d_model) * offset
    m = torch.zeros(d_model, d_model, dtype=torch.float64)
    cos, sin = torch.cos(angles), torch.sin(angles)  # float64, like the angles
    even = torch.arange(0, d_model, 2)
    m[even, even], m[even, even + 1] = cos, sin
    m[even + 1, even], m[even + 1, even + 1] = -sin, cos
    return m


@dataclass(frozen=True)
class ShiftCheck:
    offset: int
    shift: torch.Tensor  # (d, d) M_k
    predicted: torch.Tensor  # (n-k, d) PE(p) @ M_k^T
    actual: torch.Tensor  # (n-k, d) PE(p+k)
    max_abs_error: float  # float32 rounding of the encoding, ~1e-6..1e-5
    orthogonality_error: float  # max |M_k M_k^T - I|: a rotation keeps lengths
    error_per_position: torch.Tensor  # (n-k,) max error of row p: small for every p, so M_k does not depend on p


def verify_shift(n_positions: int, d_model: int, offset: int) -> ShiftCheck:
    """Check PE(p+k) = M_k PE(p) for every p with p+k < n, with one M_k built from k alone."""
    if not 0 <= offset < n_positions:
        raise ValueError("the offset must be between 0 and the number of positions - 1")
    pe = pe_matrix(n_positions, d_model).to(torch.float64)
    m = shift_matrix(offset, d_model)
    before, after = pe[: n_positions - offset], pe[offset:]
    predicted = before @ m.T  # row p: M_k @ PE(p)
    error = float((predicted - after).abs().max())
    ortho = float((m @ m.T - torch.eye(d_model, dtype=torch.float64)).abs().max())
    per_position = (predicted - after).abs().amax(dim=-1)
    return ShiftCheck(offset, m, predicted, after, error, ortho, per_position)

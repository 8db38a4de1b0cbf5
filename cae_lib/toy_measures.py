"""Measures of 2-D autoencoders on the circle (chapters 1b, 4b and 5b), re-exported by `toy`.

Scope: the normal/tangent ratio of a Jacobian, the angle of its top singular direction to the
true tangent, the reconstruction's Jacobian and its gains on and off the ring, the agreement of
two vector fields, points in a band around the circle, and the exact 1-D Wasserstein distance.
Every measure of a Jacobian here is scale-free or says its units. The data and the models are
`toy.py`; the measures are here so that each module keeps one concern.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from .model import check_batch, check_number

if TYPE_CHECKING:
    from .toy import Circle


def normal_tangent_ratio(jac: torch.Tensor, x: torch.Tensor, tangent: torch.Tensor
                         ) -> torch.Tensor:
    """||J n|| / ||J t|| per point, (B,), for Jacobians jac (B, m, 2) at points x (B, 2) with
    unit tangents t (B, 2) and unit normals n = x / ||x||. Scale-free: J -> cJ leaves it."""
    n = x / x.norm(dim=1, keepdim=True)                                   # (B, 2)
    along = torch.einsum("bmd,bd->bm", jac, tangent).norm(dim=1)          # (B,)
    across = torch.einsum("bmd,bd->bm", jac, n).norm(dim=1)               # (B,)
    return across / along


def tangent_angle(jac: torch.Tensor, tangent: torch.Tensor) -> torch.Tensor:
    """Angle in degrees, in [0, 90], between the top right-singular vector of each Jacobian
    (B, m, 2) and the true tangent (B, 2): the direction the code is most sensitive to."""
    v1 = torch.linalg.svd(jac.double()).Vh[:, 0, :]                      # (B, 2)
    cos = (v1 * tangent.double()).sum(1).abs().clamp(max=1.0)
    return torch.rad2deg(torch.acos(cos)).float()


def reconstruction_jacobian(model, x: torch.Tensor) -> torch.Tensor:
    """The full Jacobian of the reconstruction, d x_hat / d x, (B, d, d), by torch.func."""
    check_batch(x, model.input_dim)
    r = lambda xb: model(xb[None])[0][0]                               # noqa: E731
    return torch.func.vmap(torch.func.jacrev(r))(x).detach()


def ring_gains(model, radius: float, n_angles: int = 180
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """(n^T J_r n, t^T J_r t), each (n_angles,), at the points radius * (cos a, sin a), a
    evenly spaced, with n = x / ||x|| the normal and t the tangent there: how much of a small
    step across (along) the ring the reconstruction x_hat = g(f(x)) passes on in the same
    direction. 1: the step passes unchanged; 0: it is flattened. J_r = d x_hat / d x maps the
    plane to itself, so no reparametrisation of the code can change it (chapter 1b). Chapter
    5b reads them on and off the ring (CAE+H, Rifai, Mesnil et al. 2011; stacked CAEs).
    The points are made on the model's device; the gains come back on the CPU."""
    check_number("radius", radius, positive=True)
    check_number("n_angles", n_angles, integer=True, positive=True)
    p0 = next(model.parameters())                  # the points go where the model is
    a = 2 * math.pi * torch.arange(n_angles, dtype=p0.dtype, device=p0.device) / n_angles
    n = torch.stack([torch.cos(a), torch.sin(a)], 1)                     # (n, 2) unit normals
    t = torch.stack([-n[:, 1], n[:, 0]], 1)                              # (n, 2) unit tangents
    jr = reconstruction_jacobian(model, radius * n)                      # (n, 2, 2)
    return (torch.einsum("bi,bij,bj->b", n, jr, n).cpu(),               # on the CPU, as every
            torch.einsum("bi,bij,bj->b", t, jr, t).cpu())                # measure's result


def agreement(v: torch.Tensor, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(cosine, relative error ||v - ref|| / ||ref||) per row of two (B, 2) vector fields."""
    cos = torch.nn.functional.cosine_similarity(v, ref, dim=1)
    return cos, (v - ref).norm(dim=1) / ref.norm(dim=1)


def band(circle: Circle, n: int, lo: float, hi: float, generator=None) -> torch.Tensor:
    """n points (n, 2) whose distance to the circle lies in [lo, hi), uniform in angle and
    in signed distance (half inside, half outside)."""
    check_number("lo", lo)
    check_number("hi", hi, positive=True)
    if not (lo < hi < circle.radius):
        raise ValueError(f"need lo < hi < radius; got lo={lo}, hi={hi}, "
                         f"radius={circle.radius}.")
    t = 2 * math.pi * torch.rand(n, generator=generator)
    d = lo + (hi - lo) * torch.rand(n, generator=generator)
    sign = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    r = circle.radius + sign * d
    return torch.stack([r * torch.cos(t), r * torch.sin(t)], 1)


def wasserstein_1d(u: torch.Tensor, v: torch.Tensor) -> float:
    """Wasserstein-1 distance between the empirical laws of two 1-D samples u (n,), v (m,):
    the integral over the line of |F_u - F_v|, the gap between their distribution
    functions, exact, in float64. In the units of the samples; 0 only for equal laws.
    Chapter 4b compares a chain's distances to the circle with the data's this way."""
    u, v = (torch.as_tensor(a).detach().reshape(-1).double().cpu() for a in (u, v))
    if len(u) == 0 or len(v) == 0 or not (u.isfinite().all() and v.isfinite().all()):
        raise ValueError("wasserstein_1d needs two non-empty samples of finite numbers.")
    knots = torch.cat([u, v]).sort().values                  # (n + m,) where F_u, F_v jump
    F = [torch.searchsorted(a.sort().values, knots[:-1], right=True).double() / len(a)
         for a in (u, v)]                         # both distribution functions, per interval
    return float(((F[0] - F[1]).abs() * knots.diff()).sum())

"""Learned tangents and tangent propagation: the Manifold Tangent Classifier's two pieces.

Rifai, Dauphin, Vincent, Bengio & Muller (2011c), "The manifold tangent classifier" (NeurIPS),
take the leading right singular vectors of a CAE's Jacobian J_f(x) as the directions along
which the data vary near x (the directions the encoder does NOT contract), and train a
classifier to be insensitive along them with the tangent propagation penalty of Simard,
Victorri, LeCun & Denker (1992), "Tangent prop":

    tangents(x)          = the top-k right singular vectors of J_f(x) (k x d, orthonormal rows)
    tangent_prop_penalty = (1/B) sum_b sum_{i=1..k} ||(d o / d x)(x_b) t_{b,i}||^2    (eq. tprop)

with o the classifier's output (logits) and t_{b,i} the i-th tangent at x_b: a MEAN over the
batch of the SUM over tangents of the squared norm of the output's directional derivative.
No (B, C, d) Jacobian of the classifier is formed. For an nn.Sequential of Linear, Sigmoid,
Tanh and ReLU layers (nested Sequentials allowed) the k directional derivatives are pushed
through the layers by hand, all at once: u <- W u at a Linear, u <- sigma'(a) * u at an
activation, (B, k, n_l) per layer, about k forward passes of matrix products. Any other
classifier takes one forward-mode product (torch.func.jvp) per tangent, several times slower
on the CPU (`tests/test_higher_order.py` checks the two agree in float64).

Devices (the rule of `cae_lib.device`): `tangents` computes on the model's device and returns
on x's; `tangent_prop_penalty` computes on the classifier's device and returns a 0-dim tensor
there, next to the loss it joins.
"""
from __future__ import annotations

import torch
from torch.func import jvp

from torch import nn

from .device import to_caller, to_model
from .model import check_number
from .penalties import _check, _jacobian


def tangents(model, x: torch.Tensor, k: int) -> torch.Tensor:
    """The top-k right singular vectors of the encoder's Jacobian J_f(x) at each sample of x
    (B, d), as orthonormal rows: shape (B, k, d), ordered by decreasing singular value (the
    sign of each vector is arbitrary, as in any SVD). k <= min(code size, d)."""
    _check(model, x)
    check_number("k", k, integer=True, positive=True)
    with torch.no_grad():
        J = _jacobian(model, to_model(model, x))                       # (B, code, d)
    if k > min(J.shape[1:]):
        raise ValueError(f"k = {k} tangents asked, but J_f has only {min(J.shape[1:])} "
                         f"singular vectors (code size {J.shape[1]}, input size {J.shape[2]}); "
                         f"pass k <= {min(J.shape[1:])}.")
    _, _, Vh = torch.linalg.svd(J, full_matrices=False)                # (B, r, d)
    return to_caller(Vh[:, :k].contiguous(), x)                        # (B, k, d)


_SLOPES = {nn.Sigmoid: lambda a, h: h * (1 - h),                     # sigma'(a), from a, h
           nn.Tanh: lambda a, h: 1 - h * h,
           nn.ReLU: lambda a, h: (a > 0).to(a.dtype)}


def _layers(module) -> list | None:
    """The layers of an nn.Sequential of Linear and _SLOPES activations, flattened; else None."""
    if isinstance(module, nn.Linear) or type(module) in _SLOPES:
        return [module]
    if not isinstance(module, nn.Sequential):
        return None
    out = []
    for child in module:
        layers = _layers(child)
        if layers is None:
            return None
        out += layers
    return out


def directional_derivatives(classifier, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """(d o / d x)(x_b) t_{b,i} for every sample and tangent: (B, k, C) for x (B, d) and
    t (B, k, d). Closed form for a Linear/Sigmoid/Tanh/ReLU nn.Sequential, else torch.func.jvp
    per tangent; differentiable in the classifier's parameters either way."""
    layers = _layers(classifier)
    if layers is None:
        return torch.stack([jvp(classifier, (x,), (t[:, i],))[1]
                            for i in range(t.shape[1])], 1)            # (B, k, C)
    h, u = x, t                                                        # (B, d), (B, k, d)
    for layer in layers:
        if isinstance(layer, nn.Linear):
            h, u = layer(h), u @ layer.weight.T                        # (B, n), (B, k, n)
        else:
            a, h = h, layer(h)
            u = u * _SLOPES[type(layer)](a, h)[:, None, :]
    return u                                                           # (B, k, C)


def tangent_prop_penalty(classifier, x: torch.Tensor, tangents: torch.Tensor) -> torch.Tensor:
    """(eq. tprop): the batch mean of sum_i ||(d o / d x) t_i||^2 for the classifier's output
    o = classifier(x), x (B, d) and tangents (B, k, d) (e.g. `tangents(cae, x, k)`).
    Differentiable in the classifier's parameters; a 0-dim tensor on its device."""
    if not isinstance(x, torch.Tensor) or x.dim() != 2:
        raise ValueError(f"x must be a (B, d) tensor; got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}.")
    if not isinstance(tangents, torch.Tensor) or tangents.dim() != 3 \
            or tangents.shape[0] != x.shape[0] or tangents.shape[2] != x.shape[1]:
        got = tuple(tangents.shape) if isinstance(tangents, torch.Tensor) else type(tangents)
        raise ValueError(f"tangents must have shape (B, k, d) = ({x.shape[0]}, k, {x.shape[1]}),"
                         f" one set of k tangents per sample of x; got {got}. "
                         f"cae_lib.tangents(model, x, k) makes them.")
    if not torch.isfinite(x).all() or not torch.isfinite(tangents).all():
        raise ValueError("x and tangents must be finite (no NaN or inf).")
    x = to_model(classifier, x)
    t = to_model(classifier, tangents).to(x.dtype)
    return directional_derivatives(classifier, x, t).pow(2).sum() / x.shape[0]

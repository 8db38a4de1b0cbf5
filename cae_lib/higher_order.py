"""The higher-order contractive penalty of CAE+H: how much the encoder's Jacobian changes nearby.

Rifai, Mesnil, Vincent, Muller, Bengio, Dauphin & Glorot (2011b), "Higher order contractive
auto-encoder" (ECML PKDD), penalise, besides lam * ||J_f(x)||_F^2, a stochastic estimate of the
norm of the Hessian of the encoder: the change of J_f between x and a corrupted copy,

    cae_h_penalty = (1 / (n B)) sum_{c=1..n} sum_b ||J_f(x_b) - J_f(x_b + eps_{c,b})||_F^2
                    with eps_{c,b} ~ N(0, noise_std^2 I_d)                   (eq. cae-h)

a MEAN over the B samples and the n corruptions of the SQUARED FROBENIUS NORM (a sum over the
k x d entries), the normalisation of `penalties.jacobian_penalty`. The CAE+H loss is then
    reconstruction + lam * jacobian_penalty + gamma * cae_h_penalty,
and as noise_std -> 0 its EXPECTATION over eps, divided by noise_std^2, tends to the batch mean of
sum_j ||d J_f / d x_j||_F^2 = ||Hessian of f||_F^2 (E[eps eps^T] = noise_std^2 I); one draw of
it is that only on average over many corruptions.

The draws: eps = noise_std * randn((n_corruptions, B, d)) from `generator` (on its device, or
x's without one), made before anything else, so a seeded generator reproduces the penalty.

Cost. For an encoder of Linear+Sigmoid pairs the difference of the two Jacobians has the closed
form of `penalties.analytic_penalty`: J_f(x) = A(x) W_1 with A = D_L W_L ... D_2 W_2 D_1 (k x n_1),
so J_f(x) - J_f(x~) = (A - A~) W_1 and its squared norm is trace((A - A~) G (A - A~)^T) with
G = W_1 W_1^T (eq. gram-form): no (B, k, d) Jacobian is formed; the arithmetic of n corruptions
is about that of n + 1 closed-form penalties (the clean pass once, then one per corruption), but
the n (B, k, n_1) differences are held at once, so the time can grow faster (on a 2-core Xeon,
2026-12-07, the deep encoder at n = 4 took 8.0 and 8.8 times one penalty). For one layer it is
sum_i (s_i - s~_i)^2 ||W_1[i, :]||^2 with s = h (1 - h). Any other encoder falls back to
torch.func Jacobians, (B, k, d) per corruption. `benchmarks/cae_h_speed.py` times it against
`jacobian_penalty`.

Devices (the rule of `cae_lib.device`): computed on the model's device, x moved there; the
0-dim result stays on the model's device, next to the loss it joins.
"""
from __future__ import annotations

import torch

from .device import draw, to_model
from .model import check_number, sigmoid_mlp_linears
from .penalties import _GramQuadForm, _check, _jacobian, _latent_side, encoder_activations


def _closed_form_parts(linears, x):
    """A(x) = D_L W_L ... D_2 W_2 D_1, (B, k, n_1), for a Linear+Sigmoid encoder; for one
    layer, s = h (1 - h), (B, k)."""
    ds = [h * (1 - h) for h in encoder_activations(linears, x)]       # (B, n_l) each
    if len(linears) == 1:
        return ds[0]                                                  # (B, k)
    return _latent_side(linears, ds) * ds[0][:, None, :]              # (B, k, n_1)


def jacobian_change(model, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """(1 / (n B)) sum_{c, b} ||J_f(x_b) - J_f(x_b + eps[c, b])||_F^2 for given corruptions
    eps of shape (n, B, d) (or (B, d): n = 1). Differentiable in the model's parameters.
    `cae_h_penalty` draws eps and calls this; on the model's device, x and eps moved there."""
    _check(model, x)
    x = to_model(model, x)                                            # (B, d)
    eps = to_model(model, eps)
    if eps.dim() == 2:
        eps = eps[None]                                               # (1, B, d)
    if eps.dim() != 3 or eps.shape[1:] != x.shape:
        raise ValueError(f"eps must have shape (n, B, d) = (n, {x.shape[0]}, {x.shape[1]}) "
                         f"(or (B, d)), like x repeated n times; got {tuple(eps.shape)}.")
    n = eps.shape[0]
    encoder = getattr(model, "encoder", model)
    try:
        linears = sigmoid_mlp_linears(encoder)
    except TypeError:
        linears = None
    if linears is None:                                               # any encoder: torch.func
        J = _jacobian(model, x)                                       # (B, k, d)
        total = sum((J - _jacobian(model, x + e)).pow(2).sum() for e in eps)
        return total / (n * x.shape[0])
    xs = torch.cat([x, (x[None] + eps).reshape(-1, x.shape[1])])     # (B + n B, d)
    parts = _closed_form_parts(linears, xs)
    here, there = parts[: x.shape[0]], parts[x.shape[0]:]
    there = there.reshape(n, *here.shape)                             # (n, B, ...)
    diff = (here[None] - there).reshape(-1, *here.shape[1:])          # (n B, k[, n_1])
    W1 = linears[0].weight                                            # (n_1, d)
    if len(linears) == 1:                                             # sum_i ds_i^2 ||W_i||^2
        return (diff * diff).sum(0).dot((W1 * W1).sum(1)) / diff.shape[0]
    ones = diff.new_ones(diff.shape[0], diff.shape[2])                # (n B, n_1)
    return _GramQuadForm.apply(diff, ones, W1 @ W1.T)                 # mean over n B


def cae_h_penalty(model, x: torch.Tensor, noise_std: float, n_corruptions: int = 4,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """The CAE+H penalty (eq. cae-h): the mean over the batch x (B, d) and n_corruptions
    Gaussian corruptions (std noise_std) of ||J_f(x) - J_f(x + eps)||_F^2, squared Frobenius
    norm summed over the k x d entries. Reproducible with a seeded `generator` (any device).
    Differentiable in the model's parameters; a 0-dim tensor on the model's device."""
    check_number("noise_std", noise_std, positive=True)
    check_number("n_corruptions", n_corruptions, integer=True, positive=True)
    _check(model, x)
    eps = noise_std * draw("randn", (n_corruptions, *x.shape), x, generator)   # (n, B, d)
    return jacobian_change(model, x, eps)

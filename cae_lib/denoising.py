"""The denoising autoencoder's small-noise expansion, done exactly.

For r = g o f, residual e(x) = x - r(x) and eps ~ N(0, sigma^2 I_d), a second-order Taylor
expansion of r around x gives (odd Gaussian moments vanish, so the error is O(sigma^4)):

    E ||x - r(x + eps)||^2
        = ||e||^2 + sigma^2 ( ||J_r(x)||_F^2 - e^T nabla^2 r(x) ) + O(sigma^4)   (dae-expansion)

(for smooth r; the kinks of a ReLU decoder make the approach to the limit slower), where
J_r = J_g(f(x)) J_f(x) is the d x d Jacobian of the WHOLE reconstruction and
(nabla^2 r)_m = sum_j d^2 r_m / dx_j^2 is the Laplacian of output m. The residual term vanishes
only where the reconstruction is exact, and the bracket can be negative at a given x: it is not
a penalty pointwise. So small-noise denoising penalises ||J_r||_F^2, not the encoder's
||J_f||_F^2 (Rifai et al. 2011 already noted the ||J_{g o f}|| term; Bishop 1995 derived the
expansion for regression; Alain & Bengio 2014, JMLR 15, made the autoencoder case precise).

The book's MSE is a mean over the d pixels (and the batch), i.e. the expansion above divided by
d: a DAE with noise_std sigma behaves, to O(sigma^4), like a reconstruction-contractive
penalty lam * (batch mean of ||J_r||_F^2 - e^T nabla^2 r) with lam = sigma^2 / d (`dae_lam`);
`small_noise_dae_loss` evaluates that prediction.

Devices (the rule of `cae_lib.device`): each function computes on the model's device, moving x
there. `reconstruction_jacobian_penalty` (a loss term) returns on the model's device; the
measurements return on x's device.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager

import torch
from torch.func import hessian, jacfwd, jacrev, vmap

from .device import to_caller, to_model
from .model import check_batch, check_number


@contextmanager
def _quiet_forward_ad():
    """torch loads its forward-mode decompositions through torch.jit.script on first use, which
    warns about torch's own deprecation; that says nothing about this code, so it is muted here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)
        yield


def reconstruction_jacobian_norms(model, x: torch.Tensor) -> torch.Tensor:
    """Per-sample ||J_r(x)||_F^2, shape (B,), exact. Uses ||J_g J_f||_F^2 = sum(C_g * C_f) with the
    k x k matrices C_g = J_g^T J_g and C_f = J_f J_f^T, so no d x d matrix is ever formed.
    Computed on the model's device, returned on x's."""
    check_batch(x, model.input_dim)
    return to_caller(_recon_norms(model, to_model(model, x)), x)


def _recon_norms(model, x):                               # x on the model's device
    Jf = vmap(jacrev(model.encoder))(x)                   # (B, k, d)
    with _quiet_forward_ad():
        Jg = vmap(jacfwd(model.decoder))(model.encoder(x))  # (B, d, k): k inputs, forward mode
    Cf = Jf @ Jf.transpose(1, 2)                          # (B, k, k)
    Cg = Jg.transpose(1, 2) @ Jg                          # (B, k, k)
    return (Cf * Cg).sum((1, 2))


def reconstruction_jacobian_penalty(model, x: torch.Tensor) -> torch.Tensor:
    """Batch mean of ||J_r(x)||_F^2 (sum over the d x d entries, mean over the batch),
    differentiable w.r.t. the parameters; on the model's device, next to the loss."""
    check_batch(x, model.input_dim)
    return _recon_norms(model, to_model(model, x)).mean()


def residual_laplacian_term(model, x: torch.Tensor, chunk: int = 4) -> torch.Tensor:
    """Per-sample e^T nabla^2 r(x) with e = x - r(x) held fixed, shape (B,): the trace of the Hessian
    of phi(x') = e . r(x') at x' = x, computed exactly (d Hessian columns per sample, so keep B
    small). Run it in float64: it is a difference of nearly equal curvatures. Computed on the
    model's device, returned on x's."""
    check_batch(x, model.input_dim)
    home, x = x, to_model(model, x)
    out = []
    for xb in x.split(chunk):
        e = (xb - model(xb)[0]).detach()                  # (b, d), held fixed

        def phi(xi, ei):                                  # one sample: (d,), (d,) -> scalar
            return (ei * model.decoder(model.encoder(xi))).sum()
        with _quiet_forward_ad():
            H = vmap(hessian(phi))(xb, e)                 # (b, d, d)
        out.append(H.diagonal(dim1=1, dim2=2).sum(1))
    return to_caller(torch.cat(out), home)


@torch.no_grad()
def noisy_excess_loss(model, x: torch.Tensor, noise_std: float, n_pairs: int = 256,
                      generator: torch.Generator | None = None, rows: int = 4096
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Monte Carlo estimate of (E ||x - r(x + eps)||^2 - ||x - r(x)||^2) / noise_std^2, averaged
    over the batch, and its standard error. Uses antithetic pairs (eps, -eps): the term linear in
    eps cancels exactly, so the estimate stays precise as noise_std -> 0. Returns (mean, stderr),
    0-dim tensors on x's device (computed on the model's; eps drawn on the generator's).

    The pairs go through the model together, about `rows` input rows per pass (memory only: the
    draws, one (B, d) draw per pair in turn from `generator`, and so the result, do not depend
    on it; a pass of one digit per pair was overhead-bound). Each pass also carries x itself,
    so that the clean loss it subtracts is rounded as its noisy losses are: divided by
    noise_std^2, a rounding mismatch would not cancel."""
    check_number("noise_std", noise_std, positive=True)
    check_number("n_pairs", n_pairs, integer=True, positive=True)
    check_number("rows", rows, integer=True, positive=True)
    check_batch(x, model.input_dim)
    home, x = x, to_model(model, x)
    dev = generator.device if generator is not None else x.device   # any generator's device
    per_pass = max(1, rows // (2 * len(x)))               # pairs per pass
    vals = []
    for start in range(0, n_pairs, per_pass):
        n = min(per_pass, n_pairs - start)
        eps = torch.stack([noise_std * torch.randn(x.shape, generator=generator, device=dev)
                           for _ in range(n)]).to(x)      # (n, B, d), pair after pair
        rows_in = torch.cat([x[None], x + eps, x - eps]).flatten(0, 1)   # ((2 n + 1) B, d)
        err = (x.repeat(2 * n + 1, 1) - model(rows_in)[0]).pow(2).sum(1)
        base, plus, minus = err[:len(x)], *err[len(x):].view(2, n, len(x))   # (B,), (n, B)
        vals.append(((plus + minus) / 2 - base).mean(1) / noise_std ** 2)  # (n,)
    vals = torch.cat(vals)
    return to_caller(vals.mean(), home), to_caller(vals.std() / n_pairs ** 0.5, home)


def dae_lam(noise_std: float, input_dim: int) -> float:
    """lam = noise_std^2 / input_dim: with the book's pixel-mean MSE, the weight on the batch
    mean of ||J_r||_F^2 - e^T nabla^2 r that Gaussian corruption with noise_std adds to the
    loss, to O(noise_std^4) (eq. dae-expansion divided by d)."""
    check_number("noise_std", noise_std)
    check_number("input_dim", input_dim, integer=True, positive=True)
    return noise_std ** 2 / input_dim


def small_noise_dae_loss(model, x: torch.Tensor, noise_std: float) -> torch.Tensor:
    """The small-noise prediction of the DAE loss E_eps MSE(r(x + eps), x) (pixel mean, batch
    mean) for eps ~ N(0, noise_std^2 I): MSE(r(x), x) + dae_lam(noise_std, d) * batch mean of
    (||J_r||_F^2 - e^T nabla^2 r). Exact pieces; error O(noise_std^4) for a smooth r. A scalar,
    for evaluation (the residual term is computed with e held fixed; use float64). On x's
    device (computed on the model's)."""
    check_batch(x, model.input_dim)
    lam = dae_lam(noise_std, model.input_dim)
    home, x = x, to_model(model, x)
    mse = (x - model(x)[0]).pow(2).mean()
    bracket = reconstruction_jacobian_norms(model, x) - residual_laplacian_term(model, x)
    return to_caller((mse + lam * bracket.mean()).detach(), home)


def kink_distance(model, x: torch.Tensor) -> torch.Tensor:
    """Per sample, the input-space distance to the nearest ReLU kink of the decoder, to first
    order: min over the decoder's ReLU units j of |a_j(x)| / ||grad_x a_j(x)||, with a_j the
    unit's pre-activation, shape (B,). inf where the decoder has no ReLU (tied or smooth).

    Why: eq. (dae-expansion) needs r twice differentiable along the noise. Gaussian noise of
    std sigma moves a_j by about sigma ||grad a_j||, so with sigma <= kink_distance / 8 a
    kink is crossed only in an 8-sigma event, and the Monte Carlo estimate of the excess loss
    sees a smooth r. Use float64 for the small sigma that this may demand. Computed on the
    model's device; returned on x's device (a measurement)."""
    check_batch(x, model.input_dim)
    caller, x = x, to_model(model, x)
    decoder = model.decoder
    layers = list(decoder.children()) if isinstance(decoder, torch.nn.Sequential) else []
    relus = [i for i, m in enumerate(layers) if isinstance(m, torch.nn.ReLU)]
    if not relus:
        return torch.full((len(x),), float("inf"), dtype=x.dtype, device=caller.device)
    out = torch.full((len(x),), float("inf"), dtype=x.dtype, device=x.device)
    for i in relus:
        def pre(xi, i=i):                                 # (d,) -> (units,)
            return torch.nn.Sequential(*layers[:i])(model.encoder(xi))
        a = vmap(pre)(x).detach()                          # (B, units)
        grad = vmap(jacrev(pre))(x).detach()               # (B, units, d)
        dist = a.abs() / grad.norm(dim=2).clamp_min(torch.finfo(x.dtype).tiny)
        out = torch.minimum(out, dist.min(dim=1).values)
    return to_caller(out, caller)

"""Measuring contraction of a trained encoder.

`sensitivity` is the empirical ratio ||f(x + e) - f(x)|| / ||e|| with Gaussian e, the
finite-difference counterpart of the Jacobian norm: for small noise_std and
e ~ N(0, noise_std^2 I_d), E||J e||^2 / E||e||^2 = ||J||_F^2 / d, so the ratio is close to
||J_f(x)||_F / sqrt(d) (the RMS gain of the encoder over input directions).

`contraction_curve` is the measure of Rifai et al. (2011, sec. 5.2): the mean of that ratio
at a fixed perturbation radius ||e|| = r, as a function of r.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .model import check_number
from .penalties import _check, _encoder_fn


@torch.no_grad()
def sensitivity(model, x: torch.Tensor, noise_std: float = 0.1,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-sample ||f(x + e) - f(x)|| / ||e||, e ~ N(0, noise_std^2 I). Returns (B,) on x's device."""
    check_number("noise_std", noise_std, positive=True)
    _check(model, x)
    dev = generator.device if generator is not None else x.device
    e = (noise_std * torch.randn(x.shape, generator=generator, device=dev)).to(x)  # (B, d)
    encode = _encoder_fn(model)
    dz = encode(x + e) - encode(x)                                   # (B, k)
    return dz.norm(dim=1) / e.norm(dim=1)


@torch.no_grad()
def contraction_curve(model, x: torch.Tensor, radii, generator: torch.Generator | None = None
                      ) -> torch.Tensor:
    """Mean over x of ||f(x + e) - f(x)|| / r with e uniform on the sphere of radius r,
    for each r in radii. Returns (len(radii),)."""
    _check(model, x)
    encode = _encoder_fn(model)
    z = encode(x)                                                            # (B, k)
    dev = generator.device if generator is not None else x.device
    out = []
    for r in radii:
        check_number("radius", float(r), positive=True)
        u = torch.randn(x.shape, generator=generator, device=dev).to(x)
        e = float(r) * u / u.norm(dim=1, keepdim=True)                               # (B, d)
        out.append(((encode(x + e) - z).norm(dim=1) / float(r)).mean())
    return torch.stack(out)


def _standardize(z_train, z_test):
    mu, sd = z_train.mean(0), z_train.std(0).clamp_min(1e-12)
    return (z_train - mu) / sd, (z_test - mu) / sd


def linear_probe(z_train: torch.Tensor, y_train: torch.Tensor, z_test: torch.Tensor,
                 y_test: torch.Tensor, weight_decay: float = 1e-4, max_iter: int = 300) -> float:
    """Test accuracy of multinomial logistic regression on frozen codes.

    Features are standardised with the training split's mean and std (so a code that varies
    on a tiny scale is not handicapped), then fitted full-batch with L-BFGS: a convex problem,
    so the result depends on the codes, not on optimiser luck."""
    z_train, z_test = _standardize(z_train.detach().double().cpu(), z_test.detach().double().cpu())
    y_train, y_test = y_train.cpu().long(), y_test.cpu().long()
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    W = torch.zeros(z_train.shape[1], n_classes, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(z_train @ W + b, y_train) + weight_decay * W.pow(2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    with torch.no_grad():
        return float(((z_test @ W + b).argmax(1) == y_test).double().mean())

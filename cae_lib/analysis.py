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

from .model import check_batch


def _encode(model, x):
    return model.encoder(x) if isinstance(getattr(model, "encoder", None), torch.nn.Module) \
        else model.encode(x)


def _check_positive(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 or v != v or v == float("inf"):
        raise ValueError(f"{name} must be a positive finite number; got {v!r}.")


@torch.no_grad()
def sensitivity(model, x: torch.Tensor, noise_std: float = 0.1,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-sample ||f(x + e) - f(x)|| / ||e||, e ~ N(0, noise_std^2 I). Returns (B,) on x's device."""
    _check_positive("noise_std", noise_std)
    check_batch(x, getattr(model, "input_dim", x.shape[-1] if x.dim() == 2 else -1))
    dev = generator.device if generator is not None else x.device
    e = (noise_std * torch.randn(x.shape, generator=generator, device=dev)).to(x)  # (B, d)
    dz = _encode(model, x + e) - _encode(model, x)                                   # (B, k)
    return dz.norm(dim=1) / e.norm(dim=1)


@torch.no_grad()
def contraction_curve(model, x: torch.Tensor, radii, generator: torch.Generator | None = None
                      ) -> torch.Tensor:
    """Mean over x of ||f(x + e) - f(x)|| / r with e uniform on the sphere of radius r,
    for each r in radii. Returns (len(radii),)."""
    check_batch(x, getattr(model, "input_dim", x.shape[-1] if x.dim() == 2 else -1))
    z = _encode(model, x)                                                            # (B, k)
    dev = generator.device if generator is not None else x.device
    out = []
    for r in radii:
        _check_positive("radius", float(r))
        u = torch.randn(x.shape, generator=generator, device=dev).to(x)
        e = float(r) * u / u.norm(dim=1, keepdim=True)                               # (B, d)
        out.append(((_encode(model, x + e) - z).norm(dim=1) / float(r)).mean())
    return torch.stack(out)

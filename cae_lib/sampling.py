"""Markov chains that sample from a trained autoencoder.

method="cae": the generative process of Rifai, Bengio, Dauphin & Vincent (2012, "A generative
process for sampling contractive auto-encoders", ICML). One step from x (B, d):

    z  = f(x)                                   # (B, k)
    dz = J_f(x) J_f(x)^T eps,  eps ~ N(0, noise_std^2 I_k)
    x' = g(z + dz)

To first order, J_f J_f^T eps is the change of code caused by the input step J_f^T eps, so
x' ~ r(x + J_f^T eps): corrupt along the directions the encoder is sensitive to (covariance
noise_std^2 J_f^T J_f: its leading right-singular vectors, the learned tangents), then
reconstruct. If the code is rescaled, z -> c z with the decoder compensating, the code step
scales as c^2 and the input step as c: noise_std is not comparable between models.

method="dae": the corrupt-and-denoise chain of a denoising autoencoder, x' = r(x + noise_std e),
e ~ N(0, I_d). It is the deterministic-mean version of the chain of Bengio, Yao, Alain &
Vincent (2013, "Generalized denoising auto-encoders as generative models"), whose guarantee
(stationary law close to the data's) needs a SAMPLE from P(x | x_tilde) at the training noise;
taking the mean r(x_tilde) instead contracts the chain onto the data.

Both are computed with torch.func (vjp and jvp; the Jacobian is never formed) and return the
whole chain, (n_steps + 1, B, d), element 0 being x0.

Devices (the rule of `cae_lib.device`): the chain runs on the model's device (x0 is moved there
once) and comes back on x0's device; a generator may live on any device (noise is drawn there).
"""
from __future__ import annotations

import torch
from torch.func import jvp, vjp

from .denoising import _quiet_forward_ad
from .device import to_caller, to_model
from .model import check_batch, check_number
from .penalties import _encoder_fn

METHODS = ("cae", "dae")


def _noise(shape, like: torch.Tensor, generator) -> torch.Tensor:
    """N(0, 1) draws in like's dtype, made on the generator's device, moved to like's."""
    dev = generator.device if generator is not None else like.device
    return torch.randn(shape, generator=generator, device=dev, dtype=like.dtype).to(like.device)


def cae_step(model, x: torch.Tensor, noise_std: float, generator=None) -> torch.Tensor:
    """x' = g(f(x) + J J^T eps), eps ~ N(0, noise_std^2 I_k). x: (B, d) -> (B, d), on x's
    device (computed on the model's)."""
    home, x = x, to_model(model, x)
    f = _encoder_fn(model)
    z, pullback = vjp(f, x)                                   # z: (B, k)
    eps = noise_std * _noise(z.shape, z, generator)           # (B, k)
    (jt_eps,) = pullback(eps)                                 # (B, d) = J^T eps, per sample
    with _quiet_forward_ad():
        _, dz = jvp(f, (x,), (jt_eps,))                       # (B, k) = J J^T eps
    return to_caller(model.decode(z + dz).detach(), home)


def dae_step(model, x: torch.Tensor, noise_std: float, generator=None) -> torch.Tensor:
    """x' = r(x + noise_std e), e ~ N(0, I_d). x: (B, d) -> (B, d), on x's device (computed
    on the model's)."""
    home, x = x, to_model(model, x)
    with torch.no_grad():
        return to_caller(model(x + noise_std * _noise(x.shape, x, generator))[0], home)


def sample_chain(model, x0: torch.Tensor, n_steps: int, noise_std: float,
                 generator: torch.Generator | None = None, method: str = "cae"
                 ) -> torch.Tensor:
    """Run B chains from x0 (B, d) for n_steps steps. Returns (n_steps + 1, B, d), [0] = x0,
    on x0's device (the steps run on the model's).

    method="cae" (Rifai et al. 2012) or "dae" (corrupt, then reconstruct); see the module
    docstring. A seeded `generator` makes the chain reproducible."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}.")
    check_number("n_steps", n_steps, integer=True)
    check_number("noise_std", noise_std)
    dim = getattr(model, "input_dim", None)
    check_batch(x0, dim if dim is not None else x0.shape[-1], name="x0")
    step = cae_step if method == "cae" else dae_step
    was_training = model.training
    model.eval()
    xs = [to_model(model, x0.detach())]
    try:
        for _ in range(n_steps):
            xs.append(step(model, xs[-1], noise_std, generator))
    finally:
        model.train(was_training)
    return to_caller(torch.stack(xs), x0)                     # (n_steps + 1, B, d)

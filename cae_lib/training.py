"""Training loop for plain, contractive (lam > 0) and denoising (noise_std > 0) autoencoders.

Objective per batch x (B, d), with x_in = x + noise_std * eps, eps ~ N(0, I):

    loss = L(x_hat, x)  +  lam * (1/B) sum_b ||J_f(x_b)||_F^2
                        [+ gamma * cae_h_penalty(x)  +  weight_decay * sum_l ||W_l||_F^2]

with the reconstruction loss L a MEAN over pixels AND samples (never a sum):
    loss="mse":  L = mean_{b,j} (x_hat_{b,j} - x_{b,j})^2
    loss="bce":  L = mean_{b,j} -[x_{b,j} log x_hat_{b,j} + (1 - x_{b,j}) log(1 - x_hat_{b,j})]
                 (the cross-entropy of Rifai et al. 2011, who SUM it over the d pixels: their
                 lam equals ours times d = 784). Needs targets in [0, 1].
lam multiplies the batch-mean penalty of `penalties.jacobian_penalty` (evaluated at the clean x).
noise_std > 0 with lam = 0 is a denoising autoencoder with Gaussian corruption (Vincent et al.
2008 used masking noise; Gaussian noise is one of the corruptions of Vincent et al. 2010);
lam > 0 is the CAE of Rifai et al. (2011). gamma > 0 adds the CAE+H term of Rifai et al. (2011b),
`higher_order.cae_h_penalty` with one Gaussian corruption of std gamma_noise_std per sample and
step (drawn from the same generator as the noise; a mean over the batch, like the penalty).
weight_decay > 0 adds weight_decay times the sum of the squared entries of the ENCODER's weight
matrices (biases excluded): the AE+wd baseline of the paper's Table 1; for a linear encoder
z = W x + b it equals the contractive penalty ||J_f||_F^2 = ||W||_F^2 exactly.

The step never calls .item(): losses stay on the device and are read once per epoch, so a
GPU is not stalled. A non-finite loss is found at that read; the model is then put back to
its state at the start of that epoch and a FloatingPointError names the epoch and step.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .device import check_device, default_device
from .model import check_batch, check_number, sigmoid_mlp_linears
from .higher_order import jacobian_change
from .penalties import (METHODS, analytic_penalty, encoder_activations, jacobian_norms,
                        penalty_and_code)

_MONITOR = 1024  # training samples on which a lam=0 model's penalty is measured per epoch
LOSSES = ("mse", "bce")


def check_loss(loss: str, x: torch.Tensor | None = None) -> None:
    """ValueError for an unknown loss name, or for loss="bce" with targets outside [0, 1]."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {LOSSES} (\"mse\": squared "
                         f"error, \"bce\": cross-entropy, both means over pixels and samples).")
    if loss == "bce" and x is not None:
        lo, hi = float(x.min()), float(x.max())
        if lo < 0 or hi > 1:
            raise ValueError(f"loss='bce' needs targets in [0, 1] (pixel intensities); the data "
                             f"span [{lo:.3g}, {hi:.3g}]. Rescale them, e.g. x.float() / 255, or "
                             f"use loss='mse'.")


def reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor, loss: str = "mse") -> torch.Tensor:
    """Mean over pixels and samples of the squared error or the cross-entropy."""
    if loss == "bce":
        return F.binary_cross_entropy(x_hat, x)
    return F.mse_loss(x_hat, x)


@dataclass
class History:
    """Per-epoch records. recon (the MSE or cross-entropy, as trained) and total are means over the epoch's steps of the training
    objective. penalty is the mean in-step ||J_f||_F^2 when lam > 0; when lam = 0 the step
    never computes it, so it is measured exactly at the end of each epoch on the first
    1024 training samples (clean inputs) instead."""
    recon: list[float] = field(default_factory=list)
    penalty: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def _penalty_fn(model, method, n_projections=1, generator=None):
    """A closure (x, x_in) -> (penalty, z) that shares the encoder pass where it can."""
    if method == "analytic":
        linears = sigmoid_mlp_linears(model.encoder)  # TypeError before any training

        def fn(x, x_in):
            hs = encoder_activations(linears, x)
            z = hs[-1] if x_in is x else model.encoder(x_in)
            return analytic_penalty(linears, hs), z
        return fn

    def fn(x, x_in):
        pen, z = penalty_and_code(model, x, method, n_projections, generator)
        return pen, z if z is not None and x_in is x else model.encoder(x_in)
    return fn


@torch.no_grad()
def _monitor_penalty(model, x):
    return float(jacobian_norms(model, x).mean())   # closed form, or torch.func for other encoders


def train(model, x_train: torch.Tensor, *, lam: float = 0.0, noise_std: float = 0.0,
          penalty: str = "analytic", epochs: int = 10, batch_size: int = 128,
          lr: float = 1e-3, seed: int = 0, device=None, progress: bool = True,
          loss: str = "mse", gamma: float = 0.0, gamma_noise_std: float = 0.1,
          weight_decay: float = 0.0, fused: bool = False) -> History:
    """Adam on the objective above, in place. Returns the per-epoch History.
    loss: "mse" or "bce", each a mean over pixels and samples (see the module docstring).
    Leaves the model on `device` (default: cl.default_device(), the GPU if there is one), in
    eval mode; x_train may be anywhere (it is copied there). Every cae_lib helper follows the
    model's device afterwards, so a CPU batch still works (the rule of `cae_lib.device`).
    fused=True: torch's fused Adam, the same update rounded differently; it pays only for the
    2-D toys, whose steps are bound by per-operation overhead (about 14% faster on one CPU
    thread; no measurable gain for the MNIST models), so only they use it."""
    check_number("lam", lam)
    check_number("noise_std", noise_std)
    check_number("epochs", epochs, integer=True, positive=True)
    check_number("batch_size", batch_size, integer=True, positive=True)
    check_number("lr", lr, positive=True)
    check_number("gamma", gamma)
    check_number("weight_decay", weight_decay)
    if not isinstance(fused, bool):
        raise ValueError(f"fused must be True or False; got {fused!r}.")
    if gamma > 0:
        check_number("gamma_noise_std", gamma_noise_std, positive=True)
    if penalty not in METHODS:
        raise ValueError(f"unknown penalty method {penalty!r}; choose one of {METHODS}.")
    check_batch(x_train, model.input_dim, name="x_train")
    check_loss(loss, x_train)

    device = check_device(device, "device") if device is not None else default_device()
    model.to(device).train()
    X = x_train.to(device)
    gen_cpu = torch.Generator().manual_seed(seed)                 # batch order
    gen_dev = torch.Generator(device=device).manual_seed(seed)    # noise and Hutchinson draws
    pen_fn = _penalty_fn(model, penalty, generator=gen_dev) if lam > 0 else None
    opt = torch.optim.Adam(model.parameters(), lr=lr, fused=fused)
    enc_weights = [mod.weight for mod in model.encoder.modules()
                   if isinstance(mod, torch.nn.Linear)]
    n_steps = math.ceil(len(X) / batch_size)
    hist = History()

    from tqdm.auto import tqdm
    # One refresh per epoch, never per step: in a notebook every refresh is a few kernel messages,
    # and a cell that trains for minutes on a slow CPU must not flood nbval's message queue
    # (it drops messages past about 8000 and then times out). delay: shows on long runs only.
    bar = tqdm(total=epochs, disable=not progress, delay=2.0, unit="epoch",
               desc=f"train lam={lam:g} noise_std={noise_std:g}")
    for epoch in range(epochs):
        t0 = time.perf_counter()
        snapshot = {k: v.detach().clone() for k, v in model.state_dict().items()}
        losses = torch.zeros(n_steps, 3, device=device)           # (steps, [recon, pen, total])
        perm = torch.randperm(len(X), generator=gen_cpu).to(device)
        for step, idx in enumerate(perm.split(batch_size)):
            x = X[idx]                                            # (B, d)
            x_in = x + noise_std * torch.randn(x.shape, generator=gen_dev, device=device) \
                if noise_std > 0 else x
            if pen_fn is not None:
                pen, z = pen_fn(x, x_in)
            else:
                pen, z = x.new_zeros(()), model.encoder(x_in)
            x_hat = model.decoder(z)                              # (B, d)
            recon = reconstruction_loss(x_hat, x, loss)
            total = recon + lam * pen
            if gamma > 0:                                         # CAE+H, one corruption
                eps = gamma_noise_std * torch.randn(x.shape, generator=gen_dev, device=device)
                total = total + gamma * jacobian_change(model, x, eps[None])
            if weight_decay > 0:                                  # AE+wd: encoder weights
                total = total + weight_decay * sum(w.pow(2).sum() for w in enc_weights)
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            losses[step] = torch.stack([recon.detach(), pen.detach(), total.detach()])
        losses = losses.cpu()                                     # the epoch's one host sync
        bad = (~torch.isfinite(losses).all(1)).nonzero()
        if len(bad) or not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
            model.load_state_dict(snapshot)
            step = int(bad[0]) + 1 if len(bad) else n_steps
            bar.close()
            raise FloatingPointError(
                f"non-finite loss at epoch {epoch + 1}, step {step} (lam={lam}, lr={lr}). The "
                f"model was restored to its state at the start of epoch {epoch + 1}. Try a "
                f"smaller lr or lam, or check the input data.")
        mean = losses.mean(0)
        hist.recon.append(float(mean[0]))
        hist.penalty.append(float(mean[1]) if lam > 0 else _monitor_penalty(model, X[:_MONITOR]))
        hist.total.append(float(mean[2]))
        hist.seconds.append(time.perf_counter() - t0)
        bar.set_postfix(recon=f"{hist.recon[-1]:.4f}", penalty=f"{hist.penalty[-1]:.3g}",
                        refresh=False)
        bar.update(1)
    bar.close()
    model.eval()
    return hist

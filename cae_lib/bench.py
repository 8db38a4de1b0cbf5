"""Timing one training step per penalty method, interleaved, for chapter 2 and benchmarks/.

A "step" is what `training.train` does per batch: forward, reconstruction MSE
+ lam * penalty, backward, Adam update. Every variant gets its own copy of the same
initial model and optimizer, and the variants take turns (A B C A B C ...) so that a
slow moment of a noisy machine hits them all alike. Report medians and ratios to the
plain step measured in the same run; never compare numbers across runs or machines.
"""
from __future__ import annotations

import copy
import statistics
import time

import torch
import torch.nn.functional as F

from .model import ContractiveAutoencoder
from .training import _penalty_fn

# name -> (penalty method or None for a plain AE, n_projections)
VARIANTS = {
    "plain AE": (None, 1),
    "analytic": ("analytic", 1),
    "hutchinson (1)": ("hutchinson", 1),
    "autograd": ("autograd", 1),
    "loop": ("loop", 1),
}


def _make_step(model, method, n_projections, lam, x):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    pen_fn = _penalty_fn(model, method, n_projections) if method else None

    def step():
        if pen_fn is not None:
            pen, z = pen_fn(x, x)
        else:
            pen, z = x.new_zeros(()), model.encoder(x)
        loss = F.mse_loss(model.decoder(z), x) + lam * pen
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def time_steps(variants: dict | None = None, *, batch_size: int = 128, reps: int = 30,
               warmup: int = 3, hidden_dims=(256, 128), latent_dim: int = 64,
               lam: float = 0.1, device=None, x: torch.Tensor | None = None, seed: int = 0
               ) -> dict[str, list[float]]:
    """Seconds per training step for each variant, `reps` interleaved rounds after warm-up."""
    variants = VARIANTS if variants is None else variants
    device = torch.device(device or "cpu")
    torch.manual_seed(seed)
    base = ContractiveAutoencoder(784, hidden_dims, latent_dim).to(device)
    if x is None:
        x = torch.rand(batch_size, 784, generator=torch.Generator().manual_seed(seed))
    x = x[:batch_size].to(device)
    steps = {name: _make_step(copy.deepcopy(base), m, n, lam, x)
             for name, (m, n) in variants.items()}
    times = {name: [] for name in steps}
    for rnd in range(warmup + reps):
        for name, step in steps.items():
            _sync(device)
            t0 = time.perf_counter()
            step()
            _sync(device)
            if rnd >= warmup:
                times[name].append(time.perf_counter() - t0)
    return times


def summarize(times: dict[str, list[float]], baseline: str = "plain AE") -> list[dict]:
    """Rows of name, median ms, ratio to the baseline's median."""
    base = statistics.median(times[baseline])
    return [{"method": name, "median_ms": 1e3 * statistics.median(t),
             "ratio": statistics.median(t) / base} for name, t in times.items()]

"""The cost of the CAE+H penalty (Rifai et al. 2011b) against the first-order penalty.

Times the forward and backward pass of each penalty alone (no decoder, no optimiser), in turns
(A B C A B C ...) after a warm-up, and prints medians and ratios to `jacobian_penalty`'s
closed form measured in the same run:

  * "first order": `cl.jacobian_penalty(model, x)` (closed form);
  * "CAE+H, n corruptions": `cl.cae_h_penalty(model, x, 0.1, n)` (closed form of the difference
    of two Jacobians, no (B, k, d) tensor), for n = 1 and 4;
  * "CAE+H by torch.func, n = 1": the same number from full per-sample Jacobians, (B, k, d)
    twice: what the closed form avoids.

    python benchmarks/cae_h_speed.py [--batch-size 128] [--reps 30] [--device cpu]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
from torch.func import jacrev, vmap

import cae_lib as cl


def _variants(model, x, gen):
    def brute():                                   # (B, k, d) Jacobians at x and x + eps
        eps = 0.1 * torch.randn(x.shape, generator=gen, device=x.device)
        J = vmap(jacrev(model.encoder))
        return (J(x) - J(x + eps)).pow(2).sum() / x.shape[0]
    return {
        "first order": lambda: cl.jacobian_penalty(model, x),
        "CAE+H, 1 corruption": lambda: cl.cae_h_penalty(model, x, 0.1, 1, generator=gen),
        "CAE+H, 4 corruptions": lambda: cl.cae_h_penalty(model, x, 0.1, 4, generator=gen),
        "CAE+H by torch.func, 1": brute,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    device = torch.device(args.device) if args.device else cl.default_device()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        platform.processor() or platform.machine()
    print(f"device {device} ({name}) | torch {torch.__version__} | threads "
          f"{torch.get_num_threads()} | batch {args.batch_size} | {args.reps} rounds, medians")
    for hidden in ((256, 128), ()):
        torch.manual_seed(0)
        model = cl.ContractiveAutoencoder(hidden_dims=hidden).to(device)
        x = torch.rand(args.batch_size, 784, device=device)
        gen = torch.Generator(device=device).manual_seed(0)
        variants = _variants(model, x, gen)
        times = {k: [] for k in variants}
        for rnd in range(args.warmup + args.reps):
            for k, fn in variants.items():
                model.zero_grad(set_to_none=True)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                t0 = time.perf_counter()
                fn().backward()
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                if rnd >= args.warmup:
                    times[k].append(time.perf_counter() - t0)
        base = statistics.median(times["first order"])
        arch = "-".join(map(str, (784, *hidden, 64)))
        print(f"\nencoder {arch}: forward + backward of the penalty alone")
        print(f"  {'penalty':>24} {'median ms':>10} {'x first order':>14}")
        for k, ts in times.items():
            med = statistics.median(ts)
            print(f"  {k:>24} {1e3 * med:10.2f} {med / base:14.2f}")


if __name__ == "__main__":
    main()

"""Time one full training step (forward, MSE + lam * penalty, backward, Adam) per penalty method.

Variants take turns (A B C A B C ...) after a warm-up; the table shows medians and ratios to the
plain-autoencoder step of the same run and architecture. Ratios, not milliseconds, are what
carry over between machines.

    python benchmarks/penalty_speed.py                    # batch 128 and 256, default encoder
    python benchmarks/penalty_speed.py --batch-size 128 --device cuda --reps 100
"""
from __future__ import annotations

import argparse
import platform

import torch

from cae_lib import default_device
from cae_lib.bench import VARIANTS, summarize, time_steps

# (what, variant, baseline, batch size, architecture, target ratio); loop_speedup is special
TARGETS = [
    ("analytic / plain, batch 128", "analytic", 128, "default", 7.0),
    ("analytic / plain, batch 256", "analytic", 256, "default", 10.0),
    ("hutchinson(1) / plain, batch 128", "hutchinson (1)", 128, "default", 2.0),
    ("Rifai one-layer / plain one-layer (784-64), batch 128", "analytic", 128, "one_layer", 1.2),
]
ARCHS = {"default": (256, 128), "one_layer": ()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-size", type=int, nargs="+", default=[128, 256])
    ap.add_argument("--device", default=None, help="cpu, cuda, mps (default: automatic)")
    ap.add_argument("--reps", type=int, default=60, help="timed rounds per variant")
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args()
    device = torch.device(args.device) if args.device else default_device()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"device {device} ({name}) | torch {torch.__version__} | threads {torch.get_num_threads()}"
          f" | reps {args.reps} after {args.warmup} warm-up rounds, medians\n")

    medians = {}
    for arch, hidden in ARCHS.items():
        variants = VARIANTS if arch == "default" else {k: VARIANTS[k] for k in ("plain AE", "analytic")}
        for bs in args.batch_size:
            times = time_steps(variants, batch_size=bs, reps=args.reps, warmup=args.warmup,
                               hidden_dims=hidden, device=device)
            print(f"encoder 784-{'-'.join(map(str, hidden)) + '-' if hidden else ''}64, batch {bs}")
            print(f"  {'method':>15} {'median ms':>10} {'x plain':>8}")
            for r in summarize(times):
                print(f"  {r['method']:>15} {r['median_ms']:10.2f} {r['ratio']:8.2f}")
                medians[(arch, bs, r["method"])] = r["ratio"]
            print()

    print("targets (issue: performance)")
    for what, variant, bs, arch, target in TARGETS:
        if (arch, bs, variant) in medians:
            v = medians[(arch, bs, variant)]
            print(f"  {what:<55} {v:6.2f}  target <= {target:<5} {'ok' if v <= target else 'MISSED'}")
    if ("default", 128, "loop") in medians:
        v = medians[("default", 128, "loop")] / medians[("default", 128, "analytic")]
        print(f"  {'speed-up analytic over loop, batch 128':<55} {v:6.2f}  target >= 3.5   "
              f"{'ok' if v >= 3.5 else 'MISSED'}")


if __name__ == "__main__":
    main()

"""Pilot: does CAE+H (Rifai et al. 2011b) extend contraction beyond the samples on a sparse circle?

Not part of the book build: a script run by hand, that prints what a section of chapter 5b would
compute before it costs build time. Every number it prints is measured in this run; the toys go
to a cache folder of their own (--cache, default /tmp/cae-h-circle-pilot), never the book's.

The set-up: `toy.ToyConfig` with only N samples of the circle (default 12), trained full-batch
for `epochs` + `decay_epochs` steps, CAEs over a grid of lam and CAE+H (lam, gamma, with one
corruption of std --gamma-noise-std per sample and step), each for replicates 0, 1, 2.

Measures, all at points ON the unit circle (radius 1), so that they compare like with like:
  * at: the N sample angles; mid: the midpoints of the N/2 largest angular gaps between samples;
  * spread = median ||J_f||_F at mid / median ||J_f||_F at the samples: scale-free (a rescaled
    code rescales both); > 1 means the encoder is LESS contractive between the samples;
  * gn, gt: the normal and tangent gains n^T J_r n, t^T J_r t of the reconstruction
    r = g o f, medians. J_r maps the plane to itself, so no rescaling of the code can change it:
    the scale-free "first-order contraction" to match models on is gn at the samples.

A matched comparison picks, per replicate, the CAE lam whose gn_at is nearest a CAE+H model's,
then compares gn_mid - gn_at (how much of the contraction toward the circle survives between
the samples) and the spread.

    python benchmarks/cae_h_circle_pilot.py [--n 12] [--gamma-noise-std 0.2]
"""
from __future__ import annotations

import argparse
import math
import time
from dataclasses import replace

import torch

from cae_lib.toy import ToyConfig, angle, toy_trained
from cae_lib.toy_measures import reconstruction_jacobian


def ring(t: torch.Tensor) -> torch.Tensor:
    return torch.stack([torch.cos(t), torch.sin(t)], 1)                # (m, 2)


def encoder_norms(model, x: torch.Tensor) -> torch.Tensor:
    J = torch.func.vmap(torch.func.jacrev(lambda v: model.encoder(v[None])[0]))(x)
    return J.detach().pow(2).sum((1, 2)).sqrt()                         # (m,)


def gains(model, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    Jr = reconstruction_jacobian(model, p)                              # (m, 2, 2)
    n = p / p.norm(dim=1, keepdim=True)
    t = torch.stack([-n[:, 1], n[:, 0]], 1)
    return (torch.einsum("bi,bij,bj->b", n, Jr, n), torch.einsum("bi,bij,bj->b", t, Jr, t))


def measures(cfg: ToyConfig, cache: str) -> dict:
    model, _ = toy_trained(cfg, cache_dir=cache)
    x, _ = cfg.data()
    th = angle(x).sort().values                                         # (N,)
    gaps = torch.cat([th.diff(), th[:1] + 2 * math.pi - th[-1:]])       # (N,) gap after each
    big = gaps >= gaps.median()
    at, mid = ring(th), ring((th + gaps / 2)[big])
    gn_at, gt_at = gains(model, at)
    gn_mid, gt_mid = gains(model, mid)
    return {"spread": (encoder_norms(model, mid).median()
                       / encoder_norms(model, at).median()).item(),
            "gn_at": gn_at.median().item(), "gn_mid": gn_mid.median().item(),
            "gt_at": gt_at.median().item(), "gt_mid": gt_mid.median().item()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=12, help="samples on the circle")
    p.add_argument("--epochs", type=int, default=1000)
    p.add_argument("--decay-epochs", type=int, default=500)
    p.add_argument("--lams", type=float, nargs="+", default=[0.03, 0.1, 0.3, 0.5, 1.0])
    p.add_argument("--cae-h", type=float, nargs="+", default=[0.1, 1.0, 0.1, 3.0, 1.0, 1.0],
                   help="pairs lam gamma")
    p.add_argument("--gamma-noise-std", type=float, default=0.2)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--cache", default="/tmp/cae-h-circle-pilot")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    head = f"{'model':<22} {'seed':>4} {'spread':>7} {'gn_at':>7} {'gn_mid':>7} " \
           f"{'gt_at':>7} {'gt_mid':>7}"
    print(f"{a.n} samples, {a.epochs}+{a.decay_epochs} full-batch epochs, CAE+H corruption "
          f"std {a.gamma_noise_std}\n{head}")
    rows = {}
    pairs = list(zip(a.cae_h[::2], a.cae_h[1::2]))
    for r in a.seeds:
        base = ToyConfig(n_train=a.n, batch_size=a.n, epochs=a.epochs,
                         decay_epochs=a.decay_epochs, seed=r)
        models = {f"CAE lam {lam:g}": replace(base, lam=lam) for lam in a.lams}
        models.update({f"CAE+H lam {lam:g} g {g:g}": replace(
            base, lam=lam, gamma=g, gamma_noise_std=a.gamma_noise_std) for lam, g in pairs})
        for name, cfg in models.items():
            m = rows[name, r] = measures(cfg, a.cache)
            print(f"{name:<22} {r:>4} " + " ".join(f"{m[k]:7.3f}" for k in
                  ("spread", "gn_at", "gn_mid", "gt_at", "gt_mid")), flush=True)
    print("\nmatched on gn_at (the nearest CAE lam, per seed): gn_mid - gn_at and spread")
    for lam, g in pairs:
        h = f"CAE+H lam {lam:g} g {g:g}"
        for r in a.seeds:
            cae = min((k for k, s in rows if k.startswith("CAE lam") and s == r),
                      key=lambda k: abs(rows[k, r]["gn_at"] - rows[h, r]["gn_at"]))
            H, C = rows[h, r], rows[cae, r]
            print(f"{h:<22} seed {r}: {H['gn_mid'] - H['gn_at']:+.3f}, spread "
                  f"{H['spread']:.3f}  |  {cae:<12} (gn_at {C['gn_at']:.3f} vs "
                  f"{H['gn_at']:.3f}): {C['gn_mid'] - C['gn_at']:+.3f}, spread "
                  f"{C['spread']:.3f}")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()

"""Pilot: layer-wise stacked CAEs, as Rifai et al. (2011) trained them, against the book's
end-to-end deep penalty.

Not part of the book build: a script run by hand that prints what a section or an exercise of
chapter 5b would compute, before it costs build time. Every number it prints is measured in
this run.

The end-to-end models are the book's deep 784-256-128-64 autoencoders (`TrainConfig()`, the
AE and the CAE with lam 0.1 on ||J_f||_F^2 of the whole encoder, chapters 3-5), loaded from
the model cache (CAE_CACHE_DIR, CAE_SEED). The stacked encoder has the same widths, built
greedily by `cae_lib.stacked.train_layerwise`: a one-layer CAE 784-256 on the digits (MSE,
untied decoder, lam on ITS OWN ||J_f1||_F^2, batch mean), then a one-layer CAE 256-128 on the
first layer's codes, then 128-64 on the second's, each with the deep models' budget (20,000
digits, 10 epochs, Adam at 3e-3, batch 128); the decoder is the three decoders in reverse,
with sigmoids inside (`stacked.sigmoid_inside`). Every layer uses the same lam (--lams, a
grid); chapter 5b's exercise 3 shows on the ring why one lam is not one strength.

Measures, from `evaluation.score` (chapter 3's comparison table), on the full test set:
  * rel_sens: median relative sensitivity of the whole encoder, scale-free (chapter 3);
  * probe_val / probe_test: linear-probe accuracy on the 64-d code;
  * test_mse: reconstruction error (pixel mean).
A matched comparison takes the stacked lam whose rel_sens is nearest the end-to-end CAE's.

    CAE_SEED=1 CAE_CACHE_DIR=.cache/models-seed1 python benchmarks/stacked_pilot.py
"""
from __future__ import annotations

import argparse
import time

import torch

import cae_lib as cl
from cae_lib.evaluation import probe_data, score
from cae_lib.model import ContractiveAutoencoder
from cae_lib.seeds import mean_se, training_seed, book_seed
from cae_lib.stacked import sigmoid_inside, train_layerwise

WIDTHS = (784, 256, 128, 64)


def stacked(x, lam, replicate, epochs=10):
    """The deep model's widths, trained layer by layer (cae_lib.stacked), MSE, one lam."""
    seed = training_seed(book_seed(), replicate)
    torch.manual_seed(seed)
    model = sigmoid_inside(ContractiveAutoencoder(WIDTHS[0], WIDTHS[1:-1], WIDTHS[-1],
                                                  tied=False, output="sigmoid"))
    train_layerwise(model, x, lam=lam, schedule=((epochs, 3e-3),), seed=seed)
    return model.eval()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lams", type=float, nargs="+", default=[0.01, 0.1, 1.0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    a = p.parse_args(argv)
    data = probe_data(device="cpu")
    rows = {}
    t0 = time.perf_counter()
    for r in a.seeds:
        for name, cfg in (("end-to-end AE", cl.TrainConfig(seed=r)),
                          ("end-to-end CAE lam 0.1", cl.TrainConfig(lam=0.1, seed=r))):
            rows[name, r] = score(cl.trained(cfg, device="cpu", progress=False)[0], data)
        for lam in a.lams:
            rows[f"stacked CAE lam {lam:g}", r] = score(stacked(data.x_train, lam, r), data)
        print(f"replicate {r} done ({time.perf_counter() - t0:.0f} s)", flush=True)
    names = list(dict.fromkeys(k for k, _ in rows))
    print(f"\n{'model':<24} {'rel_sens':>16} {'probe_val':>16} {'probe_test':>16} "
          f"{'test_mse':>18}   (mean +- seed-level s.e. over {len(a.seeds)} runs)")
    for n in names:
        cols = [mean_se([getattr(rows[n, r], f) for r in a.seeds])
                for f in ("rel_sens", "probe_val", "probe_test", "test_mse")]
        print(f"{n:<24} " + " ".join(f"{m:9.4f} +- {s:.4f}" for m, s in cols[:3])
              + f" {cols[3][0]:10.5f} +- {cols[3][1]:.5f}")
    print("\nper run, rel_sens:")
    for n in names:
        print(f"  {n:<24} " + " ".join(f"{rows[n, r].rel_sens:.4f}" for r in a.seeds))


if __name__ == "__main__":
    main()

"""Fair comparisons of trained autoencoders: one table of measures per model, a validation
split for choosing lam and noise_std, and standard errors for every accuracy.

The protocol (chapters 3, 6 and 7):
  * models train on the first 20,000 MNIST training digits;
  * a linear probe (`analysis.linear_probe`) is fitted on their codes of those digits;
  * hyper-parameters are chosen by probe accuracy on the VALIDATION split, the last 10,000
    training digits (`data.load_validation`), never seen in training or testing;
  * the chosen models are then scored once on the full 10,000-digit test set, with the
    binomial standard error sqrt(p (1 - p) / n), and two models are called different only
    when their accuracies differ by more than two standard errors of the difference
    (paired: both are scored on the same test digits, `difference`).

Contraction is reported twice: raw (`analysis.sensitivity`, in the code's units) and relative
(`analysis.relative_sensitivity`, free of the code's scale), next to the code's spread and the
decoder's gain, so that a code that merely shrank is told apart from one that became invariant.

Devices (the rule of `cae_lib.device`): models are scored on their own device, the data moved
there; `probe_data` puts the images on `device` and the labels on the CPU; the probe itself is
fitted in float64 on the CPU. Scores hold floats and a CPU tensor (`correct`).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
import warnings
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F

from .analysis import _relative_parts, binomial_se, code_spread, decoder_gain, linear_probe
from .cache import TrainConfig, atomic_save, cached_path, require_cached, trained
from .data import load_mnist, load_validation
from .device import default_device, to_model


PROBE_ITER = 100     # L-BFGS iterations of the probe: 300 moved no accuracy by > 0.0005 here


@dataclass(frozen=True)
class ProbeData:
    x_train: torch.Tensor   # (20000, 784) the digits the models were trained on
    y_train: torch.Tensor
    x_val: torch.Tensor     # (10000, 784) the last training digits: for choosing lam, noise_std
    y_val: torch.Tensor
    x_test: torch.Tensor    # (10000, 784) the full test set: scored once, at the end
    y_test: torch.Tensor


def probe_data(dataset: str = "mnist", n_train: int = 20_000, n_val: int = 10_000,
               device=None) -> ProbeData:
    """Training, validation and full test split, images on `device`, labels on the CPU."""
    device = torch.device(device) if device is not None else default_device()
    d = load_mnist(n_train=n_train, dataset=dataset)
    x_val, y_val = load_validation(n_val, dataset=dataset, n_train=n_train)
    return ProbeData(d.x_train.to(device), d.y_train, x_val.to(device), y_val,
                     d.x_test.to(device), d.y_test)


@dataclass(frozen=True)
class Scores:
    test_mse: float         # pixel-mean squared error on the full test set
    sens: float             # median raw sensitivity ||f(x+e)-f(x)||/||e||, 1,000 test digits
    rel_sens: float         # median relative sensitivity (scale-free), same digits and noise
    spread: float           # norm of the per-unit std of the code over those digits
    gain: float             # median top singular value of the decoder's Jacobian at f(x)
    probe_val: float        # linear-probe accuracy on the validation split (for choosing)
    probe_test: float       # ... on the full test set (for reporting)
    correct: torch.Tensor   # (n_test,) bool: which test digits the probe got right

    @property
    def probe_se(self) -> float:
        return binomial_se(self.probe_test, len(self.correct))


def _encode(model, x, chunk=5_000):
    """The codes of x, (N, k), on the model's device (x moved there chunk by chunk)."""
    with torch.no_grad():
        return torch.cat([model.encoder(to_model(model, xb)) for xb in x.split(chunk)])


def probe_codes(z_train, y_train, evals: dict, **kw):
    """Like analysis.linear_probe with several evaluation splits, but returning per-sample
    correctness: {name: (N,) bool}."""
    out = {}
    acc = linear_probe(z_train, y_train, dict(evals), **kw, correct=out)
    return acc, out


def contraction_measures(model, x: torch.Tensor, noise_std: float = 0.1, seed: int = 0) -> dict:
    """Median raw and relative sensitivity (the same noise draws, seeded), the code's spread
    over x and the decoder's gain at the codes of x[:200]: {"raw", "rel", "spread", "gain"},
    floats. Computed on the model's device; the noise is drawn on x's device, so moving the
    model to another device keeps the draws (the numbers change by float rounding only)."""
    gen = torch.Generator(device=x.device).manual_seed(seed)
    local, pairs = _relative_parts(model, x, noise_std, gen)        # (B,), (B',)
    return {"raw": float(local.median()), "rel": float((local / pairs.median()).median()),
            "spread": code_spread(model, x), "gain": decoder_gain(model, x[:200])}


def score(model, data: ProbeData, n_sens: int = 1_000, noise_std: float = 0.1,
          seed: int = 0) -> Scores:
    """Every measure of the comparison tables, for one trained model."""
    model.eval()
    c = contraction_measures(model, data.x_test[:n_sens], noise_std, seed)
    with torch.no_grad():
        x_test = to_model(model, data.x_test)                       # (N, d)
        mse = F.mse_loss(model(x_test)[0], x_test)
    acc, pred = probe_codes(_encode(model, data.x_train), data.y_train,
                            {"val": (_encode(model, data.x_val), data.y_val),
                             "test": (_encode(model, data.x_test), data.y_test)},
                            max_iter=PROBE_ITER)
    return Scores(float(mse), c["raw"], c["rel"], c["spread"], c["gain"], acc["val"],
                  acc["test"], pred["test"])


SCORES_VERSION = 5   # bump when `score` changes what it measures (4: float32 probe products;
                     # 5: decoder_gain's 50 power steps instead of 100)


PROBE_SPLITS = (20_000, 10_000, 10_000)   # probe_data()'s train, validation, test sizes


def scores_path(config: TrainConfig, splits=PROBE_SPLITS, cache_dir=None, **kw) -> Path:
    """Where `scored` keeps the scores of `config` for probe splits of these sizes."""
    blob = json.dumps([SCORES_VERSION, config.key(), *splits, sorted(kw.items())])
    tag = hashlib.sha256(blob.encode()).hexdigest()[:10]
    path = cached_path(config, cache_dir)
    return path.with_name(path.stem + f"-scores-{tag}.pt")


def scored(config: TrainConfig, data: ProbeData, *, device=None, progress: bool = True,
           cache_dir=None, **kw) -> Scores:
    """score(trained(config)), kept next to the model in the cache, so chapters 3, 6 and 7 probe
    each model once. Keyed by the model's key, the split sizes, score's arguments and
    SCORES_VERSION; read with weights_only=True, anything unreadable is recomputed."""
    path = scores_path(config, (len(data.x_train), len(data.x_val), len(data.x_test)),
                       cache_dir, **kw)
    why = "missing"
    if path.exists():
        try:
            d = torch.load(path, map_location="cpu", weights_only=True)
            return Scores(**{f.name: d[f.name] for f in fields(Scores)})
        except Exception as err:
            why = f"unusable ({err})"
            warnings.warn(f"ignoring scores file {path}: {err}; recomputing.", RuntimeWarning,
                          stacklevel=2)
    require_cached(path, why)
    model, _ = trained(config, device=device, progress=progress, cache_dir=cache_dir)
    s = score(model, data, **kw)
    atomic_save(asdict(s), path)
    return s


def raw_pixel_scores(data: ProbeData) -> tuple[float, float, torch.Tensor]:
    """Probe on the 784 raw pixels: (validation accuracy, test accuracy, (N,) correctness)."""
    acc, pred = probe_codes(data.x_train, data.y_train,
                            {"val": (data.x_val, data.y_val), "test": (data.x_test, data.y_test)},
                            max_iter=PROBE_ITER)
    return acc["val"], acc["test"], pred["test"]


def select(scores: dict, keys=None):
    """The key whose model has the highest VALIDATION probe accuracy (the first on ties)."""
    keys = list(scores) if keys is None else list(keys)
    if not keys:
        raise ValueError("select needs at least one scored model.")
    return max(keys, key=lambda k: scores[k].probe_val)


def difference(a: Scores, b: Scores) -> tuple[float, float]:
    """(acc_a - acc_b, its standard error) on the same test digits: paired, from the per-digit
    disagreements, so it is tighter than sqrt(se_a^2 + se_b^2) when the probes agree often."""
    d = a.correct.double() - b.correct.double()                       # (N,) in {-1, 0, 1}
    return float(d.mean()), float(d.std() / len(d) ** 0.5)


def verdict(a: Scores, b: Scores, names=("A", "B")) -> str:
    """'A is better', 'B is better' or 'no measurable difference' (two standard errors)."""
    diff, se = difference(a, b)
    if abs(diff) <= 2 * se:
        return f"no measurable difference ({diff:+.4f} +- {se:.4f})"
    return f"{names[0] if diff > 0 else names[1]} is better ({diff:+.4f} +- {se:.4f})"

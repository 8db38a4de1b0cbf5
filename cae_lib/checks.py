"""Self-checks a student calls on their own answer. Each prints a friendly verdict with the size
of the error and returns True or False. They compare against the exact penalty (float64,
closed form of `penalties.analytic_penalty`) on a few random models and batches, with weights
scaled up so that the Jacobian is not vanishingly small and a wrong formula cannot hide.
"""
from __future__ import annotations

import copy

import torch

from .model import ContractiveAutoencoder
from .penalties import jacobian_penalty

# name -> architecture; all take 784 inputs, so a student's function may assume MNIST shapes
_MODELS = {
    "three layers 784-256-128-64": dict(hidden_dims=(256, 128), latent_dim=64),
    "one layer 784-64": dict(hidden_dims=(), latent_dim=64),
    "odd sizes 784-37-11": dict(hidden_dims=(37,), latent_dim=11),
}
_HINTS = [
    (lambda r: abs(r - 1) < 0.05, "your value is off by only a little: check that the derivative "
                                  "of the sigmoid is h * (1 - h) and that you square it"),
    (lambda r: r > 5, "your value is too large: do you average over the batch, and pair each unit's "
                      "derivative with its own row of W (not the whole matrix's norm)?"),
    (lambda r: r < 0.2, "your value is too small: did you include every layer of the encoder "
                        "(chain rule), and sum over all k x d Jacobian entries?"),
]


def _random_cases(seed: int):
    g = torch.Generator().manual_seed(seed)
    for name, arch in _MODELS.items():
        torch.manual_seed(seed)
        model = ContractiveAutoencoder(784, **arch).double()
        with torch.no_grad():
            for p in model.encoder.parameters():
                p.mul_(3.0)
        x = torch.rand(8, 784, generator=g, dtype=torch.float64)
        yield name, model, x


def _verdict(ok: bool, worst: str, rel: float, ratio: float | None, n: int, verbose: bool) -> bool:
    if not verbose:
        return ok
    if ok:
        print(f"Correct: your function matches the exact penalty on all {n} random cases "
              f"(largest relative error {rel:.1e}).")
        return ok
    msg = f"Not yet: on the case '{worst}' your value is off by a relative error of {rel:.3g}"
    if ratio is not None:
        msg += f" (your value / exact = {ratio:.3g})"
        msg += "".join(f".\nHint: {h}" for test, h in _HINTS if test(ratio))
    print(msg + ".")
    return ok


def _compare(values, exacts, names, tol, verbose):
    rels = [abs(v - e) / abs(e) for v, e in zip(values, exacts)]
    i = max(range(len(rels)), key=rels.__getitem__)
    ratio = values[i] / exacts[i] if exacts[i] != 0 else None
    return _verdict(rels[i] <= tol, names[i], rels[i], ratio, len(rels), verbose)


def _call(fn, *args):
    out = fn(*args)
    if not isinstance(out, torch.Tensor) or out.numel() != 1:
        raise TypeError(f"it should return a scalar tensor (the batch mean); it returned "
                        f"{type(out).__name__}{'' if not isinstance(out, torch.Tensor) else tuple(out.shape)}")
    return float(out.detach())


def check_jacobian_penalty(fn, tol: float = 1e-6, seed: int = 0, verbose: bool = True) -> bool:
    """Check fn(model, x) -> batch mean of ||J_f(x)||_F^2 (sum over entries, mean over the batch)
    on three random sigmoid-encoder models in float64."""
    names, values, exacts = [], [], []
    for name, model, x in _random_cases(seed):
        try:
            values.append(_call(fn, copy.deepcopy(model), x.clone()))
        except Exception as err:  # a student's bug: report it, do not crash the lesson
            if verbose:
                print(f"Not yet: your function raised {type(err).__name__} on the case '{name}': {err}")
            return False
        exacts.append(float(jacobian_penalty(model, x).detach()))
        names.append(name)
    return _compare(values, exacts, names, tol, verbose)


def check_one_layer_penalty(fn, tol: float = 1e-6, seed: int = 0, verbose: bool = True) -> bool:
    """Check fn(W, b, x) -> batch mean of ||J||_F^2 for one sigmoid layer h = sigmoid(x W^T + b),
    W of shape (k, d): the closed form of Rifai et al. (eq. rifai), derived by hand."""
    g = torch.Generator().manual_seed(seed)
    names, values, exacts = [], [], []
    for k, d in [(64, 784), (5, 3), (17, 40)]:
        W = 2 * torch.randn(k, d, generator=g, dtype=torch.float64) / d ** 0.5
        b = torch.randn(k, generator=g, dtype=torch.float64)
        x = torch.rand(6, d, generator=g, dtype=torch.float64)
        model = ContractiveAutoencoder(d, (), k).double()
        with torch.no_grad():
            model.encoder[0].weight.copy_(W)
            model.encoder[0].bias.copy_(b)
        name = f"W of shape ({k}, {d})"
        try:
            values.append(_call(fn, W.clone(), b.clone(), x.clone()))
        except Exception as err:
            if verbose:
                print(f"Not yet: your function raised {type(err).__name__} on {name}: {err}")
            return False
        exacts.append(float(jacobian_penalty(model, x, "autograd").detach()))
        names.append(name)
    return _compare(values, exacts, names, tol, verbose)

"""Self-checks for the exercises of chapters 4, 4b, 5 and 7 whose answer is a number, a
function of the 2-D toy, or a penalty and its gradient (conventions: `check_base`). Students call
them through `cl.checks`. References: the small-noise expansion of Bishop (1995) and Alain &
Bengio (2014) for chapter 4; the one-layer penalty of Rifai et al. (2011) for chapter 7.
"""
from __future__ import annotations

import math

import torch

from .check_base import _FAIL, _call, _describe, _err, _formula, _stub, _value, _verdict


# ---------------------------------------------------------------- chapters 4, 4b and 5
def check_dae_noise(noise_std, lam: float = 0.1, d: int = 784, verbose: bool = True) -> bool:
    """Ch. 4 ex. 2: the noise_std at which eq. (dae-lam) gives weight lam to the J_r term of
    the book's pixel-mean MSE: sqrt(lam d) (to 1%)."""
    ref = math.sqrt(lam * d)
    return _value(noise_std, ref, 0.01, verbose, f"noise_std = {ref:.3g}: {ref:.2g} times the "
                  "whole pixel range [0, 1], noise that leaves nothing of the digit, so the "
                  "small-noise expansion says nothing about it.", [
                      (lam * d, "that is the noise's variance; the question asks for its "
                                "standard deviation"),
                      (math.sqrt(lam / d), "with a pixel-mean loss the noise's weight is spread "
                                           "over the d pixels, so matching a given lam takes "
                                           "more noise, not less"),
                      (math.sqrt(lam), "you left out the pixel-mean normalisation of the "
                                       "book's MSE"),
                      (math.sqrt(2 * lam * d), "there is no factor 2 in eq. (dae-lam)"),
                      (math.sqrt(lam * d / 2), "there is no factor 1/2 in eq. (dae-lam)")],
                  "solve eq. (dae-lam) for the noise level", 0.05, what="a number (noise_std)")


def check_ideal_error(pred, noise_std: float = 0.035, ring_std: float = 0.05,
                      verbose: bool = True) -> bool:
    """Ch. 4b ex. 2: the predicted median relative error of the perfect DAE near the ring by
    eq. (ideal-error) (accepted to 1% relative)."""
    s2, v2 = ring_std ** 2, noise_std ** 2
    ref = v2 / (s2 + v2)
    return _value(pred, ref, 1e-2, verbose, f"sigma^2 / (s^2 + sigma^2) = {ref:.3f}: the perfect "
                  f"DAE's arrow is only {1 - ref:.2f} of sigma^2 grad log p.", [
                      (s2 / (s2 + v2), "that is the share the perfect DAE keeps; the question "
                                       "asks for the share it misses"),
                      (v2 / s2, "you divided by the ring's own variance; the perfect DAE sees "
                                "the ring blurred by the noise"),
                      (noise_std / (ring_std + noise_std), "you used standard deviations where "
                                                           "eq. (ideal-error) has variances")],
                  "eq. (ideal-error) compares the noise's variance with that of the blurred ring",
                  0.02)


def check_random_share(share, k: int = 5, d: int = 784, verbose: bool = True) -> bool:
    """Ch. 5 ex. 1: the expected share of a random unit vector's squared length in a fixed
    k-dimensional subspace of R^d (a Monte Carlo estimate is accepted within 15%)."""
    return _value(share, k / d, 0.15, verbose, f"about k / d = {k}/{d} = {k / d:.4f}: a random "
                  "direction spreads its squared length evenly over all d dimensions.", [
                      (k / 64, "the random vector lives in the 784-dimensional input space, "
                               "not in the 64-unit code"),
                      ((k / d) ** 0.5, "that is the length in the span; the question asks for "
                                       "the share of the squared length"),
                      (1 / d, "that is one direction's share; the span has several")],
                  f"project u on the {k} orthonormal rows of Vh and sum the squares", 0.15,
                  sure=5e-3)


def mixture_circles():
    """The two-ring mixture of chapter 4b's exercise: weights 1/2 and 1/2 on
    Circle(0.6, 0.1) and Circle(1.4, 0.1)."""
    from .toy import Circle
    return Circle(0.6, 0.1), Circle(1.4, 0.1)


def check_mixture_score(score_fn, verbose: bool = True) -> bool:
    """Ch. 4b ex. 1: a function x (n, 2) -> (n, 2) that should return grad log p(x) for the
    mixture p = (p1 + p2) / 2 of `mixture_circles()`, against float64 autograd of log p at 400
    points between the rings and around them. Recognises the usual wrong answers."""
    from .toy import band
    c1, c2 = mixture_circles()
    g = torch.Generator().manual_seed(0)
    x = torch.cat([band(c1, 200, 0.0, 0.5, g), band(c2, 200, 0.0, 0.5, g)]).double()
    x.requires_grad_(True)
    logp = torch.logaddexp(c1.log_density(x), c2.log_density(x)) - math.log(2.0)
    (exact,) = torch.autograd.grad(logp.sum(), x)
    x = x.detach()
    got = _call(score_fn, (x.clone(),), verbose, "an (n, 2) tensor, one score per point")
    if got is _FAIL:
        return False
    try:
        got = torch.as_tensor(got, dtype=torch.float64).detach()
    except Exception:
        return _verdict(False, verbose, f"your function returned {_describe(got)}; it must "
                        "return an (n, 2) tensor.")
    if got.shape != exact.shape:
        return _verdict(False, verbose, f"your function returned shape {tuple(got.shape)}; it "
                        "must return (n, 2) for x of shape (n, 2), one score vector per point.")
    rel = float(((got - exact).norm(dim=1) / exact.norm(dim=1).clamp_min(1e-12)).max())
    if rel < 1e-6:
        return _verdict(True, verbose, "your score matches autograd of log p at all 400 points "
                        f"(largest relative error {rel:.1e}).")
    s1, s2 = c1.score(x), c2.score(x)
    w1 = torch.sigmoid(c1.log_density(x) - c2.log_density(x))[:, None]    # (n, 1)
    if torch.allclose(got, (s1 + s2) / 2) or torch.allclose(got, s1 + s2):
        hint = ("you mixed the two scores with fixed weights; the score of a mixture weights "
                "them by how likely each ring is at that point, which changes from point to "
                "point")
    elif torch.allclose(got, (1 - w1) * s1 + w1 * s2):
        hint = "you weighted each ring's score by the other ring's posterior: swap the weights"
    elif rel < 1e-2:
        hint = "you are close: compute the weights in log space (torch.logsumexp)"
    else:
        hint = ("compare your function with autograd of log p at a few points: the score is "
                "the gradient of the log of the mixture, not the mixture of the log-gradients")
    return _verdict(False, verbose, f"the largest relative error is {rel:.3g}.", hint)


# ---------------------------------------------------------------- chapter 7
def _gradient_cases(seed: int = 0):
    """(W, b, x) in float64 for three shapes (k, d): the paper's 64 x 784 and two odd ones."""
    g = torch.Generator().manual_seed(seed)
    return [(2 * torch.randn(k, d, generator=g, dtype=torch.float64) / d ** 0.5,
             torch.randn(k, generator=g, dtype=torch.float64),
             torch.rand(6, d, generator=g, dtype=torch.float64))
            for k, d in [(64, 784), (5, 3), (17, 40)]]


def _penalty_one_layer(W, b, x):     # the batch mean of ||dh/dx||_F^2, h = sigmoid(x W^T + b)
    J = torch.func.vmap(torch.func.jacrev(lambda v: torch.sigmoid(W @ v + b)))(x)   # (B, k, d)
    return J.pow(2).sum((1, 2)).mean()


def _gradient_forms(W, b, x) -> dict:
    """The exact gradient (float64 autograd of the brute-force penalty) and the typical wrong
    ones, keyed by their hints, each (k, d)."""
    exact = torch.func.grad(_penalty_one_layer)(W, b, x)                          # (k, d)
    h = torch.sigmoid(x @ W.T + b)                                                # (B, k)
    a2, rows, B = (h * (1 - h)) ** 2, W.pow(2).sum(1), len(x)                     # (B, k), (k,)
    norms_only = 2 * a2.mean(0)[:, None] * W                       # slopes held constant
    slopes_only = exact - norms_only                               # row norms held constant
    wrong_slope = 2 * ((a2 * (h * (1 - h))) * rows).T @ x / B      # d slope / d a taken as slope
    return {"exact": exact,
            "your gradient is half the true one: a factor from differentiating a square is "
            "missing": exact / 2,
            "you treated each unit's slope as a constant; it depends on W through the "
            "pre-activation": norms_only,
            "you treated the row norms of W as constants; they depend on W too": slopes_only,
            "your gradient is B times too large: the penalty is a batch mean, so is its "
            "gradient": exact * B,
            "the derivative of a unit's slope with respect to its pre-activation is wrong: "
            "apply the chain rule to the slope itself": norms_only + wrong_slope,
            "the term from the slopes has the wrong sign: check the sign of the derivative of "
            "h (1 - h)": norms_only - slopes_only,
            "the term from the slopes is half what it should be: the penalty holds the "
            "square of each slope": norms_only + slopes_only / 2}


def check_one_layer_gradient(fn, tol: float = 1e-6, verbose: bool = True) -> bool:
    """Ch. 7 ex. 4: fn(W, b, x) -> the gradient with respect to W, shape (k, d), of the batch
    mean of ||dh/dx||_F^2 for one sigmoid layer h = sigmoid(x W^T + b), against float64
    autograd of the brute-force penalty on three shapes."""
    worst, worst_hint = 0.0, None
    for W, b, x in _gradient_cases():
        got = _call(fn, (W.clone(), b.clone(), x.clone()), verbose,
                    f"a tensor of shape {tuple(W.shape)}, the gradient with respect to W")
        if got is _FAIL:
            return False
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(W.shape):
            return _verdict(False, verbose, f"for W of shape {tuple(W.shape)} your function "
                            f"returned {_describe(got)}; the gradient has W's shape.")
        forms = _gradient_forms(W, b, x)
        exact = forms.pop("exact")
        got = got.detach().double()

        def rel(t):
            return float((got - t).norm() / t.norm())
        e = rel(exact)
        if e > worst:
            near = min(forms, key=lambda hint: rel(forms[hint]))
            worst, worst_hint = e, near if rel(forms[near]) < 0.01 else None
    if worst <= tol:
        return _verdict(True, verbose, "your gradient matches float64 autograd on all 3 shapes "
                        f"(largest relative error {worst:.1e}).")
    return _verdict(False, verbose, f"relative error {worst:.3g} on the worst shape.",
                    worst_hint or "compare each of your two terms (from the row norms, from "
                    "the slopes) with autograd's gradient separately, on a small W")


def _mixed_cases(seed: int = 0):
    """(encoder, x) for four encoders whose layers mix sigmoid, tanh and softplus, weights
    scaled up so that no layer is nearly linear; float64."""
    acts = {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "softplus": torch.nn.Softplus}
    archs = [((256, 128, 64), ("tanh", "softplus", "sigmoid")), ((64,), ("tanh",)),
             ((37, 11), ("softplus", "sigmoid")), ((30, 10), ("sigmoid", "sigmoid"))]
    g = torch.Generator().manual_seed(seed)
    for dims, names in archs:
        torch.manual_seed(seed)
        layers, n = [], 784
        for m, name in zip(dims, names):
            lin = torch.nn.Linear(n, m).double()
            with torch.no_grad():
                lin.weight.mul_(3.0)
            layers += [lin, acts[name]()]
            n = m
        yield (torch.nn.Sequential(*layers), torch.rand(8, 784, generator=g, dtype=torch.float64))


_SLOPE = {torch.nn.Sigmoid: lambda a: torch.sigmoid(a) * torch.sigmoid(-a),
          torch.nn.Tanh: lambda a: 1 - torch.tanh(a) ** 2,
          torch.nn.Softplus: torch.sigmoid}                  # each activation's derivative


def _chain(encoder, x, slope):
    """The batch mean of ||J||_F^2 by the chain rule, with slope(a, h) as every layer's
    derivative (a: pre-activation, h: output)."""
    J, h = None, x
    for lin, act in zip(encoder[::2], encoder[1::2]):
        a = lin(h)
        h = act(a)
        step = slope(act, a, h)[:, :, None] * lin.weight               # (B, n_l, n_{l-1})
        J = step if J is None else step @ J
    return J.pow(2).sum((1, 2)).mean()


def check_any_activation_penalty(fn, tol: float = 1e-6, verbose: bool = True) -> bool:
    """Ch. 7 ex. 5: fn(encoder, x) -> the batch mean of ||J_f(x)||_F^2 for an encoder that is a
    torch.nn.Sequential of Linear layers, each followed by Sigmoid, Tanh or Softplus, against
    float64 autograd on four encoders."""
    def exact(enc, x):
        J = torch.func.vmap(torch.func.jacrev(enc))(x)                        # (B, k, d)
        return J.pow(2).sum((1, 2)).mean()

    def sigmoid_slope(act, a, h):
        return h * (1 - h)

    def sigmoid_of_pre(act, a, h):
        return torch.sigmoid(a) * torch.sigmoid(-a)

    def at_output(act, a, h):             # the right derivative, at the output h, not at a
        return _SLOPE[type(act)](h)

    def last_only(enc, x):
        z, W = enc(x), enc[-2].weight
        return (z * (1 - z)).pow(2).sum(1).mean() * W.pow(2).sum()

    return _formula(fn, list(_mixed_cases()), {
        "exact": exact,
        "you used the sigmoid's slope h (1 - h) at every layer; these encoders also have tanh "
        "and softplus layers, each with its own derivative": lambda e, x: _chain(
            e, x, sigmoid_slope),
        "you used the sigmoid's slope at every layer; these encoders also have tanh and "
        "softplus layers, each with its own derivative ": lambda e, x: _chain(
            e, x, sigmoid_of_pre),
        "you evaluated each layer's derivative at its output; it belongs at the layer's "
        "pre-activation": lambda e, x: _chain(e, x, at_output),
        "you kept only the last layer (the shortcut of chapter 1); the chain rule has one "
        "factor per layer": last_only,
        "your value is B times too large: you summed over the batch, and the penalty is a "
        "batch mean": lambda e, x: exact(e, x) * len(x),
        "you returned the norm, not the squared norm": lambda e, x: torch.func.vmap(
            torch.func.jacrev(e))(x).pow(2).sum((1, 2)).sqrt().mean()},
        "your penalty matches float64 autograd on all 4 encoders",
        "build J one layer at a time, each layer with its own activation's derivative, then "
        "square and sum its entries", verbose, "one number, the batch mean (a scalar tensor)",
        tol)

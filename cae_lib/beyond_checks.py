"""Self-checks of chapter 5b's exercises (CAE+H and the replicated Table 1).

`check_cae_h_limit(fn)`: fn(W, b, x), the batch mean of sum_i ||Hessian of h_i||_F^2 for one
sigmoid layer h = sigmoid(x W^T + b), the small-noise limit of the CAE+H penalty over
noise_std^2 (Rifai et al. 2011b; eq. cae-h-limit), against float64 autograd (torch.func) on three
shapes. `check_real_difference(answer, a, b)`: (mean, seed-level s.e., real?) of the run-by-run
differences a_r - b_r, by the book's rule (real when |mean| > 2 s.e.). `check_relative_error(fn)`:
the error of a reconstruction of codes z over their mean per-unit variance (stacked CAEs). All follow
`check_base`:
"Correct" or "Not yet" with a hint that names the mistake, never the formula.
"""
from __future__ import annotations

import torch

from .check_base import _FAIL, _err, _formula, _hint, _number, _stub, _verdict


def check_cae_h_limit(fn, tol: float = 1e-6, seed: int = 0, verbose: bool = True) -> bool:
    """Ch. 5b ex. 1: fn(W, b, x) -> batch mean of sum_i ||d^2 h_i / dx^2||_F^2 for
    h = sigmoid(x W^T + b), W (k, d), against float64 autograd on three shapes."""
    g, f64 = torch.Generator().manual_seed(seed), torch.float64
    cases = [(3 * torch.randn(k, d, generator=g, dtype=f64) / d ** 0.5,
              torch.randn(k, generator=g, dtype=f64), torch.rand(5, d, generator=g, dtype=f64))
             for k, d in [(7, 5), (3, 11), (16, 20)]]

    def exact(W, b, x):
        h = lambda v: torch.sigmoid(W @ v + b)                          # noqa: E731
        H = torch.func.vmap(torch.func.jacrev(torch.func.jacrev(h)))(x)   # (B, k, d, d)
        return H.pow(2).sum((1, 2, 3)).mean()

    def form(slope, power=2, batch=torch.mean):       # batch of sum_i slope_i ||W_i||^power
        return lambda W, b, x: batch(slope(torch.sigmoid(x @ W.T + b))
                                     @ W.pow(2).sum(1).pow(power / 2))
    curv = lambda h: (h * (1 - h) * (1 - 2 * h)) ** 2                    # noqa: E731
    return _formula(fn, cases, {
        "exact": exact,
        "you used the first derivative h (1 - h) of each unit; the Hessian needs its "
        "second derivative": form(lambda h: (h * (1 - h)) ** 2, 4),
        "your power of the row norm ||W_i|| is off: count the factors of W in one second "
        "derivative of a unit": form(curv, 2),
        "the second derivative is not squared: the Frobenius norm squares every entry":
            form(lambda h: h * (1 - h) * (1 - 2 * h), 4),
        "your value is B times too large: you summed over the batch, and the penalty is a "
        "batch mean": form(curv, 4, batch=torch.sum)},
        "your limit matches float64 autograd on all 3 shapes",
        "differentiate dh_i/dx_j = h_i (1 - h_i) W_ij once more with respect to x_l, then "
        "square and sum over i, j and l", verbose, "one number, the batch mean", tol)


def check_real_difference(answer, a, b, verbose: bool = True) -> bool:
    """Ch. 5b ex. 2: answer = (mean, s.e., real) of the run-by-run differences a_r - b_r
    (seed-level s.e.: sample std / sqrt(n)); real means |mean| > 2 s.e."""
    if _stub(answer, verbose, "(mean, s.e., True or False)"):
        return False
    if not isinstance(answer, (tuple, list)) or len(answer) != 3:
        return _verdict(False, verbose, f"expected (mean, s.e., real), three values; got "
                        f"{answer!r:.80}.")
    m, se = _number(answer[0], verbose, "a mean"), _number(answer[1], verbose, "an s.e.")
    if m is _FAIL or se is _FAIL:
        return False
    if not isinstance(answer[2], bool):
        return _verdict(False, verbose, f"the third value must be True or False; got "
                        f"{answer[2]!r:.40}.")
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    d = a - b
    n = len(d)
    ref_m, ref_se = float(d.mean()), float(d.std() / n ** 0.5)
    wrong = [((-ref_m, ref_se), "your mean has the wrong sign: the question asks for "
                                 "the first minus the second"),
             ((ref_m, float(((a.var() + b.var()) / n) ** 0.5)),
              "you combined the two standard errors as if the runs were independent; run r "
              "of both models shares its seed, so take the s.e. of the differences"),
             ((ref_m, float(d.std(unbiased=False) / n ** 0.5)),
              "your s.e. uses the population standard deviation; the book's seed-level s.e. "
              "uses the sample one (see cl.mean_se)"),
             ((ref_m, float(d.std())), "that is the spread of the single differences, not the "
                                       "standard error of their mean")]
    ok = _err([m, se], [ref_m, ref_se]) <= 1e-6
    if not ok:
        return _verdict(False, verbose, f"your (mean, s.e.) = ({m:.4g}, {se:.4g}) is not that "
                        f"of the run-by-run differences.",
                        _hint([m, se], [(list(w), h) for w, h in wrong], 1e-3)
                        or "form the n differences a_r - b_r first, then their mean and its "
                           "seed-level standard error")
    if answer[2] != (abs(ref_m) > 2 * ref_se):
        return _verdict(False, verbose, "your mean and s.e. are right, but your verdict is "
                        "not the rule's.", "a difference is real only when its size exceeds "
                        "two standard errors")
    return _verdict(True, verbose, f"mean {ref_m:+.3f}, s.e. {ref_se:.3f}: "
                    f"{'real' if answer[2] else 'not real'} by the two-s.e. rule.")


def check_relative_error(fn, tol: float = 1e-6, seed: int = 0, verbose: bool = True) -> bool:
    """Ch. 5b ex. 3: fn(z_hat, z) -> the MSE of z_hat (B, k) against codes z (B, k) over the
    mean over units of z's variance over the batch (population variance), so that a layer
    that outputs the mean code scores exactly 1, on three shapes and scales."""
    g, f64 = torch.Generator().manual_seed(seed), torch.float64
    cases = []
    for B, k, scale in [(50, 32, 0.1), (7, 3, 1.0), (200, 16, 0.01)]:
        z = 0.5 + scale * torch.randn(B, k, generator=g, dtype=f64)
        cases.append((z + 0.3 * scale * torch.randn(B, k, generator=g, dtype=f64), z))
    var = lambda z: z.var(0, unbiased=False)                             # noqa: E731
    mse = lambda a, z: (a - z).pow(2).mean()                             # noqa: E731
    return _formula(fn, cases, {
        "exact": lambda a, z: mse(a, z) / var(z).mean(),
        "you divided by the variance summed over the units; average it instead, so that "
        "outputting the mean code scores 1 whatever the number of units":
            lambda a, z: mse(a, z) / var(z).sum(),
        "you divided by the mean square of the codes: subtract each unit's mean over the "
        "batch first": lambda a, z: mse(a, z) / z.pow(2).mean(),
        "you used the sample variance (divided by B - 1); with the population variance the "
        "mean code scores exactly 1": lambda a, z: mse(a, z) / z.var(0).mean(),
        "your ratio is upside down": lambda a, z: var(z).mean() / mse(a, z)},
        "your relative error matches on all 3 cases",
        "compare your error with what outputting the batch mean of z would cost: that ratio "
        "should be 1", verbose, "one number", tol)

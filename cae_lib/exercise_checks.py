"""Self-checks for the end-of-chapter exercises whose answer is a number or a formula
(chapters 1, 1b, 2, 4, 4b, 5), and the helpers that all exercise checks share; the checks of
chapter 7 and those whose answer is a choice (which class, which lam) are in `checks.py`, which
re-exports these, so `cl.checks.check_x` works for every one. Each takes the student's answer
(a value or a function) and `verbose`, prints "Correct: ..." or "Not yet: ..." (for a recognised
wrong answer with one line "Hint: ..." naming the fix) and returns True or False; a student's
bug is reported, never raised. None or ... (Ellipsis), or a function raising
NotImplementedError, is a stub: "Not yet: your answer here (...)". Formulas are compared with
float64 ground truth (autograd, exact counts) on several cases.
"""
from __future__ import annotations

import math

import torch

from .denoising import dae_lam

_FAIL = object()                       # what the helpers return once they have said why


def _verdict(ok: bool, verbose: bool, text: str, hint: str | None = None) -> bool:
    """Print "Correct: text" or "Not yet: text" (and "Hint: hint." if wrong); return ok."""
    if verbose:
        print(("Correct: " if ok else "Not yet: ") + text
              + (f"\nHint: {hint}" + "." * (hint[-1] not in ".?") if hint and not ok else ""))
    return ok


def _fail(verbose: bool, text: str):
    return _verdict(False, verbose, text) or _FAIL


def _stub(ans, verbose: bool, what: str) -> bool:
    """True, after saying so, when ans is the placeholder None or ... ."""
    stub = ans is None or ans is Ellipsis
    if stub:
        _fail(verbose, f"your answer here (replace {'None' if ans is None else '...'} with "
                       f"{what}).")
    return stub


def _as_float(x) -> float | None:
    if x is None or isinstance(x, (str, bool)):
        return None
    try:
        t = torch.as_tensor(x, dtype=torch.float64).detach()      # a Python float stays exact
    except Exception:
        return None
    return float(t) if t.numel() == 1 and math.isfinite(float(t)) else None


def _describe(x) -> str:
    shape = getattr(x, "shape", None)
    return type(x).__name__ + ("" if shape is None else f" of shape {tuple(shape)}")


def _number(ans, verbose: bool, what: str = "a number"):
    """The student's value as a float, or _FAIL after saying why (a stub, a wrong type)."""
    if _stub(ans, verbose, "your value"):
        return _FAIL
    v = _as_float(ans)
    return _fail(verbose, f"expected {what}; got {ans!r:.60}.") if v is None else v


def _call(fn, args, verbose: bool, returns: str, scalar: bool = False):
    """fn(*args) (a float if scalar), or _FAIL after reporting a stub, a non-function, a crash
    or, if scalar, a result that is not one finite number."""
    if _stub(fn, verbose, "your function"):
        return _FAIL
    if not callable(fn):
        return _fail(verbose, f"expected a function; got {_describe(fn)}.")
    try:
        out = fn(*args)
    except NotImplementedError:
        return _fail(verbose, "your answer here (the function still raises NotImplementedError).")
    except Exception as err:  # a student's bug: report it, do not crash the lesson
        return _fail(verbose, f"your function raised {type(err).__name__}: {err}")
    if out is None or out is Ellipsis:
        return _fail(verbose, f"your answer here (your function returns {out!r}; it must return "
                              f"{returns}).")
    if scalar and _as_float(out) is None:
        return _fail(verbose, f"your function returned {_describe(out)}; it must return {returns}.")
    return _as_float(out) if scalar else out


def _err(v, ref) -> float:
    """Relative error; for lists (one value per test case) the largest one."""
    if isinstance(v, (list, tuple)):
        return max(_err(a, b) for a, b in zip(v, ref))
    return abs(v - ref) / abs(ref) if ref else abs(v)


def _hint(v, wrongs, tol: float, sure: float = 1e-3) -> str | None:
    """The hint of the typical wrong answer within tol of v: only the nearest if it is within
    `sure`, else every one within tol, nearest first; None if none is."""
    near = sorted((_err(v, w), h) for w, h in wrongs if _err(v, w) <= tol)
    if not near:
        return None
    return near[0][1] if near[0][0] <= sure else "; or ".join(dict.fromkeys(h for _, h in near))


def _value(ans, ref, tol, verbose, good, wrongs, fallback, wtol, sure=1e-3, what="a number"):
    """One number against ref (relative tol); else the hint of the nearest typical wrong one."""
    v = _number(ans, verbose, what)
    if v is _FAIL:
        return False
    if _err(v, ref) <= tol:
        return _verdict(True, verbose, good)
    return _verdict(False, verbose, f"your value is {v:.4g}.",
                    _hint(v, wrongs, wtol, sure) or fallback)


def _pair(answers, refs, ok, wrongs, fallbacks, good, verbose, wtol) -> bool:
    """Two numbers against refs with ok(value, ref); else a swap, or for each wrong one the
    hint of its typical wrong value (wrongs[i]: (value, hint) pairs) or fallbacks[i]."""
    if any(_stub(a, verbose, "your two answers") for a in answers):
        return False
    vals = [_number(a, verbose) for a in answers]
    if any(v is _FAIL for v in vals):
        return False
    right = [ok(v, r) for v, r in zip(vals, refs)]
    if all(right):
        return _verdict(True, verbose, good)
    hints = (["you swapped the two answers: keep the order of the arguments"]
             if ok(vals[0], refs[1]) and ok(vals[1], refs[0]) else
             [_hint(v, w, wtol) or f
              for v, w, f, r in zip(vals, wrongs, fallbacks, right) if not r])
    return _verdict(False, verbose, f"your answers are {vals[0]:,.6g} and {vals[1]:,.6g}.",
                    "; ".join(dict.fromkeys(hints)))


def _formula(fn, cases, forms, good, fallback, verbose, returns, tol=1e-6) -> bool:
    """fn(*case) on every case (tuples of float64 tensors and numbers) against forms, a dict:
    "exact" and each typical wrong answer's hint -> f(*case) -> number. Pass: within tol."""
    got = []
    for case in cases:
        args = tuple(t.clone() if isinstance(t, torch.Tensor) else t for t in case)
        got.append(_call(fn, args, verbose, returns, scalar=True))
        if got[-1] is _FAIL:
            return False
    vals = {h: [float(f(*c)) for c in cases] for h, f in forms.items()}
    exact = vals.pop("exact")
    e = _err(got, exact)
    if e <= tol:
        return _verdict(True, verbose, f"{good} (largest relative error {e:.1e}).")
    i = max(range(len(got)), key=lambda j: _err(got[j], exact[j]))
    return _verdict(False, verbose, f"relative error {e:.3g} (your value / exact = "
                    f"{got[i] / exact[i]:.3g} on the worst case).",
                    _hint(got, [(v, h.strip()) for h, v in vals.items()], 0.1) or fallback)


# ---------------------------------------------------------------- chapters 1 and 1b
def check_shortcut_ratio(ratio, k: int = 64, verbose: bool = True) -> bool:
    """Ch. 1 ex. 1: shortcut / exact penalty of a one-layer sigmoid encoder once every row of W
    has norm 1. It is exactly k, the code's width (accepted to 1e-6 relative)."""
    return _value(ratio, k, 1e-6, verbose, f"shortcut / exact = k = {k}: with equal row norms b "
                  "the shortcut is (sum_i a_i) k b, the exact penalty (sum_i a_i) b.", [
                      (1 / k, "you inverted it: divide the shortcut (cl.source_shortcut_penalty)"
                              " by the exact penalty (cl.jacobian_penalty)"),
                      (1.0, "a ratio of 1 compares a penalty with itself: the shortcut is "
                            "cl.source_shortcut_penalty, the exact one cl.jacobian_penalty")],
                  "did you normalise every row of W to norm 1 (W /= W.norm(dim=1, keepdim=True))"
                  " before computing both penalties?", 0.01, what="a number (shortcut / exact)")


def check_tanh_penalty(fn, tol: float = 1e-6, seed: int = 0, verbose: bool = True) -> bool:
    """Ch. 1 ex. 2: fn(W, b, x) -> batch mean of ||dh/dx||_F^2 for h = tanh(x W^T + b), W of
    shape (k, d), against float64 autograd (torch.func.jacrev) on three shapes."""
    g, f64 = torch.Generator().manual_seed(seed), torch.float64
    cases = [(2 * torch.randn(k, d, generator=g, dtype=f64) / d ** 0.5,
              torch.randn(k, generator=g, dtype=f64), torch.rand(6, d, generator=g, dtype=f64))
             for k, d in [(64, 784), (5, 3), (17, 40)]]

    def exact(W, b, x):
        J = torch.func.vmap(torch.func.jacrev(lambda v: torch.tanh(W @ v + b)))(x)  # (B, k, d)
        return J.pow(2).sum((1, 2)).mean()

    def form(dh, pair=lambda W: W.pow(2).sum(1), batch=torch.mean):     # batch mean of
        return lambda W, b, x: batch(dh(x @ W.T + b) @ pair(W))          # sum_i dh_i ||W_i||^2
    t, sig = torch.tanh, "the derivative of tanh is 1 - h^2, not the sigmoid's h (1 - h)"

    def dt(a):                                                    # tanh'(a) = 1 - h^2
        return 1 - t(a) ** 2
    return _formula(fn, cases, {
        "exact": exact, sig: form(lambda a: (t(a) * (1 - t(a))) ** 2),
        sig + " ": form(lambda a: (torch.sigmoid(a) * torch.sigmoid(-a)) ** 2),
        "square the derivative: entry (i, j) of J is (1 - h_i^2) W_ij": form(dt),
        "take the mean over the batch, not the sum": form(lambda a: dt(a) ** 2, batch=torch.sum),
        "pair each unit's (1 - h_i^2)^2 with its own row norm ||W_i||^2 (W.pow(2).sum(1)), not "
        "the whole ||W||_F^2": form(lambda a: dt(a) ** 2,
                                    pair=lambda W: W.pow(2).sum().expand(len(W)))},
        "your penalty matches float64 autograd on all 3 shapes",
        "write J's entry (i, j) = tanh'(a_i) W_ij, square it, sum over i and j", verbose,
        "one number, the batch mean (a scalar tensor)", tol)


def check_gram_cost(form_J, gram_form, verbose: bool = True) -> bool:
    """Ch. 1 ex. 3: multiply-adds per sample of forming J and of the Gram form, encoder
    784-1000-500-250-30. Both first build A = D4 W4 D3 W3 D2 W2 D1 (k n3 n2 + k n2 n1); then
    A W1 (k n1 d), or A G with G = W1 W1^T shared by the batch (k n1^2, plus k^2 n1 if the last
    product is formed). Each is accepted within 5%."""
    d, n1, n2, n3, k = 784, 1000, 500, 250, 30
    chain = k * n3 * n2 + k * n2 * n1
    rj, rg = chain + k * n1 * d, [chain + k * n1 * n1, chain + k * n1 * n1 + k * k * n1]
    no_chain = ("you left out the chain A = D4 W4 D3 W3 D2 W2 D1 that both forms build first "
                "(k n3 n2 + k n2 n1 per sample)")
    batch = "G = W1 W1^T is computed once per batch, not per sample: leave out its n1^2 d"
    mil = "give the count itself, not in millions"
    return _pair((form_J, gram_form), (rj, rg), lambda v, r: min(
                     _err(v, x) for x in (r if isinstance(r, list) else [r])) <= 0.05,
                 [[(k * n1 * d, no_chain), (rj / 1e6, mil)], [(r / 1e6, mil) for r in rg]
                  + [(r - chain, no_chain) for r in rg] + [(r + n1 * n1 * d, batch) for r in rg]],
                 ["form_J = the chain A, then A W1 (k n1 d)",
                  "gram_form = the chain A, then A G with G = W1 W1^T (k n1^2)"],
                 f"forming J costs about {rj / 1e6:.1f} M multiply-adds per sample, the Gram "
                 f"form about {rg[0] / 1e6:.1f} M. They differ only in k n1 d versus k n1^2, so "
                 f"the Gram form pays off only while n1 < d; here n1 = {n1} > d = {d}, so "
                 "forming J is cheaper.", verbose, 0.05)


def check_unit_rescaling(fn, verbose: bool = True) -> bool:
    """Ch. 1b ex. 1: fn(J, c) -> the Jacobian (B, k, d) of z' = diag(c) f(x) given J (B, k, d)
    and c (k,): c[None, :, None] * J, each code unit's row scaled by its own factor."""
    g = torch.Generator().manual_seed(0)
    for B, k, d in [(3, 6, 6), (5, 4, 7)]:          # square first: a column scaling runs there
        J = torch.randn(B, k, d, generator=g, dtype=torch.float64)
        c = 0.5 + 3 * torch.rand(k, generator=g, dtype=torch.float64)
        out = _call(fn, (J.clone(), c.clone()), verbose, f"a tensor of shape {(B, k, d)}")
        if out is _FAIL:
            return False
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (B, k, d):
            return _verdict(False, verbose, f"for J of shape {(B, k, d)} your function returned "
                            f"{_describe(out)}; it must return the new Jacobian, same shape.")
        wrongs = [(c[None, :, None] * J, None),
                  (c.mean() * J, "diag(c) scales each unit by its own c_i, not all by one factor"),
                  (J / c[None, :, None], "z' = diag(c) f(x) multiplies by c; do not divide")]
        wrongs += [(J * c, "diag(c) acts on the code side: scale the rows (units), "
                           "c[None, :, None] * J, not the columns (inputs)")] if k == d else []
        same = [h for w, h in wrongs if torch.allclose(out.detach().double(), w, 1e-9, 1e-12)]
        if same != [None]:
            return _verdict(False, verbose, f"on J of shape {(B, k, d)} your Jacobian differs "
                            "from diag(c) J.", same[0] if same else "by the chain rule the "
                            "Jacobian of diag(c) f is diag(c) J_f")
    return _verdict(True, verbose, "row i of J is multiplied by c_i: a per-unit rescaling "
                    "reweights the rows of J, so the ratio of chapter 1b can move.")


# ---------------------------------------------------------------- chapter 2
def check_jacobian_memory(full_bytes, gram_bytes, verbose: bool = True) -> bool:
    """Ch. 2 ex. 1: bytes of the full Jacobian (B, k, d) and of the closed form's largest tensor
    (B, k, n1), B = 256, k = 64, d = 784, n1 = 256, float32 (4 bytes). Exact to 1 byte."""
    B, k, d, n1 = 256, 64, 784, 256
    rf, rg = B * k * d * 4, B * k * n1 * 4

    def wrongs(r):
        return [(2 * r, "float32 takes 4 bytes per entry (float64 would take 8)"),
                (r / 2**20, "the question asks for bytes, you gave MiB: multiply by 2**20"),
                (r / 1e6, "the question asks for bytes, you gave MB: multiply by 10**6"),
                (r / B, "you left out the batch: the tensor holds all B = 256 samples"),
                (r / 4, "that is the number of entries: multiply by 4 bytes per float32")]
    return _pair((full_bytes, gram_bytes), (rf, rg), lambda v, r: abs(v - r) <= 1,
                 [wrongs(rf), wrongs(rg)], [f"count the entries of {s} and multiply by 4"
                                            for s in ("(B, k, d)", "(B, k, n1)")],
                 f"{rf:,} bytes ({rf / 2**20:.1f} MiB) against {rg:,} ({rg / 2**20:.1f} MiB): "
                 f"the closed form's largest tensor is d / n1 = {d / n1:.2f} times smaller.",
                 verbose, 2e-3)


def check_gaussian_variance(fn, verbose: bool = True) -> bool:
    """Ch. 2 ex. 2: fn(C) -> the variance of one draw u^T C u, u ~ N(0, I), for C = J J^T
    (symmetric PSD): 2 ||C||_F^2, checked on three random C in float64."""
    g, cases = torch.Generator().manual_seed(0), []
    for k, m in [(3, 7), (5, 12), (8, 4)]:
        J = torch.randn(k, m, generator=g, dtype=torch.float64)
        J[0] *= 3                                   # an uneven diagonal
        cases.append((J @ J.T,))

    return _formula(fn, cases, {
        "exact": lambda C: 2 * C.pow(2).sum(),
        "close but not exact: return the formula, not a sampled estimate":
            lambda C: 2 * C.pow(2).sum(),
        "that is the Rademacher variance: a Gaussian u has E[u_i^4] = 3, not 1, so the diagonal "
        "terms stay": lambda C: 2 * (C.pow(2).sum() - C.diagonal().pow(2).sum()),
        "you are missing a factor 2": lambda C: C.pow(2).sum(),
        "use ||C||_F^2 = sum_ij C_ij^2, not tr(C)^2": lambda C: 2 * C.trace() ** 2,
        "tr(C)^2 is the squared mean E[u^T C u]^2: the variance is E[(u^T C u)^2] - tr(C)^2 = "
        "2 ||C||_F^2": lambda C: C.trace() ** 2},
        "Var[u^T C u] = 2 ||C||_F^2 for Gaussian u, never less than the Rademacher "
        "2 (||C||_F^2 - sum_i C_ii^2)", "expand E[(u^T C u)^2] with E[u_i^2] = 1 and "
        "E[u_i^4] = 3", verbose, "one number, the variance")


# ---------------------------------------------------------------- chapters 4, 4b and 5
def check_dae_lam(lam, noise_std: float = 0.3, d: int = 784, verbose: bool = True) -> bool:
    """Ch. 4 ex. 2: the lam on the batch mean of ||J_r||_F^2 - e.nabla^2 r that Gaussian noise
    of noise_std adds to the book's pixel-mean MSE: `dae_lam` = sigma^2 / d (to 1%)."""
    s, ref = noise_std, dae_lam(noise_std, d)
    return _value(lam, ref, 0.01, verbose, f"lam = sigma^2 / d = {s:g}^2 / {d} = {ref:.4g}.", [
        (s * s, "the book's MSE is a mean over the d pixels: divide sigma^2 by d"),
        (s / d, "square the noise level: lam = sigma^2 / d"),
        (s * s * d, "divide sigma^2 by d, do not multiply"),
        (s * s / (2 * d), "no factor 1/2: the Taylor term's 1/2 cancels against the 2 of the "
                          "cross term")], "the DAE adds sigma^2 (...) to the summed squared "
        "error; the book's loss is the mean over the d pixels", 0.05)


def check_ideal_error(pred, noise_std: float = 0.035, ring_std: float = 0.05,
                      verbose: bool = True) -> bool:
    """Ch. 4b ex. 2: the predicted median relative error of the perfect DAE near the ring,
    sigma^2 / (s^2 + sigma^2) by eq. (ideal-error) (accepted to 1% relative: 0.33 passes)."""
    s2, v2 = ring_std ** 2, noise_std ** 2
    ref = v2 / (s2 + v2)
    return _value(pred, ref, 1e-2, verbose, f"sigma^2 / (s^2 + sigma^2) = {ref:.3f}: the perfect "
                  f"DAE's arrow is only {1 - ref:.2f} of sigma^2 grad log p.", [
                      (s2 / (s2 + v2), "that is the share the perfect DAE keeps; the error is "
                                       "the share it misses, sigma^2 / (s^2 + sigma^2)"),
                      (v2 / s2, "the blurred ring's variance s^2 + sigma^2 is the denominator"),
                      (noise_std / (ring_std + noise_std), "use variances (squares), not "
                                                           "standard deviations")],
                  "the blur turns the radial spread s into sqrt(s^2 + sigma^2)", 0.02)


def check_random_share(share, k: int = 5, d: int = 784, verbose: bool = True) -> bool:
    """Ch. 5 ex. 1: the expected share of a random unit vector's squared length in a fixed
    k-dimensional subspace of R^d: k / d (a Monte Carlo estimate is accepted within 15%)."""
    return _value(share, k / d, 0.15, verbose, f"about k / d = {k}/{d} = {k / d:.4f}: a random "
                  "direction spreads its squared length evenly over all d dimensions.", [
                      (k / 64, "the random vector lives in the d = 784-dimensional input space, "
                               "not in the 64-unit code"),
                      ((k / d) ** 0.5, "that is the length in the span; the question asks for "
                                       "the share of the squared length"),
                      (1 / d, "1/d is one direction's share; the span has k of them")],
                  f"project u on the {k} orthonormal rows of Vh and sum the squares", 0.15,
                  sure=5e-3)

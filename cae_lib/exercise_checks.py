"""Self-checks for the exercises of chapters 1, 1b and 2 whose answer is a number or a formula
(conventions: `check_base`). Students call them through `cl.checks`.
"""
from __future__ import annotations

import torch

from .check_base import _FAIL, _call, _describe, _err, _formula, _pair, _value, _verdict  # noqa


# ---------------------------------------------------------------- chapters 1 and 1b
def check_shortcut_ratio(ratio, k: int = 64, verbose: bool = True) -> bool:
    """Ch. 1 ex. 1: shortcut / exact penalty of a one-layer sigmoid encoder once every row of W
    has norm 1. It is exactly k, the code's width (accepted to 1e-6 relative)."""
    return _value(ratio, k, 1e-6, verbose, f"shortcut / exact = k = {k}: with equal row norms b "
                  "the shortcut is (sum_i a_i) k b, the exact penalty (sum_i a_i) b.", [
                      (1 / k, "you inverted the ratio: the question asks for the shortcut "
                              "over the exact penalty"),
                      (1.0, "a ratio of 1 compares a penalty with itself: the shortcut is "
                            "cl.source_shortcut_penalty, the exact one cl.jacobian_penalty")],
                  "the ratio is a whole number only once every row of W has the same norm: did "
                  "you normalise the rows before computing both penalties?", 0.01,
                  what="a number (shortcut / exact)")


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
    t, sig = torch.tanh, ("you used the sigmoid's derivative; this layer is tanh, whose "
                          "derivative the exercise states")

    def dt(a):                                                    # tanh'(a) = 1 - h^2
        return 1 - t(a) ** 2
    return _formula(fn, cases, {
        "exact": exact, sig: form(lambda a: (t(a) * (1 - t(a))) ** 2),
        sig + " ": form(lambda a: (torch.sigmoid(a) * torch.sigmoid(-a)) ** 2),
        "the derivative is not squared: the Frobenius norm squares every entry of J, and "
        "the derivative is a factor of each": form(dt),
        "your value is B times too large: you summed over the batch, and the penalty is a "
        "batch mean": form(lambda a: dt(a) ** 2, batch=torch.sum),
        "you paired every unit with the whole weight matrix (the shortcut's mistake in "
        "this chapter); each unit has its own row of W": form(
            lambda a: dt(a) ** 2, pair=lambda W: W.pow(2).sum().expand(len(W)))},
        "your penalty matches float64 autograd on all 3 shapes",
        "start from one entry of J by the chain rule, then square and sum over all entries",
        verbose,
        "one number, the batch mean (a scalar tensor)", tol)


def check_gram_cost(form_J, gram_form, verbose: bool = True) -> bool:
    """Ch. 1 ex. 3: multiply-adds per sample of forming J and of the Gram form, encoder
    784-1000-500-250-30. Both first build A = D4 W4 D3 W3 D2 W2 D1 (k n3 n2 + k n2 n1); then
    A W1 (k n1 d), or A G with G = W1 W1^T shared by the batch (k n1^2, plus k^2 n1 if the last
    product is formed). Each is accepted within 5%."""
    d, n1, n2, n3, k = 784, 1000, 500, 250, 30
    chain = k * n3 * n2 + k * n2 * n1
    rj, rg = chain + k * n1 * d, [chain + k * n1 * n1, chain + k * n1 * n1 + k * k * n1]
    no_chain = ("you counted only the last product: both forms first multiply out the layers "
                "above W1")
    batch = "you charged every sample for G, which is computed once per batch"
    mil = "give the count itself, not in millions"
    return _pair((form_J, gram_form), (rj, rg), lambda v, r: min(
                     _err(v, x) for x in (r if isinstance(r, list) else [r])) <= 0.05,
                 [[(k * n1 * d, no_chain), (rj / 1e6, mil)], [(r / 1e6, mil) for r in rg]
                  + [(r - chain, no_chain) for r in rg] + [(r + n1 * n1 * d, batch) for r in rg]],
                 ["form_J: count every matrix product of eq. (chain) for one sample, as "
                  "rows x inner size x columns",
                  "gram_form: count, for one sample, only the products that involve that "
                  "sample's slopes"],
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
                  (c.mean() * J, "you scaled every unit by one common factor; the rescaling "
                                 "gives each unit its own"),
                  (J / c[None, :, None], "you divided by the factors; the code is multiplied "
                                         "by them")]
        wrongs += [(J * c, "you scaled the inputs (the columns of J); the factors act on "
                           "the code units")] if k == d else []
        same = [h for w, h in wrongs if torch.allclose(out.detach().double(), w, 1e-9, 1e-12)]
        if same != [None]:
            return _verdict(False, verbose, f"on J of shape {(B, k, d)} your Jacobian is not "
                            "that of the rescaled code.", same[0] if same else "apply the chain "
                            "rule to the rescaled code z' and compare your result entry by entry")
    return _verdict(True, verbose, "row i of J is multiplied by c_i: a per-unit rescaling "
                    "reweights the rows of J, so the ratio of chapter 1b can move.")


# ---------------------------------------------------------------- chapter 2
def check_jacobian_memory(full_bytes, gram_bytes, verbose: bool = True) -> bool:
    """Ch. 2 ex. 1: bytes of the full Jacobian (B, k, d) and of the closed form's largest tensor
    (B, k, n1), B = 256, k = 64, d = 784, n1 = 256, float32 (4 bytes). Exact to 1 byte."""
    B, k, d, n1 = 256, 64, 784, 256
    rf, rg = B * k * d * 4, B * k * n1 * 4

    def wrongs(r):
        return [(2 * r, "you counted the bytes of a float64 entry; the tensor is float32"),
                (r / 2**20, "the question asks for bytes, you gave MiB: multiply by 2**20"),
                (r / 1e6, "the question asks for bytes, you gave MB: multiply by 10**6"),
                (r / B, "you left out the batch: the tensor holds all B = 256 samples"),
                (r / 4, "that is the number of entries; the question asks for bytes")]
    return _pair((full_bytes, gram_bytes), (rf, rg), lambda v, r: abs(v - r) <= 1,
                 [wrongs(rf), wrongs(rg)], [f"check the shape {s} and the bytes per entry of "
                                            "float32" for s in ("(B, k, d)", "(B, k, n1)")],
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
        "your value is half the variance: a factor is missing": lambda C: C.pow(2).sum(),
        "tr(C)^2 sees only the diagonal of C; the variance depends on every entry":
            lambda C: 2 * C.trace() ** 2,
        "tr(C)^2 is the squared mean E[u^T C u]^2, not the variance: the variance is what is "
        "left of the second moment after it": lambda C: C.trace() ** 2},
        "Var[u^T C u] = 2 ||C||_F^2 for Gaussian u, never less than the Rademacher "
        "2 (||C||_F^2 - sum_i C_ii^2)", "expand E[(u^T C u)^2] with E[u_i^2] = 1 and "
        "E[u_i^4] = 3", verbose, "one number, the variance")

"""Self-checks for exercises whose answer is a choice made from measured data (which class is
most contracted, which lam fits a budget or matches a DAE: chapters 3, 5, 6) and for chapter 7's
nearest-neighbour overlap. Conventions as in `check_base` (stubs, hints that name the mistake, never
raise on a student's bug); students call them through `cl.checks`.
"""
from __future__ import annotations

import math

import torch

from .analysis import median_se
from .check_base import _FAIL, _as_float, _formula, _stub  # noqa: F401
from .check_base import _verdict as _say


def _overlap(a, b, k: int, per: int = 0, self_too: bool = False, cosine: bool = False) -> float:
    """Mean share of each point's k nearest neighbours in a (Euclidean, the point excluded)
    that are also among its k nearest in b; the keywords give the typical wrong versions."""
    def knn(z):
        z = torch.nn.functional.normalize(z, dim=1) if cosine else z
        d = torch.cdist(z, z)
        return (d if self_too else d.fill_diagonal_(math.inf)).topk(k, largest=False).indices
    na, nb = knn(a), knn(b)
    return float((na[:, :, None] == nb[:, None, :]).sum()) / (per or k * len(a))


def check_knn_overlap(fn, verbose: bool = True) -> bool:
    """Ch. 7 ex. 2: fn(a, b, k=10) -> the mean over points of the share of each point's k
    nearest neighbours in code a (Euclidean, the point itself excluded) that are also among its
    k nearest in code b. Three cases, n = 200: unrelated codes of widths 8 and 5, b = a rotated
    and rescaled (overlap 1), b a noisy 5-unit copy of a."""
    g, f64 = torch.Generator().manual_seed(0), torch.float64
    a = torch.randn(200, 8, generator=g, dtype=f64)
    q = torch.linalg.qr(torch.randn(8, 8, generator=g, dtype=f64))[0]
    cases = [(a, torch.randn(200, 5, generator=g, dtype=f64), 10), (a, 2.5 * a @ q, 10),
             (a, a[:, :5] + 0.3 * torch.randn(200, 5, generator=g, dtype=f64), 10)]
    return _formula(fn, cases, {
        "exact": _overlap,
        "you counted each point among its own nearest neighbours":
            lambda a, b, k: _overlap(a, b, k, self_too=True),
        "your overlap is k times too large: it is a share of each point's k neighbours":
            lambda a, b, k: _overlap(a, b, k, per=len(a)),
        "you found neighbours by cosine similarity; the exercise uses Euclidean distance":
            lambda a, b, k: _overlap(a, b, k, cosine=True)},
        "your overlap matches the reference on all 3 cases (1 for a rotated, rescaled code)",
        "for a few points, list their k nearest others in a and in b by hand and compare with "
        "what your function counts", verbose, "one number between 0 and 1")


def _class_choice(answer, values, y, sign: int, what: str, verbose: bool, opposite: str,
                  extra: str = "") -> bool:
    """The class with the lowest (sign 1) or highest (sign -1) median of values, ranked as in
    chapters 3 and 5; an answer within two standard errors of it is told it is tied."""
    if _stub(answer, verbose, "a class"):
        return False
    vals, y = (torch.as_tensor(v).detach().flatten().cpu() for v in (values, y))
    if len(vals) != len(y):
        return _say(False, verbose, f"{what} and y need one entry per digit: {len(vals)} != "
                    f"{len(y)}.")
    med = {int(c): median_se(vals[y == c].double()) for c in torch.unique(y)}
    rank = sorted(med, key=lambda c: sign * med[c][0])
    a, word = _as_float(answer), "lowest" if sign > 0 else "highest"
    if a not in med:
        return _say(False, verbose, f"expected one class, one of {sorted(med)}; got "
                    f"{answer!r:.40}.")
    (m, se), (mb, seb), a = med[int(a)], med[rank[0]], int(a)

    def tied(c):
        return abs(med[c][0] - mb) <= 2 * math.hypot(med[c][1], seb)
    if a == rank[0]:
        return _say(True, verbose, f"class {a} has the {word} median {what}, {mb:.4g} ± "
                    f"{seb:.2g}, {'not by two s.e. over' if tied(rank[1]) else 'clearly ahead of'}"
                    f" class {rank[1]} ({med[rank[1]][0]:.4g} ± {med[rank[1]][1]:.2g}).{extra}")
    by_mean = min(med, key=lambda c: sign * float(vals[y == c].double().mean()))
    return _say(False, verbose, f"class {a}'s median {what} is {m:.4g} ± {se:.2g}" + (
        f": statistically tied with the {word} (within two standard errors), but the question "
        f"asks for the {word} median itself." if tied(a) else f", not the {word}."),
        opposite if a == rank[-1] else f"rank the classes by their median {what}, not their "
        f"mean" if a == by_mean else None if tied(a) else f"take the median {what} of each "
        f"class's digits, then the class with the {word}")


def check_most_contracted_class(answer, rho, y, verbose: bool = True) -> bool:
    """Ch. 3 ex. 3: the digit class the CAE contracts most: the lowest median relative
    sensitivity rho (n,), y (n,) the labels."""
    return _class_choice(answer, rho, y, 1, "relative sensitivity", verbose, "most contracted "
                         "= least sensitive: take the lowest median rho, not the highest",
                         " The ranking does not depend on the code's scale: rescaling the "
                         "code leaves every digit's rho unchanged.")


def check_highest_rank_class(answer, erank, y, verbose: bool = True) -> bool:
    """Ch. 5 ex. 2: the digit class with the highest median effective rank erank (n,)."""
    return _class_choice(answer, erank, y, -1, "effective rank", verbose, "the question asks "
                         "for the highest median effective rank, not the lowest")


def _lam_choice(lam, candidates: dict, verbose: bool):
    """(the candidate lam the student named, {lam: value}) or _FAIL after saying why. Keys and
    the answer may be numbers or sweep keys such as ("lam", 0.1)."""
    def num(x):
        return _as_float(x[1] if isinstance(x, (tuple, list)) and len(x) == 2 else x)
    if _stub(lam, verbose, "your lam"):
        return _FAIL
    cands, v = {num(k): val for k, val in candidates.items()}, num(lam)
    hit = [c for c in cands if v is not None and math.isclose(c, v, rel_tol=1e-6, abs_tol=1e-12)]
    return (hit[0], cands) if hit else _say(False, verbose, f"lam = {lam!r:.40} is not one of "
                                            f"the candidates {sorted(cands)}.") or _FAIL


def _per_key(ans, keys, verbose: bool, what: str):
    """The student's {key: number} for every key (keys may be written as sweep keys such as
    ("lam", 0.1) or as plain lam values), or _FAIL after saying why."""
    if ans is None or ans is Ellipsis or (isinstance(ans, dict) and not ans):
        return _say(False, verbose, f"your answer here (fill {what}).") or _FAIL
    if not isinstance(ans, dict):
        return _say(False, verbose, f"{what} must be a dict; got {type(ans).__name__}.") or _FAIL
    out = {}
    for k in keys:
        lam = k[1] if isinstance(k, tuple) else k
        v = ans.get(k, ans.get(lam))
        if _as_float(v) is None:
            return _say(False, verbose, f"{what} has no number for lam = {lam:g}.") or _FAIL
        out[k] = _as_float(v)
    return out


def check_budget_choice(lam, val_mse, rho_val: dict, models: dict, x_val, slack: float = 1.0,
                        verbose: bool = True) -> bool:
    """Ch. 6 ex. 1: val_mse = {sweep key ("lam", v): the MSE on x_val averaged over the runs
    models[r][key]}, rho_val = {key: median relative sensitivity on x_val}; the answer lam is the
    least sensitive of the lams whose val_mse <= (1 + slack) x the AE's (lam = 0). The MSEs
    are recomputed here from the models, so numbers measured on other digits are caught."""
    keys = [k for k in rho_val if isinstance(k, tuple) and k[0] == "lam"]
    got = _per_key(val_mse, keys, verbose, "val_mse, {key: mean MSE on x_val}")
    if got is _FAIL:
        return False
    with torch.no_grad():
        ref = {k: sum(float(torch.nn.functional.mse_loss(ms[k](x_val)[0], x_val))
                      for ms in models.values()) / len(models) for k in keys}
    off = [k for k in keys if abs(got[k] - ref[k]) > 1e-4 * ref[k]]
    if off:
        k = off[0]
        return _say(False, verbose, f"your MSE for lam = {k[1]:g} is {got[k]:.5g}; the sweep's "
                    f"models give {ref[k]:.5g} on x_val.", "each value must be the pixel-mean "
                    "MSE on this x_val (its digits only, not the test digits or all validation "
                    "digits), averaged over every run of the sweep")
    cands = {k[1]: (ref[k], rho_val[k]) for k in keys}
    reference_mse = cands[min(cands)]                                # lam = 0, the AE
    got = _lam_choice(lam, cands, verbose)
    if got is _FAIL:
        return False
    (a, cands), budget = got, (1 + slack) * reference_mse[0]
    within = [k for k, v in cands.items() if v[0] <= budget]
    best, (mse, rho) = min(within, key=lambda k: cands[k][1], default=None), cands[a]
    if a == best:
        return _say(True, verbose, f"lam = {a:g}: validation MSE {mse:.4g} <= {1 + slack:g} x "
                    f"{reference_mse[0]:.4g}, and the lowest median relative sensitivity "
                    f"({rho:.3g}) of the lams within that budget.")
    return _say(False, verbose, f"lam = {a:g} has validation MSE {mse:.4g} (budget "
                f"{budget:.4g}) and median relative sensitivity {rho:.3g}.",
                "that lam breaks the budget: its MSE is above the allowed multiple of the AE's"
                if mse > budget else "you took the lam with the best reconstruction; the "
                "question asks for the least sensitive one within the budget"
                if a == min(cands, key=lambda k: cands[k][0])
                else "another lam within the budget is less sensitive")


def check_closest_match(lam, apart, target: float, candidates: dict, verbose: bool = True,
                        what: str = "median raw sensitivity") -> bool:
    """Ch. 6 ex. 2: candidates = {lam: a sensitivity} (`what` names it), target the DAE's;
    apart = {lam: how many times apart the CAE and the DAE are, a factor >= 1}; lam = the CAE
    closest to the target by that factor, as chapter 6 matches them. lam = 0 (the plain AE,
    not a CAE) is left out, as in the chapter."""
    cands = {_as_float(k[1] if isinstance(k, tuple) else k): v for k, v in candidates.items()}
    cands = {k: float(v) for k, v in cands.items() if k}
    got = _per_key(apart, list(cands), verbose, "apart, {lam: factor >= 1}")
    if got is _FAIL:
        return False
    ref = {k: max(v / target, target / v) for k, v in cands.items()}
    off = [k for k in cands if abs(got[k] - ref[k]) > 1e-6 * ref[k]]
    if off:
        k, diff = off[0], {k: abs(v - target) for k, v in cands.items()}
        hint = ("you took differences; two sensitivities compare by ratio (twice as sensitive "
                "is as far as half as sensitive)"
                if all(abs(got[j] - diff[j]) <= 1e-6 * max(diff[j], 1e-12) for j in cands)
                else "you divided one way only; the factor is the larger of the two ratios, so "
                "it is at least 1" if all(abs(got[j] - cands[j] / target) <= 1e-6 * ref[j]
                                          or abs(got[j] - target / cands[j]) <= 1e-6 * ref[j]
                                          for j in cands)
                else f"compute each CAE's factor from its {what} and the DAE's")
        return _say(False, verbose, f"your factor for lam = {k:g} is {got[k]:.4g}.", hint)
    got = _lam_choice(lam, cands, verbose)
    if got is _FAIL:
        return False
    a = got[0]
    best = min(cands, key=ref.get)
    if a == best:
        return _say(True, verbose, f"lam = {a:g}, {what} {cands[a]:.3g} against the DAE's "
                    f"{target:.3g}, a factor {ref[a]:.3g} apart.")
    return _say(False, verbose, f"lam = {a:g} is a factor {ref[a]:.3g} from the target.",
                "take the CAE with the smallest factor")

"""Self-checks for exercises whose answer is a choice made from measured data (which class is
most contracted, which lam fits a budget or matches a DAE: chapters 3, 5, 6) and for chapter 7's
nearest-neighbour overlap. Conventions as in `exercise_checks` (stubs, hints, never raise on a
student's bug); re-exported by `checks`, so `cl.checks.check_x` works for every one.
"""
from __future__ import annotations

import math

import torch

from .analysis import median_se
from .exercise_checks import _FAIL, _as_float, _formula, _stub  # noqa: F401
from .exercise_checks import _verdict as _say


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
        "leave each point out of its own neighbours (fill the diagonal of the distance matrix "
        "with inf before topk)": lambda a, b, k: _overlap(a, b, k, self_too=True),
        "divide the shared count by k * n, not n: it is a share of each point's k neighbours":
            lambda a, b, k: _overlap(a, b, k, per=len(a)),
        "use Euclidean distances (torch.cdist), not cosine similarity":
            lambda a, b, k: _overlap(a, b, k, cosine=True)},
        "your overlap matches the reference on all 3 cases (1 for a rotated, rescaled code)",
        "for each point take its k nearest others in a and in b, count the common ones, and "
        "divide the total by k * n", verbose, "one number between 0 and 1")


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


def check_budget_choice(lam, candidates: dict, reference_mse: float, slack: float = 0.1,
                        verbose: bool = True) -> bool:
    """Ch. 6 ex. 1: candidates = {lam: (mse, median relative sensitivity)}, both measured on the
    validation digits; the answer is the lam with the lowest sensitivity among those with
    mse <= (1 + slack) reference."""
    got = _lam_choice(lam, candidates, verbose)
    if got is _FAIL:
        return False
    (a, cands), budget = got, (1 + slack) * reference_mse
    within = [k for k, v in cands.items() if v[0] <= budget]
    best, (mse, rho) = min(within, key=lambda k: cands[k][1], default=None), cands[a]
    if a == best:
        return _say(True, verbose, f"lam = {a:g}: MSE {mse:.4g} <= {1 + slack:g} x "
                    f"{reference_mse:.4g}, and the lowest median relative sensitivity "
                    f"({rho:.3g}) of the lams within that budget.")
    return _say(False, verbose, f"lam = {a:g} has MSE {mse:.4g} (budget {budget:.4g}) and "
                f"median relative sensitivity {rho:.3g}.",
                f"that lam breaks the budget: its MSE is above {1 + slack:g} x the "
                "reference; keep only the lams within it, then take the least sensitive"
                if mse > budget else "it has the best reconstruction; among the lams within "
                "the budget take the least sensitive" if a == min(cands, key=lambda k: cands[k][0])
                else "another lam within the budget has a lower median relative sensitivity")


def check_closest_match(lam, target: float, candidates: dict, verbose: bool = True,
                        what: str = "median relative sensitivity") -> bool:
    """Ch. 6 ex. 2: candidates = {lam: a sensitivity} (`what` names it); the CAE closest to the
    DAE's target by ratio, |log(s / target)|, as chapter 6 matches them. lam = 0 (the plain
    AE, not a CAE) is left out, as in the chapter."""
    got = _lam_choice(lam, candidates, verbose)
    if got is _FAIL:
        return False
    a, cands = got[0], {k: v for k, v in got[1].items() if k != 0}
    if a == 0:
        return _say(False, verbose, "lam = 0 is the plain AE.", "pick one of the CAEs, lam > 0")
    best = min(cands, key=lambda k: abs(math.log(cands[k] / target)))
    by_diff = min(cands, key=lambda k: abs(cands[k] - target))
    factor = max(cands[a] / target, target / cands[a])
    if a == best:
        return _say(True, verbose, f"lam = {a:g}, {what} {cands[a]:.3g} "
                    f"against the DAE's {target:.3g}, a factor {factor:.3g} apart." + (
                        f" By absolute difference lam = {by_diff:g} would look closer, but "
                        "sensitivities compare by ratio." if by_diff != best else ""))
    return _say(False, verbose, f"lam = {a:g} is a factor {factor:.3g} from the target.",
                "compare by ratio, |log(s / target)|, not by |s - target|: twice as "
                "sensitive is as far as half as sensitive" if a == by_diff else "take the CAE "
                f"whose {what} is closest to the DAE's by ratio")

"""What every exercise self-check shares: reading a student's answer, calling a student's
function safely, and printing the verdict.

The checks (`exercise_checks`: chapters 1, 1b, 2; `model_checks`: 4, 4b, 5, 7; `choice_checks`:
choices made from measured data) each take the student's answer (a value or a function) and
`verbose`, print "Correct: ..." or "Not yet: ..." (for a recognised wrong answer with one line
"Hint: ..." that names the mistake, never the formula) and return True or False; a student's bug
is reported, never raised. None or ... (Ellipsis), or a function raising NotImplementedError, is
a stub: "Not yet: your answer here (...)". Formulas are compared with float64 ground truth
(autograd, exact counts) on several cases. Students call them through `cl.checks`, whose wrappers
show neither the reference nor the hints under `??`.
"""
from __future__ import annotations

import copy
import math

import torch

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
        args = tuple(t.clone() if isinstance(t, torch.Tensor) else copy.deepcopy(t)
                     if isinstance(t, torch.nn.Module) else t for t in case)
        got.append(_call(fn, args, verbose, returns, scalar=True))
        if got[-1] is _FAIL:
            return False
    vals = {h: [float(torch.as_tensor(f(*c)).detach()) for c in cases]
            for h, f in forms.items()}
    exact = vals.pop("exact")
    e = _err(got, exact)
    if e <= tol:
        return _verdict(True, verbose, f"{good} (largest relative error {e:.1e}).")
    i = max(range(len(got)), key=lambda j: _err(got[j], exact[j]))
    return _verdict(False, verbose, f"relative error {e:.3g} (your value / exact = "
                    f"{got[i] / exact[i]:.3g} on the worst case).",
                    _hint(got, [(v, h.strip()) for h, v in vals.items()], 0.1) or fallback)

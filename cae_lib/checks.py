"""Self-checks a student calls on their own answer. Each prints a friendly verdict with the size
of the error and returns True or False. The penalty checks compare against the exact penalty
(float64, closed form of `penalties.analytic_penalty`) on a few random models and batches, with
weights scaled up so that the Jacobian is not vanishingly small and a wrong formula cannot hide.
The exercise checks live in `exercise_checks` (numbers and formulas) and `choice_checks`
(choices from measured data, chapter 7); all are re-exported here: `cl.checks.check_x`.
"""
from __future__ import annotations

import copy

import torch

from .choice_checks import (check_budget_choice, check_closest_match,  # noqa: F401
                            check_highest_rank_class, check_knn_overlap,
                            check_most_contracted_class)
from .exercise_checks import (check_dae_lam, check_gaussian_variance, check_gram_cost,
                              check_ideal_error, check_jacobian_memory, check_random_share,
                              check_shortcut_ratio, check_tanh_penalty, check_unit_rescaling)
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


def graded(check, *args, **kwargs) -> None:
    """An autograder's test (cae_lib/grading.py): run the self-check `check` on a student's
    answer silently; None when it says Correct, else an AssertionError carrying its verdict and
    hint (what the student would have read), so a grade report explains a lost point."""
    import contextlib
    import io
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        ok = check(*args, **kwargs)
    if ok is not True:
        raise AssertionError(said.getvalue().strip() or "Not yet.")


def _stub_fn(verbose: bool) -> bool:
    if verbose:
        print("Not yet: your answer here (the function still raises NotImplementedError).")
    return False


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
        except NotImplementedError:
            return _stub_fn(verbose)
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
        except NotImplementedError:
            return _stub_fn(verbose)
        except Exception as err:
            if verbose:
                print(f"Not yet: your function raised {type(err).__name__} on {name}: {err}")
            return False
        exacts.append(float(jacobian_penalty(model, x, "autograd").detach()))
        names.append(name)
    return _compare(values, exacts, names, tol, verbose)


def mixture_circles():
    """The two-ring mixture of chapter 4b's exercise: weights 1/2 and 1/2 on
    Circle(0.6, 0.1) and Circle(1.4, 0.1)."""
    from .toy import Circle
    return Circle(0.6, 0.1), Circle(1.4, 0.1)


def check_mixture_score(score_fn, verbose: bool = True) -> bool:
    """Check a function x (n, 2) -> (n, 2) that should return grad log p(x) for the mixture
    p = (p1 + p2) / 2 of `mixture_circles()`, against float64 autograd of log p at 400 points
    between the rings and around them. Recognises the two usual wrong answers."""
    from .toy import band
    c1, c2 = mixture_circles()
    g = torch.Generator().manual_seed(0)
    x = torch.cat([band(c1, 200, 0.0, 0.5, g), band(c2, 200, 0.0, 0.5, g)]).double()
    x.requires_grad_(True)
    logp = torch.logaddexp(c1.log_density(x), c2.log_density(x)) - torch.log(torch.tensor(2.0))
    (exact,) = torch.autograd.grad(logp.sum(), x)
    x = x.detach()
    if score_fn is None or score_fn is Ellipsis:
        if verbose:
            print("Not yet: your answer here (replace the stub with your function).")
        return False
    try:
        got = torch.as_tensor(score_fn(x.clone()), dtype=torch.float64)
    except NotImplementedError:
        return _stub_fn(verbose)
    except Exception as err:  # a student's bug: report it, do not crash the lesson
        if verbose:
            print(f"Not yet: your function raised {type(err).__name__}: {err}")
        return False
    if got.shape != exact.shape:
        if verbose:
            print(f"Not yet: your function returned shape {tuple(got.shape)}; it must return "
                  f"(n, 2) for x of shape (n, 2), one score vector per point.")
        return False
    rel = float(((got - exact).norm(dim=1) / exact.norm(dim=1).clamp_min(1e-12)).max())
    ok = rel < 1e-6
    if verbose:
        if ok:
            print(f"Correct: your score matches autograd of log p at all 400 points "
                  f"(largest relative error {rel:.1e}).")
        else:
            s1, s2 = c1.score(x), c2.score(x)
            hint = ("the score of a mixture is NOT a fixed mix of the two scores: weight "
                    "each by the posterior w_i(x) = p_i(x) / (p_1(x) + p_2(x)), which "
                    "changes from point to point")
            if torch.allclose(got, (s1 + s2) / 2) or torch.allclose(got, s1 + s2):
                pass
            elif rel < 1e-2:
                hint = "you are close: compute the weights in log space (torch.logsumexp)"
            else:
                hint += "; check your weights sum to 1 at every point"
            print(f"Not yet: the largest relative error is {rel:.3g}.\nHint: {hint}.")
    return ok

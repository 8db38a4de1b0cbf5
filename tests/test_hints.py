"""Every self-check's hints name the mistake, never the formula (issue 18): for each typical
wrong answer of each exercise, the check says "Not yet", gives a hint, and the hint contains
none of the reference expressions of that exercise's answer. The table WRONG is also the
closing note's table: `python tests/test_hints.py` prints it in Markdown."""
import contextlib
import io
import math
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from test_checks import exact_penalty, my_gradient          # noqa: E402
from test_exercise_checks import (_BUDGET, _FACTORS, _MATCH, _RHO, _V, _Y,  # noqa: E402
                                  _sweep, _val_mse, knn_overlap)

import cae_lib as cl                                          # noqa: E402
from cae_lib import model_checks                              # noqa: E402

F64 = dict(dtype=torch.float64)


def _tanh(W, b, x, slope=lambda h: (1 - h ** 2) ** 2, batch=torch.mean):
    return batch(slope(torch.tanh(x @ W.T + b)) @ W.pow(2).sum(1))


def _flipped(W, b, x):            # the slopes' term with the wrong sign
    h = torch.sigmoid(x @ W.T + b)
    a2, rows = (h * (1 - h)) ** 2, W.pow(2).sum(1)
    return 2 * a2.mean(0)[:, None] * W - 2 * (a2 * (1 - 2 * h) * rows).T @ x / len(x)


def _budget_args(which):
    x_val = torch.rand(20, 4, generator=torch.Generator().manual_seed(1))
    models = _sweep(1e-3)
    val = _val_mse(models, x_val)
    if which == "test":                     # numbers measured on other digits
        val = {k: 1.05 * v for k, v in val.items()}
    return val, _RHO, models, x_val


def _curv(W, b, x, power):       # batch mean of sum_i (h (1-h)(1-2h))^2 ||W_i||^(2 power)
    h = torch.sigmoid(x @ W.T + b)
    return ((h * (1 - h) * (1 - 2 * h)) ** 2 @ W.pow(2).sum(1).pow(power)).mean()


_A, _B = [9.85, 9.91, 9.71], [9.88, 9.92, 9.74]     # runs of two models, paired by seed
_D = torch.tensor(_A, **F64) - torch.tensor(_B, **F64)
_M, _SE = float(_D.mean()), float(_D.std() / 3 ** 0.5)
_UNPAIRED = float(((torch.tensor(_A, **F64).var() + torch.tensor(_B, **F64).var()) / 3) ** 0.5)
c1, c2 = cl.checks.mixture_circles()
_DIFFS = {k: abs(v - 0.1) for k, v in _MATCH.items() if k}
# (exercise, check, the wrong answer tried, its arguments, the reference expressions)
WRONG = [
    ("1.1", "check_shortcut_ratio", "exact / shortcut (inverted)", (1 / 64,), ["= k", "64"]),
    ("1.1", "check_shortcut_ratio", "rows not normalised", (65.9,), ["= k", "64"]),
    ("1.2", "check_tanh_penalty", "the sigmoid's derivative",
     (lambda W, b, x: _tanh(W, b, x, lambda h: (h * (1 - h)) ** 2),), ["1 - h^2", "1 - h**2"]),
    ("1.2", "check_tanh_penalty", "derivative not squared",
     (lambda W, b, x: _tanh(W, b, x, lambda h: 1 - h ** 2),), ["1 - h^2", "(1 - h_i^2) W"]),
    ("1.2", "check_tanh_penalty", "sum over the batch",
     (lambda W, b, x: _tanh(W, b, x, batch=torch.sum),), ["1 - h^2", "W.pow(2).sum(1)"]),
    ("1.3", "check_gram_cost", "only the last products", (30 * 1000 * 784, 30 * 1000 ** 2),
     ["k n1 d", "k n1^2", "k n3 n2", "A W1"]),
    ("1.3", "check_gram_cost", "G charged per sample", (42_270_000, 48_750_000 + 1000 ** 2 * 784),
     ["k n1 d", "k n1^2", "n1^2 d"]),
    ("1b.1", "check_unit_rescaling", "columns scaled", (lambda J, c: J * c,),
     ["c[None, :, None]", "diag(c) J", "c[:, None]"]),
    ("1b.1", "check_unit_rescaling", "one mean factor", (lambda J, c: c.mean() * J,),
     ["c[None, :, None]", "diag(c) J", "c_i"]),
    ("2.1", "check_jacobian_memory", "float64 bytes", (2 * 51_380_224, 2 * 16_777_216),
     ["x 4", "* 4", "51,380,224", "by 4"]),
    ("2.1", "check_jacobian_memory", "entries, not bytes", (51_380_224 / 4, 16_777_216 / 4),
     ["51,380,224", "16,777,216", "by 4", "x 4", "* 4"]),
    ("2.2", "check_gaussian_variance", "2 tr(C)^2", (lambda C: 2 * C.trace() ** 2,),
     ["||C||_F", "2 ||C||", "sum_ij"]),
    ("2.2", "check_gaussian_variance", "tr(C)^2 (the squared mean)",
     (lambda C: C.trace() ** 2,), ["||C||_F", "2 ||C||"]),
    ("2.2", "check_gaussian_variance", "the Rademacher variance",
     (lambda C: 2 * (C.pow(2).sum() - C.diagonal().pow(2).sum()),), ["||C||_F", "2 ||C||"]),
    ("3.3", "check_most_contracted_class", "the most sensitive class", (9, _V, _Y), ["class 0"]),
    ("3.3", "check_most_contracted_class", "the lowest mean, not median", (1, _V, _Y),
     ["class 0"]),
    ("4.2", "check_dae_noise", "the variance lam d", (78.4,), ["sqrt", "8.85", "lam d"]),
    ("4.2", "check_dae_noise", "sqrt(lam / d)", (math.sqrt(0.1 / 784),), ["sqrt", "8.85"]),
    ("4.2", "check_dae_noise", "sqrt(lam)", (math.sqrt(0.1),), ["sqrt", "8.85", "lam d"]),
    ("4b.1", "check_mixture_score", "fixed weights 1/2",
     (lambda x: (c1.score(x) + c2.score(x)) / 2,), ["p_1(x) + p_2(x)", "w_i(x) ="]),
    ("4b.1", "check_mixture_score", "swapped posteriors", (lambda x: (1 - torch.sigmoid(
        c1.log_density(x) - c2.log_density(x))[:, None]) * c1.score(x) + torch.sigmoid(
        c1.log_density(x) - c2.log_density(x))[:, None] * c2.score(x),),
     ["p_1(x) + p_2(x)", "w_i(x) =", "sum to 1"]),
    ("4b.2", "check_ideal_error", "the share kept", (0.0025 / 0.003725,),
     ["s^2 + sigma^2", "sigma^2 /"]),
    ("4b.2", "check_ideal_error", "the ring's own variance", (0.035 ** 2 / 0.05 ** 2,),
     ["s^2 + sigma^2", "sigma^2 /"]),
    ("5.1", "check_random_share", "k / 64 (the code)", (5 / 64,), ["k / d", "k/d", "5/784"]),
    ("5.1", "check_random_share", "1 / d", (1 / 784,), ["k / d", "k/d", "5/784"]),
    ("5.2", "check_highest_rank_class", "the lowest class", (9, 20 - _V, _Y), ["class 0"]),
    ("6.1", "check_budget_choice", "MSE measured on other digits",
     (0.1, *_budget_args("test")), ["lam = 0.1", "0.1 "]),
    ("5b.1", "check_cae_h_limit", "the first derivative, not the second",
     (lambda W, b, x: ((torch.sigmoid(x @ W.T + b) * torch.sigmoid(-(x @ W.T + b))).pow(2)
      @ W.pow(2).sum(1).pow(2)).mean(),), ["(1 - 2", "1 - 2h", "^4", "pow(4)"]),
    ("5b.1", "check_cae_h_limit", "||W_i||^2, as in the first-order penalty",
     (lambda W, b, x: _curv(W, b, x, 1),), ["(1 - 2", "1 - 2h", "^4", "pow(4)"]),
    ("5b.1", "check_cae_h_limit", "sum over the batch",
     (lambda W, b, x: _curv(W, b, x, 2) * len(x),), ["(1 - 2", "1 - 2h", "^4", "pow(4)"]),
    ("5b.2", "check_real_difference", "unpaired s.e.",
     ((_M, _UNPAIRED, False), _A, _B), ["sqrt(n)", "/ sqrt", "n - 1", "std("]),
    ("5b.2", "check_real_difference", "the std, not the s.e.",
     ((_M, _SE * 3 ** 0.5, False), _A, _B), ["sqrt(n)", "/ sqrt", "n - 1", "std("]),
    ("5b.2", "check_real_difference", "the sign flipped",
     ((-_M, _SE, False), _A, _B), ["sqrt(n)", "/ sqrt", "n - 1"]),
    ("5b.3", "check_relative_error", "the summed variance",
     (lambda a, h: (a - h).pow(2).mean() / h.var(0, unbiased=False).sum(),),
     ["var(0", ".mean()"]),
    ("5b.3", "check_relative_error", "no centring",
     (lambda a, h: (a - h).pow(2).mean() / h.pow(2).mean(),), ["var(0", ".mean()"]),
    ("5b.3", "check_relative_error", "the sample variance",
     (lambda a, h: (a - h).pow(2).mean() / h.var(0).mean(),), ["var(0", "unbiased"]),
    ("6.1", "check_budget_choice", "the best reconstruction",
     (0.0, *_budget_args("val")), ["lam = 0.1", "0.1 "]),
    ("6.2", "check_closest_match", "absolute differences", (1.0, _DIFFS, 0.1, _MATCH),
     ["lam = 0.1", "log("]),
    ("6.2", "check_closest_match", "one ratio only", (0.1, {k: v / 0.1 for k, v in
                                                             _MATCH.items() if k}, 0.1, _MATCH),
     ["max(", "log("]),
    ("7.2", "check_knn_overlap", "k times too large",
     (lambda a, b, k=10: k * knn_overlap(a, b, k),), ["k * n", "fill_diagonal", "cdist"]),
    ("7.4", "check_one_layer_gradient", "half the gradient",
     (lambda W, b, x: my_gradient(W, b, x) / 2,), ["1 - 2h", "(1 - 2", "2 a^2", "mean(0)"]),
    ("7.4", "check_one_layer_gradient", "slopes held constant",
     (lambda W, b, x: 2 * (torch.sigmoid(x @ W.T + b) * torch.sigmoid(-(x @ W.T + b)))
      .pow(2).mean(0)[:, None] * W,), ["1 - 2h", "(1 - 2", "x^T"]),
    ("7.5", "check_any_activation_penalty", "the sigmoid's slope everywhere",
     (lambda e, x: model_checks._chain(e, x, lambda act, a, h: h * (1 - h)),),
     ["1 - tanh", "1 - h^2", "sigmoid(a)"]),
    ("7.4", "check_one_layer_gradient", "sign of the slope's derivative flipped",
     (_flipped,),
     ["1 - 2h", "(1 - 2", "x^T"]),
    ("7.5", "check_any_activation_penalty", "derivatives taken at the outputs",
     (lambda e, x: model_checks._chain(e, x, lambda act, a, h: model_checks._SLOPE[
         type(act)](h)),), ["1 - tanh", "1 - h^2", "sigmoid(a)"]),
    ("7.5", "check_any_activation_penalty", "sum over the batch",
     (lambda e, x: exact_penalty(e, x) * len(x),), ["1 - tanh", "1 - h^2", "sigmoid(a)"]),
]


def verdict(check: str, args) -> tuple[bool, str]:
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        ok = getattr(cl.checks, check)(*args)
    return ok, said.getvalue()


def hint_of(out: str) -> str:
    return " ".join(line[len("Hint: "):] for line in out.splitlines() if line.startswith("Hint: "))


@pytest.mark.parametrize("row", WRONG, ids=[f"{w[0]}-{w[2]}" for w in WRONG])
def test_a_wrong_answer_gets_a_hint_that_does_not_give_the_formula(row):
    exercise, check, _, args, secrets = row
    ok, out = verdict(check, args)
    assert ok is False and out.startswith("Not yet"), out
    hint = hint_of(out)
    assert hint, out
    named = [s for s in secrets if s in hint]
    assert not named, (exercise, hint, named)


def test_every_exercise_check_has_wrong_answers_in_the_table():
    assert {w[1] for w in WRONG} == set(cl.checks._WHAT)


if __name__ == "__main__":
    print("| exercise | wrong answer tried | hint | names the formula |")
    print("| --- | --- | --- | --- |")
    for exercise, check, what, args, secrets in WRONG:
        ok, out = verdict(check, args)
        hint = hint_of(out)
        named = [s for s in secrets if s in hint]
        print(f"| {exercise} | {what} | {hint} | {'yes: ' + ', '.join(named) if named else 'no'}"
              " |")

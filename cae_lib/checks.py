"""Self-checks a student calls on their own answer: `cl.checks.check_x(answer)` prints
"Correct: ..." or "Not yet: ...", with a hint that names the mistake (never the formula), and
returns True or False; a stub or a crash in the student's code is reported, never raised.

Each check here is a thin wrapper, so that `cl.checks.check_x?` and `??` in Jupyter show what it
checks, not its reference answer or its hints. Those live in `exercise_checks` (chapters 1, 1b,
2), `model_checks` (4, 4b, 5, 7), `beyond_checks` (5b) and `choice_checks` (choices made from measured data: 3, 5, 6,
7), with the shared conventions in `check_base`. `graded` is the autograder's entry point
(`grading.py`, otter-grader).
"""
from __future__ import annotations

import contextlib
import inspect
import io

from . import beyond_checks as _beyond
from . import choice_checks as _choice
from . import exercise_checks as _ex
from . import model_checks as _model
from .model_checks import mixture_circles  # noqa: F401  (chapter 4b's exercise uses it)

_WHAT = {   # name -> (module, what the check compares: the question, never its answer)
    "check_shortcut_ratio": (_ex, "Chapter 1, exercise 1: your ratio of the shortcut to the "
                             "exact penalty for a one-layer encoder whose rows of W all have "
                             "norm 1."),
    "check_tanh_penalty": (_ex, "Chapter 1, exercise 2: your function fn(W, b, x), the batch "
                           "mean of ||dh/dx||_F^2 for h = tanh(x W^T + b), against float64 "
                           "autograd on three shapes."),
    "check_gram_cost": (_ex, "Chapter 1, exercise 3: your two counts of multiply-adds per "
                        "sample, forming J and the Gram form, for the encoder "
                        "784-1000-500-250-30 (each within 5%)."),
    "check_unit_rescaling": (_ex, "Chapter 1b, exercise 1: your function fn(J, c), the "
                             "Jacobian (B, k, d) of the code whose unit i is multiplied by "
                             "c[i], given J (B, k, d) and c (k,)."),
    "check_jacobian_memory": (_ex, "Chapter 2, exercise 1: your two byte counts, the full "
                              "Jacobian of a batch of 256 in float32 and the closed form's "
                              "largest tensor."),
    "check_gaussian_variance": (_ex, "Chapter 2, exercise 2: your function fn(C), the variance "
                                "of one draw u^T C u with Gaussian u, on three symmetric "
                                "positive semi-definite matrices."),
    "check_most_contracted_class": (_choice, "Chapter 3, exercise 3: your class, from rho (n,) "
                                    "and the labels y (n,)."),
    "check_dae_noise": (_model, "Chapter 4, exercise 2: your noise_std at which the J_r term "
                        "of eq. (dae-lam) would carry the weight lam."),
    "check_mixture_score": (_model, "Chapter 4b, exercise 1: your function x (n, 2) -> (n, 2), "
                            "the score of the two-ring mixture of mixture_circles(), against "
                            "autograd at 400 points."),
    "check_ideal_error": (_model, "Chapter 4b, exercise 2: your predicted median relative "
                          "error of the perfect DAE near the ring."),
    "check_random_share": (_model, "Chapter 5, exercise 1: your expected share of a random unit "
                           "vector's squared length in the span of the top k right-singular "
                           "vectors."),
    "check_cae_h_limit": (_beyond, "Chapter 5b, exercise 1: your function fn(W, b, x), the "
                          "batch mean of the summed squared Hessians of the units of "
                          "h = sigmoid(x W^T + b), against float64 autograd on three shapes."),
    "check_real_difference": (_beyond, "Chapter 5b, exercise 2: your (mean, s.e., real?) of "
                              "the run-by-run differences a - b, given the two lists of runs."),
    "check_relative_error": (_beyond, "Chapter 5b, exercise 3: your function fn(z_hat, z), "
                             "the MSE of a reconstruction of codes z (B, k) over the mean "
                             "per-unit variance of z over the batch."),
    "check_highest_rank_class": (_choice, "Chapter 5, exercise 2: your class, from the "
                                 "effective ranks (n,) and the labels y (n,)."),
    "check_budget_choice": (_choice, "Chapter 6, exercise 1: your lam and your val_mse "
                            "({sweep key: mean MSE on x_val over the runs}), given rho_val, "
                            "the sweep's models and x_val (the MSEs are recomputed from them)."),
    "check_closest_match": (_choice, "Chapter 6, exercise 2: your lam and your factors apart "
                            "({lam: factor >= 1}), given the DAE's sensitivity and the CAEs'."),
    "check_knn_overlap": (_choice, "Chapter 7, exercise 2: your function fn(a, b, k=10), the "
                          "nearest-neighbour overlap of two codes, on three cases."),
    "check_one_layer_gradient": (_model, "Chapter 7, exercise 4: your function fn(W, b, x), "
                                 "the gradient (k, d) with respect to W of the one-layer "
                                 "penalty, against float64 autograd on three shapes."),
    "check_any_activation_penalty": (_model, "Chapter 7, exercise 5: your function "
                                     "fn(encoder, x), the batch mean of ||J_f(x)||_F^2 for "
                                     "encoders mixing sigmoid, tanh and softplus layers, "
                                     "against float64 autograd on four encoders."),
}


def _public(name: str, module, what: str):
    impl = getattr(module, name)

    def check(*args, **kwargs):
        return impl(*args, **kwargs)
    check.__name__ = check.__qualname__ = name
    check.__doc__ = (what + "\n\nPrints 'Correct: ...' or 'Not yet: ...' with a hint, and "
                     "returns True or False. verbose=False: silent.")
    check.__signature__ = inspect.signature(impl)
    check.__module__ = __name__
    return check


for _name, (_module, _what) in _WHAT.items():
    globals()[_name] = _public(_name, _module, _what)
__all__ = [*_WHAT, "graded", "mixture_circles"]


def graded(check, *args, **kwargs) -> None:
    """An autograder's test (cae_lib/grading.py): run the self-check `check` on a student's
    answer silently; None when it says Correct, else an AssertionError carrying its verdict and
    hint (what the student would have read), so a grade report explains a lost point."""
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        ok = check(*args, **kwargs)
    if ok is not True:
        raise AssertionError(said.getvalue().strip() or "Not yet.")

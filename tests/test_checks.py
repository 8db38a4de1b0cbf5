"""The self-checks of chapters 4b and 7 that take a function (the one-layer penalty's gradient,
the penalty for any activation, the score of a mixture) must accept right answers, reject the
typical wrong ones with their own hints, and report stubs and crashes. Their references are
checked here against float64 autograd of brute-force Jacobians."""
import inspect

import torch
from torch.func import jacrev, vmap

import cae_lib as cl
from cae_lib import model_checks
from cae_lib.checks import (check_any_activation_penalty, check_mixture_score,
                            check_one_layer_gradient, mixture_circles)

F64 = dict(dtype=torch.float64)


def _said(capsys):
    return capsys.readouterr().out


# ------------------------------------------------------------ chapter 7, exercise 4
def my_gradient(W, b, x):               # the chapter's solution, by hand
    h = torch.sigmoid(x @ W.T + b)
    a2 = (h * (1 - h)) ** 2
    rows = W.pow(2).sum(1)
    return 2 * a2.mean(0)[:, None] * W + 2 * (a2 * (1 - 2 * h) * rows).T @ x / len(x)


def test_gradient_reference_is_autograd_of_the_library_penalty():
    for W, b, x in model_checks._gradient_cases():
        k, d = W.shape
        model = cl.ContractiveAutoencoder(d, (), k).double()
        with torch.no_grad():
            model.encoder[0].weight.copy_(W)
            model.encoder[0].bias.copy_(b)
        lib = torch.autograd.grad(cl.jacobian_penalty(model, x), model.encoder[0].weight)[0]
        ref = model_checks._gradient_forms(W, b, x)["exact"]
        assert torch.allclose(lib, ref, rtol=1e-12, atol=1e-15)
        assert torch.allclose(my_gradient(W, b, x), ref, rtol=1e-10, atol=1e-14)


def test_gradient_check(capsys):
    assert check_one_layer_gradient(my_gradient) and "Correct" in _said(capsys)
    for wrong, hint in [
            (lambda W, b, x: my_gradient(W, b, x) / 2, "half the true one"),
            (lambda W, b, x: my_gradient(W, b, x) * len(x), "B times too large"),
            (lambda W, b, x: 2 * (torch.sigmoid(x @ W.T + b) * torch.sigmoid(-(x @ W.T + b)))
             .pow(2).mean(0)[:, None] * W, "slope as a constant")]:
        assert not check_one_layer_gradient(wrong)
        out = _said(capsys)
        assert "Hint:" in out and hint in out, out
    assert not check_one_layer_gradient(lambda W, b, x: my_gradient(W, b, x).T)
    assert "W's shape" in _said(capsys)


# ------------------------------------------------------------ chapter 7, exercise 5
def exact_penalty(encoder, x):
    return vmap(jacrev(encoder))(x).pow(2).sum((1, 2)).mean()


def test_the_mixed_encoders_mix_activations_and_the_library_agrees():
    kinds = set()
    for enc, x in model_checks._mixed_cases():
        kinds |= {type(m).__name__ for m in enc[1::2]}
        model = cl.ContractiveAutoencoder(784, (), 4).double()
        model.encoder = enc
        assert torch.allclose(cl.jacobian_penalty(model, x, "autograd"), exact_penalty(enc, x),
                              rtol=1e-12)
    assert kinds == {"Sigmoid", "Tanh", "Softplus"}


def test_any_activation_check(capsys):
    assert check_any_activation_penalty(exact_penalty) and "Correct" in _said(capsys)

    def sigmoid_everywhere(enc, x):      # chapter 1's sigmoid-only chain rule, unchanged
        return model_checks._chain(enc, x, lambda act, a, h: h * (1 - h))
    for wrong, hint in [(sigmoid_everywhere, "at every layer"),
                        (lambda e, x: exact_penalty(e, x) * len(x), "B times too large")]:
        assert not check_any_activation_penalty(wrong)
        out = _said(capsys)
        assert "Hint:" in out and hint in out, out
    assert not check_any_activation_penalty(lambda e, x: 1 / 0)
    assert "ZeroDivisionError" in _said(capsys)


# ------------------------------------------------------------ chapter 4b, exercise 1
def test_check_mixture_score_accepts_right_rejects_wrong(capsys):
    c1, c2 = mixture_circles()

    def right(x):
        w1 = torch.sigmoid(c1.log_density(x) - c2.log_density(x))[:, None]
        return w1 * c1.score(x) + (1 - w1) * c2.score(x)

    def swapped(x):
        w1 = torch.sigmoid(c1.log_density(x) - c2.log_density(x))[:, None]
        return (1 - w1) * c1.score(x) + w1 * c2.score(x)

    assert check_mixture_score(right) and "Correct" in _said(capsys)
    for wrong, hint in [(lambda x: (c1.score(x) + c2.score(x)) / 2, "fixed weights"),
                        (lambda x: c1.score(x) + c2.score(x), "fixed weights"),
                        (swapped, "swap the weights")]:
        assert not check_mixture_score(wrong)
        out = _said(capsys)
        assert "Hint:" in out and hint in out and "sum to 1" not in out, out
    assert not check_mixture_score(lambda x: c1.score(x)[:, :1])
    assert "shape" in _said(capsys)


def test_mixture_score_reports_stubs_and_bugs(capsys):
    def stub(x):
        raise NotImplementedError("your answer here")
    for s in (None, ..., stub):
        assert not check_mixture_score(s)
        assert _said(capsys).startswith("Not yet: your answer here")

    def buggy(x):
        return x @ torch.ones(3, 2)            # a shape bug inside the student's function
    assert not check_mixture_score(buggy)
    assert "Not yet: your function raised RuntimeError" in _said(capsys)


def test_question_marks_show_the_question_not_the_answer():
    """`cl.checks.check_x??` in Jupyter shows the wrapper's source and docstring: no reference
    formula and no hint text."""
    for name in cl.checks._WHAT:
        fn = getattr(cl.checks, name)
        shown = inspect.getsource(fn) + (fn.__doc__ or "")
        assert "return impl(*args, **kwargs)" in shown, name
        for secret in ("sqrt", "sigma^2 / d", "k / d", "(1 - 2", "Hint", "2 ||C||",
                       "s^2 + sigma^2", "W.pow(2)"):
            assert secret not in shown, (name, secret)

"""The self-checks must accept right answers and reject plausible wrong ones."""
import torch

import cae_lib as cl
from cae_lib.checks import check_jacobian_penalty, check_one_layer_penalty


def test_accepts_every_exact_method(capsys):
    for method in ["analytic", "autograd", "loop"]:
        assert check_jacobian_penalty(lambda m, x, method=method: cl.jacobian_penalty(m, x, method))
    assert "Correct" in capsys.readouterr().out


def test_rejects_the_source_shortcut(capsys):
    assert not check_jacobian_penalty(cl.source_shortcut_penalty)
    out = capsys.readouterr().out
    assert "Not yet" in out and "Hint" in out


def test_rejects_sum_over_batch_and_missing_square(capsys):
    assert not check_jacobian_penalty(lambda m, x: cl.jacobian_penalty(m, x) * len(x))
    assert not check_jacobian_penalty(lambda m, x: cl.jacobian_penalty(m, x).sqrt())
    assert not check_jacobian_penalty(lambda m, x: cl.jacobian_penalty(m, x) * 1.01)   # near miss
    assert capsys.readouterr().out.count("Not yet") == 3


def test_hutchinson_estimate_is_not_exact():
    g = torch.Generator().manual_seed(0)
    assert not check_jacobian_penalty(lambda m, x: cl.jacobian_penalty(m, x, "hutchinson", generator=g),
                                      verbose=False)


def test_reports_a_crash_and_a_wrong_return_type(capsys):
    assert not check_jacobian_penalty(lambda m, x: 1 / 0)
    assert not check_jacobian_penalty(lambda m, x: cl.jacobian_norms(m, x))      # per-sample, not mean
    out = capsys.readouterr().out
    assert "ZeroDivisionError" in out and "scalar tensor" in out


def rifai(W, b, x):
    h = torch.sigmoid(x @ W.T + b)
    return ((h * (1 - h)) ** 2 @ W.pow(2).sum(1)).mean()


def test_one_layer_check_accepts_rifai_and_rejects_wrong_forms():
    assert check_one_layer_penalty(rifai, verbose=False)

    def shortcut(W, b, x):                      # the source's pairing: sum(d^2) * ||W||_F^2
        h = torch.sigmoid(x @ W.T + b)
        return ((h * (1 - h)) ** 2).sum(1).mean() * W.pow(2).sum()

    def unsquared(W, b, x):                     # forgot to square the derivative
        h = torch.sigmoid(x @ W.T + b)
        return (h * (1 - h) @ W.pow(2).sum(1)).mean()

    def wrong_derivative(W, b, x):              # sigma'(a) written as h instead of h (1 - h)
        h = torch.sigmoid(x @ W.T + b)
        return (h ** 2 @ W.pow(2).sum(1)).mean()
    for wrong in (shortcut, unsquared, wrong_derivative):
        assert not check_one_layer_penalty(wrong, verbose=False), wrong.__name__


def test_check_mixture_score_accepts_right_rejects_wrong(capsys):
    from cae_lib.checks import check_mixture_score, mixture_circles
    c1, c2 = mixture_circles()

    def right(x):
        w1 = torch.sigmoid(c1.log_density(x) - c2.log_density(x))[:, None]
        return w1 * c1.score(x) + (1 - w1) * c2.score(x)

    assert check_mixture_score(right)
    assert "Correct" in capsys.readouterr().out
    assert not check_mixture_score(lambda x: (c1.score(x) + c2.score(x)) / 2)
    assert "posterior" in capsys.readouterr().out
    assert not check_mixture_score(lambda x: c1.score(x) + c2.score(x))
    assert not check_mixture_score(lambda x: c1.score(x)[:, :1])
    assert "shape" in capsys.readouterr().out

    def stub(x):
        raise NotImplementedError("your answer here")
    assert not check_mixture_score(stub)
    assert "your answer here" in capsys.readouterr().out


def test_mixture_score_reports_stubs_and_bugs(capsys):
    assert not cl.checks.check_mixture_score(None)
    assert "Not yet: your answer here" in capsys.readouterr().out

    def buggy(x):
        return x @ torch.ones(3, 2)            # a shape bug inside the student's function
    assert not cl.checks.check_mixture_score(buggy)
    assert "Not yet: your function raised RuntimeError" in capsys.readouterr().out

"""The exercise self-checks (exercise_checks, model_checks, choice_checks; called as cl.checks.x) must accept
the right answer, reject each typical wrong one with its own hint, treat a stub as unanswered
and report a student's crash. Each reference is itself checked against float64 autograd, an
exact count or a brute-force Monte Carlo / numeric computation. No trained model, no network."""
import inspect
import math

import pytest
import torch
from torch.func import jacrev, vmap

import cae_lib as cl
from cae_lib import checks

F64 = dict(dtype=torch.float64)
D, N1, N2, N3, K = 784, 1000, 500, 250, 30                      # chapter 1, exercise 3


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def rejects(capsys, check, *args, hint):
    """check(*args) returns False and prints "Not yet" and a hint containing `hint`."""
    assert check(*args) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet") and "Hint:" in out and hint in out, out
    return out


def accepts(capsys, check, *args, says=""):
    assert check(*args) is True
    out = capsys.readouterr().out
    assert out.startswith("Correct") and says in out, out
    return out


# ------------------------------------------------------------ stubs, crashes, verbose
def _stub_fn(*args, **kw):
    raise NotImplementedError("your answer here")


def _crash(*args, **kw):
    raise ValueError("boom")


def _class_data():
    """Per-class values: class 0 lowest median; class 1 lowest mean (class 0 has outliers);
    class 2 statistically tied with class 0; class 9 highest median."""
    parts = [torch.cat([torch.linspace(0.9, 1.1, 40), torch.full((4,), 50.0)]),
             torch.linspace(1.15, 1.25, 44),
             torch.cat([torch.linspace(0.5, 1.7, 40), torch.full((4,), 50.0)])]
    parts += [torch.linspace(1.5 + 0.2 * c, 1.7 + 0.2 * c, 44) for c in range(3, 10)]
    return torch.cat(parts).double(), torch.arange(10).repeat_interleave(44)


_V, _Y = _class_data()
_BUDGET = {0.0: (0.0100, 0.50), 0.01: (0.0104, 0.40), 0.1: (0.0109, 0.30), 1.0: (0.020, 0.10)}
_MATCH = {0.0: 1.0, 0.01: 0.45, 0.1: 0.19, 1.0: 0.045}          # DAE target 0.1
_FACTORS = {k: max(v / 0.1, 0.1 / v) for k, v in _MATCH.items() if k}
# check -> (arguments after the answer, whether the answer is a function)
CHECKS = {
    "check_shortcut_ratio": ((), False), "check_tanh_penalty": ((), True),
    "check_gram_cost": ((1.0,), False), "check_unit_rescaling": ((), True),
    "check_jacobian_memory": ((1.0,), False), "check_gaussian_variance": ((), True),
    "check_dae_noise": ((), False), "check_ideal_error": ((), False),
    "check_random_share": ((), False), "check_knn_overlap": ((), True),
    "check_most_contracted_class": ((_V, _Y), False),
    "check_highest_rank_class": ((_V, _Y), False),
    "check_budget_choice": None, "check_closest_match": ((_FACTORS, 0.1, _MATCH), False),
    "check_one_layer_gradient": ((), True), "check_any_activation_penalty": ((), True),
    "check_mixture_score": ((), True), "check_cae_h_limit": ((), True),
    "check_real_difference": (([1.0, 2.0, 3.0], [1.5, 2.0, 2.0]), False),
    "check_relative_error": ((), True),
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_a_stub_is_unanswered_and_a_crash_is_reported(name, capsys):
    if CHECKS[name] is None:               # needs models: see test_budget_choice_*
        return
    check, (rest, is_fn) = getattr(checks, name), CHECKS[name]
    stubs = [None, ...] + ([_stub_fn] if is_fn else [])
    for stub in stubs:
        assert check(stub, *rest) is False
        out = capsys.readouterr().out
        assert out.startswith("Not yet: your answer here") and "Traceback" not in out, out
    if is_fn:
        assert check(_crash, *rest) is False
        assert "Not yet: your function raised ValueError: boom" in capsys.readouterr().out
        assert check(lambda *a: None, *rest) is False          # forgot `return`
        assert "your answer here" in capsys.readouterr().out
        assert check(42, *rest) is False
        assert "expected a function" in capsys.readouterr().out
    else:
        assert check("abc", *rest) is False                    # wrong type: no exception
        assert capsys.readouterr().out.startswith("Not yet:")
    assert check(None, *rest, verbose=False) is False
    assert capsys.readouterr().out == ""


def test_stub_of_either_of_two_answers(capsys):
    for check in (checks.check_gram_cost, checks.check_jacobian_memory):
        assert check(1.0, None) is False and check(..., ...) is False
        out = capsys.readouterr().out
        assert out.count("Not yet: your answer here") == 2, out


# ------------------------------------------------------------ chapter 1, exercise 1
def test_shortcut_ratio_is_k_with_unit_rows(capsys):
    torch.manual_seed(0)
    one = cl.ContractiveAutoencoder(hidden_dims=()).double()
    with torch.no_grad():                           # rows of clearly unequal norms
        one.encoder[0].weight.mul_(torch.linspace(0.5, 2.0, 64, **F64)[:, None])
    x = torch.rand(16, 784, generator=gen(), **F64)
    raw = (cl.source_shortcut_penalty(one, x) / cl.jacobian_penalty(one, x)).item()
    with torch.no_grad():
        W = one.encoder[0].weight
        W /= W.norm(dim=1, keepdim=True)
    ratio = (cl.source_shortcut_penalty(one, x) / cl.jacobian_penalty(one, x)).item()
    assert abs(ratio - 64) < 1e-9
    accepts(capsys, checks.check_shortcut_ratio, ratio, says="k = 64")
    rejects(capsys, checks.check_shortcut_ratio, 1 / ratio, hint="inverted")
    rejects(capsys, checks.check_shortcut_ratio, 0.0156, hint="inverted")
    rejects(capsys, checks.check_shortcut_ratio, 1.0, hint="with itself")
    assert abs(raw - 64) > 1.0                      # unequal row norms: not exactly k
    rejects(capsys, checks.check_shortcut_ratio, raw, hint="normalise the rows")
    assert checks.check_shortcut_ratio(11.0, k=11, verbose=False)


# ------------------------------------------------------------ chapter 1, exercise 2
def _tanh_by_hand(W, b, x):
    h = torch.tanh(x @ W.T + b)
    return ((1 - h ** 2) ** 2 @ W.pow(2).sum(1)).mean()


def test_tanh_closed_form_matches_the_library_autograd():
    model = cl.ContractiveAutoencoder(hidden_dims=()).double()
    model.encoder[1] = torch.nn.Tanh()
    x = torch.rand(8, 784, generator=gen(), **F64)
    W, b = model.encoder[0].weight, model.encoder[0].bias
    exact = cl.jacobian_penalty(model, x, method="autograd")
    assert abs(_tanh_by_hand(W, b, x) - exact) / exact < 1e-12


def test_tanh_penalty_check(capsys):
    accepts(capsys, checks.check_tanh_penalty, _tanh_by_hand, says="autograd")

    def via(dh, pair=lambda W: W.pow(2).sum(1), batch=torch.mean):
        return lambda W, b, x: batch(dh(torch.tanh(x @ W.T + b)) @ pair(W))
    tip = "the sigmoid's derivative"
    rejects(capsys, checks.check_tanh_penalty, via(lambda h: (h * (1 - h)) ** 2), hint=tip)

    def sigmoid_layer(W, b, x):                  # the sigmoid layer's penalty, unchanged
        s = torch.sigmoid(x @ W.T + b)
        return ((s * (1 - s)) ** 2 @ W.pow(2).sum(1)).mean()
    rejects(capsys, checks.check_tanh_penalty, sigmoid_layer, hint=tip)
    rejects(capsys, checks.check_tanh_penalty, via(lambda h: 1 - h ** 2), hint="not squared")
    rejects(capsys, checks.check_tanh_penalty, via(lambda h: (1 - h ** 2) ** 2, batch=torch.sum),
            hint="summed over the batch")
    rejects(capsys, checks.check_tanh_penalty,
            via(lambda h: (1 - h ** 2) ** 2, pair=lambda W: W.pow(2).sum().expand(len(W))),
            hint="its own row of W")
    assert checks.check_tanh_penalty(lambda W, b, x: _tanh_by_hand(W, b, x) * 1.01) is False
    assert checks.check_tanh_penalty(lambda W, b, x: torch.tanh(x @ W.T + b).sum(1)) is False
    assert "one number" in capsys.readouterr().out


# ------------------------------------------------------------ chapter 1, exercise 3
def test_gram_cost_reference_is_the_counted_matmul_work(capsys):
    from torch.utils.flop_counter import FlopCounterMode
    g = gen()
    W2, W3, W4 = (torch.randn(o, i, generator=g) for o, i in [(N2, N1), (N3, N2), (K, N3)])
    W1, G = torch.randn(N1, D, generator=g), torch.randn(N1, N1, generator=g)

    def count(last):                 # multiply-adds of one sample (a matmul's flops / 2)
        with FlopCounterMode(display=False) as fc:
            A = ((W4 * 0.5) @ (W3 * 0.5)) @ (W2 * 0.5)        # D_l W_l: diagonal, no mat-mul
            last(A * 0.5)
        return fc.get_total_flops() // 2
    form_J, gram = count(lambda A: A @ W1), count(lambda A: ((A @ G) * A).sum())
    chain = K * N3 * N2 + K * N2 * N1
    assert (form_J, gram) == (chain + K * N1 * D, chain + K * N1 * N1)
    out = accepts(capsys, checks.check_gram_cost, form_J, gram, says="n1 < d")
    assert "forming J is cheaper" in out
    assert checks.check_gram_cost(form_J, gram + K * K * N1, verbose=False)
    assert checks.check_gram_cost(1.04 * form_J, 0.96 * gram, verbose=False)
    rejects(capsys, checks.check_gram_cost, K * N1 * D, K * N1 * N1, hint="only the last product")
    rejects(capsys, checks.check_gram_cost, form_J, K * N1 * N1, hint="only the last product")
    rejects(capsys, checks.check_gram_cost, gram, form_J, hint="swapped")
    rejects(capsys, checks.check_gram_cost, form_J, gram + N1 * N1 * D, hint="once per batch")
    rejects(capsys, checks.check_gram_cost, 2 * form_J, gram, hint="count every matrix product")
    rejects(capsys, checks.check_gram_cost, 42.27, 48.75, hint="not in millions")


# ------------------------------------------------------------ chapter 1b, exercise 1
def test_unit_rescaling_reference_is_the_autograd_jacobian():
    g = gen()
    W, b = torch.randn(4, 7, generator=g, **F64), torch.randn(4, generator=g, **F64)
    c, x = torch.tensor([10.0, 10.0, 1.0, 2.0], **F64), torch.randn(5, 7, generator=g, **F64)
    J = vmap(jacrev(lambda v: torch.tanh(W @ v + b)))(x)
    J_scaled = vmap(jacrev(lambda v: c * torch.tanh(W @ v + b)))(x)
    assert torch.allclose(J_scaled, c[None, :, None] * J, rtol=1e-12, atol=0)
    assert checks.check_unit_rescaling(lambda J, c: c[None, :, None] * J, verbose=False)


def test_unit_rescaling_check(capsys):
    accepts(capsys, checks.check_unit_rescaling, lambda J, c: c[:, None] * J)   # chapter's form
    accepts(capsys, checks.check_unit_rescaling, lambda J, c: torch.diag(c) @ J)
    rejects(capsys, checks.check_unit_rescaling, lambda J, c: J * c, hint="scaled the inputs")
    rejects(capsys, checks.check_unit_rescaling, lambda J, c: J @ torch.diag(c),
            hint="scaled the inputs")
    rejects(capsys, checks.check_unit_rescaling, lambda J, c: c.mean() * J, hint="one common")
    rejects(capsys, checks.check_unit_rescaling, lambda J, c: J / c[:, None], hint="divided")
    assert not checks.check_unit_rescaling(lambda J, c: (c[:, None] * J).sum(0))
    assert "same shape" in capsys.readouterr().out


# ------------------------------------------------------------ chapter 2
def test_jacobian_memory_check(capsys):
    def nbytes(*shape):             # what torch would allocate, without allocating it
        t = torch.empty(*shape, dtype=torch.float32, device="meta")
        return t.numel() * t.element_size()
    full, gram = nbytes(256, 64, 784), nbytes(256, 64, 256)
    out = accepts(capsys, checks.check_jacobian_memory, full, gram, says="51,380,224")
    assert "3.06" in out
    rejects(capsys, checks.check_jacobian_memory, 2 * full, 2 * gram, hint="float64")
    rejects(capsys, checks.check_jacobian_memory, full / 2**20, gram / 2**20, hint="MiB")
    rejects(capsys, checks.check_jacobian_memory, 49.0, 16.0, hint="MiB")
    rejects(capsys, checks.check_jacobian_memory, 51.38, 16.78, hint="MB")
    rejects(capsys, checks.check_jacobian_memory, full / 256, gram / 256, hint="the batch")
    rejects(capsys, checks.check_jacobian_memory, gram, full, hint="swapped")
    rejects(capsys, checks.check_jacobian_memory, full, gram / 4, hint="number of entries")


def _psd(k, m, seed):
    J = torch.randn(k, m, generator=gen(seed), **F64)
    J[0] *= 3
    return J @ J.T


def test_gaussian_variance_formula_by_monte_carlo():
    C = _psd(5, 9, 1)
    g = gen(2)
    U = torch.randn(400_000, 5, generator=g, **F64)
    R = torch.randint(0, 2, U.shape, generator=g).double() * 2 - 1
    gauss, rad = (((V @ C) * V).sum(1).var().item() for V in (U, R))
    fro2, diag2 = C.pow(2).sum().item(), C.diagonal().pow(2).sum().item()
    assert abs(gauss / (2 * fro2) - 1) < 0.03
    assert abs(rad / (2 * (fro2 - diag2)) - 1) < 0.03


def test_gaussian_variance_check(capsys):
    accepts(capsys, checks.check_gaussian_variance, lambda C: 2 * C.pow(2).sum())
    accepts(capsys, checks.check_gaussian_variance, lambda C: 2 * torch.trace(C @ C).item())
    rejects(capsys, checks.check_gaussian_variance,
            lambda C: 2 * (C.pow(2).sum() - C.diagonal().pow(2).sum()), hint="E[u_i^4] = 3")
    rejects(capsys, checks.check_gaussian_variance, lambda C: C.pow(2).sum(), hint="half the")
    rejects(capsys, checks.check_gaussian_variance, lambda C: 2 * C.trace() ** 2,
            hint="only the diagonal")
    rejects(capsys, checks.check_gaussian_variance, lambda C: C.trace() ** 2,
            hint="squared mean")

    def sampled(C):
        u = torch.randn(20_000, len(C), generator=gen(3), **F64)
        return ((u @ C) * u).sum(1).var()
    rejects(capsys, checks.check_gaussian_variance, sampled, hint="not a sampled estimate")


# ------------------------------------------------------------ chapters 4 and 4b
def test_dae_noise_inverts_the_monte_carlo_checked_lam(capsys):
    # r(x) = A x + c: the expansion is exact, E MSE(r(x + e), x) - MSE(r(x), x)
    # = sigma^2 ||A||_F^2 / d (pixel mean), so lam = sigma^2 / d on ||J_r||_F^2 = ||A||_F^2.
    d, sigma, g = 20, 0.3, gen()
    A, c = torch.randn(d, d, generator=g, **F64) / 3, torch.randn(d, generator=g, **F64)
    x = torch.rand(1, d, generator=g, **F64)
    e = sigma * torch.randn(200_000, d, generator=g, **F64)
    excess = ((x + e) @ A.T + c - x).pow(2).mean() - (x @ A.T + c - x).pow(2).mean()
    lam = sigma ** 2 / d
    assert abs(excess.item() / (lam * A.pow(2).sum().item()) - 1) < 0.02
    assert lam == cl.dae_lam(sigma, d)
    for lam_cae in (0.1, 0.003):                        # the noise that gives lam_cae
        noise = math.sqrt(lam_cae * 784)
        assert abs(cl.dae_lam(noise, 784) / lam_cae - 1) < 1e-12
    accepts(capsys, checks.check_dae_noise, math.sqrt(78.4), says="8.85")
    accepts(capsys, checks.check_dae_noise, 8.85)                             # rounded
    assert checks.check_dae_noise(math.sqrt(0.003 * 784), lam=0.003, verbose=False)
    rejects(capsys, checks.check_dae_noise, 78.4, hint="variance")
    rejects(capsys, checks.check_dae_noise, math.sqrt(0.1 / 784), hint="more noise, not less")
    rejects(capsys, checks.check_dae_noise, math.sqrt(0.1), hint="pixel-mean")
    rejects(capsys, checks.check_dae_noise, math.sqrt(0.2 * 784), hint="no factor 2")
    rejects(capsys, checks.check_dae_noise, math.sqrt(0.05 * 784), hint="no factor 1/2")


def test_ideal_error_by_quadrature(capsys):
    # radial profile N(R, s^2), Gaussian noise sigma: the posterior mean by quadrature gives a
    # relative error of sigma^2 / (s^2 + sigma^2) against sigma^2 * score, at every point
    s, sigma = 0.05, 0.035
    r = torch.linspace(-0.6, 0.6, 200_001, **F64)                     # rho - R
    for t in (0.05, 0.1, 0.2):                                           # noisy point, rho - R
        w = torch.exp(-r ** 2 / (2 * s ** 2) - (t - r) ** 2 / (2 * sigma ** 2))
        arrow = (r * w).sum() / w.sum() - t
        target = sigma ** 2 * (-t / s ** 2)
        assert abs(abs(arrow - target) / abs(target) - sigma ** 2 / (s ** 2 + sigma ** 2)) < 1e-9
    accepts(capsys, checks.check_ideal_error, 0.001225 / 0.003725, says="0.329")
    accepts(capsys, checks.check_ideal_error, 0.33, says="0.329")         # two digits pass
    rejects(capsys, checks.check_ideal_error, 0.34, hint="")
    rejects(capsys, checks.check_ideal_error, 0.0025 / 0.003725, hint="share the perfect DAE keeps")
    rejects(capsys, checks.check_ideal_error, 0.035 ** 2 / 0.05 ** 2, hint="ring's own variance")
    rejects(capsys, checks.check_ideal_error, 0.035 / 0.085, hint="standard deviations")


# ------------------------------------------------------------ chapter 5, exercise 1
def test_random_share_by_monte_carlo(capsys):
    g = gen()
    V = torch.linalg.qr(torch.randn(784, 5, generator=g, **F64))[0]      # a fixed 5-dim span
    u = torch.randn(20_000, 784, generator=g, **F64)
    u = u / u.norm(dim=1, keepdim=True)
    share = (u @ V).pow(2).sum(1).mean().item()
    assert abs(share / (5 / 784) - 1) < 0.03
    # the chapter's estimate: 200 vectors, each against its own digit's top-5 span
    Vs = torch.linalg.qr(torch.randn(200, 784, 5, generator=g, **F64))[0]
    u200 = u[:200]
    accepts(capsys, checks.check_random_share, (u200[:, None] @ Vs).pow(2).sum((1, 2)).mean())
    rejects(capsys, checks.check_random_share, 5 / 64, hint="not in the 64-unit code")
    rejects(capsys, checks.check_random_share, (5 / 784) ** 0.5, hint="the length")
    rejects(capsys, checks.check_random_share, 1 / 784, hint="one direction's share")
    out = rejects(capsys, checks.check_random_share, 0.079, hint="the length")
    assert "64-unit code" in out                      # ambiguous: both hints


# ------------------------------------------------------------ chapter 7, exercise 2
def knn_overlap(a, b, k=10):          # the chapter's solution
    def nn_idx(z):
        d = torch.cdist(z, z).fill_diagonal_(float("inf"))
        return d.topk(k, largest=False).indices
    na, nb = nn_idx(a), nn_idx(b)
    common = sum(len(set(p.tolist()) & set(q.tolist())) for p, q in zip(na, nb))
    return common / (k * len(a))


def test_knn_overlap_check(capsys):
    g = gen(5)
    a = torch.randn(200, 8, generator=g)
    q = torch.linalg.qr(torch.randn(8, 8, generator=g))[0]
    assert knn_overlap(a, 3 * a @ q) == 1.0
    accepts(capsys, checks.check_knn_overlap, knn_overlap)

    def with_self(a, b, k=10):
        ia, ib = (torch.cdist(z, z).topk(k, largest=False).indices for z in (a, b))
        return sum(len(set(p.tolist()) & set(r.tolist())) for p, r in zip(ia, ib)) / (k * len(a))
    rejects(capsys, checks.check_knn_overlap, with_self, hint="among its own nearest")
    rejects(capsys, checks.check_knn_overlap, lambda a, b, k=10: k * knn_overlap(a, b, k),
            hint="k times too large")

    def cosine(a, b, k=10):
        n = torch.nn.functional.normalize
        return knn_overlap(n(a, dim=1), n(b, dim=1), k)
    rejects(capsys, checks.check_knn_overlap, cosine, hint="cosine similarity")
    assert not checks.check_knn_overlap(lambda a, b, k=10: 0.5)
    out = capsys.readouterr().out                        # no typical error: the general hint
    assert "by hand" in out and "cosine" not in out and "own nearest" not in out


# ------------------------------------------------------------ chapters 3 and 5: which class
def test_class_data_has_the_intended_structure():
    med = {c: cl.median_se(_V[_Y == c]) for c in range(10)}
    mean = [float(_V[_Y == c].mean()) for c in range(10)]
    assert min(med, key=lambda c: med[c][0]) == 0 and max(med, key=lambda c: med[c][0]) == 9
    assert min(range(10), key=mean.__getitem__) == 1
    assert abs(med[2][0] - med[0][0]) <= 2 * math.hypot(med[2][1], med[0][1])  # tied
    assert abs(med[5][0] - med[0][0]) > 2 * math.hypot(med[5][1], med[0][1])   # clear


def test_most_contracted_class_check(capsys):
    accepts(capsys, checks.check_most_contracted_class, 0, _V, _Y, says="class 0")
    assert checks.check_most_contracted_class(torch.tensor(0), _V.numpy(), _Y.numpy())
    capsys.readouterr()
    rejects(capsys, checks.check_most_contracted_class, 9, _V, _Y, hint="least sensitive")
    rejects(capsys, checks.check_most_contracted_class, 1, _V, _Y, hint="median")
    out = rejects(capsys, checks.check_most_contracted_class, 5, _V, _Y, hint="lowest")
    assert "tied" not in out
    assert not checks.check_most_contracted_class(2, _V, _Y)
    out = capsys.readouterr().out
    assert "statistically tied" in out and "lowest median" in out
    assert not checks.check_most_contracted_class(12, _V, _Y)
    assert not checks.check_most_contracted_class(0, _V, _Y[:-1])
    assert capsys.readouterr().out.count("Not yet") == 2


def test_highest_rank_class_check(capsys):
    erank = 20 - _V                           # now class 0 has the highest median
    accepts(capsys, checks.check_highest_rank_class, 0, erank, _Y, says="highest")
    rejects(capsys, checks.check_highest_rank_class, 9, erank, _Y, hint="not the lowest")
    rejects(capsys, checks.check_highest_rank_class, 1, erank, _Y, hint="not their mean")
    assert not checks.check_highest_rank_class(2, erank, _Y)
    assert "statistically tied" in capsys.readouterr().out


# ------------------------------------------------------------ chapter 6: which lam
class _Shift(torch.nn.Module):
    """A stand-in sweep model: x_hat = x + shift (its MSE is shift^2), returned as (x_hat,)."""
    def __init__(self, shift):
        super().__init__()
        self.shift = shift

    def forward(self, x):
        return (x + self.shift,)


_SHIFTS = {0.0: 0.1, 0.01: 0.102, 0.1: 0.1044, 1.0: 0.16}   # MSE 0.01, .0104, .0109, .0256
_RHO = {("lam", k): v[1] for k, v in _BUDGET.items()}


def _sweep(extra=0.0):
    """models[r][key], three runs (run r's shift a little larger), on 20 validation 'digits'."""
    return {r: {("lam", k): _Shift(s + extra * r) for k, s in _SHIFTS.items()} for r in range(3)}


def _val_mse(models, x):
    with torch.no_grad():
        return {k: sum(float((m[k](x)[0] - x).pow(2).mean()) for m in models.values()) / 3
                for k in _RHO}


def test_budget_choice_recomputes_the_validation_mse(capsys):
    x_val, x_test = torch.rand(20, 4, generator=gen(1)), torch.rand(20, 4, generator=gen(2))
    models = _sweep(1e-3)
    val = _val_mse(models, x_val)
    ok = [k for k in val if val[k] <= 2 * val[("lam", 0.0)]]           # chapter 6's rule
    best = min(ok, key=_RHO.get)[1]
    assert best == 0.1
    accepts(capsys, checks.check_budget_choice, best, val, _RHO, models, x_val, says="0.1")
    plain = {k[1]: v for k, v in val.items()}                         # keys as plain lams
    assert checks.check_budget_choice(("lam", 0.1), plain, _RHO, models, x_val, verbose=False)
    shifted = {r: {k: _Shift(s.shift + 0.2) for k, s in m.items()} for r, m in models.items()}
    test_mse = _val_mse(shifted, x_test)          # the wrong method: other digits' MSE
    assert min([k for k in test_mse if test_mse[k] <= 2 * test_mse[("lam", 0.0)]],
               key=_RHO.get)[1] != best           # ... which gives another answer here
    rejects(capsys, checks.check_budget_choice, best, test_mse, _RHO, models, x_val,
            hint="validation digits")
    rejects(capsys, checks.check_budget_choice, 1.0, val, _RHO, models, x_val, 0.5,
            hint="breaks the budget")
    rejects(capsys, checks.check_budget_choice, 0.0, val, _RHO, models, x_val,
            hint="best reconstruction")
    rejects(capsys, checks.check_budget_choice, 0.01, val, _RHO, models, x_val,
            hint="less sensitive")
    for stub in ({}, None, ...):                  # the scaffold's stubs never raise
        assert checks.check_budget_choice(None, stub, _RHO, models, x_val) is False
        assert capsys.readouterr().out.startswith("Not yet: your answer here")
    assert checks.check_budget_choice(None, val, _RHO, models, x_val) is False
    assert capsys.readouterr().out.startswith("Not yet: your answer here")
    assert not checks.check_budget_choice(0.3, val, _RHO, models, x_val)
    assert "not one of the candidates" in capsys.readouterr().out


def test_closest_match_is_by_ratio(capsys):
    # by ratio lam = 0.1 (0.19 / 0.1 = 1.9) beats lam = 1 (0.1 / 0.045 = 2.2), which is the
    # closer one by absolute difference (0.055 against 0.09)
    out = accepts(capsys, checks.check_closest_match, 0.1, _FACTORS, 0.1, _MATCH,
                  says="lam = 0.1")
    diffs = {k: abs(v - 0.1) for k, v in _MATCH.items() if k}         # the wrong method
    assert min(diffs, key=diffs.get) != 0.1                           # gives another lam
    rejects(capsys, checks.check_closest_match, 1.0, diffs, 0.1, _MATCH, hint="by ratio")
    one_way = {k: v / 0.1 for k, v in _MATCH.items() if k}
    rejects(capsys, checks.check_closest_match, 0.1, one_way, 0.1, _MATCH, hint="one way")
    rejects(capsys, checks.check_closest_match, 1.0, _FACTORS, 0.1, _MATCH, hint="smallest")
    assert not checks.check_closest_match(0.0, _FACTORS, 0.1, _MATCH)
    assert "not one of the candidates" in capsys.readouterr().out
    for stub in ({}, None):
        assert checks.check_closest_match(None, stub, 0.1, _MATCH) is False
        assert capsys.readouterr().out.startswith("Not yet: your answer here")


def test_the_checks_are_reachable_from_cl_checks():
    for name in CHECKS:
        fn = getattr(cl.checks, name)
        assert callable(fn) and "verbose" in inspect.signature(fn).parameters and fn.__doc__

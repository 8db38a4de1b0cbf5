"""Every exact method against a float64 torch.autograd.functional.jacobian reference."""
import copy

import pytest
import torch
from torch import nn

from cae_lib import METHODS, jacobian_penalty, source_shortcut_penalty, encoder_jacobian
from cae_lib import jacobian_norms as cl_norms
from conftest import DEVICE, batch, cpu_copy, make

EXACT = ["analytic", "autograd", "loop"]


def reference(model64, x64):
    """(1/B) sum_b ||dz_b/dx_b||_F^2, one autograd.functional.jacobian per sample, float64,
    on the CPU (pass a CPU model to take its gradients; else a CPU copy is made)."""
    if model64.encoder[0].weight.device.type != "cpu":
        model64 = cpu_copy(model64)
    x64 = x64.cpu()
    total = 0.0
    for xb in x64:
        J = torch.autograd.functional.jacobian(model64.encoder, xb, create_graph=True)  # (k, d)
        total = total + J.pow(2).sum()
    return total / len(x64)


def grads(model, value):
    model.zero_grad()
    value.backward()
    return [p.grad.detach().clone() for p in model.encoder.parameters()]


def rel(a, b):
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("method", EXACT)
def test_exact_methods_match_float64_reference_in_float32(arch, method):
    m32 = make(arch)
    m64 = cpu_copy(m32).double()                            # the reference stays on the CPU
    x32 = batch(m32)
    ref = reference(m64, x32.double())
    ref_g = grads(m64, ref)
    val = jacobian_penalty(m32, x32, method)
    assert val.dtype == torch.float32 and val.dim() == 0
    assert rel(val.detach(), ref.detach()) < 1e-5
    for g, rg in zip(grads(m32, val), ref_g):
        assert rel(g, rg) < 1e-5


@pytest.mark.parametrize("method", EXACT)
def test_exact_methods_match_reference_in_float64(arch, method):
    m = make(arch, torch.float64)
    x = batch(m, dtype=torch.float64)
    assert rel(jacobian_penalty(m, x, method).detach(), reference(m, x).detach()) < 1e-12


def test_one_layer_closed_form_is_rifai_formula():
    m = make("one_layer", torch.float64)
    x = batch(m, dtype=torch.float64).to(DEVICE)
    h = m.encoder(x)                                        # (B, k)
    W = m.encoder[0].weight                                 # (k, d)
    rifai = ((h * (1 - h)) ** 2 @ (W ** 2).sum(1)).mean()
    assert torch.allclose(jacobian_penalty(m, x), rifai, rtol=1e-12)


def test_encoder_jacobian_shape_and_norm(arch):
    m = make(arch, torch.float64)
    x = batch(m, dtype=torch.float64)
    J = encoder_jacobian(m, x)
    assert J.shape == (len(x), m.latent_dim, m.input_dim)
    assert J.device == x.device                             # a measurement: on x's device
    assert torch.allclose(J.pow(2).sum() / len(x), reference(m, x), rtol=1e-12)


def test_hutchinson_is_unbiased(arch):
    m = make(arch, torch.float64)
    x = batch(m, dtype=torch.float64)
    exact = float(jacobian_penalty(m, x).detach())
    g = torch.Generator().manual_seed(0)
    draws = torch.stack([jacobian_penalty(m, x, "hutchinson", generator=g).detach()
                         for _ in range(400)])
    se = float(draws.std()) / 400 ** 0.5
    assert float(draws.std()) > 0                           # it really is random
    assert abs(float(draws.mean()) - exact) < 4 * se + 1e-12
    # more projections, less spread: the variance falls like 1/n_projections
    many = torch.stack([jacobian_penalty(m, x, "hutchinson", n_projections=16, generator=g)
                        .detach() for _ in range(100)])
    assert float(many.std()) < 0.5 * float(draws.std())


def test_hutchinson_generator_makes_it_reproducible():
    m, x = make("default"), batch(make("default"))
    a = jacobian_penalty(m, x, "hutchinson", generator=torch.Generator().manual_seed(3))
    b = jacobian_penalty(m, x, "hutchinson", generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


@pytest.mark.parametrize("method", METHODS)
def test_penalty_trains_the_parameters(method):
    m = make("odd")
    x = batch(m)
    jacobian_penalty(m, x, method).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m.encoder.parameters())


def test_caller_input_is_not_modified():
    m = make("default")
    x = batch(m)
    for method in METHODS:
        jacobian_penalty(m, x, method)
        assert not x.requires_grad


def test_source_shortcut_is_not_the_penalty():
    m = make("one_layer", torch.float64)
    x = batch(m, dtype=torch.float64)
    ratio = float((source_shortcut_penalty(m, x) / jacobian_penalty(m, x)).detach())
    assert 0.5 * m.latent_dim < ratio < 2 * m.latent_dim   # about a factor k too large
    deep = make("default", torch.float64)
    ratio = float((source_shortcut_penalty(deep, x) / jacobian_penalty(deep, x)).detach())
    assert ratio > 100 or ratio < 1 / 100                   # orders of magnitude off


def test_unknown_method_is_a_clear_error():
    m = make("odd")
    with pytest.raises(ValueError, match="unknown penalty method 'magic'.*analytic"):
        jacobian_penalty(m, batch(m), "magic")


@pytest.mark.parametrize("n", [0, -1, 1.5, True])
def test_bad_n_projections(n):
    m = make("odd")
    with pytest.raises(ValueError, match="n_projections"):
        jacobian_penalty(m, batch(m), "hutchinson", n_projections=n)


def test_analytic_on_non_sigmoid_encoder_names_autograd():
    m = make("odd")
    m.encoder[1] = nn.Tanh()
    with pytest.raises(TypeError, match="autograd"):
        jacobian_penalty(m, batch(m), "analytic")
    # ... and autograd handles it, exactly
    m64 = copy.deepcopy(m).double()
    x = batch(m64, dtype=torch.float64)
    assert rel(jacobian_penalty(m64, x, "autograd"), reference(m64, x)) < 1e-12


def test_bad_inputs_are_clear_errors():
    m = make("default")
    with pytest.raises(ValueError, match=r"\(B, 784\).*\(4, 28, 28\).*[Ff]latten"):
        jacobian_penalty(m, torch.rand(4, 28, 28))
    with pytest.raises(ValueError, match=r"\(B, 784\).*\(4, 100\)"):
        jacobian_penalty(m, torch.rand(4, 100))
    with pytest.raises(ValueError, match="dtype torch.uint8"):
        jacobian_penalty(m, torch.zeros(4, 784, dtype=torch.uint8))
    with pytest.raises(ValueError, match="NaN or infinite"):
        jacobian_penalty(m, torch.full((4, 784), float("nan")))
    with pytest.raises(ValueError, match="float tensor"):
        jacobian_penalty(m, [[0.0] * 784])


def test_jacobian_norms_per_sample(arch):
    m = make(arch, torch.float64)
    x = batch(m, dtype=torch.float64)
    per = cl_norms(m, x)
    assert per.shape == (len(x),) and per.device == x.device
    ref = encoder_jacobian(m, x).pow(2).sum((1, 2))
    assert torch.allclose(per, ref, rtol=1e-12)
    pen = jacobian_penalty(m, x)                                # a loss term: model's device
    assert pen.device == m.encoder[0].weight.device
    assert torch.allclose(per.mean(), pen.cpu(), rtol=1e-12)
    m.encoder[1] = nn.Tanh()                                    # falls back to torch.func
    assert torch.allclose(cl_norms(m, x), encoder_jacobian(m, x).pow(2).sum((1, 2)))


def test_backward_twice_with_retain_graph():
    m = make("default")
    p = jacobian_penalty(m, batch(m))
    p.backward(retain_graph=True)
    g1 = m.encoder[0].weight.grad.clone()
    p.backward()
    assert torch.allclose(m.encoder[0].weight.grad, 2 * g1)


def test_hand_written_backward_passes_gradcheck():
    # The custom autograd Function against finite differences, every input at once.
    from cae_lib.penalties import _GramQuadForm
    g = torch.Generator().manual_seed(0)
    M = torch.randn(3, 4, 5, dtype=torch.float64, generator=g, requires_grad=True)
    d = torch.rand(3, 5, dtype=torch.float64, generator=g, requires_grad=True)
    W = torch.randn(5, 7, dtype=torch.float64, generator=g)
    G = (W @ W.T).requires_grad_(True)            # symmetric, as the forward assumes
    assert torch.autograd.gradcheck(_GramQuadForm.apply, (M, d, G))

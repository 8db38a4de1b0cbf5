import pytest
import torch

from cae_lib import contraction_curve, jacobian_penalty, sensitivity
from conftest import batch, make


def test_sensitivity_approaches_rms_jacobian_gain(arch):
    m = make(arch, torch.float64)
    x = batch(m, n=4, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    ratios = torch.stack([sensitivity(m, x, noise_std=1e-5, generator=g) for _ in range(2000)])
    J2 = torch.stack([jacobian_penalty(m, x[i:i + 1]) for i in range(len(x))]).detach().cpu()
    # E[ratio^2] = ||J||_F^2 / d exactly for Gaussian e, to first order in noise_std
    assert torch.allclose(ratios.pow(2).mean(0), J2 / m.input_dim, rtol=0.05)


def test_sensitivity_shape_and_errors():
    m = make("default")
    x = batch(m)
    assert sensitivity(m, x).shape == (len(x),)
    for bad in [-0.1, float("nan"), "0.1"]:            # 0 is the small-noise limit
        with pytest.raises(ValueError, match="noise_std"):
            sensitivity(m, x, noise_std=bad)
    with pytest.raises(ValueError, match=r"\(B, 784\)"):
        sensitivity(m, torch.rand(3, 5))


def test_contraction_curve_small_radius_limit():
    m = make("odd", torch.float64)
    x = batch(m, n=64, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    curve = contraction_curve(m, x, [1e-6, 1e-1, 10.0], generator=g)
    assert curve.shape == (3,)
    # at small r the mean ratio is about the RMS gain ||J||_F / sqrt(d) (within spread)
    per = torch.stack([jacobian_penalty(m, x[i:i + 1]) for i in range(len(x))]).detach()
    assert float(curve[0]) == pytest.approx(float((per / m.input_dim).sqrt().mean()), rel=0.25)
    assert float(curve[2]) < float(curve[0])   # the sigmoid saturates: far points contract
    with pytest.raises(ValueError, match="radius"):
        contraction_curve(m, x, [0.0])

import pytest
import torch
from torch import nn

from cae_lib import ContractiveAutoencoder, default_device


def test_default_architecture_is_the_source_chapters():
    m = ContractiveAutoencoder()
    enc = [type(l).__name__ for l in m.encoder]
    assert enc == ["Linear", "Sigmoid"] * 3
    assert [l.out_features for l in m.encoder if isinstance(l, nn.Linear)] == [256, 128, 64]
    dec = [type(l).__name__ for l in m.decoder]
    assert dec == ["Linear", "ReLU", "Linear", "ReLU", "Linear", "Sigmoid"]
    assert [l.out_features for l in m.decoder if isinstance(l, nn.Linear)] == [128, 256, 784]


def test_one_layer_model():
    m = ContractiveAutoencoder(hidden_dims=())
    assert [type(l).__name__ for l in m.encoder] == ["Linear", "Sigmoid"]
    assert m.encoder[0].weight.shape == (64, 784)


def test_forward_shapes_and_ranges():
    m = ContractiveAutoencoder(input_dim=10, hidden_dims=(7,), latent_dim=3)
    x_hat, z = m(torch.rand(5, 10))
    assert x_hat.shape == (5, 10) and z.shape == (5, 3)
    assert ((z > 0) & (z < 1)).all() and ((x_hat >= 0) & (x_hat <= 1)).all()
    assert torch.equal(m.decode(m.encode(torch.ones(2, 10))), m(torch.ones(2, 10))[0])


@pytest.mark.parametrize("bad, match", [
    (torch.rand(3, 28, 28), r"expected|\(B, 784\).*\(3, 28, 28\)"),
    (torch.rand(3, 783), r"\(B, 784\).*\(3, 783\)"),
    (torch.rand(784), r"\(B, 784\).*\(784,\)"),
    (torch.zeros(3, 784, dtype=torch.int64), "dtype torch.int64"),
    (torch.rand(0, 784), "at least one sample"),
])
def test_bad_inputs(bad, match):
    with pytest.raises(ValueError, match=match):
        ContractiveAutoencoder()(bad)


def test_decode_checks_latent_width():
    with pytest.raises(ValueError, match=r"z must be .*\(B, 64\)"):
        ContractiveAutoencoder().decode(torch.rand(2, 10))


def test_bad_sizes():
    with pytest.raises(ValueError, match="positive"):
        ContractiveAutoencoder(latent_dim=0)


def test_default_device_here():
    dev = default_device()
    assert dev.type in {"cuda", "mps", "cpu"}
    if not torch.cuda.is_available():
        assert dev.type in {"mps", "cpu"}

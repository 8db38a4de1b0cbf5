import pytest
import torch

from cae_lib import ContractiveAutoencoder

# The three architectures every exact method is checked on.
ARCHS = {
    "default": dict(),                                     # 784-256-128-64, the book's model
    "one_layer": dict(hidden_dims=()),                     # Rifai et al. 2011
    "odd": dict(input_dim=37, hidden_dims=(23, 11, 7), latent_dim=5),
}


@pytest.fixture(params=list(ARCHS))
def arch(request):
    return request.param


def make(arch, dtype=torch.float32, seed=0):
    torch.manual_seed(seed)
    m = ContractiveAutoencoder(**ARCHS[arch]).to(dtype)
    # Scale the weights up so the Jacobian is not vanishingly small (as after training).
    with torch.no_grad():
        for p in m.encoder.parameters():
            p.mul_(4.0)
    return m


def batch(m, n=6, dtype=torch.float32, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, m.input_dim, generator=g, dtype=torch.float64).to(dtype)

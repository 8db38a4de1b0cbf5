import os

import pytest
import torch

from cae_lib import ContractiveAutoencoder
from cae_lib.device import check_device

# The device every unit test puts its models on: env CAE_TEST_DEVICE ("cpu" by default,
# "cuda", "cuda:1", "mps"). `CAE_TEST_DEVICE=cuda make unit`. The data the tests pass stay on
# the CPU, as a user's do, so the suite also checks the device rule of cae_lib.device; the
# float64 references stay on the CPU. CAE_DEVICE is set to the same device, so that train()
# and trained() without a device= put their models there too.
_NAME = os.environ.get("CAE_TEST_DEVICE", "cpu").strip() or "cpu"
try:
    DEVICE, _ERROR = check_device(_NAME, "CAE_TEST_DEVICE"), None
    os.environ["CAE_DEVICE"] = str(DEVICE)
except RuntimeError as err:
    DEVICE, _ERROR = torch.device("cpu"), str(err)


def pytest_configure(config):
    if _ERROR:                       # one clear line, before any test runs
        raise pytest.UsageError(_ERROR)


def pytest_report_header(config):
    return f"CAE_TEST_DEVICE: models on {DEVICE}"


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
    """A model of architecture `arch` on DEVICE (initialised on the CPU, so every device
    starts from the same weights)."""
    torch.manual_seed(seed)
    m = ContractiveAutoencoder(**ARCHS[arch]).to(dtype)
    # Scale the weights up so the Jacobian is not vanishingly small (as after training).
    with torch.no_grad():
        for p in m.encoder.parameters():
            p.mul_(4.0)
    return m.to(DEVICE)


def batch(m, n=6, dtype=torch.float32, seed=1):
    """A CPU batch (n, input_dim) in [0, 1]: where a user's data are."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, m.input_dim, generator=g, dtype=torch.float64).to(dtype)


def cpu_copy(m):
    """A CPU copy of a model, for the float64 references (they stay on the CPU)."""
    import copy
    return copy.deepcopy(m).cpu()

"""The install path of the setup cell (Colab), without network.

The setup cell runs `pip install git+<repository.url>@<branch>`. Here pip
installs from a git clone of this repository through a git+file:// URL, with
no index and no dependencies, into an empty folder, and a fresh Python that
sees only that folder (and the installed torch) imports cae_lib and computes
a small penalty.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = """
import torch
import cae_lib as cl
torch.manual_seed(0)
m = cl.ContractiveAutoencoder(input_dim=12, hidden_dims=(8,), latent_dim=4)
m = m.double()
x = torch.rand(5, 12, dtype=torch.float64)
closed = cl.jacobian_penalty(m, x)
reference = cl.jacobian_penalty(m, x, method="autograd")
assert torch.allclose(closed, reference, rtol=1e-10), (closed, reference)
print(cl.__file__)
print(float(closed))
"""


def _git(*args, cwd=ROOT):
    return subprocess.run(["git", *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    try:
        _git("rev-parse", "--git-dir")
    except subprocess.CalledProcessError:
        pytest.skip(f"{ROOT} is not a git checkout")
    dest = tmp_path_factory.mktemp("clone") / "repo"
    _git("clone", "-q", "--no-hardlinks", str(ROOT), str(dest))
    return dest


def test_pip_installs_cae_lib_from_a_git_url(clone, tmp_path):
    target, elsewhere = tmp_path / "target", tmp_path / "cwd"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "PYTHON"))}
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps",
           "--no-index", "--no-build-isolation", "--disable-pip-version-check",
           "--target", str(target), f"git+file://{clone}"]
    done = subprocess.run(pip, cwd=elsewhere, env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert (target / "cae_lib" / "__init__.py").is_file()

    env["PYTHONPATH"] = str(target)
    run = subprocess.run([sys.executable, "-c", PROGRAM], cwd=elsewhere,
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    where, value = run.stdout.split()
    assert Path(where).resolve().is_relative_to(target.resolve()), where
    assert float(value) > 0

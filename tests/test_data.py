"""Data loading. These tests read the real MNIST files: in CI from CAE_DATA_MIRROR."""
import socket
from urllib.error import URLError

import pytest
import torch

import cae_lib.data as data_mod
from cae_lib import load_mnist


def test_mnist_shapes_range_and_known_labels():
    d = load_mnist(n_train=100, n_test=10)
    assert d.x_train.shape == (100, 784) and d.x_test.shape == (10, 784)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    assert 0.0 <= float(d.x_train.min()) and float(d.x_train.max()) <= 1.0
    assert d.y_test.tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]      # the official t10k order
    full = load_mnist()
    assert len(full.x_train) == 60000 and len(full.x_test) == 10000
    assert abs(float(full.x_train.mean()) - 0.1307) < 1e-3


def test_fashion_mnist():
    d = load_mnist(n_train=5, n_test=5, dataset="fashion")
    assert int(d.y_test[0]) == 9 and d.classes[9] == "Ankle boot"


def test_returned_tensors_are_private_copies():
    a = load_mnist(n_train=3, n_test=1)
    a.x_train.zero_()
    assert float(load_mnist(n_train=3, n_test=1).x_train.sum()) > 0


@pytest.mark.parametrize("kw, match", [
    (dict(n_train=0), "n_train"), (dict(n_train=60001), "n_train"), (dict(n_test=-5), "n_test"),
    (dict(n_train=1.5), "n_train"), (dict(dataset="cifar"), "unknown dataset 'cifar'"),
])
def test_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        load_mnist(**kw)


def _offline(monkeypatch):
    """Cut the network where torchvision reaches it, so a test behaves as CI does. Returns the
    socket timeout in force at each attempt."""
    attempts = []

    def no_network(*args, **kwargs):
        attempts.append(socket.getdefaulttimeout())
        raise URLError("simulated: no network")
    monkeypatch.setattr("urllib.request.urlopen", no_network)
    return attempts


def test_missing_data_offline_is_a_clear_error_without_waiting(tmp_path, monkeypatch):
    # "Within seconds", checked without a clock: a few attempts (torchvision's mirrors), each
    # under a 15 s socket timeout, so a silent network cannot hang the book; no retry loop.
    attempts = _offline(monkeypatch)
    monkeypatch.delenv("CAE_DATA_MIRROR", raising=False)
    before = socket.getdefaulttimeout()
    with pytest.raises(RuntimeError, match="CAE_DATA_MIRROR") as err:
        load_mnist(root=tmp_path / "empty")
    assert 1 <= len(attempts) <= 4 and all(t == 15 for t in attempts)
    assert socket.getdefaulttimeout() == before              # restored afterwards
    assert "MNIST/raw" in str(err.value) and err.value.__cause__ is None


def test_mirror_is_used_without_network(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror" / "MNIST" / "raw"
    mirror.mkdir(parents=True)
    src = data_mod.default_data_root() / "MNIST" / "raw"
    load_mnist(n_train=1, n_test=1)                     # make sure the .gz files exist locally
    for f in src.glob("*.gz"):
        (mirror / f.name).write_bytes(f.read_bytes())
    _offline(monkeypatch)
    monkeypatch.setenv("CAE_DATA_MIRROR", str(tmp_path / "mirror"))
    d = load_mnist(n_train=2, n_test=2, root=tmp_path / "root")
    assert d.y_test.tolist() == [7, 2]
    assert not list((tmp_path / "root").rglob("*.part*"))   # no half-copied files left


def test_incomplete_mirror_names_the_missing_file(tmp_path, monkeypatch):
    (tmp_path / "mirror" / "FashionMNIST" / "raw").mkdir(parents=True)
    monkeypatch.setenv("CAE_DATA_MIRROR", str(tmp_path / "mirror"))
    with pytest.raises(FileNotFoundError, match="FashionMNIST/raw/train-images-idx3-ubyte.gz"):
        load_mnist(dataset="fashion", root=tmp_path / "root")

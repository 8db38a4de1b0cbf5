"""Data loading. These tests read the real MNIST files: in CI from CAE_DATA_MIRROR."""
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
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


# --- a crowd on an empty data folder (issue 21) -------------------------------------------
# Eight processes that start loading at the same moment, as the kernels of a class do, on
# one empty data folder with the mirror set. Each round uses a fresh folder; the processes
# import torch once and meet at a file barrier before every round, so the rounds are cheap.
_CROWD_CHILD = r"""
import os, sys, time, urllib.error, urllib.request
from pathlib import Path

def no_network(*args, **kwargs):
    raise urllib.error.URLError("crowd test: no network")
urllib.request.urlopen = no_network
import importlib.util
spec = importlib.util.spec_from_file_location("cae_data", sys.argv[4])
data = importlib.util.module_from_spec(spec)     # data.py alone: no matplotlib to import
spec.loader.exec_module(data)

base, rounds, i = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
import torchvision.datasets  # noqa: F401  (imported before the first round, not during it)
(base / f"ready-{os.getpid()}").touch()
for r in range(rounds):
    while not (base / f"go{r}").exists():
        time.sleep(0.002)
    time.sleep(0.2 * ((3 * i + r) % 8))    # staggered arrivals over 1.4 s, as in a class
    try:
        d = data.load_mnist(n_train=3, n_test=3, root=base / f"root{r}")
        msg = "ok" if d.y_test.tolist() == [7, 2, 1] else f"wrong labels {d.y_test.tolist()}"
        data._FULL.clear()                   # frees this round's 60,000 images
    except Exception as err:
        msg = f"{type(err).__name__}: {err}".replace(chr(10), " ")
    tmp = base / f"part{r}-{os.getpid()}"
    tmp.write_text(msg)
    os.replace(tmp, base / f"done{r}-{os.getpid()}")    # the parent never reads half a message
"""


def _mnist_mirror(tmp_path):
    """A mirror holding MNIST's four official .gz files, in torchvision's layout."""
    load_mnist(n_train=1, n_test=1)                  # makes sure the local .gz files exist
    src = data_mod.default_data_root() / "MNIST" / "raw"
    mirror = tmp_path / "mirror"
    (mirror / "MNIST" / "raw").mkdir(parents=True)
    for f in src.glob("*.gz"):
        shutil.copyfile(f, mirror / "MNIST" / "raw" / f.name)
    return mirror


def _wait(what, done, procs, seconds=300):
    deadline = time.monotonic() + seconds
    while not done():
        dead = [p for p in procs if p.poll() not in (None, 0)]
        assert not dead, f"a loader died: {Path(dead[0].args[-1]).read_text()[-2000:]}"
        assert time.monotonic() < deadline, f"{what}: loaders still busy after {seconds} s"
        time.sleep(0.05)


def test_eight_processes_at_once_on_an_empty_data_folder_all_load(tmp_path):
    # Fails on the code before issue 21 (each process unpacked into the same folder, and one
    # could read another's half-written file): 10 to 19 of 40 loads failed in each of three
    # trials of 5 rounds. Now every load must succeed.
    n_proc, rounds = 8, 4
    mirror = _mnist_mirror(tmp_path)
    base = tmp_path / "crowd"
    base.mkdir()
    env = dict(os.environ, CAE_DATA_MIRROR=str(mirror), OMP_NUM_THREADS="1")
    env.pop("CAE_DATA_DIR", None)
    procs = []
    try:
        for i in range(n_proc):
            err = base / f"stderr{i}"
            with open(err, "w") as f:
                procs.append(subprocess.Popen(
                    [sys.executable, "-c", _CROWD_CHILD, str(base), str(rounds), str(i),
                     data_mod.__file__, str(err)], env=env, stdout=f, stderr=f))
        _wait("import", lambda: len(list(base.glob("ready-*"))) == n_proc, procs)
        failures = []
        for r in range(rounds):
            (base / f"go{r}").touch()
            _wait(f"round {r}", lambda: len(list(base.glob(f"done{r}-*"))) == n_proc, procs)
            msgs = [f.read_text() for f in base.glob(f"done{r}-*")]
            failures += [f"round {r}: {m}" for m in msgs if m != "ok"]
            shutil.rmtree(base / f"root{r}", ignore_errors=True)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
    assert not failures, f"{len(failures)} of {n_proc * rounds} loads failed:\n" + \
        "\n".join(failures[:8])


def test_a_corrupt_mirror_file_is_named_with_its_md5(tmp_path, monkeypatch):
    mirror = _mnist_mirror(tmp_path)
    gz = mirror / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:1000])                    # a partial copy
    attempts = _offline(monkeypatch)
    monkeypatch.setenv("CAE_DATA_MIRROR", str(mirror))
    with pytest.raises(RuntimeError, match="fails its md5 check") as err:
        load_mnist(root=tmp_path / "root")
    assert str(gz) in str(err.value) and "corrupt or partial" in str(err.value)
    assert "download" not in str(err.value).split("(or")[0] and not attempts   # none tried
    assert not list((tmp_path / "root").rglob("*.gz"))        # nothing bad kept


def test_a_partial_unpacked_file_is_unpacked_again(tmp_path, monkeypatch):
    _offline(monkeypatch)
    monkeypatch.setenv("CAE_DATA_MIRROR", str(_mnist_mirror(tmp_path)))
    root = tmp_path / "root"
    load_mnist(n_train=1, n_test=1, root=root)
    labels = root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:100])             # as a killed unpacker left it
    data_mod._FULL.clear()
    with pytest.warns(RuntimeWarning, match="corrupt or partial .*100 bytes where its header"):
        d = load_mnist(n_train=1, n_test=3, root=root)
    assert d.y_test.tolist() == [7, 2, 1] and labels.stat().st_size == 10008


def test_a_corrupt_local_file_offline_names_both_causes(tmp_path, monkeypatch):
    attempts = _offline(monkeypatch)
    monkeypatch.delenv("CAE_DATA_MIRROR", raising=False)
    raw = tmp_path / "root" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b half a file")
    with pytest.raises(RuntimeError) as err:
        load_mnist(root=tmp_path / "root")
    msg = str(err.value)
    assert "train-images-idx3-ubyte.gz is corrupt or partial" in msg and "md5" in msg
    assert "CAE_DATA_MIRROR is not set" in msg and "simulated: no network" in msg
    assert len(attempts) >= 1

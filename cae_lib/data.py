"""MNIST and Fashion-MNIST as flat float tensors, through torchvision, offline-friendly.

Where the files come from, in order:
  1. <root>/MNIST/raw (or <root>/FashionMNIST/raw), torchvision's layout, if already there;
  2. the folder named by env CAE_DATA_MIRROR, in the same layout (<mirror>/MNIST/raw/*.gz):
     the .gz files are copied into <root> and torchvision checks their md5 and unpacks them
     without any network (this is how CI and an offline classroom run);
  3. torchvision's own download.
If all three fail, a RuntimeError says how to supply the files, within seconds.

Datasets: MNIST (LeCun, Cortes, Burges; CC BY-SA 3.0) and Fashion-MNIST
(Xiao, Rasul, Vollgraf 2017, arXiv:1708.07747; MIT).
"""
from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from typing import NamedTuple

import torch

_DATASETS = {"mnist": "MNIST", "fashion": "FashionMNIST"}
_FULL: dict[tuple[str, str], tuple[torch.Tensor, ...]] = {}  # in-process cache of full splits


class Digits(NamedTuple):
    x_train: torch.Tensor   # (N_train, 784) float32 in [0, 1]
    y_train: torch.Tensor   # (N_train,) int64
    x_test: torch.Tensor    # (N_test, 784)
    y_test: torch.Tensor    # (N_test,)
    classes: list[str]


def _repo_root() -> Path | None:
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").exists() and (root / "cae_lib").is_dir() else None


def default_data_root() -> Path:
    if os.environ.get("CAE_DATA_DIR"):
        return Path(os.environ["CAE_DATA_DIR"])
    repo = _repo_root()
    return repo / "data" if repo else Path.home() / ".cache" / "cae_book" / "data"


def _dataset_class(dataset: str):
    from torchvision import datasets  # imported lazily: torchvision is slow to import

    if dataset not in _DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose 'mnist' or 'fashion'.")
    return getattr(datasets, _DATASETS[dataset])


def _copy_from_mirror(cls, root: Path, mirror: Path) -> None:
    raw = root / cls.__name__ / "raw"
    for filename, _md5 in cls.resources:
        dst = raw / filename
        extracted = raw / filename[:-3]
        if dst.exists() or extracted.exists():
            continue
        src = mirror / cls.__name__ / "raw" / filename
        if not src.exists():
            raise FileNotFoundError(
                f"CAE_DATA_MIRROR={mirror} has no {src.relative_to(mirror)}. The mirror must use "
                f"torchvision's layout: {mirror}/{cls.__name__}/raw/{filename}.")
        raw.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(dst.name + f".part{os.getpid()}")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)  # atomic: a half-copied file never carries the final name


def _load_full(dataset: str, root: Path) -> tuple[torch.Tensor, ...]:
    key = (dataset, str(root.resolve()))
    if key in _FULL:
        return _FULL[key]
    cls = _dataset_class(dataset)
    mirror = os.environ.get("CAE_DATA_MIRROR")
    if mirror:
        _copy_from_mirror(cls, root, Path(mirror))
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(15)  # a silent network should fail fast, not hang the book
    try:
        splits = [cls(str(root), train=t, download=True) for t in (True, False)]
    except Exception as err:  # torchvision raises RuntimeError/URLError/OSError offline
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise RuntimeError(
            f"could not load {cls.__name__}: no files under {root / cls.__name__ / 'raw'} and the "
            f"download failed ({reason}). Offline, point env CAE_DATA_MIRROR at a folder holding "
            f"{cls.__name__}/raw/*.gz (torchvision's layout), or copy those .gz files into "
            f"{root / cls.__name__ / 'raw'} yourself; or pass root=... / set CAE_DATA_DIR to where "
            f"they already are.") from None
    finally:
        socket.setdefaulttimeout(old_timeout)
    out = []
    for ds in splits:
        out += [ds.data.reshape(len(ds.data), -1).float().div_(255.0), ds.targets.long()]
    _FULL[key] = (*out, list(splits[0].classes))
    return _FULL[key]


def _check_n(name: str, n, available: int) -> int:
    if n is None:
        return available
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= available:
        raise ValueError(f"{name} must be None or an int in [1, {available}]; got {n!r}.")
    return n


def load_mnist(n_train: int | None = None, n_test: int | None = None, dataset: str = "mnist",
               root: str | os.PathLike | None = None) -> Digits:
    """The first n_train training and first n_test test images, flattened to 784 floats
    in [0, 1], with their labels. dataset is "mnist" or "fashion"."""
    _dataset_class(dataset)  # validates the name before any file work
    root = Path(root) if root is not None else default_data_root()
    x_tr, y_tr, x_te, y_te, classes = _load_full(dataset, root)
    n_train = _check_n("n_train", n_train, len(x_tr))
    n_test = _check_n("n_test", n_test, len(x_te))
    # clones: a caller that edits its tensors in place must not edit the in-process cache
    return Digits(x_tr[:n_train].clone(), y_tr[:n_train].clone(),
                  x_te[:n_test].clone(), y_te[:n_test].clone(), classes)


def load_validation(n_val: int = 10_000, dataset: str = "mnist", n_train: int | None = 20_000,
                    root: str | os.PathLike | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A validation split carved from the END of the training set: the last n_val training
    images and labels, (n_val, 784) and (n_val,). Disjoint from the first n_train images that
    the book's models are trained on, and from the test set, so hyper-parameters chosen on it
    never see a test digit. Raises ValueError if the two parts of the training set overlap."""
    _dataset_class(dataset)
    root = Path(root) if root is not None else default_data_root()
    x_tr, y_tr, *_ = _load_full(dataset, root)
    n_val = _check_n("n_val", n_val, len(x_tr))
    used = len(x_tr) if n_train is None else _check_n("n_train", n_train, len(x_tr))
    if used + n_val > len(x_tr):
        raise ValueError(f"n_train + n_val = {used} + {n_val} exceeds the {len(x_tr)} training "
                         f"images, so the validation split would overlap the training digits; "
                         f"lower n_val or train on fewer digits.")
    return x_tr[-n_val:].clone(), y_tr[-n_val:].clone()

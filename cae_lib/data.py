"""MNIST and Fashion-MNIST as flat float tensors, through torchvision, offline-friendly.

Where the files come from, in order:
  1. <root>/MNIST/raw (or <root>/FashionMNIST/raw), torchvision's layout, if already there;
  2. the folder named by env CAE_DATA_MIRROR, in the same layout (<mirror>/MNIST/raw/*.gz):
     the .gz files are copied into <root>, their md5 checked, and unpacked, with no network
     (this is how CI and an offline classroom run);
  3. a download from torchvision's mirrors (only when CAE_DATA_MIRROR is not set).
A crowd is safe: nine kernels that start at once on an empty folder copy and unpack each file
once, under a file lock on <root>/<Name>/raw, and every file is written under a temporary name
and renamed, so no process ever reads a half-written file. When loading fails, the error names
the real cause (a missing or corrupt mirror file, a failed md5, a corrupt unpacked file, or no
mirror and a failed download) and the fix, within seconds.

Datasets: MNIST (LeCun, Cortes, Burges; CC BY-SA 3.0) and Fashion-MNIST
(Xiao, Rasul, Vollgraf 2017, arXiv:1708.07747; MIT).
"""
from __future__ import annotations

import gzip
import math
import os
import shutil
import socket
import warnings
from pathlib import Path
from typing import NamedTuple

import torch

_DATASETS = {"mnist": "MNIST", "fashion": "FashionMNIST"}
_FULL: dict[tuple[str, str], tuple[torch.Tensor, ...]] = {}  # in-process cache of full splits
_LOCK_SECONDS = 600   # the longest wait for another process that unpacks the same folder


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


def _header_problem(path: Path) -> str | None:
    """None if `path` is a complete unpacked IDX file (the MNIST format), else what is wrong:
    its size must equal the header's length plus the product of the dimensions it declares."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as err:
        return f"unreadable ({err.strerror or err})"
    if len(head) < 8 or head[:2] != b"\0\0" or head[2] != 8 or head[3] not in (1, 3):
        return f"{size} bytes, without an IDX header (0x0000080N)"
    dims = [int.from_bytes(head[4 + 4 * i:8 + 4 * i], "big") for i in range(head[3])]
    expected = 4 * (len(dims) + 1) + math.prod(dims)
    return None if size == expected else f"{size} bytes where its header promises {expected}"


def _unpacked(cls, raw: Path) -> bool:
    """True if every file is unpacked and complete (the fast path: no lock needed, since a
    name appears only by os.replace of a finished file)."""
    return all(not _header_problem(raw / f[:-3]) for f, _ in cls.resources)


def _replace_verified(src_write, dst: Path, md5: str) -> bool:
    """Write dst through a temporary name (src_write(tmp) fills it), keep it only if its md5 is
    `md5`: os.replace then gives dst atomically. Returns False (nothing left) on a bad md5."""
    from torchvision.datasets.utils import check_integrity

    tmp = dst.with_name(f"{dst.name}.part{os.getpid()}")
    try:
        src_write(tmp)
        if not check_integrity(str(tmp), md5):
            return False
        os.replace(tmp, dst)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _fetch_gz(cls, raw: Path, filename: str, md5: str) -> None:
    """Make raw/filename a verified copy (md5) of the official .gz: kept if already good, else
    copied from CAE_DATA_MIRROR when set, else downloaded. Errors name the real cause."""
    from torchvision.datasets.utils import check_integrity, download_url

    gz, name = raw / filename, cls.__name__
    if gz.exists() and check_integrity(str(gz), md5):
        return
    local = (f"{gz} is corrupt or partial (its md5 is not the official {md5})"
             if gz.exists() else f"no files under {raw}")
    mirror = os.environ.get("CAE_DATA_MIRROR")
    if mirror:
        src = Path(mirror) / name / "raw" / filename
        if not src.exists():
            raise FileNotFoundError(
                f"CAE_DATA_MIRROR={mirror} has no {src.relative_to(mirror)}. The mirror must use "
                f"torchvision's layout: {mirror}/{name}/raw/{filename}.")
        if not _replace_verified(lambda tmp: shutil.copyfile(src, tmp), gz, md5):
            raise RuntimeError(
                f"could not load {name}: the mirror's {src} fails its md5 check (expected "
                f"{md5}): a corrupt or partial copy. Replace it with the official file (or "
                f"unset CAE_DATA_MIRROR to download it).")
        return
    old_timeout, errors = socket.getdefaulttimeout(), []
    socket.setdefaulttimeout(15)  # a silent network should fail fast, not hang the book
    try:
        for url in (m + filename for m in cls.mirrors):
            try:
                if _replace_verified(lambda tmp: download_url(url, str(raw), tmp.name), gz, md5):
                    return
                errors.append(f"{url}: the file received fails its md5 check")
            except Exception as err:  # URLError, OSError, RuntimeError from torchvision
                text = str(err).strip()
                errors.append(f"{url}: {text.splitlines()[0] if text else type(err).__name__}")
    finally:
        socket.setdefaulttimeout(old_timeout)
    raise RuntimeError(
        f"could not load {name}: {local}, CAE_DATA_MIRROR is not set, and downloading "
        f"{filename} failed ({'; '.join(errors)}). Offline, point env CAE_DATA_MIRROR at a "
        f"folder holding {name}/raw/*.gz (torchvision's layout), or copy those .gz files into "
        f"{raw} yourself; or pass root=... / set CAE_DATA_DIR to where they already are.")


def _unpack(gz: Path, out: Path) -> None:
    """Decompress gz into out through a temporary name; out appears complete or not at all."""
    tmp = out.with_name(f"{out.name}.part{os.getpid()}")
    try:
        with gzip.open(gz, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        problem = _header_problem(tmp)
        if problem:
            raise RuntimeError(f"unpacking {gz} gave a bad file ({problem}); delete {gz} and "
                               f"load again to fetch a fresh copy.")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _ensure_files(cls, root: Path) -> None:
    """Fill <root>/<Name>/raw with the verified .gz files and their unpacked contents, ONCE
    however many processes ask at the same moment: the work is done under a file lock
    (filelock) on that folder, and every file is written to a temporary name and renamed."""
    from filelock import FileLock, Timeout

    raw = root / cls.__name__ / "raw"
    if _unpacked(cls, raw):
        return
    try:
        raw.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(raw / ".unpack.lock"), timeout=_LOCK_SECONDS)
        with lock:
            for filename, md5 in cls.resources:
                out = raw / filename[:-3]
                problem = _header_problem(out) if out.exists() else None
                if out.exists() and not problem:
                    continue                     # another process finished it first
                if problem:
                    warnings.warn(f"{out} is corrupt or partial ({problem}); unpacking it "
                                  f"again from {filename}.", RuntimeWarning, stacklevel=4)
                _fetch_gz(cls, raw, filename, md5)
                _unpack(raw / filename, out)
    except Timeout:
        raise RuntimeError(f"could not load {cls.__name__}: waited {_LOCK_SECONDS} s for another "
                           f"process that holds {raw / '.unpack.lock'} while it unpacks the "
                           f"data. If none is running, load again.") from None
    except PermissionError as err:
        raise RuntimeError(f"could not load {cls.__name__}: {raw} is missing files and is not "
                           f"writable ({err.strerror}). Point CAE_DATA_DIR (or root=...) at a "
                           f"writable folder, or fill this one once from a writable account."
                           ) from None


def _load_full(dataset: str, root: Path) -> tuple[torch.Tensor, ...]:
    key = (dataset, str(root.resolve()))
    if key in _FULL:
        return _FULL[key]
    cls = _dataset_class(dataset)
    _ensure_files(cls, root)
    try:
        splits = [cls(str(root), train=t, download=False) for t in (True, False)]
    except Exception as err:  # the files were complete a moment ago: something else broke
        raise RuntimeError(
            f"could not read {cls.__name__} from {root / cls.__name__ / 'raw'}: "
            f"{str(err).strip() or type(err).__name__}. Delete that folder's unpacked files "
            f"(those without .gz); they are unpacked again from the .gz files.") from None
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

"""Which device computes, and the library's one device rule.

Choice (`default_device`): env CAE_DEVICE when set ("cpu", "cuda", "cuda:1", "mps"), else
CUDA, then Apple's MPS, else the CPU. Nothing assumes a GPU.

The device rule, for every public function that takes (model, x) (penalties, Jacobian
norms, sensitivities, the contraction curve, the denoising terms, sampling, the probe
helpers):
  * it computes on the MODEL's device (that of its first parameter, else buffer; a model with
    neither computes where x is) and moves x there itself, so a CPU batch works with a model
    on a GPU (`model_device`, `to_model`);
  * a result that joins a loss (the penalties, differentiable w.r.t. the parameters) stays on
    the model's device, next to that loss; a measurement (per-sample norms, sensitivities,
    curves, chains, Jacobians, singular values) comes back on x's device, next to the
    caller's data, ready for matplotlib (`to_caller`). Each docstring says which;
  * random draws are made on the generator's device and then moved, so a CPU
    torch.Generator keeps working, with the same draws, when the model is on a GPU (`draw`).
Models on torch's `meta` device (shapes only, no data) compute on meta, and their results
stay there: there is nothing to copy back.
"""
from __future__ import annotations

import os

import torch


def default_device() -> torch.device:
    """CAE_DEVICE if set, else CUDA, then MPS, then the CPU. A CAE_DEVICE that this machine
    does not have is a RuntimeError that names it and the fix."""
    name = os.environ.get("CAE_DEVICE", "").strip()
    if name:
        return check_device(name, "CAE_DEVICE")
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def available_devices() -> list[str]:
    """The device names this machine can compute on, e.g. ['cpu', 'cuda', 'cuda:0']."""
    out = ["cpu"]
    if torch.cuda.is_available():
        out += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return out


def check_device(name, source: str = "device") -> torch.device:
    """torch.device(name) if this machine has it, else a RuntimeError naming `source` (an
    env variable or argument), what this machine has, and the fix."""
    have = available_devices()
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError) as err:
        raise RuntimeError(f"{source}={name!r} is not a device name ({err}); use one of "
                           f"{have}.") from None
    ok = dev.type in ("cpu", "meta") or (dev.type == "cuda" and torch.cuda.is_available()
                               and (dev.index or 0) < torch.cuda.device_count()) \
        or (dev.type == "mps" and "mps" in have)
    if not ok:
        raise RuntimeError(f"{source}={name!r}, but this machine has no such device (torch "
                           f"{torch.__version__} sees {have}). Unset {source} or set it to "
                           f"one of those; a GPU needs a CUDA build of torch and its driver.")
    return dev


def model_device(model) -> torch.device | None:
    """The device of the model's first parameter (else buffer); None for a model with
    neither, or for a plain function."""
    for get in ("parameters", "buffers"):
        it = getattr(model, get, None)
        if callable(it):
            for t in it():
                return t.device
    return None


def to_model(model, x: torch.Tensor) -> torch.Tensor:
    """x on the model's device (x itself when it is already there, or the model has none)."""
    dev = model_device(model)
    return x if dev is None or x.device == dev else x.to(dev)


def to_caller(t: torch.Tensor, like: torch.Tensor | torch.device) -> torch.Tensor:
    """t on the caller's device (that of `like`, the caller's x). A meta tensor stays on
    meta: it holds no data to copy."""
    dev = like.device if isinstance(like, torch.Tensor) else torch.device(like)
    return t if t.device == dev or t.device.type == "meta" else t.to(dev)


def draw(kind: str, shape, like: torch.Tensor, generator: torch.Generator | None = None
         ) -> torch.Tensor:
    """Standard normal ("randn") or uniform ("rand") draws of `shape`, made on the
    generator's device (or like's, without one) and returned with like's device and dtype."""
    dev = generator.device if generator is not None else like.device
    fn = {"randn": torch.randn, "rand": torch.rand}[kind]
    return fn(shape, generator=generator, device=dev).to(device=like.device, dtype=like.dtype)


def randperm(n: int, like: torch.Tensor, generator: torch.Generator | None = None
             ) -> torch.Tensor:
    """A random permutation of range(n), drawn on the generator's device, on like's device."""
    dev = generator.device if generator is not None else like.device
    return torch.randperm(n, generator=generator, device=dev).to(like.device)

"""cae_lib: the helper package of the book "Contractive Autoencoders, an executable book".

    from cae_lib import ContractiveAutoencoder, jacobian_penalty, train, load_mnist, trained
"""
from .analysis import contraction_curve, sensitivity
from .cache import CACHE_VERSION, TrainConfig, trained
from .data import load_mnist
from .device import default_device
from .model import ContractiveAutoencoder
from .penalties import (METHODS, encoder_jacobian, jacobian_norms, jacobian_penalty,
                        source_shortcut_penalty)
from .training import History, train

__version__ = "0.1.0"
__all__ = [
    "ContractiveAutoencoder", "jacobian_penalty", "jacobian_norms", "encoder_jacobian", "source_shortcut_penalty",
    "METHODS", "train", "History", "load_mnist", "trained", "TrainConfig", "CACHE_VERSION",
    "sensitivity", "contraction_curve", "default_device",
]
from . import bench  # noqa: E402  (timing helpers for chapter 2 and benchmarks/)

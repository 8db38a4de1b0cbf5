"""cae_lib: the helper package of the book "Contractive Autoencoders, an executable book".

    from cae_lib import ContractiveAutoencoder, jacobian_penalty, train, load_mnist, trained
"""
from .analysis import (binomial_se, code_spread, contraction_curve, decoder_gain, linear_probe,
                       median_se, pair_scale, relative_median_se, relative_sensitivity,
                       scale_code, sensitivity)
from .cache import CACHE_VERSION, TrainConfig, trained
from .data import load_mnist, load_validation
from .denoising import (dae_lam, kink_distance, noisy_excess_loss, reconstruction_jacobian_norms,
                        reconstruction_jacobian_penalty, residual_laplacian_term,
                        small_noise_dae_loss)
from .device import default_device
from .evaluation import (ProbeData, Scores, contraction_measures, difference, probe_data,
                         raw_pixel_scores, score, scored, select, verdict)
from .finetune import FineTuneConfig, FineTuned, fine_tuned
from .higher_order import cae_h_penalty
from .geometry import (effective_rank, energy_fraction, jacobian_svd, linear_cka, local_pca,
                       principal_angles, singular_values)
from .model import ContractiveAutoencoder
from .sampling import sample_chain
from .seeds import REPLICATES, book_seed, mean_se, replicates
from .setup_report import cache_report
from .tangents import tangent_prop_penalty, tangents
from .penalties import (METHODS, encoder_jacobian, jacobian_norms, jacobian_penalty,
                        source_shortcut_penalty)
from .training import LOSSES, History, reconstruction_loss, train

__version__ = "0.1.0"
__all__ = [
    "cache_report",
    "ContractiveAutoencoder", "jacobian_penalty", "jacobian_norms", "encoder_jacobian", "source_shortcut_penalty",
    "METHODS", "train", "History", "load_mnist", "trained", "TrainConfig", "CACHE_VERSION",
    "sensitivity", "contraction_curve", "linear_probe", "default_device", "relative_sensitivity",
    "code_spread", "decoder_gain", "scale_code", "median_se", "pair_scale",
    "relative_median_se", "binomial_se", "load_validation", "LOSSES", "reconstruction_loss",
    "reconstruction_jacobian_penalty", "reconstruction_jacobian_norms", "residual_laplacian_term",
    "noisy_excess_loss", "jacobian_svd", "singular_values", "energy_fraction", "effective_rank",
    "linear_cka", "principal_angles", "local_pca", "dae_lam", "small_noise_dae_loss",
    "ProbeData", "Scores", "probe_data", "score", "select", "difference", "verdict",
    "scored", "raw_pixel_scores", "contraction_measures", "sample_chain",
    "book_seed", "mean_se", "replicates", "REPLICATES", "kink_distance",
    "cae_h_penalty", "tangents", "tangent_prop_penalty",
    "FineTuneConfig", "FineTuned", "fine_tuned",
]
from . import bench, checks, seeds, toy, toy_widgets, widgets  # noqa: E402  (timing, self-checks,
#                                                        the 2-D toys, the explorers)

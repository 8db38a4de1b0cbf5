"""cae_lib.finetune: the fine-tuning of Table 1 and of the Manifold Tangent Classifier.
Configuration checks, the cache (atomic, keyed, weights_only, corrupt files recomputed), that
the classifier starts from the encoder's weights, and that the tangent penalty changes the
result. Tiny models: seconds each."""
import warnings
from dataclasses import replace

import pytest
import torch

from cae_lib import ContractiveAutoencoder
from cae_lib.cache import TrainConfig, trained
from cae_lib.finetune import FineTuneConfig, accuracy, classifier, fine_tuned

TINY = TrainConfig(hidden_dims=(8,), latent_dim=6, lam=0.1, epochs=1, n_train=256)
FT = FineTuneConfig(TINY, n_labels=200, epochs=5, batch_size=50, lr=1e-2)


def test_bad_configurations_are_named():
    with pytest.raises(TypeError, match="encoder must be a cae_lib.TrainConfig"):
        FineTuneConfig("CAE")
    with pytest.raises(ValueError, match="both tangent_weight > 0 and n_tangents > 0"):
        FineTuneConfig(TINY, tangent_weight=0.1)
    with pytest.raises(ValueError, match="both tangent_weight > 0 and n_tangents > 0"):
        FineTuneConfig(TINY, n_tangents=3)
    with pytest.raises(ValueError, match="n_labels"):
        FineTuneConfig(TINY, n_labels=0)
    with pytest.raises(ValueError, match="pretrained must be True or False"):
        FineTuneConfig(TINY, pretrained=1)
    with pytest.raises(TypeError, match="FineTuneConfig"):
        fine_tuned(TINY)


def test_every_field_keys_the_file():
    variants = [FT, replace(FT, pretrained=False), replace(FT, n_labels=100),
                replace(FT, seed=1), replace(FT, tangent_weight=0.1, n_tangents=2),
                replace(FT, tangent_weight=0.1, n_tangents=2,
                        tangents_from=replace(TINY, lam=0.0)),
                replace(FT, encoder=replace(TINY, seed=1)), replace(FT, lr=3e-3)]
    assert len({v.filename() for v in variants}) == len(variants)
    assert FT.filename() == FineTuneConfig(TINY, n_labels=200, epochs=5, batch_size=50,
                                           lr=1e-2).filename()


def test_classifier_starts_from_the_encoder():
    torch.manual_seed(0)
    model = ContractiveAutoencoder(784, (8,), 6)
    clf = classifier(model)
    x = torch.rand(5, 784)
    torch.testing.assert_close(clf[0](x), model.encoder(x))
    assert clf(x).shape == (5, 10)
    clf[0][0].weight.data.zero_()                  # a copy: the model is untouched
    assert model.encoder[0].weight.abs().sum() > 0
    acc, ok = accuracy(clf, x, clf(x).argmax(1))
    assert acc == 1.0 and ok.dtype == torch.bool and ok.shape == (5,)


def test_fine_tuned_is_cached_and_recomputed_when_corrupt(tmp_path):
    res = fine_tuned(FT, cache_dir=tmp_path, device="cpu")
    path = tmp_path / FT.filename()
    assert path.exists() and not list(tmp_path.glob("*.tmp*"))
    assert res.correct.shape == (10_000,) and res.correct.dtype == torch.bool
    assert res.test_acc == pytest.approx(float(res.correct.float().mean()))
    assert 0.2 < res.test_acc <= 1 and 0.2 < res.val_acc <= 1     # learned something
    again = fine_tuned(FT, cache_dir=tmp_path, device="cpu")       # read back
    assert again.test_acc == res.test_acc and torch.equal(again.correct, res.correct)
    other = replace(FT, seed=1)                    # a file written for another config
    path.rename(tmp_path / other.filename())
    with pytest.warns(RuntimeWarning, match="another configuration"):
        fine_tuned(other, cache_dir=tmp_path, device="cpu")
    (tmp_path / FT.filename()).write_bytes(b"not a torch file")
    with pytest.warns(RuntimeWarning, match="ignoring fine-tuning file"):
        redone = fine_tuned(FT, cache_dir=tmp_path, device="cpu")
    assert redone.test_acc == res.test_acc         # deterministic on the CPU


def test_pretraining_and_tangents_change_the_result(tmp_path):
    trained(TINY, cache_dir=tmp_path, progress=False, device="cpu")
    base = fine_tuned(FT, cache_dir=tmp_path, device="cpu")
    rand = fine_tuned(replace(FT, pretrained=False), cache_dir=tmp_path, device="cpu")
    tp = fine_tuned(replace(FT, tangent_weight=10.0, n_tangents=3), cache_dir=tmp_path,
                    device="cpu")
    assert not torch.equal(base.correct, rand.correct)
    assert not torch.equal(base.correct, tp.correct)
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # nothing retrained, nothing warned
        fine_tuned(FT, cache_dir=tmp_path, device="cpu")

import pytest
import torch

import cae_lib.cache as cache
from cae_lib import TrainConfig, trained

TINY = TrainConfig(hidden_dims=(8,), latent_dim=4, lam=0.1, epochs=1, n_train=256)


def test_trains_once_then_loads_the_same_model(tmp_path, monkeypatch):
    m1, h1 = trained(TINY, cache_dir=tmp_path, progress=False, device="cpu")
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == [TINY.filename()]          # no temp files left behind

    def no_training(*a, **k):
        raise AssertionError("retrained although the model was cached")
    monkeypatch.setattr(cache, "train", no_training)
    m2, h2 = trained(TINY, cache_dir=tmp_path, progress=False, device="cpu")
    assert h1 == h2 and not m2.training
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)
    torch.load(files[0], weights_only=True)                     # loadable without pickle code


def test_key_covers_the_whole_config():
    keys = {TINY.key(), TrainConfig().key(), TrainConfig(seed=1).key(),
            TrainConfig(lam=0.1).key(), TrainConfig(noise_std=0.3).key(),
            TrainConfig(n_train=None).key(), TrainConfig(hidden_dims=()).key(),
            TrainConfig(epochs=11).key(), TrainConfig(penalty="hutchinson").key()}
    assert len(keys) == 9
    assert TrainConfig(lam=0.1).key() == TrainConfig(lam=0.1).key()
    with pytest.raises(Exception):
        TrainConfig().lam = 1.0                                     # frozen


@pytest.mark.parametrize("content", [b"not a torch file", b""])
def test_corrupt_file_is_reported_and_retrained(tmp_path, content):
    path = tmp_path / TINY.filename()
    path.write_bytes(content)
    with pytest.warns(RuntimeWarning, match="ignoring model cache file"):
        m, h = trained(TINY, cache_dir=tmp_path, progress=False, device="cpu")
    assert len(h.recon) == 1
    trained(TINY, cache_dir=tmp_path, progress=False, device="cpu")   # now a good file


def test_foreign_file_is_not_trusted(tmp_path):
    other = TrainConfig(hidden_dims=(8,), latent_dim=4, lam=0.2, epochs=1, n_train=256)
    trained(other, cache_dir=tmp_path, progress=False, device="cpu")
    (tmp_path / other.filename()).rename(tmp_path / TINY.filename())
    with pytest.warns(RuntimeWarning, match="another configuration"):
        trained(TINY, cache_dir=tmp_path, progress=False, device="cpu")


def test_non_finite_weights_are_not_trusted(tmp_path):
    m, h = trained(TINY, cache_dir=tmp_path, progress=False, device="cpu")
    with torch.no_grad():
        m.encoder[0].weight[0, 0] = float("nan")
    cache._save(tmp_path / TINY.filename(), TINY, m, h)
    with pytest.warns(RuntimeWarning, match="non-finite"):
        m2, _ = trained(TINY, cache_dir=tmp_path, progress=False, device="cpu")
    assert all(torch.isfinite(p).all() for p in m2.parameters())


def test_config_type_is_checked():
    with pytest.raises(TypeError, match="TrainConfig"):
        trained({"lam": 0.1})

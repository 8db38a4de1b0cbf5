import os
import warnings
from pathlib import Path

import pytest
import torch

import cae_lib.cache as cache
import cae_lib.evaluation as evaluation
import cae_lib.toy as toy
from cae_lib import ProbeData, Scores, TrainConfig, scored, trained
from cae_lib.toy import ToyConfig, toy_trained

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


def test_filename_names_weight_decay_and_gamma_only_when_set():
    plain = TrainConfig().filename()
    assert "-wd" not in plain and "-h" not in plain
    wd, h = TrainConfig(weight_decay=1e-5).filename(), TrainConfig(gamma=1e-3).filename()
    assert "-wd1e-05-" in wd and "-h0.001-" in h and wd != h != plain


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


# ---- read-only cache (a shared folder filled by `make cache`) --------------------------------

TOY = ToyConfig(n_train=100, epochs=2, decay_epochs=1)


def snapshot(folder: Path) -> dict:
    """Every file and folder under `folder`: name -> (size, mtime), to prove nothing was written."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


@pytest.fixture
def fresh_memory(monkeypatch):
    monkeypatch.setattr(cache, "_IN_MEMORY", {})        # models trained in memory, per test
    monkeypatch.delenv("CAE_CACHE_READONLY", raising=False)


def _no_training(*a, **k):
    raise AssertionError("trained although the read-only cache holds the model")


def test_read_only_cache_is_used_and_never_written(tmp_path, monkeypatch, fresh_memory):
    m1, h1 = trained(TINY, cache_dir=tmp_path, progress=False, device="cpu")
    t1, _ = toy_trained(TOY, cache_dir=tmp_path)
    before = snapshot(tmp_path)
    monkeypatch.setenv("CAE_CACHE_READONLY", "1")
    monkeypatch.setattr(cache, "train", _no_training)
    monkeypatch.setattr(toy, "train", _no_training)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                          # and no warning either
        m2, h2 = trained(TINY, cache_dir=tmp_path, progress=False, device="cpu")
        t2, _ = toy_trained(TOY, cache_dir=tmp_path)
        assert cache.atomic_save({"a": 1}, tmp_path / "new.pt") is False
        assert cache.atomic_save({"a": 1}, tmp_path / "sub" / "new.pt") is False
    assert h1 == h2
    for a, b in zip([*m1.state_dict().values(), *t1.state_dict().values()],
                    [*m2.state_dict().values(), *t2.state_dict().values()]):
        assert torch.equal(a, b)
    assert snapshot(tmp_path) == before


def test_read_only_miss_trains_in_memory_with_one_warning(tmp_path, monkeypatch, fresh_memory):
    monkeypatch.setenv("CAE_CACHE_READONLY", "1")
    shared = tmp_path / "shared"                                # missing: must not be created
    for fn, cfg in [(lambda c: trained(c, cache_dir=shared, progress=False, device="cpu"), TINY),
                    (lambda c: toy_trained(c, cache_dir=shared), TOY)]:
        with pytest.warns(RuntimeWarning) as record:
            m1, _ = fn(cfg)
        assert len(record) == 1, [str(w.message) for w in record]
        msg = str(record[0].message)
        for part in (cfg.filename(), "missing", "read-only", "in memory", "make cache",
                     "CAE_CACHE_READONLY", "CAE_CACHE_DIR"):
            assert part in msg, (part, msg)
        with warnings.catch_warnings(), monkeypatch.context() as patch:
            warnings.simplefilter("error")              # kept for the session: no second
            patch.setattr(cache, "train", _no_training)     # training, no second warning
            patch.setattr(toy, "train", _no_training)
            m2, _ = fn(cfg)
        for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
            assert torch.equal(a, b)
    assert not shared.exists()
    assert list(tmp_path.iterdir()) == []


def test_read_only_unusable_file_is_left_alone(tmp_path, monkeypatch, fresh_memory):
    (tmp_path / TINY.filename()).write_bytes(b"not a torch file")
    (tmp_path / TOY.filename()).write_bytes(b"")
    before = snapshot(tmp_path)
    monkeypatch.setenv("CAE_CACHE_READONLY", "yes")
    with pytest.warns(RuntimeWarning, match="unusable") as record:
        trained(TINY, cache_dir=tmp_path, progress=False, device="cpu")
        toy_trained(TOY, cache_dir=tmp_path)
    assert len(record) == 2                                     # one per model
    assert snapshot(tmp_path) == before


def test_read_only_scores_are_computed_but_not_saved(tmp_path, monkeypatch, fresh_memory):
    trained(TINY, cache_dir=tmp_path, progress=False, device="cpu")
    before = snapshot(tmp_path)
    monkeypatch.setenv("CAE_CACHE_READONLY", "1")
    fake = Scores(0.1, 0.2, 0.3, 1.0, 1.0, 0.9, 0.9, torch.ones(4, dtype=torch.bool))
    monkeypatch.setattr(evaluation, "score", lambda model, data, **kw: fake)   # no probe fit
    data = ProbeData(*[torch.zeros(4, 784), torch.zeros(4, dtype=torch.long)] * 3)
    assert scored(TINY, data, device="cpu", progress=False, cache_dir=tmp_path) == fake
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="permission bits do not stop root from writing")
def test_unwritable_folder_is_read_only_without_the_variable(tmp_path, monkeypatch,
                                                             fresh_memory):
    trained(TINY, cache_dir=tmp_path, progress=False, device="cpu")
    other = TrainConfig(hidden_dims=(8,), latent_dim=4, lam=0.2, epochs=1, n_train=256)
    before = snapshot(tmp_path)
    tmp_path.chmod(0o555)
    try:
        assert cache.readonly_reason(tmp_path) == f"{tmp_path} is not writable"
        with monkeypatch.context() as patch:
            patch.setattr(cache, "train", _no_training)
            trained(TINY, cache_dir=tmp_path, progress=False, device="cpu")   # loads
        with pytest.warns(RuntimeWarning, match="not writable"):
            trained(other, cache_dir=tmp_path, progress=False, device="cpu")  # in memory
        assert snapshot(tmp_path) == before
    finally:
        tmp_path.chmod(0o755)


def test_read_only_flag_is_checked(tmp_path, monkeypatch):
    assert cache.readonly_reason(tmp_path) is None
    monkeypatch.setenv("CAE_CACHE_READONLY", "0")
    assert cache.readonly_reason(tmp_path) is None
    monkeypatch.setenv("CAE_CACHE_READONLY", "maybe")
    with pytest.raises(ValueError, match="CAE_CACHE_READONLY='maybe'.*1"):
        trained(TINY, cache_dir=tmp_path, progress=False, device="cpu")


def test_unwritable_folder_or_parent_is_detected(tmp_path, monkeypatch, fresh_memory):
    """The same as above for root, whom permission bits do not stop: os.access is simulated."""
    real = os.access
    monkeypatch.setattr(cache.os, "access",
                        lambda p, mode: False if Path(p) == tmp_path else real(p, mode))
    assert cache.readonly_reason(tmp_path) == f"{tmp_path} is not writable"
    assert cache.readonly_reason(tmp_path / "a" / "b") == f"{tmp_path} is not writable"
    assert cache.readonly_reason(tmp_path.parent) is None
    with pytest.warns(RuntimeWarning, match="not writable"):
        toy_trained(TOY, cache_dir=tmp_path / "models")
    assert list(tmp_path.iterdir()) == []


def test_required_cache_miss_stops_at_once(tmp_path, monkeypatch):
    """CAE_CACHE_REQUIRED=1 (make test's book and student runs): a model or score file that
    would be computed is a FileNotFoundError naming it and the fix, before any training."""
    monkeypatch.setenv("CAE_CACHE_REQUIRED", "1")
    monkeypatch.setattr(cache, "train", _no_training)
    monkeypatch.setattr(toy, "train", _no_training)
    for fn, cfg in [(lambda c: trained(c, cache_dir=tmp_path, progress=False, device="cpu"),
                     TINY), (lambda c: toy_trained(c, cache_dir=tmp_path), TOY)]:
        with pytest.raises(FileNotFoundError) as err:
            fn(cfg)
        for part in (cfg.filename(), "missing", str(tmp_path.absolute()), "make cache",
                     "CAE_SEED", "absolute", "CAE_CACHE_REQUIRED"):
            assert part in str(err.value), (part, str(err.value))
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv("CAE_CACHE_REQUIRED", "perhaps")
    with pytest.raises(ValueError, match="CAE_CACHE_REQUIRED='perhaps'"):
        trained(TINY, cache_dir=tmp_path, progress=False, device="cpu")


def test_required_cache_hit_loads(tmp_path, monkeypatch):
    trained(TINY, cache_dir=tmp_path, progress=False, device="cpu")
    monkeypatch.setenv("CAE_CACHE_REQUIRED", "1")
    monkeypatch.setattr(cache, "train", _no_training)
    model, _ = trained(TINY, cache_dir=tmp_path, progress=False, device="cpu")
    assert not model.training


def test_relative_cache_dir_is_read_from_the_working_folder(tmp_path, monkeypatch):
    """Why the Makefile passes CAE_CACHE_DIR as an absolute path: a kernel runs in its
    notebook's folder, and a relative path is read from there."""
    monkeypatch.setenv("CAE_CACHE_DIR", "rel/models")
    monkeypatch.chdir(tmp_path)
    assert cache.default_cache_dir().absolute() == tmp_path / "rel" / "models"

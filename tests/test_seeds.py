"""The seed knob CAE_SEED: parsing, clear errors, cache keys, and what it changes."""
import math

import pytest
import torch

import cae_lib as cl
from cae_lib import seeds
from cae_lib.cache import TrainConfig
from cae_lib.toy import ToyConfig


@pytest.mark.parametrize("raw, value", [(None, 0), ("", 0), ("0", 0), ("1", 1), (" 7 ", 7),
                                        ("123", 123)])
def test_book_seed_reads_the_environment(monkeypatch, raw, value):
    if raw is None:
        monkeypatch.delenv("CAE_SEED", raising=False)
    else:
        monkeypatch.setenv("CAE_SEED", raw)
    assert seeds.book_seed() == value


@pytest.mark.parametrize("raw", ["-1", "1.5", "one", "1e3", "+2", "0x1"])
def test_a_bad_seed_is_named_with_the_fix(monkeypatch, raw):
    monkeypatch.setenv("CAE_SEED", raw)
    with pytest.raises(ValueError, match=r"CAE_SEED=.*whole number >= 0.*CAE_SEED=1 make"):
        seeds.book_seed()
    with pytest.raises(ValueError, match="CAE_SEED"):
        TrainConfig()                                # every config made then says so too


def test_configs_take_the_book_seed_when_made(monkeypatch):
    monkeypatch.setenv("CAE_SEED", "4")
    cfg, toy = TrainConfig(lam=0.1), ToyConfig(lam=0.3, seed=2)
    assert (cfg.book_seed, cfg.seed, cfg.torch_seed) == (4, 0, 4000)
    assert (toy.book_seed, toy.seed, toy.torch_seed) == (4, 2, 4002)
    monkeypatch.setenv("CAE_SEED", "0")
    assert TrainConfig(lam=0.1).torch_seed == 0        # realisation 0: the old seeds


def test_two_book_seeds_never_share_a_file(monkeypatch):
    names = set()
    for book in range(3):
        monkeypatch.setenv("CAE_SEED", str(book))
        for rep in cl.replicates():
            for cfg in (TrainConfig(seed=rep), ToyConfig(seed=rep)):
                names.add(cfg.filename())
                assert f"-s{book}.{rep}-" in cfg.filename()
    assert len(names) == 3 * cl.REPLICATES * 2


def test_training_seed_and_replicates():
    assert seeds.training_seed(0, 2) == 2 and seeds.training_seed(3, 1) == 3001
    with pytest.raises(ValueError, match="below 1000"):
        seeds.training_seed(0, 1000)
    for bad in (-1, 1.0, True):
        with pytest.raises(ValueError, match="whole number"):
            seeds.training_seed(bad, 0)
    with pytest.raises(ValueError, match="whole number"):
        TrainConfig(seed=-1)
    with pytest.raises(ValueError, match="whole number"):
        ToyConfig(book_seed=1.5)
    assert list(cl.replicates()) == [0, 1, 2] and cl.REPLICATES >= 3


def test_generator_follows_the_book_seed(monkeypatch):
    draw = lambda: torch.rand(4, generator=seeds.generator(5))     # noqa: E731
    monkeypatch.setenv("CAE_SEED", "0")
    a = draw()
    assert torch.equal(a, draw())                     # reproducible
    monkeypatch.setenv("CAE_SEED", "1")
    assert not torch.equal(a, draw())                 # another realisation


def test_mean_se_is_the_seed_level_standard_error():
    m, se = cl.mean_se([1.0, 2.0, 3.0])
    assert m == 2.0 and math.isclose(se, 1.0 / math.sqrt(3))
    with pytest.raises(ValueError, match="at least 2"):
        cl.mean_se([1.0])
    with pytest.raises(ValueError, match="non-finite"):
        cl.mean_se([1.0, float("nan")])


def test_make_test_builds_the_book_with_seed_one_in_its_own_cache():
    """The promise of the README: `make test` trains realisation CAE_SEED=1 into its own cache
    folder, builds the whole book (every chapter executed) in it, and runs the student pack
    from it read-only (a dry run of make; the sub-makes inherit the variables)."""
    import subprocess
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("CAE_CACHE_DIR", "CAE_SEED", "MAKEFLAGS", "MAKELEVEL")}
    out = subprocess.run(["make", "-n", "test"], cwd=root, env=env, capture_output=True,
                         text=True, check=True).stdout
    # absolute: each kernel runs in its notebook's folder (book/, a temporary folder)
    seed1 = f"CAE_SEED=1 CAE_CACHE_DIR={root / '.cache' / 'models-seed1'}"
    lines = out.replace("\\\n", " ").splitlines()
    made = [ln.split("--no-print-directory")[-1].strip() for ln in lines
            if ln.startswith(seed1) and "--no-print-directory" in ln]
    assert made == ["cache", "book"], out
    book = [ln for ln in lines if ln.startswith(seed1) and ln.endswith("book")]
    assert "CAE_CACHE_REQUIRED=1" in book[0], out         # a miss stops the build at once
    student = [ln for ln in lines if ln.rstrip().endswith("tests/test_student_run.py")]
    assert student and student[0].startswith(seed1) and "CAE_CACHE_READONLY=1" in student[0]
    assert "CAE_CACHE_REQUIRED=1" in student[0]
    assert "execute_chapters.py" in out, out

"""The catalog of every model the book uses, and `make cache` (python -m cae_lib.catalog).

Nothing here trains a real book model: the catalog is checked statically (against the configs
written in the chapters), and `make cache` runs on a tiny catalog."""
import ast
from pathlib import Path

import nbformat
import pytest
import torch

import cae_lib.cache as cache
import cae_lib.catalog as catalog
import cae_lib.toy as toy
from cae_lib import TrainConfig
from cae_lib.catalog import Entry
from cae_lib.finetune import FineTuneConfig
from cae_lib.toy import ToyConfig
from cae_lib.widgets import sweep_configs

BOOK = Path(__file__).resolve().parent.parent / "book"
TINY = (Entry("tiny toy A", ToyConfig(n_train=100, epochs=2, decay_epochs=1)),
        Entry("tiny toy B", ToyConfig(n_train=100, epochs=2, decay_epochs=1, lam=0.1)),
        Entry("tiny MNIST", TrainConfig(hidden_dims=(8,), latent_dim=4, epochs=1, n_train=256)))


def test_names_and_files_are_unique_and_derived_from_the_configs():
    entries = catalog.catalog()
    names = [e.name for e in entries]
    files = [e.filename for e in entries]
    assert len(set(names)) == len(names) == len(set(files)) == len(files)
    models = {e.config for e in entries if not e.scores}
    for e in entries:
        if isinstance(e.config, FineTuneConfig):          # chapter 5b: after its models
            assert e.scores and e.filename == e.config.filename(), e
            assert e.config.encoder in models or not e.config.pretrained, e
            assert e.config.source in models or not e.config.n_tangents, e
            continue
        assert isinstance(e.config, (TrainConfig, ToyConfig)), e
        model_file = e.config.filename()
        if e.scores:                                      # the probe scores next to the model
            assert isinstance(e.config, TrainConfig) and e.name.startswith("scores: ")
            assert e.filename.startswith(model_file[:-3] + "-scores-"), e
            assert e.config in {m.config for m in entries if not m.scores}, e
        else:
            assert e.filename == model_file and e.filename.endswith(".pt")
        prefix = "toy-circle-" if isinstance(e.config, ToyConfig) else e.config.dataset + "-"
        assert e.filename.startswith(prefix), e
    configs = {e.config for e in entries}
    scored = {e.config for e in entries if e.scores}
    assert set(sweep_configs().values()) <= scored            # chapter 6 probes its sweep
    assert TrainConfig() in configs and ToyConfig() in configs
    assert set(sweep_configs().values()) <= configs           # chapter 6's sweep, from the library
    assert catalog.catalog() == entries                       # the same on every call


def _bindings(tree: ast.AST) -> dict:
    """name -> the constant values a notebook gives it: `x = 0.1`, `X = (0.1, 0.2)`,
    `for x in (0.1, 0.2)` or `in X`, comprehensions, and `for a, b in [(1, 2), ...]`."""
    consts = lambda node: [n.value for n in getattr(node, "elts", [])     # noqa: E731
                           if isinstance(n, ast.Constant)]
    seqs, out = {}, {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
            if isinstance(value, ast.Constant):
                out.setdefault(name, set()).add(value.value)
            elif isinstance(value, (ast.Tuple, ast.List)):
                seqs.setdefault(name, []).extend(consts(value))
    for node in ast.walk(tree):
        if not isinstance(node, (ast.For, ast.comprehension)):
            continue
        target, it = node.target, node.iter
        if isinstance(target, ast.Name):
            values = seqs.get(it.id, []) if isinstance(it, ast.Name) else consts(it)
            out.setdefault(target.id, set()).update(values)
        elif isinstance(target, ast.Tuple) and isinstance(it, (ast.Tuple, ast.List)):
            for i, t in enumerate(target.elts):
                if isinstance(t, ast.Name):
                    rows = [row for row in it.elts if isinstance(row, ast.Tuple)]
                    out.setdefault(t.id, set()).update(
                        r.elts[i].value for r in rows if isinstance(r.elts[i], ast.Constant))
    return out


def _chapter_config_values():
    """(class name, field, value, notebook) for every literal (or loop-bound literal) keyword
    argument of a TrainConfig(...) or ToyConfig(...) call in the chapters."""
    for path in sorted(BOOK.glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        code = "\n".join(c.source for c in cells if c.cell_type == "code")
        code = "\n".join(ln for ln in code.splitlines() if not ln.lstrip().startswith(("%", "!")))
        tree = ast.parse(code)
        bound = _bindings(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            cls = getattr(node.func, "attr", getattr(node.func, "id", None))
            if cls not in ("TrainConfig", "ToyConfig"):
                continue
            for kw in node.keywords:
                v = kw.value
                if isinstance(v, ast.Constant):
                    values = {v.value}
                elif isinstance(v, ast.Tuple) and all(isinstance(e, ast.Constant) for e in v.elts):
                    values = {tuple(e.value for e in v.elts)}
                else:
                    values = bound.get(getattr(v, "id", None), set())
                for value in values:
                    yield cls, kw.arg, value, path.name


def test_every_configuration_written_in_a_chapter_is_catalogued():
    found = list(_chapter_config_values())
    assert len(found) > 30                                      # the scan does see the chapters
    entries = catalog.catalog()
    missing = set()
    for cls, field, value, nb in found:
        have = {getattr(e.config, field) for e in entries if type(e.config).__name__ == cls}
        if value not in have:
            missing.add(f"{nb}: {cls}({field}={value!r})")
    assert not missing, ("a chapter trains a model that cae_lib/catalog.py does not list; add "
                         f"it there so that `make cache` trains it: {sorted(missing)}")


def _no_training(*a, **k):
    raise AssertionError("trained a model that was cached")


def test_make_cache_trains_what_is_missing_once(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "models"
    monkeypatch.setenv("CAE_CACHE_DIR", str(folder))
    monkeypatch.delenv("CAE_CACHE_READONLY", raising=False)
    monkeypatch.setattr(catalog, "catalog", lambda: TINY)
    assert catalog.main([]) == 0
    out, err = capsys.readouterr()
    assert sorted(p.name for p in folder.iterdir()) == sorted(e.filename for e in TINY)
    assert out.splitlines()[0].split() == ["model", "seconds", "file"]
    for e in TINY:
        row = next(line for line in out.splitlines() if line.startswith(e.name))
        assert row.split()[-1] == e.filename and float(row.split()[-2]) >= 0    # a number
    assert "3 computed" in out and "total wall time" in out and str(folder.absolute()) in out
    assert "train lam" not in err                               # one bar, none per model
    default = cache._repo_root() / ".cache" / "models"          # CAE_CACHE_DIR was respected
    assert not any((default / e.filename).exists() for e in TINY)

    monkeypatch.setattr(cache, "train", _no_training)           # second run: trains nothing
    monkeypatch.setattr(toy, "train", _no_training)
    assert catalog.main([]) == 0
    out = capsys.readouterr().out
    assert "0 computed, 3 already cached" in out
    assert all(line.split()[-2] == "cached" for line in out.splitlines()[1:4])

    (folder / TINY[1].filename).unlink()                        # a missing one is trained
    monkeypatch.undo()
    monkeypatch.setenv("CAE_CACHE_DIR", str(folder))
    calls = []
    monkeypatch.setattr(catalog, "catalog", lambda: TINY)
    real = catalog.train_entry
    monkeypatch.setattr(catalog, "train_entry", lambda e, d: (calls.append(e.name), real(e, d)))
    catalog.main(["--jobs", "1"])                               # here, where the patch is seen
    assert sorted(calls) == sorted(e.name for e in TINY)       # each is loaded or trained...
    out = capsys.readouterr().out
    assert "1 computed, 2 already cached" in out                # ... and only B retrained
    assert (folder / TINY[1].filename).exists()


def test_list_trains_nothing_and_shows_what_is_cached(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CAE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(catalog, "train_entry", _no_training)
    (tmp_path / catalog.catalog()[0].filename).write_bytes(b"")
    assert catalog.main(["--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    entries = catalog.catalog()
    assert lines[0].split() == ["model", "status", "file"]
    assert [ln.split()[-1] for ln in lines[1:-1]] == [e.filename for e in entries]
    assert lines[1].split()[-2] == "cached" and lines[2].split()[-2] == "missing"
    assert lines[-1] == (f"1 of {len(entries)} files (models and probe scores) cached in "
                         f"{tmp_path.absolute()}; CAE_SEED=0")
    assert [p.name for p in tmp_path.iterdir()] == [entries[0].filename]


def test_make_cache_refuses_a_read_only_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CAE_CACHE_DIR", str(tmp_path / "shared"))
    monkeypatch.setenv("CAE_CACHE_READONLY", "1")
    monkeypatch.setattr(catalog, "train_entry", _no_training)
    assert catalog.main([]) == 1
    err = capsys.readouterr().err
    assert "read-only" in err and "CAE_CACHE_READONLY" in err
    assert not (tmp_path / "shared").exists()
    with pytest.raises(PermissionError, match="read-only"):
        catalog.fill(TINY, tmp_path / "shared", progress=False)


def test_make_cache_on_a_complete_read_only_cache_is_a_no_op(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "shared"
    folder.mkdir()
    for e in TINY:
        (folder / e.filename).write_bytes(b"")                  # present (content not read)
    monkeypatch.setenv("CAE_CACHE_DIR", str(folder))
    monkeypatch.setenv("CAE_CACHE_READONLY", "1")
    monkeypatch.setattr(catalog, "catalog", lambda: TINY)
    monkeypatch.setattr(catalog, "train_entry", _no_training)
    assert catalog.main([]) == 0
    assert "holds all 3 files: nothing to train" in capsys.readouterr().out
    assert sorted(p.name for p in folder.iterdir()) == sorted(e.filename for e in TINY)


def test_the_pool_gives_the_same_files_as_one_entry_after_another(tmp_path):
    """jobs=2 computes every model, probe score and fine-tuning in one pool of single-threaded
    workers, each score and fine-tuning once its models are there; the files are those of
    jobs=1: the toys bit for bit (they always train on one thread), the MNIST models and what
    is computed from them up to float32 rounding (another thread count sums in another
    order)."""
    deep = tuple(Entry(f"tiny deep CAE, seed {r}", TrainConfig(
        hidden_dims=(8,), latent_dim=4, epochs=1, n_train=256, lam=0.1, seed=r))
        for r in range(2))
    ft = FineTuneConfig(deep[0].config, n_labels=50, epochs=1, tangent_weight=0.1,
                        n_tangents=2, tangents_from=deep[1].config)
    after = (Entry("tiny fine-tuning", ft, scores=True),
             Entry("scores: tiny deep CAE", deep[0].config, scores=True))
    entries = after + TINY + deep                # the dependents listed first
    rows, rounds = {}, {}
    for jobs in (1, 2):
        rows[jobs] = catalog.fill(entries if jobs == 2 else TINY + deep + after,
                                  tmp_path / str(jobs), progress=False, jobs=jobs,
                                  rounds=rounds)
        assert all(s is not None and s >= 0 for _, s in rows[jobs])  # all computed
    assert [e for e, _ in rows[2]] == list(entries)                  # catalog order
    assert set(rounds) == {"one after another", "check cached",
                           "models and scores, one worker per core"}
    for e in entries:
        a, b = (torch.load(tmp_path / str(j) / e.filename, weights_only=True)
                for j in (1, 2))
        if "state_dict" in a:
            a, b = a["state_dict"], b["state_dict"]
        assert a.keys() == b.keys()
        for k in a:
            if isinstance(e.config, ToyConfig):
                assert torch.equal(a[k], b[k]), (e.name, k)
            elif isinstance(a[k], torch.Tensor) and a[k].is_floating_point():
                torch.testing.assert_close(a[k], b[k], rtol=1e-3, atol=1e-4)


def test_what_each_entry_waits_for_and_jobs_is_checked(tmp_path):
    """A model waits for nothing; a probe score for its model; a fine-tuning for its pretrained
    encoder (none when it starts untrained) and for the model that gives its tangents."""
    entries = {e.name: e for e in catalog.catalog()}
    cae = entries["CAE lam 0.1"].config
    assert catalog.needs(entries["CAE lam 0.1"]) == ()
    assert catalog.needs(entries["toy lam 0.3"]) == ()
    assert catalog.needs(entries["scores: CAE lam 0.1"]) == (cae,)
    mtc = entries["5b fine-tuned: MTC comparison, MTC"].config
    assert catalog.needs(entries["5b fine-tuned: MTC comparison, MTC"]) == (mtc.encoder,) \
        and mtc.source == cae
    assert catalog.needs(entries["5b fine-tuned: Table 1 MLP 0"]) == ()
    models = {e.config for e in entries.values() if not e.scores}
    assert all(set(catalog.needs(e)) <= models for e in entries.values())
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="jobs must be a positive int"):
            catalog.fill(TINY, tmp_path, progress=False, jobs=bad)
    with pytest.raises(SystemExit):
        catalog.main(["--jobs", "0"])


def test_the_worker_rounds_start_the_most_expensive_entries_first():
    entries = catalog.catalog()
    by = {e.name: catalog.cost(e) for e in entries}
    assert by["paper tied, lam 0"] > by["AE"] > by["toy lam 0"] > 0
    assert by["CAE lam 0.1"] > by["AE"]                     # the penalty's products
    assert by["scores: paper tied, lam 0"] > by["scores: AE"]  # 1,000 units against 64
    assert by["Fashion-MNIST paper tied, lam 0"] < by["paper tied, lam 0"]   # 5,000 images


def test_on_a_gpu_the_toys_train_in_cpu_workers_beside_the_mnist_models(tmp_path):
    """device="cuda" only chooses the schedule here (nothing runs on a GPU): the MNIST model
    trains in this process while the toys train in worker processes; the files are those of
    one model after another, and every round's wall time is reported."""
    rows, rounds = {}, {}
    for jobs, device in ((1, "cpu"), (2, "cuda")):
        rounds[jobs] = {}
        rows[jobs] = catalog.fill(TINY, tmp_path / str(jobs), progress=False, jobs=jobs,
                                  rounds=rounds[jobs], device=device)
        assert all(s is not None for _, s in rows[jobs])
    assert list(rounds[1]) == ["one after another"]
    assert "MNIST on the GPU, toys in CPU workers" in rounds[2]
    assert all(v >= 0 for v in rounds[2].values())
    assert [catalog.on_cpu_only(e) for e in TINY] == [True, True, False]
    for e in TINY:
        a, b = (torch.load(tmp_path / str(j) / e.filename, weights_only=True)["state_dict"]
                for j in (1, 2))
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_make_cache_names_a_bad_seed(monkeypatch, capsys):
    monkeypatch.setenv("CAE_SEED", "-3")
    assert catalog.main(["--list"]) == 2
    assert "CAE_SEED='-3' is not a whole number >= 0" in capsys.readouterr().err

"""The setup cell's cache line (cae_lib/setup_report.py): folder, count, fix."""
from __future__ import annotations

import cae_lib as cl
from cae_lib.catalog import catalog


def test_empty_cache_says_what_a_miss_costs_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("CAE_SEED", "3")
    monkeypatch.delenv("CAE_CACHE_READONLY", raising=False)
    line = cl.cache_report(tmp_path)
    n = len(catalog())
    for part in (str(tmp_path.absolute()), f"0 of {n} files", "CAE_SEED=3", "make cache",
                 "CAE_CACHE_DIR", "trains it and saves it"):
        assert part in line, (part, line)
    assert list(tmp_path.iterdir()) == []                     # it writes nothing


def test_full_cache_says_nothing_will_train(tmp_path, monkeypatch):
    monkeypatch.setenv("CAE_SEED", "0")
    monkeypatch.setenv("CAE_CACHE_READONLY", "1")
    for e in catalog():
        (tmp_path / e.filename).write_bytes(b"")
    line = cl.cache_report(str(tmp_path))
    n = len(catalog())
    assert f"{n} of {n} files" in line and "nothing will train" in line, line
    assert "read-only" in line
    (tmp_path / catalog()[0].filename).unlink()
    line = cl.cache_report(tmp_path)
    assert f"{n - 1} of {n}" in line and "in memory, for this session only" in line, line

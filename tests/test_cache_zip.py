"""make cache-zip and CAE_CACHE_ZIP (cae_lib/cache_zip.py): round trip, and clear errors."""
from __future__ import annotations

import zipfile

import pytest

import cae_lib as cl
from cae_lib import cache_zip
from cae_lib.catalog import catalog


def _fill(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for i, e in enumerate(catalog()):
        (folder / e.filename).write_bytes(f"model {i}".encode())


def test_zip_round_trip_through_the_setup_line(tmp_path, monkeypatch):
    monkeypatch.setenv("CAE_SEED", "0")
    monkeypatch.delenv("CAE_CACHE_READONLY", raising=False)
    teacher, student = tmp_path / "teacher", tmp_path / "student"
    _fill(teacher)
    path, n = cache_zip.write_zip(tmp_path / "c.zip", teacher)
    assert n == len(catalog()) and path.exists()
    keep = student / catalog()[0].filename                # a file the student already has
    student.mkdir()
    keep.write_bytes(b"mine")
    monkeypatch.setenv("CAE_CACHE_ZIP", str(path))
    line = cl.cache_report(student)
    assert f"unpacked {n - 1} files from CAE_CACHE_ZIP" in line and "nothing will train" in line
    assert keep.read_bytes() == b"mine"                   # kept, not overwritten
    assert (student / catalog()[1].filename).read_bytes() == b"model 1"
    assert not [p for p in student.iterdir() if ".tmp" in p.name]
    assert cache_zip.unpack_zip(cache_dir=student) == 0   # a second time: nothing to do


def test_incomplete_cache_is_not_zipped(tmp_path, monkeypatch):
    monkeypatch.setenv("CAE_SEED", "0")
    with pytest.raises(FileNotFoundError, match="make cache"):
        cache_zip.write_zip(tmp_path / "c.zip", tmp_path)
    monkeypatch.setenv("CAE_CACHE_DIR", str(tmp_path))
    assert cache_zip.main([str(tmp_path / "c.zip")]) == 2


def test_bad_zips_and_unsafe_names(tmp_path, monkeypatch):
    monkeypatch.delenv("CAE_CACHE_READONLY", raising=False)
    monkeypatch.setenv("CAE_CACHE_ZIP", str(tmp_path / "none.zip"))
    with pytest.raises(FileNotFoundError, match="not a file"):
        cache_zip.unpack_zip(cache_dir=tmp_path / "c")
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable zip"):
        cache_zip.unpack_zip(bad, tmp_path / "c")
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../outside.pt", b"x")
        z.writestr("sub/inner.pt", b"x")
        z.writestr("ok.pt", b"x")
    assert cache_zip.unpack_zip(evil, tmp_path / "c") == 1
    assert sorted(p.name for p in (tmp_path / "c").iterdir() if p.suffix == ".pt") == ["ok.pt"]
    assert not (tmp_path / "outside.pt").exists()
    monkeypatch.setenv("CAE_CACHE_READONLY", "1")
    with pytest.raises(PermissionError, match="read-only"):
        cache_zip.unpack_zip(evil, tmp_path / "d")

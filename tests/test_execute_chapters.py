"""tests/execute_chapters.py, which `make book` runs: chapters executed two at a time into the
jupyter-cache that the build reads, a failing cell stops everything. Tiny notebooks, real
kernels (a few seconds)."""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_cache import get_cache

sys.path.insert(0, str(Path(__file__).resolve().parent))  # a script, not a package module
import execute_chapters as ex                              # noqa: E402


def _notebook(path: Path, *sources: str, alone: bool = False) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    if alone:
        nb.metadata["cae_book"] = {"run_alone": "it times something"}
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter")]
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


def test_every_chapter_is_executed_and_cached_for_the_build(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    a = _notebook(tmp_path / "a.ipynb", "import os\nprint(os.environ['OMP_NUM_THREADS'])")
    b = _notebook(tmp_path / "b.ipynb", "x = 6 * 7", "x")
    c = _notebook(tmp_path / "c.ipynb", "import os\nprint(os.environ.get('OMP_NUM_THREADS'))",
                  alone=True)
    old = _notebook(tmp_path / "old.ipynb", "'not run this time'")
    cache_dir = tmp_path / "cache"
    get_cache(str(cache_dir)).cache_notebook_bundle(       # a stale entry: must be cleared
        ex.CacheBundleIn(nbformat.read(old, as_version=4), uri=str(old)), check_validity=False)
    assert ex.main([str(a), str(b), str(c), "--jobs", "2", "--cache", str(cache_dir)]) == 0
    out = capsys.readouterr().out
    assert "2 in 2 kernels of one thread each, then 1 alone" in out
    assert "3 chapters executed and cached" in out
    cache = get_cache(str(cache_dir))
    assert len(cache.list_cache_records()) == 3
    with pytest.raises(KeyError):                          # the stale entry is gone
        cache.match_cache_notebook(nbformat.read(old, as_version=4))
    merged = {p.name: cache.merge_match_into_notebook(nbformat.read(p, as_version=4))[1]
              for p in (a, b, c)}                          # what MyST-NB's "cache" mode does
    assert merged["a.ipynb"].cells[1].outputs[0]["text"] == "1\n"       # one thread each
    assert merged["b.ipynb"].cells[2].outputs[0]["data"]["text/plain"] == "42"
    assert merged["c.ipynb"].cells[1].outputs[0]["text"] != "1\n"       # alone: every thread
    assert [ln.split()[-2] for ln in out.splitlines() if ln.startswith("  ")].count("alone") == 1


def test_a_failing_cell_fails_and_caches_nothing(tmp_path, capsys):
    good = _notebook(tmp_path / "good.ipynb", "1 + 1")
    bad = _notebook(tmp_path / "bad.ipynb", "y = 1", "assert y == 2, 'the hidden check'")
    cache_dir = tmp_path / "cache"
    assert ex.main([str(good), str(bad), "--cache", str(cache_dir)]) == 1
    err = capsys.readouterr().err
    assert "bad.ipynb failed" in err and "the hidden check" in err
    assert "1 chapter(s) failed: bad.ipynb; nothing was cached" in err
    cache = get_cache(str(cache_dir))
    assert cache.list_cache_records() == []
    with pytest.raises(KeyError):
        cache.match_cache_notebook(nbformat.read(good, as_version=4))


def test_bad_arguments_are_named(tmp_path, capsys):
    with pytest.raises(SystemExit):
        ex.main(["--jobs", "0"])
    assert "--jobs must be a positive int" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        ex.main([str(tmp_path / "missing.ipynb")])
    assert "no such notebook" in capsys.readouterr().err


def test_the_toc_chapters_are_found_and_chapter_2_runs_alone():
    chapters = ex.chapters_of_toc(ex.ROOT / "_toc.yml")
    assert [p.name for p in chapters][:3] == ["01_contractive_penalty.ipynb",
                                               "01b_contraction_in_2d.ipynb",
                                               "02_computing_it_fast.ipynb"]
    assert len(chapters) == len(list((ex.ROOT / "book").glob("[0-9]*.ipynb")))
    alone = [p.name for p in chapters
             if nbformat.read(p, as_version=4).metadata.get("cae_book", {}).get("run_alone")]
    assert alone == ["02_computing_it_fast.ipynb"]         # the chapter that times things


def test_the_build_reads_the_cache_this_script_fills():
    """_config.yml: MyST-NB's "cache" mode at its default place, the parent of the HTML output
    folder (_build/html) joined with .jupyter_cache, where the script writes by default."""
    import yaml
    execute = yaml.safe_load((ex.ROOT / "_config.yml").read_text())["execute"]
    assert execute["execute_notebooks"] == "cache" and "cache" not in execute
    assert ex.DEFAULT_CACHE == ex.ROOT / "_build" / ".jupyter_cache"


def test_a_kernel_that_dies_at_start_is_started_again_a_cell_error_is_not(tmp_path,
                                                                           monkeypatch):
    """Two kernels started at once can be given the same port; the loser dies before its first
    reply and ran nothing, so it is retried. An error in a cell is reported at once."""
    import jupyter_cache.executors.utils as utils
    real = utils.single_nb_execution
    calls = []

    def flaky(nb, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError(ex.STARTUP_FAILURE)
        return real(nb, **kw)
    monkeypatch.setattr(utils, "single_nb_execution", flaky)
    ok = _notebook(tmp_path / "ok.ipynb", "print(6 * 7)")
    path, nb, _, err = ex.execute(str(ok), timeout=60)
    assert err is None and len(calls) == 2 and nb.cells[1].outputs[0]["text"] == "42\n"

    calls[:] = [1, 1]                              # no more startup failures
    bad = _notebook(tmp_path / "bad.ipynb", "1 / 0")
    path, nb, _, err = ex.execute(str(bad), timeout=60)
    assert nb is None and "ZeroDivisionError" in err and len(calls) == 3   # no retry

    def always(nb, **kw):
        calls.append(1)
        raise RuntimeError(ex.STARTUP_FAILURE)
    monkeypatch.setattr(utils, "single_nb_execution", always)
    calls.clear()
    path, nb, _, err = ex.execute(str(ok), timeout=60)
    assert nb is None and ex.STARTUP_FAILURE in err and len(calls) == ex.STARTS

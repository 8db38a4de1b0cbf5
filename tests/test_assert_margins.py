"""tests/assert_margins.py: the margins it records for the kinds of assertion the book uses."""
import sys
from pathlib import Path

import nbformat
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from assert_margins import instrument  # noqa: E402


def _margins(source: str, tmp_path) -> dict:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import torch"),
        nbformat.v4.new_code_cell(source, metadata={"tags": ["remove-cell"]})])
    out = tmp_path / "m.json"
    nb, keys = instrument(nb, str(out))
    env: dict = {}
    for cell in nb.cells:
        exec(cell.source, env)
    return {keys[k]: v for k, v in env["_MG"].seen.items()}


def test_relative_margins(tmp_path):
    m = _margins("a, b = 3.0, 2.0\n"
                 "assert a > b\n"
                 "assert b <= a\n"
                 "assert 0.5 < b < 4\n"
                 "assert a > b and b > 1.5\n"
                 "assert a < 2 or a > 2.5\n"
                 "assert all(v > 1 for v in (2.0, 4.0))\n"
                 "assert (torch.tensor([1., 2.]) < torch.tensor([2., 8.])).all()\n"
                 "assert isinstance(a, float)\n"
                 "for v in (5.0, 1.25):\n"
                 "    assert v > 1\n", tmp_path)
    assert m["assert a > b"] == pytest.approx(1 / 3)
    assert m["assert b <= a"] == pytest.approx(1 / 3)
    assert m["assert 0.5 < b < 4"] == pytest.approx(0.5)          # min(0.75, 0.5)
    assert m["assert a > b and b > 1.5"] == pytest.approx(0.25)
    assert m["assert a < 2 or a > 2.5"] == pytest.approx(0.5 / 3)   # the larger one
    assert m["assert all(v > 1 for v in (2.0, 4.0))"] == pytest.approx(0.5)
    assert m["assert (torch.tensor([1., 2.]) < torch.tensor([2., 8.])).all()"] == \
        pytest.approx(0.5)
    assert m["assert isinstance(a, float)"] is None                # no margin
    assert m["assert v > 1"] == pytest.approx(0.2)                # smallest of the loop


def test_a_failing_assertion_still_fails(tmp_path):
    with pytest.raises(AssertionError):
        _margins("assert 1.0 > torch.tensor(2.0).item()\n", tmp_path)

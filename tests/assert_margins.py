"""How far each hidden assertion of the book is from failing, in one realisation.

    python tests/assert_margins.py --out _build/margins-seed5.json     # CAE_SEED and
        CAE_CACHE_DIR as for `make book`; the models must be cached (make cache)
    python tests/assert_margins.py --table _build/margins-seed*.json  # one row per assertion

Why: a claim asserted in a `remove-cell` cell holds or fails; a green build does not say by
how much it held. A threshold with little room in one realisation is the next seed's failure,
so this audit runs every chapter once per realisation and records, for every assertion, its
smallest RELATIVE MARGIN over all the times it was evaluated (an assertion in a loop over
runs is evaluated once per run):

    a > b, a >= b:   (a - b) / max(|a|, |b|)          a < b, a <= b:   (b - a) / max(|a|, |b|)

so 0.25 means the two sides differ by a quarter of the larger one, and a negative margin is
a failed assertion. Chained comparisons, `and`, `all(...)` and `(tensor < tensor).all()`
take the smallest margin of their parts, `or` and `any(...)` the largest. Anything else
(`==`, `isinstance`, `torch.allclose`, ...) has no margin and is listed as "-".

Each chapter is executed as `make book` executes it (tests/execute_chapters.py), after its
hidden assertion cells are rewritten: every `assert test, msg` is preceded by a call that
records the margin of `test`, then runs unchanged. Nothing is cached or written besides the
JSON file. The table names each assertion by chapter, cell and line, shows its source as the
last file given has it, and orders the rows by the smallest margin over the files, smallest first.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import sys
from multiprocessing import get_context
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execute_chapters import (ROOT, _patch_nbclient, _single_thread,  # noqa: E402
                              chapters_of_toc, config_timeout)

RECORDER = r'''
import json as _json, math as _math
class _Margins:
    """Records the smallest relative margin of each assertion (tests/assert_margins.py)."""
    def __init__(self):
        self.seen = {}
    @staticmethod
    def _num(v):
        try:
            import torch
            if isinstance(v, torch.Tensor):
                return v.detach().double().cpu().flatten()
        except ImportError:
            pass
        if hasattr(v, "shape") and hasattr(v, "astype"):       # numpy
            import torch
            return torch.as_tensor(v.astype(float)).flatten()
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            import torch
            return torch.tensor([float(v)], dtype=torch.float64)
        return None
    def cmp(self, a, op, b):
        ta, tb = self._num(a), self._num(b)
        if ta is None or tb is None:
            return None
        import torch
        ta, tb = torch.broadcast_tensors(ta, tb)
        scale = torch.maximum(ta.abs(), tb.abs()).clamp_min(1e-300)
        gap = (ta - tb) if op == ">" else (tb - ta)
        return float((gap / scale).min())
    @staticmethod
    def lo(vals):
        vals = [v for v in vals if v is not None]
        return min(vals) if vals else None
    @staticmethod
    def hi(vals):
        vals = [v for v in vals if v is not None]
        return max(vals) if vals else None
    def rec(self, key, fn):
        try:
            m = fn()
        except Exception:
            m = None
        old = self.seen.get(key, "unset")
        if old == "unset" or (m is not None and (old is None or m < old)):
            self.seen[key] = m
    def dump(self, path):
        with open(path, "w") as fh:
            _json.dump({k: v for k, v in self.seen.items()}, fh)
_MG = _Margins()
'''


class _Margin:
    """Turns an assertion's test into an expression for its margin (None: no margin)."""

    def margin(self, node: ast.expr) -> ast.expr:
        if isinstance(node, ast.Compare):
            parts, left = [], node.left
            for op, right in zip(node.ops, node.comparators):
                kind = (">" if isinstance(op, (ast.Gt, ast.GtE)) else
                        "<" if isinstance(op, (ast.Lt, ast.LtE)) else None)
                parts.append(_call("cmp", left, ast.Constant(kind), right) if kind
                             else ast.Constant(None))
                left = right
            return _call("lo", ast.List(parts, ast.Load()))
        if isinstance(node, ast.BoolOp):
            fn = "lo" if isinstance(node.op, ast.And) else "hi"
            return _call(fn, ast.List([self.margin(v) for v in node.values], ast.Load()))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("all", "any") and len(node.args) == 1
                and isinstance(node.args[0], (ast.GeneratorExp, ast.ListComp))):
            gen = node.args[0]
            inner = ast.ListComp(self.margin(gen.elt), gen.generators)
            return _call("lo" if node.func.id == "all" else "hi", inner)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "all" and not node.args
                and isinstance(node.func.value, ast.Compare)):
            return self.margin(node.func.value)       # (a < b).all(): elementwise min
        return ast.Constant(None)


def _call(method: str, *args) -> ast.expr:
    return ast.Call(ast.Attribute(ast.Name("_MG", ast.Load()), method, ast.Load()),
                    list(args), [])


class _Instrument(ast.NodeTransformer):
    def __init__(self, cell: int, lines: list[str]):
        self.cell, self.lines, self.keys = cell, lines, {}

    def visit_Assert(self, node: ast.Assert):
        key = f"cell {self.cell}, line {node.lineno}"
        self.keys[key] = self.lines[node.lineno - 1].strip()
        fn = ast.Lambda(ast.arguments([], [], None, [], [], None, []),
                        _Margin().margin(node.test))
        rec = ast.Expr(_call("rec", ast.Constant(key), fn))
        return [ast.copy_location(rec, node), node]


def instrument(nb, out_json: str) -> tuple[object, dict]:
    """A copy of the notebook whose hidden assertions record their margins; {key: source}."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    keys: dict = {}
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(nb.cells):
        if (cell.cell_type != "code" or "remove-cell" not in cell.metadata.get("tags", [])
                or "assert" not in cell.source):
            continue
        tree = ast.parse(cell.source)
        ins = _Instrument(i, cell.source.splitlines())
        tree = ast.fix_missing_locations(ins.visit(tree))
        cell.source = ast.unparse(tree)
        keys.update(ins.keys)
    first = nb.cells.index(code[0])
    nb.cells.insert(first, nbformat.v4.new_code_cell(RECORDER))
    nb.cells.append(nbformat.v4.new_code_cell(f"_MG.dump({out_json!r})"))
    return nb, keys


def run_chapter(args):
    path, out_dir, timeout = args
    from jupyter_cache.executors.utils import single_nb_execution
    _patch_nbclient()
    out_json = str(Path(out_dir) / (Path(path).stem + ".json"))
    nb, keys = instrument(nbformat.read(path, as_version=4), out_json)
    result = single_nb_execution(nb, cwd=str(Path(path).parent), timeout=timeout,
                                 allow_errors=False, meta_override=True)
    if result.err is not None:
        return path, keys, None, result.exc_string
    return path, keys, json.loads(Path(out_json).read_text()), None


def audit(out: Path, jobs: int) -> int:
    import tempfile
    paths = chapters_of_toc(ROOT / "_toc.yml")
    report, failed = {"CAE_SEED": os.environ.get("CAE_SEED", "0"), "chapters": {}}, []
    with tempfile.TemporaryDirectory() as tmp:
        todo = [(str(p), tmp, config_timeout()) for p in paths]
        with get_context("spawn").Pool(jobs, initializer=_single_thread) as pool:
            for path, keys, seen, err in pool.imap_unordered(run_chapter, todo):
                name = Path(path).stem
                print(f"  {name:<34} {'FAILED' if err else 'ok'}", flush=True)
                if err:
                    failed.append((name, err))
                    continue
                report["chapters"][name] = {k: {"assert": src, "margin": seen.get(k)}
                                            for k, src in keys.items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    for name, err in failed:
        print(f"=== {name} ===\n{err}", file=sys.stderr)
    print(f"wrote {out}")
    return 1 if failed else 0


def table(files: list[Path], show: int) -> None:
    reports = [json.loads(f.read_text()) for f in files]
    seeds = [r["CAE_SEED"] for r in reports]
    rows = {}
    for r in reports:
        for ch, asserts in r["chapters"].items():
            for key, a in asserts.items():
                by_seed = rows.get((ch, key), (None, {}))[1]     # the source as the last
                by_seed[r["CAE_SEED"]] = a["margin"]               # file given has it
                rows[ch, key] = (a["assert"], by_seed)
    def low(row):
        vals = [v for v in row[1].values() if v is not None]
        return min(vals) if vals else float("inf")
    ordered = sorted(rows.items(), key=lambda kv: low(kv[1]))
    print("| chapter | assertion | " + " | ".join(f"seed {s}" for s in seeds) + " |")
    print("|---|---|" + "---:|" * len(seeds))
    for (ch, key), (src, by_seed) in ordered[:show]:
        cells = " | ".join("-" if by_seed.get(s) is None else f"{by_seed[s]:.3f}"
                           for s in seeds)
        print(f"| {ch[:3]} {key} | `{src[:60]}` | {cells} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="run every chapter; write margins here")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--table", type=Path, nargs="+", help="audit files to tabulate")
    parser.add_argument("--show", type=int, default=40, help="rows of the table")
    args = parser.parse_args(argv)
    if bool(args.out) == bool(args.table):
        parser.error("give either --out (run the chapters) or --table (read audits).")
    if args.table:
        table(args.table, args.show)
        return 0
    return audit(args.out, args.jobs)


if __name__ == "__main__":
    sys.exit(main())

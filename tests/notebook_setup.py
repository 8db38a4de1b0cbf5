"""Keep the setup cell of every notebook in book/ in step with _config.yml.

    python tests/notebook_setup.py           # rewrite them (make setup-cells)
    python tests/notebook_setup.py --check   # exit 1 naming those that differ

The repository that Colab installs cae_lib from is written in one place,
repository.url (and repository.branch) of _config.yml. The first code cell of
every notebook is its setup cell. It opens with the install block built here
from that URL; the lines after the block (the chapter's own imports) are kept
as they are. The cell is tagged hide-input with a one-line summary, so the
HTML folds the code away, and every notebook asks Colab for a GPU runtime
(metadata accelerator: GPU). Where pip cannot install cae_lib (offline,
outside a checkout), the cell stops with a message that says what to do, not
a traceback. tests/test_notebooks.py fails if any of this disagrees.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
MAX_LINE = 80                      # house rule for every line of code
HEADER = ("# Setup: use the local cae_lib, or install it "
          "(a fresh Colab runtime).")
TAG = "hide-input"
PROMPT_SHOW = "Setup: imports; installs cae_lib if missing (show code)"
PROMPT_HIDE = "Hide the setup code"


def repository(config: Path = ROOT / "_config.yml") -> tuple[str, str]:
    """(url, branch) from the repository section of _config.yml."""
    repo = (yaml.safe_load(config.read_text()) or {}).get("repository") or {}
    url, branch = repo.get("url"), repo.get("branch", "main")
    if not isinstance(url, str) or not re.fullmatch(r"https://[^\s\"'\\]+",
                                                    url):
        raise ValueError(f"{config}: repository.url must be an https URL "
                         f"without spaces or quotes, got {url!r}")
    if not isinstance(branch, str) or not re.fullmatch(r"[\w./-]+", branch):
        raise ValueError(f"{config}: repository.branch must be a branch "
                         f"name, got {branch!r}")
    return url.rstrip("/"), branch


def pip_spec(url: str, branch: str) -> str:
    """What the setup cell hands to pip: git+URL@BRANCH."""
    return f"git+{url}@{branch}"


def _url_lines(spec: str) -> list[str]:
    """`url = "..."`, split over lines as string pieces when too long."""
    lead = '        url = '
    one = f'{lead}"{spec}"'
    if len(one) <= MAX_LINE:
        return [one]
    room = MAX_LINE - len(lead) - 4             # '("' + '"' and a margin
    pieces = [spec[i:i + room] for i in range(0, len(spec), room)]
    lines = [f'{lead}("{pieces[0]}"']
    lines += [f'{" " * (len(lead) + 1)}"{p}"' for p in pieces[1:]]
    lines[-1] += ")"
    return lines


def install_block(url: str, branch: str) -> str:
    """The lines that open every setup cell."""
    return "\n".join([
        HEADER,
        "import importlib.util, subprocess, sys",
        "from pathlib import Path",
        'if importlib.util.find_spec("cae_lib") is None:',
        "    here = [Path.cwd(), *Path.cwd().parents]",
        '    repo = next((p for p in here if (p / "cae_lib").is_dir()), None)',
        "    if repo is not None:",
        "        sys.path.insert(0, str(repo))",
        "    else:",
        *_url_lines(pip_spec(url, branch)),
        '        pip = subprocess.run([sys.executable, "-m", "pip", "install", '
        '"-q",',
        "                              url], capture_output=True, text=True)",
        "        if pip.returncode != 0:            # offline, or no git: say what",
        "            raise SystemExit(              # to do, without a traceback",
        '                "cae_lib is not installed here and pip could not install "',
        '                f"it:\\n{pip.stderr.strip()[-400:]}\\nFix: open this notebook "',
        '                "inside a clone of the book repository (make lab), or, "',
        '                f"with network access, run: pip install {url}")',
    ])


def bad_alt_text(alt) -> bool:
    """The rule for a computed figure's alt text (tests/test_notebooks.py,
    tests/check_built_book.py, tests/test_browser.py): it must say what the
    figure shows, so not empty, not a file name, at least four words."""
    alt = (alt or "").strip()
    return (len(alt.split()) < 4
            or bool(re.search(r"\.(png|jpe?g|svg|gif)\b", alt, re.I))
            or bool(re.fullmatch(r"[0-9a-f]{16,}\S*", alt)))


def notebooks(book: Path = ROOT / "book") -> list[Path]:
    return sorted(book.glob("*.ipynb"))


def setup_cell(nb, path: Path):
    """The first code cell; it must begin with the setup header."""
    cell = next((c for c in nb.cells if c.cell_type == "code"), None)
    if cell is None or not cell.source.startswith("# Setup:"):
        raise ValueError(f"{path}: the first code cell must be the setup cell "
                         f"and begin with {HEADER!r} (copy it from "
                         f"book/01_contractive_penalty.ipynb)")
    return cell


def _rest(source: str) -> str:
    """The cell's own lines: everything after the install block, which ends
    at the first blank line."""
    head, sep, rest = source.partition("\n\n")
    return rest if sep else ""


def synced(path: Path, url: str, branch: str):
    """The notebook as it should be: (notebook, changed)."""
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    cell = setup_cell(nb, path)
    rest = _rest(cell.source)
    block = install_block(url, branch)
    cell.source = f"{block}\n\n{rest}" if rest else block
    tags = cell.metadata.setdefault("tags", [])
    if TAG not in tags:
        tags.append(TAG)
    cell.metadata.setdefault("mystnb", {}).update(
        code_prompt_show=PROMPT_SHOW, code_prompt_hide=PROMPT_HIDE)
    nb.metadata["accelerator"] = "GPU"           # Colab: ask for a GPU
    nb.metadata.setdefault("colab", {"provenance": []})
    return nb, nbformat.writes(nb) != before


def main(argv: list[str]) -> int:
    check = "--check" in argv
    url, branch = repository()
    stale = []
    for path in notebooks():
        nb, changed = synced(path, url, branch)
        if changed:
            stale.append(path.relative_to(ROOT))
            if not check:
                nbformat.write(nb, path)
    verb = "differ from" if check else "rewritten from"
    if stale:
        print(f"setup cells {verb} _config.yml ({pip_spec(url, branch)}):")
        print("\n".join(f"  {p}" for p in stale))
    else:
        print(f"setup cells match _config.yml ({pip_spec(url, branch)})")
    if check and stale:
        print("run `make setup-cells` to rewrite them")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

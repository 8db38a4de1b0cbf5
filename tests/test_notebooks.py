"""Static checks of every notebook in book/ (no kernel, no network).

Code lines fit the page, outputs are not committed, the setup cell agrees
with _config.yml, and figure alt texts say something.
"""
import re

import nbformat
import pytest

import notebook_setup as ns

NOTEBOOKS = ns.notebooks()
IDS = [p.name for p in NOTEBOOKS]
FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\{[\w-]+\})?\s*(\S*)")
CODE_DIRECTIVES = {None, "{code}", "{code-block}", "{code-cell}"}


def _read(path):
    return nbformat.read(path, as_version=4)


def fenced_code(markdown):
    """Lines inside code fences of a markdown cell. Directive fences
    (```{admonition} ...) hold prose and are only tracked for nesting."""
    stack = []                                     # (marker, is code)
    for line in markdown.splitlines():
        m = FENCE.match(line.strip())
        if m and stack and m.group(1).startswith(stack[-1][0]) \
                and not (m.group(2) or m.group(3)):
            stack.pop()                            # a closing fence
        elif m and not (stack and stack[-1][1]):
            stack.append((m.group(1), m.group(2) in CODE_DIRECTIVES))
        elif stack and stack[-1][1]:
            yield line


def code_lines(nb):
    """(cell index, line) for code cells and fenced code in markdown."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            yield from ((i, line) for line in cell.source.splitlines())
        elif cell.cell_type == "markdown":
            yield from ((i, line) for line in fenced_code(cell.source))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 7


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_code_lines_fit(path):
    long = [f"cell {i}: {len(line)} chars: {line!r}"
            for i, line in code_lines(_read(path)) if len(line) > ns.MAX_LINE]
    assert not long, (f"{path.name}: code lines over {ns.MAX_LINE} "
                      "characters:\n" + "\n".join(long))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_without_outputs(path):
    dirty = [i for i, c in enumerate(_read(path).cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} hold outputs; clear them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_setup_cell_matches_config(path):
    url, branch = ns.repository()
    nb, changed = ns.synced(path, url, branch)
    assert not changed, (f"{path.name}: the setup cell or the Colab metadata "
                         "differs from _config.yml; run `make setup-cells`")
    cell = ns.setup_cell(nb, path)
    assert "hide-input" in cell.metadata["tags"]
    assert nb.metadata["accelerator"] == "GPU"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_alt_texts_describe(path):
    for i, cell in enumerate(_read(path).cells):
        alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt")
        if alt is None:
            continue
        assert not ns.bad_alt_text(alt), (
            f"{path.name}, cell {i}: alt text {alt!r} does not say what the "
            "figure shows")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_figure_cell_has_alt_text(path):
    """A cell that shows a matplotlib figure carries its alt text in the cell metadata, so
    the built-book check (which finds a missing one only after a full build) never has to."""
    for i, cell in enumerate(_read(path).cells):
        if cell.cell_type == "code" and "plt.show()" in cell.source:
            alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt")
            assert alt, (f"{path.name}, cell {i}: a figure without alt text; add "
                         '{"mystnb": {"image": {"alt": "what it shows"}}} to its metadata')


def test_a_new_url_makes_the_check_fail(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://example.org/a/fork\n"
                      "  branch: teaching\n")
    url, branch = ns.repository(config)
    assert ns.pip_spec(url, branch) == "git+https://example.org/a/fork@teaching"
    nb, changed = ns.synced(NOTEBOOKS[0], url, branch)
    assert changed
    assert "git+https://example.org/a/fork@teaching" in nb.cells[
        [c.cell_type for c in nb.cells].index("code")].source


def test_a_long_url_is_split_within_the_line_limit():
    url = "https://example.org/" + "a-rather-long-group-name/" * 4 + "repo"
    block = ns.install_block(url, "main")
    assert max(map(len, block.splitlines())) <= ns.MAX_LINE
    scope = {}
    lines = block.splitlines()
    start = next(i for i, ln in enumerate(lines) if "url = " in ln)
    end = next(i for i, ln in enumerate(lines) if "subprocess.run" in ln)
    exec("\n".join(ln.strip() for ln in lines[start:end]), scope)
    assert scope["url"] == f"git+{url}@main"
    compile(block, "setup", "exec")


def test_offline_outside_a_checkout_the_setup_cell_says_what_to_install(tmp_path,
                                                                       monkeypatch):
    import importlib.util
    import subprocess
    block = ns.install_block("https://example.org/a/book", "main")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "cae_lib" else real(name, *a))
    monkeypatch.setattr(subprocess, "run", lambda args, **kw: subprocess.CompletedProcess(
        args, 1, "", "ERROR: Could not find a version (network is unreachable)"))
    monkeypatch.chdir(tmp_path)                        # no cae_lib folder above
    with pytest.raises(SystemExit) as err:
        exec(compile(block, "setup", "exec"), {})
    msg = str(err.value)
    assert "network is unreachable" in msg and "Fix:" in msg
    assert "pip install git+https://example.org/a/book@main" in msg and "make lab" in msg


@pytest.mark.parametrize("text, message", [
    ("title: x\n", "repository.url"),
    ("repository:\n  url: git@github.com:a/b\n", "https URL"),
    ("repository:\n  url: https://x.org/a b\n", "https URL"),
    ("repository:\n  url: https://x.org/a\n  branch: 'a b'\n", "branch"),
])
def test_bad_repository_config_is_named(tmp_path, text, message):
    config = tmp_path / "_config.yml"
    config.write_text(text)
    with pytest.raises(ValueError, match=message):
        ns.repository(config)


def test_a_notebook_without_setup_cell_is_named(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match="first code cell must be the setup"):
        ns.synced(path, "https://x.org/a", "main")


@pytest.mark.parametrize("alt, bad", [
    ("../_images/5b43e9a0b0948fc3a9cb9337c9b31af881decaf6.png", True),
    ("5b43e9a0b0948fc3a9cb9337c9b31af881decaf6", True),
    ("figure.png", True), ("", True), (None, True), ("loss curves", True),
    ("Box plots of the penalty for each digit class", False),
])
def test_alt_text_rule(alt, bad):
    assert ns.bad_alt_text(alt) == bad


def _numeral(n):
    words = "zero one two three four five six seven eight nine ten".split()
    return words[n] if n < len(words) else str(n)


BOOK = NOTEBOOKS[0].parent


def test_the_training_budgets_the_text_states_are_the_librarys():
    """The deep models' epochs (TrainConfig's default) and the one-layer paper models' epochs
    (cache.PAPER_EPOCHS), where the prose states them: a budget changed for the build's time
    must not leave an old number behind."""
    from cae_lib.cache import DEEP_EPOCHS, PAPER_EPOCHS, TrainConfig
    assert TrainConfig().epochs == DEEP_EPOCHS
    said = {"01_contractive_penalty.ipynb":
            [f"trained for {_numeral(DEEP_EPOCHS)} epochs on"],
            "03_training_and_contraction.ipynb":
            [f"same budget: {DEEP_EPOCHS} epochs of Adam",
             f"over {_numeral(DEEP_EPOCHS)} epochs of training",
             f"{PAPER_EPOCHS} epochs of Adam on\nthe same 20,000 digits (`epochs={PAPER_EPOCHS}`"]}
    for name, phrases in said.items():
        nb = _read(BOOK / name)
        text = "\n".join(c.source + str(c.metadata) for c in nb.cells)
        for phrase in phrases:
            assert phrase in text, f"{name} no longer says {phrase!r}"

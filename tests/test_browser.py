"""The built HTML book in a real browser: headless Chromium, no network.

`make test` runs these after it has built the book (`make browser` runs them
on the book already in _build/html). The HTML is served on 127.0.0.1 and every
other request is aborted and counted as a failure, so a page that needs a CDN
fails. The offline zip that `make book` writes is checked from disk (file://).

For every page of _toc.yml: no script error and no console error; every
equation typeset by MathJax (no raw TeX left, no MathJax error); every image
loaded, with an alt text that says what it shows; no code block wider than
its container in a 1280-pixel window (and no line of code wraps there); the
setup cell folded; the launch, download and repository links right.
Chapter 6: moving a frame slider changes the frame. Chapter 7: a folded
solution opens on click.

Uses Playwright's Python package with Debian's Chromium (never
`playwright install`). Without Chromium or Playwright, or without a built
book, the tests skip with a one-line reason; CI sets CAE_REQUIRE_BROWSER=1,
which turns a skip into a failure.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
import zipfile
from pathlib import Path

import nbformat
import pytest

import notebook_setup as ns

ROOT = Path(__file__).resolve().parent.parent
HTML = Path(os.environ.get("CAE_BOOK_HTML", ROOT / "_build" / "html"))
ZIP = Path(os.environ.get("CAE_BOOK_ZIP",
                        ROOT / "_build" / "cae-book-html.zip"))
PAGES = re.findall(r"(?:root|file): (\S+)", (ROOT / "_toc.yml").read_text())
CHAPTERS = [p for p in PAGES if (ROOT / f"{p}.ipynb").exists()]
WIDTH = 1280
# CAE_BROWSER_SHOTS=<folder>: save screenshots of what was checked there.
SHOTS = os.environ.get("CAE_BROWSER_SHOTS")
SLIDERS = "book/06_explore_lambda_noise"
SOLUTIONS = "book/07_exercises"


def shot(v, name, element=None):
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    path = str(Path(SHOTS) / f"{name.replace('/', '_')}.png")
    if element is None:
        v.page.screenshot(path=path)
    else:
        element.scroll_into_view_if_needed()
        element.screenshot(path=path)


def _skip(reason):
    if os.environ.get("CAE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CAE_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium():
    path = shutil.which("chromium")
    if path is None:
        _skip("no Chromium installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip("Playwright is not installed (pip install -r requirements.txt)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path)
        yield browser
        browser.close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def served():
    if not (HTML / "index.html").is_file():
        _skip(f"no built book in {HTML} (make book)")
    handler = functools.partial(_Quiet, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def unzipped(tmp_path_factory):
    if not ZIP.is_file():
        _skip(f"no offline zip {ZIP} (make book)")
    dest = tmp_path_factory.mktemp("offline")
    with zipfile.ZipFile(ZIP) as z:
        z.extractall(dest)
    index = next(dest.glob("*/index.html"), None)
    assert index is not None, f"{ZIP} holds no top-level folder with index.html"
    return index.parent.as_uri() + "/"


class Visit:
    """One page in a fresh browser context; records what went wrong."""

    def __init__(self, browser, base, page):
        self.base, self.errors, self.blocked = base, [], []
        self.context = browser.new_context(
            viewport={"width": WIDTH, "height": 900}, service_workers="block")
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(f"script: {e}"))
        self.page.on("console", self._console)
        self.page.goto(base + page + ".html", wait_until="load")

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.base) or url.startswith("data:"):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _console(self, msg):
        if msg.type == "error":
            self.errors.append(f"console: {msg.text}")

    def typeset(self):
        """Wait for MathJax; how many math elements the page holds."""
        return self.page.evaluate("""async () => {
            const n = document.querySelectorAll('.math').length;
            if (n === 0) return 0;
            if (!window.MathJax || !MathJax.startup) return -1;
            await MathJax.startup.promise;
            return n;
        }""")

    def close(self):
        self.context.close()


@pytest.fixture
def visit(chromium, served):
    opened = []

    def _open(page, base=None):
        v = Visit(chromium, base or served, page)
        opened.append(v)
        return v
    yield _open
    for v in opened:
        v.close()


LEFTOVER_TEX = """() => {
    // Text outside code, scripts and typeset math that still holds TeX.
    const skip = 'pre, code, script, style, mjx-container, textarea';
    const out = [];
    const walk = document.createTreeWalker(document.body,
                                           NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) {
        const t = walk.currentNode;
        if (t.parentElement.closest(skip)) continue;
        if (/\\\\\\(|\\\\\\)|\\\\\\[|\\\\\\]|\\$\\$|\\\\begin\\{/.test(t.data))
            out.push(t.data.trim().slice(0, 80));
    }
    return out;
}"""


def check_math(v):
    n = v.typeset()
    assert n >= 0, "the page has math but MathJax did not load"
    state = v.page.evaluate("""() => ({
        untypeset: [...document.querySelectorAll('.math')]
            .filter(e => !e.querySelector('mjx-container'))
            .map(e => e.textContent.slice(0, 60)),
        errors: [...document.querySelectorAll('mjx-merror, [data-mjx-error]')]
            .map(e => e.getAttribute('data-mjx-error') || e.textContent),
    })""")
    assert not state["untypeset"], f"TeX not typeset: {state['untypeset']}"
    assert not state["errors"], f"MathJax errors: {state['errors']}"
    raw = v.page.evaluate(LEFTOVER_TEX)
    assert not raw, f"raw TeX in the text: {raw}"
    return n


def check_images(v):
    v.page.evaluate("""() => Promise.all([...document.images].map(i =>
        i.complete ? null
                   : new Promise(r => { i.onload = i.onerror = r; })))""")
    images = v.page.evaluate("""() => [...document.images].map(i => ({
        src: i.currentSrc.slice(0, 80), alt: i.getAttribute('alt'),
        width: i.naturalWidth}))""")
    broken = [i["src"] for i in images if not i["width"]]
    assert not broken, f"images that did not load: {broken}"
    # Computed figures and animation frames must say what they show; the
    # theme's icons (the Colab logo) need an alt text too.
    bad = [(i["src"], i["alt"]) for i in images
           if not (i["alt"] or "").strip() or (
               re.search(r"_images/|^data:image", i["src"])
               and ns.bad_alt_text(i["alt"]))]
    assert not bad, f"images without a descriptive alt text: {bad}"
    return sum(bool(re.search(r"_images/", i["src"])) for i in images)


def check_code_width(v):
    """Open every fold, then measure every code block at WIDTH pixels."""
    return v.page.evaluate("""() => {
        document.querySelectorAll('details').forEach(d => d.open = true);
        const wide = [], wrapped = [];
        const pres = [...document.querySelectorAll('article pre')];
        for (const p of pres) {
            const first = p.textContent.split('\\n')[0].slice(0, 50);
            if (p.scrollWidth > p.clientWidth + 1) wide.push(first);
            if (p.closest('.cell_output')) continue;   // printed text may wrap
            const ws = p.style.whiteSpace;
            p.style.whiteSpace = 'pre';                 // code must fit as is
            if (p.scrollWidth > p.clientWidth + 1) wrapped.push(first);
            p.style.whiteSpace = ws;
        }
        document.querySelectorAll('details').forEach(d => d.open = false);
        return {n: pres.length, wide, wrapped};
    }""")


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_offline(visit, served, page):
    v = visit(page)
    math = check_math(v)
    images = check_images(v)
    code = check_code_width(v)
    assert not code["wide"], f"code blocks wider than the page: {code['wide']}"
    assert not code["wrapped"], (f"code lines wrap at {WIDTH} px: "
                                 f"{code['wrapped']}")
    assert not v.blocked, f"requests that need the network: {v.blocked}"
    assert not v.errors, "\n".join(v.errors)
    if page in CHAPTERS:
        assert images > 0, "a chapter without a computed figure"
        assert math > 0, "a chapter without math"
    shot(v, f"{page}-top")
    figure = v.page.locator("article img[src*='_images/'] >> visible=true")
    figure = figure.first
    if figure.count():
        shot(v, f"{page}-figure", figure)
    if page in CHAPTERS:
        check_setup_cell_and_links(v, served, page)


def check_setup_cell_and_links(v, served, page):
    """The setup cell is folded to its summary and opens on click; the
    Colab, repository and download links point at this chapter."""
    cell = v.page.locator("article div.cell").first
    assert "tag_hide-input" in cell.get_attribute("class")
    summary = cell.locator("summary")
    assert ns.PROMPT_SHOW in summary.inner_text()
    code = cell.locator(".cell_input")
    assert not code.is_visible()
    shot(v, f"{page}-setup-folded", cell)
    summary.click()
    assert code.is_visible() and "# Setup:" in code.inner_text()

    url, branch = ns.repository()
    repo = url.removeprefix("https://github.com/")
    links = v.page.eval_on_selector_all(
        "a[href]", "as => as.map(a => a.getAttribute('href'))")
    colab = [h for h in links if "colab.research.google.com" in h]
    assert colab == [f"https://colab.research.google.com/github/{repo}/blob/"
                     f"{branch}/{page}.ipynb"]
    assert url in links                              # repository button
    source = [h for h in links if h.endswith(".ipynb")
              and "_sources/" in h and not h.startswith("https://")]
    assert len(source) == 1, source                # the download button
    original = nbformat.read(ROOT / f"{page}.ipynb", as_version=4)
    stem = page.rsplit("/", 1)[-1]
    student = [h for h in links if "/student/" in h]
    assert student == [f"../student/{stem}.ipynb"], student  # the pack's
    got = v.page.request.get(served + page + ".html/../" + student[0])
    assert got.ok, student[0]
    pupil = nbformat.reads(got.text(), as_version=4)  # same chapter, no
    tags = {t for c in pupil.cells for t in c.metadata.get("tags", [])}
    assert pupil.cells[0].source.splitlines()[0] == \
        original.cells[0].source.splitlines()[0]
    assert not tags & {"solution", "remove-cell"}, tags  # answers, asserts
    got = v.page.request.get(served + page + ".html/../" + source[0])
    assert got.ok, source[0]
    downloaded = nbformat.reads(got.text(), as_version=4)
    assert [c.source for c in downloaded.cells] == \
        [c.source for c in original.cells]


def check_slider(v):
    sliders = v.page.locator(".animation input[type=range]")
    assert sliders.count() >= 2, "expected the two frame sliders"
    for k in range(sliders.count()):
        anim = v.page.locator(".animation").nth(k)
        frame = anim.locator("img")
        before = frame.get_attribute("src")
        slider = sliders.nth(k)
        start = slider.input_value()
        slider.focus()
        slider.press("End")
        assert slider.input_value() != start, "the slider did not move"
        assert frame.get_attribute("src") != before, "the frame did not change"
        shot(v, f"{SLIDERS}-slider{k}-last-frame", anim)
    return sliders.count()


def check_solution_opens(v):
    folds = v.page.locator("article details.hide")
    assert folds.count() >= 6
    fold = folds.nth(1)
    assert fold.get_attribute("open") is None
    assert not fold.locator(".cell_input").is_visible()
    fold.locator("summary").click()
    assert fold.get_attribute("open") is not None
    assert fold.locator(".cell_input").is_visible()
    shot(v, f"{SOLUTIONS}-solution-opened", fold)
    return folds.count()


def test_frame_slider_changes_the_frame(visit):
    check_slider(visit(SLIDERS))


def test_folded_solution_opens_on_click(visit):
    check_solution_opens(visit(SOLUTIONS))


@pytest.mark.parametrize("page", PAGES)
def test_offline_zip_opens_from_disk(visit, unzipped, page):
    v = visit(page, base=unzipped)
    check_math(v)
    check_images(v)
    if page == SLIDERS:
        check_slider(v)
    if page == SOLUTIONS:
        check_solution_opens(v)
    assert not v.blocked, f"requests that need the network: {v.blocked}"
    assert not v.errors, "\n".join(v.errors)


def test_no_cdn_in_the_html(served):
    """Belt and braces for pages the browser does not open (search, index)."""
    cdn = re.compile(r"""<(?:script|link)[^>]+(?:src|href)=["']https?://""")
    found = [str(p.relative_to(HTML)) for p in HTML.rglob("*.html")
             if cdn.search(p.read_text(errors="replace"))]
    assert not found, f"pages that load scripts or styles from the web: {found}"


def test_mathjax_is_served_from_the_book(served):
    assert (HTML / "_static" / "mathjax" / "tex-chtml.js").is_file()
    text = (HTML / "book" / "01_contractive_penalty.html").read_text()
    assert "_static/mathjax/tex-chtml.js" in text
    # sphinx-thebe's settings once, not twice (book/_ext/book_html.py)
    assert text.count("const THEBE_JS_URL") == 1

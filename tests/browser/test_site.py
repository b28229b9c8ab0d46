"""The built site (``make site`` -> ``build/site/``) in a real browser, offline.

The site is served from a local port; the browser refuses every request to another host (and the
test fails if a page makes one: a CDN script, a web font). Every page:

- loads with no console error and no failed request;
- has every ``<img>`` loaded (natural width > 0), after scrolling through the page so that lazy
  images load too;
- is screenshotted whole into ``test-artifacts/site-<page>.png``.

A notebook page shows as many figures (images in its cells' outputs) as the executed notebook it
was built from has image outputs, read from the notebook the page offers for download (the
``.ipynb`` link, which must answer). The search page finds ``estimate_defocus``; the API page has
every name of ``defocus_lab.__all__``.
"""
import json
import os
import re
import threading
import urllib.parse
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import defocus_lab
from executed_notebooks import figure_count

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("DEFOCUS_LAB_SITE", ROOT / "build" / "site"))
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.browser


def _notebook_pages():
    return sorted(p.stem for p in (SITE / "notebooks").glob("*.html")) if SITE.exists() else []


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site_url():
    if not (SITE / "index.html").exists():
        if os.environ.get("CI"):
            pytest.fail(f"{SITE / 'index.html'} is missing: `make test` builds the site (`make site`) before this test")
        pytest.skip(f"no built site at {SITE}: run `make site` first")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(SITE)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                    "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            yield b
        finally:
            b.close()


class _Visit:
    """A page opened with every other host refused; what went wrong is kept."""

    def __init__(self, browser, base):
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.host = urllib.parse.urlparse(base).netloc
        self.errors, self.refused, self.failed = [], [], []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))
        self.page.route("**/*", self._route)

    def _route(self, route):
        url = urllib.parse.urlparse(route.request.url)
        if url.scheme in ("data", "blob") or url.netloc == self.host:
            route.continue_()
        else:
            self.refused.append(route.request.url)
            route.abort()

    def open(self, url):
        self.page.goto(url, wait_until="load")
        # through the page, so that lazily loaded images load
        height = self.page.evaluate("() => document.body.scrollHeight")
        for y in range(0, height + 900, 900):
            self.page.evaluate(f"() => window.scrollTo(0, {y})")
        self.page.wait_for_function("() => Array.from(document.images).every(i => i.complete)", timeout=60_000)
        self.page.evaluate("() => window.scrollTo(0, 0)")
        return self.page

    def check(self, name):
        broken = self.page.evaluate(
            "() => Array.from(document.images).filter(i => !(i.naturalWidth > 0)).map(i => i.src)")
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"site-{name}.png"), full_page=True)
        assert not self.refused, f"{name}: requests to other hosts (refused): {self.refused[:5]}"
        assert not self.failed, f"{name}: failed requests: {self.failed[:5]}"
        assert not self.errors, f"{name}: console errors: {self.errors[:5]}"
        assert not broken, f"{name}: images that did not load: {broken[:5]}"

    def close(self):
        self.page.close()


@pytest.fixture
def visit(browser, site_url):
    v = _Visit(browser, site_url)
    yield v
    v.close()


def test_landing_page(visit, site_url):
    page = visit.open(f"{site_url}/index.html")
    visit.check("index")
    links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    for stem in _notebook_pages():
        assert any(h.split("#")[0] == f"notebooks/{stem}.html" for h in links), f"the landing page has no link to {stem}"
    thumbs = page.locator("img.dl-thumb").count()
    assert thumbs == len(_notebook_pages()), f"{thumbs} notebook thumbnails for {len(_notebook_pages())} notebooks"


@pytest.mark.parametrize("stem", _notebook_pages() or ["(no site built)"])
def test_notebook_page(visit, site_url, stem):
    page = visit.open(f"{site_url}/notebooks/{stem}.html")
    visit.check(stem[:2])
    # the download: the executed notebook the page was made from
    hrefs = page.eval_on_selector_all("a[href$='.ipynb']", "els => els.map(e => e.href)")
    assert hrefs, f"{stem}: no link to download the .ipynb"
    resp = page.request.get(hrefs[0])
    assert resp.ok, f"{stem}: the .ipynb download answers {resp.status}"
    nb = json.loads(resp.text())
    expected = figure_count(nb)
    shown = page.locator(".cell_output img").count()
    assert expected > 0, f"{stem}: the downloaded notebook has no figure outputs (was it executed?)"
    assert shown == expected, f"{stem}: the page shows {shown} figures, the executed notebook {expected}"
    # no output left as an empty widget view (a static page has no widget manager), nor as a
    # widget's Python repr (a photo picker's "VBox(children=...)", a progress bar stuck at 0 %)
    views = page.locator(".cell_output .jupyter-widgets, .cell_output script[type*='widget-view']").count()
    assert views == 0, f"{stem}: {views} widget views on a static page (they render as nothing)"
    text = page.locator(".cell_output").all_inner_texts()
    reprs = [t[:80] for t in text if "children=(" in t or re.search(r"\b0%\|", t)]
    assert not reprs, f"{stem}: widgets shown by their Python repr: {reprs[:3]}"


def test_search_finds_estimate_defocus(visit, site_url):
    page = visit.open(f"{site_url}/search.html?q=estimate_defocus")
    page.wait_for_selector("#search-results li a", timeout=30_000)
    hits = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.textContent + ' ' + e.href)")
    visit.check("search")
    assert any("estimate_defocus" in h for h in hits), hits[:10]


def test_api_page_lists_every_public_name(visit, site_url):
    page = visit.open(f"{site_url}/api/index.html")
    visit.check("api")
    missing = []
    for name in defocus_lab.__all__:
        anchors = page.locator(f"[id='defocus_lab.{name}'], a[href$='#module-defocus_lab.{name}']").count()
        if not anchors:
            missing.append(name)
    assert not missing, f"names of defocus_lab.__all__ not on the API page: {missing}"


def test_benchmarks_page(visit, site_url):
    page = visit.open(f"{site_url}/benchmarks/index.html")
    visit.check("benchmarks")
    tables = sorted(p.stem for p in (ROOT / "benchmarks" / "results").glob("*.md"))
    links = page.eval_on_selector_all(".toctree-wrapper a", "els => els.map(e => e.getAttribute('href'))")
    assert sorted(h.split("#")[0].removesuffix(".html") for h in links) == tables

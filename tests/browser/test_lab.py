"""A real browser runs a notebook in JupyterLab, moves a slider of its first explorer and sees
the figure change (notebook 01: the CoC curve's first slider; notebook 02: the Fig. 4
composite's foreground blur; notebook 04: Fig. 5's magnification, which re-renders without
re-solving)."""
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.browser
CASES = [("01_zhuo_sim_2011.ipynb", 0), ("02_karaali_2022.ipynb", 0), ("04_kriener_2013.ipynb", 4)]  # (notebook, slider index)


def _figure_src(page, explorer):
    return explorer.locator(".jp-OutputArea-output img").first.get_attribute("src")


@pytest.mark.parametrize("notebook, slider_index", CASES)
def test_notebook_runs_and_slider_updates_figure(page, lab_url, notebook, slider_index):
    # a workspace of its own, reset: the lab would otherwise restore the tabs of the previous test
    page.goto(f"{lab_url}/lab/workspaces/{notebook[:2]}/tree/{notebook}?reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    # wait for the kernel before running
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
        " && w.sessionContext.session.kernel.status === 'idle'; }", timeout=120_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    n_code = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets"
                           ".filter(c => c.model.type === 'code').length")
    # every code cell has an execution count and none is still running
    page.wait_for_function(
        "(n) => { const cells = window.jupyterapp.shell.currentWidget.content.widgets"
        ".filter(c => c.model.type === 'code');"
        " return cells.length === n && cells.every(c => c.model.executionCount !== null)"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'; }",
        arg=n_code, timeout=600_000, polling=1000)
    tracebacks = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    assert tracebacks.count() == 0, tracebacks.first.inner_text()[:2000]
    # the first explorer: one of its sliders and its figure
    explorer = page.locator(".widget-vbox").first
    explorer.scroll_into_view_if_needed()
    slider = explorer.locator(".widget-slider").nth(slider_index)
    readout = slider.locator(".widget-readout")
    before_value = readout.inner_text()
    before_src = _figure_src(page, explorer)
    assert before_src and before_src.startswith("data:image/png")
    handle = slider.locator(".noUi-handle").first
    handle.click()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "([el, src]) => { const img = el.querySelector('.jp-OutputArea-output img');"
        " return img && img.getAttribute('src') !== src; }",
        arg=[explorer.element_handle(), before_src], timeout=60_000)
    assert readout.inner_text() != before_value
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"lab-{notebook[:2]}-after-slider.png"), full_page=False)
    assert _figure_src(page, explorer) != before_src

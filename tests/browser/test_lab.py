"""A real browser runs each notebook in JupyterLab as a user would: run all, then every explorer
in turn has one control moved (its ``dl-probe``: a slider moved one step by the keyboard, or the
scribble tool's *add box*), and the test waits until the explorer's status no longer says
"computing" and its figure has changed (the first figure: a preview where the explorer refines in
the background), then until its status no longer says "refining" (the full answer, drawn in place
of the preview). Both times from the key press are written to
``test-artifacts/latency-<notebook>.json`` (measured, not asserted: a loaded machine must not
fail the test), and a screenshot of every explorer's full answer to ``test-artifacts/``.

Then the notebook is saved: the lab's server configuration (``jupyter_server_config.py``, as
``make lab`` uses it) must write it back exactly as committed, outputs stripped.

Notebook 04 also has a photo uploaded through the picker (a phone-style JPEG stored sideways with
EXIF orientation 6: every explorer must follow, on the upright photo) and a box drawn with the
mouse on the scribble tool's canvas.
"""
import json
import time
from pathlib import Path

import numpy as np
import pytest

from executed_notebooks import current, figure_count

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
NOTEBOOKS = ["00_tour.ipynb", "01_zhuo_sim_2011.ipynb", "02_karaali_2022.ipynb", "03_blind_defocus_deblurring.ipynb", "04_kriener_2013.ipynb",
             "05_galetto_deng_2022.ipynb"]

pytestmark = pytest.mark.browser

_DONE = ("([el, src]) => { const st = el.querySelector('.dl-status');"
         " const img = el.querySelector('.jp-OutputArea-output img');"
         " return st && !st.innerText.includes('computing') && !st.innerText.includes('preparing')"
         " && img && img.getAttribute('src') !== src; }")


def _open_and_run(page, lab_url, notebook):
    # a workspace of its own, reset: the lab would otherwise restore the tabs of the previous test
    page.goto(f"{lab_url}/lab/workspaces/{notebook[:2]}/tree/{notebook}?reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
        " && w.sessionContext.session.kernel.status === 'idle'; }", timeout=120_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    n_code = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets"
                           ".filter(c => c.model.type === 'code').length")
    page.wait_for_function(
        "(n) => { const cells = window.jupyterapp.shell.currentWidget.content.widgets"
        ".filter(c => c.model.type === 'code');"
        " return cells.length === n && cells.every(c => c.model.executionCount !== null)"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'; }",
        arg=n_code, timeout=900_000, polling=1000)
    tracebacks = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    assert tracebacks.count() == 0, tracebacks.first.inner_text()[:2000]


def _figure_src(explorer):
    img = explorer.locator(".jp-OutputArea-output img").first
    return img.get_attribute("src") if img.count() else None


def _wait_idle(page):
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
                           " === 'idle'", timeout=600_000, polling=200)


# the explorer draws its full answer before it takes "refining" out of its status line
_REFINED = ("(el) => { const st = el.querySelector('.dl-status');"
            " return st && !st.innerText.includes('refining'); }")


def _move_probe(page, explorer):
    """Move the explorer's probe control once; returns the seconds until its first new figure
    and until its full answer (the same when the explorer does not preview)."""
    before = _figure_src(explorer)
    assert before and before.startswith("data:image/png"), "the explorer shows no figure"
    probe = explorer.locator(".dl-probe").first
    is_button = "jupyter-button" in (probe.get_attribute("class") or "")
    if is_button:
        t = time.perf_counter()
        probe.click()
    else:
        handle = probe.locator(".noUi-handle").first
        handle.focus()
        at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
        t = time.perf_counter()
        page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
    page.wait_for_function(_DONE, arg=[explorer.element_handle(), before], timeout=300_000, polling=50)
    first = time.perf_counter() - t
    page.wait_for_function(_REFINED, arg=explorer.element_handle(), timeout=300_000, polling=50)
    return first, time.perf_counter() - t


def _phone_photo(path):
    """A portrait photo as a phone stores it: pixels sideways (landscape), EXIF orientation 6."""
    from PIL import Image
    from skimage import data
    upright = data.astronaut()[::2, 64:448:2]  # 256 x 192, taller than wide
    stored = np.rot90(upright, 1)  # what orientation 6 turns clockwise back to upright
    im = Image.fromarray(np.ascontiguousarray(stored))
    exif = im.getexif()
    exif[0x0112] = 6
    im.save(path, "JPEG", exif=exif.tobytes(), quality=92)
    return upright.shape[:2]


def _check_figures_match_the_site(page, notebook):
    """The figures the lab shows after run-all (images in the cells' outputs: the static figures
    and each explorer's figure) are as many as the site's page of the notebook shows, i.e. as
    many as the image outputs of nbval's executed copy (``build/executed/``, written by
    ``make test``; tests/browser/test_site.py checks the page against it). Without a current
    executed copy (a run outside ``make test``) only the count is recorded."""
    shown = page.locator(".jp-Notebook .jp-OutputArea-output img").count()
    (ARTIFACTS / f"figures-{notebook[:2]}.json").write_text(json.dumps({"notebook": notebook, "figures_in_lab": shown}))
    kept = ROOT / "build" / "executed" / notebook
    if not kept.exists():
        return
    nb = json.loads(kept.read_text())
    if not current(nb, json.loads((ROOT / "notebooks" / notebook).read_text())):
        return
    expected = figure_count(nb)
    assert shown == expected, f"{notebook}: the lab shows {shown} figures, the executed notebook (the site) {expected}"


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_runs_and_every_explorer_answers(page, lab_url, lab_dir, notebook, tmp_path):
    _open_and_run(page, lab_url, notebook)
    ARTIFACTS.mkdir(exist_ok=True)
    tag = notebook[:2]
    page.screenshot(path=str(ARTIFACTS / f"lab-{tag}-after-run-all.png"))
    _check_figures_match_the_site(page, notebook)
    explorers = page.locator(".dl-explorer")
    n = explorers.count()
    assert n >= 3, f"{notebook}: only {n} explorers rendered"
    first, full = {}, {}
    for i in range(n):
        ex = explorers.nth(i)
        ex.scroll_into_view_if_needed()
        first[i], full[i] = _move_probe(page, ex)
        ex.screenshot(path=str(ARTIFACTS / f"lab-{tag}-explorer{i}.png"))
        assert "Cannot compute" not in ex.locator(".dl-status").inner_text()

    if notebook.startswith("04"):
        # the mouse: a box dragged on the scribble tool's canvas is added
        scribble = explorers.nth(n - 1)
        status = scribble.locator(".dl-status")
        boxes = int(status.inner_text().split(" box")[0])
        canvas = scribble.locator(".jupyter-widgets.jupyter-matplotlib-canvas-container canvas").last
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        before = _figure_src(scribble)
        page.mouse.move(box["x"] + 0.55 * box["width"], box["y"] + 0.4 * box["height"])
        page.mouse.down()
        page.mouse.move(box["x"] + 0.75 * box["width"], box["y"] + 0.6 * box["height"], steps=8)
        page.mouse.up()
        page.wait_for_function(_DONE, arg=[scribble.element_handle(), before], timeout=120_000, polling=50)
        assert status.inner_text().startswith(f"{boxes + 1} box"), status.inner_text()
        scribble.screenshot(path=str(ARTIFACTS / f"lab-{tag}-scribble-drawn.png"))
        # the picker: an upload of a phone photo; every explorer that follows the picker redoes its work
        photo = tmp_path / "phone.jpg"
        h, w = _phone_photo(photo)
        srcs = [_figure_src(explorers.nth(i)) for i in range(n)]
        picker = page.locator(".dl-picker")
        picker.scroll_into_view_if_needed()
        with page.expect_file_chooser() as chooser:
            picker.locator("button.jupyter-button, .widget-upload").first.click()
        chooser.value.set_files(str(photo))
        page.wait_for_function("(el) => el.innerText.includes('phone.jpg')", arg=picker.element_handle(),
                               timeout=120_000)
        assert f"{w}x{h} px" in picker.inner_text()  # upright: the EXIF orientation was applied
        _wait_idle(page)
        picker.screenshot(path=str(ARTIFACTS / f"lab-{tag}-picker-after-upload.png"))
        assert "Could not follow" not in picker.inner_text(), picker.inner_text()
        followers = [i for i in range(n) if "dl-follows-picker" in (explorers.nth(i).get_attribute("class") or "")]
        assert len(followers) >= 3
        for i in followers:
            page.wait_for_function(_DONE, arg=[explorers.nth(i).element_handle(), srcs[i]], timeout=300_000, polling=100)
            page.wait_for_function(_REFINED, arg=explorers.nth(i).element_handle(), timeout=300_000, polling=100)
            explorers.nth(i).screenshot(path=str(ARTIFACTS / f"lab-{tag}-explorer{i}-after-upload.png"))

    (ARTIFACTS / f"latency-{tag}.json").write_text(json.dumps(
        {"notebook": notebook, "seconds_from_key_press_to_first_figure": first,
         "seconds_from_key_press_to_full_answer": full}, indent=1))

    # saved by the lab: written back as committed (no outputs, no widget state)
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    saved = lab_dir / notebook
    original = (ROOT / "notebooks" / notebook).read_bytes()
    for _ in range(100):  # bounded by attempts
        page.wait_for_timeout(200)
        if not page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.dirty"):
            break
    assert saved.read_bytes() == original, f"{notebook} was saved with outputs or other changes"

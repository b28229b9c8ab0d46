"""The notebook explorers, headless: set a control's value, the result must change."""
import os
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from defocus_lab.synth import defocused_motorcycle  # noqa: E402
from defocus_lab.ui import zhuo_sim as ui  # noqa: E402


@pytest.fixture(scope="module")
def photo():
    return defocused_motorcycle(scale=0.5).image  # 250x370: above the working size


def test_coc_explorer():
    e = ui.CocExplorer()
    before = e.result["curves"][2.0].copy()
    e.controls["f0"].value = 50.0
    assert not np.allclose(before, e.result["curves"][2.0])


def test_edge_profile_explorer_recovers_sigma():
    e = ui.EdgeProfileExplorer()
    e.controls["sigma"].value = 3.0
    assert e.result["sigma_est"] == pytest.approx(3.0, rel=0.02)


def test_bar_explorer_noise_slider():
    e = ui.BarErrorExplorer()
    a = e.result["noise"][0.01]["error"].copy()
    e.controls["noise_var"].value = 0.002
    assert 0.002 in e.result["noise"] and not np.allclose(a, e.result["noise"][0.002]["error"], equal_nan=True)


def test_map_explorer_lambda_changes_map(photo):
    e = ui.DefocusMapExplorer(photo)
    assert "copy" in e.status.value  # says it works on a downsampled copy
    before = e.result["dense"].copy()
    e.controls["lam"].value = 0.5
    assert np.abs(e.result["dense"] - before).max() > 1e-3


def test_impossible_request_is_reported_not_raised(photo):
    e = ui.MarkupExplorer(photo, region=(0.0, 0.2, 0.0, 0.2))
    e.controls["x"].value = (0.0, 1.0)
    kept = e.result
    e.controls["y"].value = (0.0, 1.0)  # the region now covers every edge
    assert "Cannot compute" in e.status.value and e.result is kept


def test_markup_drops_region(photo):
    e = ui.MarkupExplorer(photo, region=(0.0, 0.5, 0.0, 0.5))
    r = e.result
    assert not (r["sparse"].mask & r["region"]).any()
    e.controls["enabled"].value = False
    assert (e.result["sparse"].mask & e.result["region"]).any()


def test_focus_explorer_threshold(photo):
    e = ui.FocusExplorer(photo, side=160)
    a = e.result["focus"].mean()
    e.controls["t_f"].value = 2.5
    assert e.result["focus"].mean() > a


def test_focus_threshold_keeps_its_cut_at_full_resolution(photo):
    """t_f is in the copy's pixels: the full-resolution run applies it in the photo's (blur
    scales with the resolution), so about the same share of the photo is in focus."""
    e = ui.FocusExplorer(photo, side=160)
    full = e.full_resolution()
    assert full["t_f"] == pytest.approx(e.controls["t_f"].value / e.factor)
    assert abs(full["focus"].mean() - e.result["focus"].mean()) < 0.1


def test_bilateral_explorer_filters_the_raw_estimate(photo):
    e = ui.BilateralExplorer(photo)
    raw, filt = e.result["raw"], e.result["filtered"]
    assert np.array_equal(raw.mask, filt.mask) and not np.allclose(raw.values, filt.values)
    before = filt.values.copy()
    e.controls["sigma_r"].value = 0.4
    assert np.array_equal(e.result["raw"].values, raw.values)  # the estimate is not touched
    assert not np.allclose(e.result["filtered"].values, before)


# ----------------------------------------------------------------------------- issue 11: what users see

def test_explorer_figures_are_not_left_in_pyplot(photo):
    import matplotlib.pyplot as plt
    plt.close("all")
    e = ui.DefocusMapExplorer(photo)
    e.controls["lam"].value = 0.05
    ui.CocExplorer()
    # a figure pyplot holds would be shown again by the inline backend under a later cell
    assert plt.get_fignums() == [] and e.figure is not None


def test_status_says_computing_and_controls_are_disabled_while_computing():
    import ipywidgets as W
    from defocus_lab.ui.base import Explorer

    class Probe(Explorer):
        def compute(self, a):
            self.seen = (self.status.value, self.controls["a"].disabled)
            return {"a": a}

        def draw(self, fig, r):
            fig.add_subplot().plot([0, r["a"]])

    e = Probe({"a": W.FloatSlider(value=1.0)})
    assert "computing" in e.seen[0] and e.seen[1] is True
    assert "computed in" in e.status.value and e.controls["a"].disabled is False


def test_colour_range_is_kept_across_changes_until_reset(photo):
    e = ui.DefocusMapExplorer(photo)
    top = e._ranges["map"]
    e.controls["lam"].value = 0.5
    assert e._ranges["map"] == top  # before and after share one scale
    assert e.controls["lam"].value == 0.5
    e.tools["reset"].click()
    assert e.controls["lam"].value == pytest.approx(0.005) and e._ranges["map"] == pytest.approx(top)


def test_blur_is_labelled_in_the_copys_pixels_and_full_resolution_is_one_click(photo):
    e = ui.DefocusMapExplorer(photo)
    assert e.factor < 1
    h, w = e.image.shape[:2]
    assert e.label() == f"sigma (px of the {w}x{h} copy)"  # not comparable with full resolution: said so
    assert e.tools["full"].layout.display is None  # the button is shown
    e.tools["full"].click()
    H, W_ = photo.shape[:2]
    assert e.full_result["dense"].shape == (H, W_)
    assert "full resolution" in e.status.value
    axes_labels = [a.get_ylabel() for a in e.figure.axes]
    assert f"sigma (px, full resolution {W_}x{H})" in axes_labels
    # the explorer's own map is untouched by the full-resolution run
    assert e.result["dense"].shape == (h, w)


def test_full_resolution_is_offered_by_every_explorer_of_a_photo(photo):
    maps = {ui.BilateralExplorer: lambda r: r["filtered"].values, ui.FocusExplorer: lambda r: r["dense"],
            ui.MarkupExplorer: lambda r: r["dense"]}
    for cls, get in maps.items():
        e = cls(photo)
        assert "full" in e.tools and get(e.result).shape == e.image.shape[:2]
        assert get(e.full_resolution()).shape == photo.shape[:2]


def test_full_resolution_of_a_photo_size_explorer_runs_on_the_pipelines_copy(photo):
    """An explorer whose method works on a photo-size copy (Karaali's networks) runs its
    "full resolution" there, labelled in that copy's pixels; a value typed in the working copy's
    pixels is scaled to it."""
    class Halved(ui.BilateralExplorer):
        def full_factor(self):
            return 2

    e = Halved(photo)
    twin, r = e._full_run()
    H, W_ = photo.shape[:2]
    assert twin.image.shape[:2] == (-(-H // 2), -(-W_ // 2)) == r["filtered"].values.shape
    assert twin.factor == 0.5 and twin.from_copy == pytest.approx(0.5 / e.factor)
    assert twin.label() == f"sigma (px of the {-(-W_ // 2)}x{-(-H // 2)} copy)"
    e.tools["full"].click()
    assert "1/2 of the" in e.status.value and "pixels of that copy" in e.status.value


def test_save_writes_the_map_and_the_figure(photo, tmp_path):
    e = ui.DefocusMapExplorer(photo)
    paths = e.save(tmp_path)
    names = sorted(p.name for p in paths)
    assert any(n.endswith(".npy") for n in names) and any(n.endswith("-figure.png") for n in names)
    saved = np.load(next(p for p in paths if p.suffix == ".npy"))
    np.testing.assert_array_equal(saved, e.result["dense"])
    import json
    about = json.loads(next(p for p in paths if p.suffix == ".json").read_text())
    assert about["unit"] == e.label() and about["settings"]["lam"] == pytest.approx(0.005)


def test_controls_that_do_not_apply_are_disabled(photo):
    e = ui.DefocusMapExplorer(photo)
    assert not e.controls["sigma0"].disabled and e.controls["std1"].disabled
    e.controls["variant"].value = "code"
    assert e.controls["sigma0"].disabled and not e.controls["std1"].disabled


def test_a_box_drawn_with_the_mouse_sets_the_markup_region(photo):
    from matplotlib.testing.widgets import click_and_drag
    e = ui.MarkupExplorer(photo, region=(0.0, 0.2, 0.0, 0.2))
    h, w = e.image.shape[:2]
    click_and_drag(e.drawer.selector, start=(0.5 * w - 0.5, 0.25 * h - 0.5), end=(0.75 * w - 0.5, 0.5 * h - 0.5))
    assert e.controls["x"].value == pytest.approx((0.5, 0.75), abs=0.01)
    assert e.controls["y"].value == pytest.approx((0.25, 0.5), abs=0.01)
    assert e.result["box"] == (e.controls["x"].value, e.controls["y"].value)
    assert not (e.result["sparse"].mask & e.result["region"]).any()


def _jpeg_upload(image_u8, orientation=1, name="mine.jpg"):
    import datetime
    import io

    from PIL import Image
    im = Image.fromarray(image_u8)
    exif = im.getexif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif.tobytes(), quality=95)
    return ({"name": name, "type": "image/jpeg", "size": buf.tell(), "content": memoryview(buf.getvalue()),
             "last_modified": datetime.datetime(2026, 1, 1)},)


def test_picker_upload_is_turned_upright_and_explorers_follow(photo):
    from defocus_lab.ui import PhotoPicker
    p = PhotoPicker(["chelsea"])
    e = ui.BilateralExplorer(p)
    stored = (np.random.default_rng(0).random((60, 100, 3)) * 255).astype(np.uint8)  # landscape as stored
    p.upload.value = _jpeg_upload(stored, orientation=6)
    assert p.image.shape[:2] == (100, 60)  # EXIF 6: turned to portrait
    assert e.full is p.image and e.result["raw"].values.shape == e.image.shape[:2]
    p.upload.value = ({**_jpeg_upload(stored)[0], "content": memoryview(b"not an image"), "name": "bad.jpg"},)
    assert "Cannot use bad.jpg" in p.info.value and p.image.shape[:2] == (100, 60)  # kept the last photo


def test_the_box_drawer_leaves_pyplot_on_its_backend():
    """Importing ipympl's backend makes it pyplot's; the box drawer puts pyplot back, so that a
    later plt figure of the notebook stays a static PNG (notebook 01's sweep plot after the
    markup explorer)."""
    import matplotlib.pyplot as plt

    from defocus_lab.ui.base import BoxDrawer
    before = plt.get_backend()
    BoxDrawer(np.zeros((20, 30, 3)), lambda *a: None)
    assert plt.get_backend() == before


# -- previews and refinements (ui.base.Explorer.preview) ------------------------------------------

def _refining_probe(**attrs):
    """An explorer whose preview and compute say which they are; compute waits on ``gate`` (an
    Event the test holds) and then passes a cancellation checkpoint."""
    import threading

    import ipywidgets as W
    from defocus_lab._cancel import Cancelled, checkpoint
    from defocus_lab.ui.base import Explorer

    class Probe(Explorer):
        def __init__(self):
            self.drawn, self.cancelled, self.drawn_in_main = [], [], []
            self.gate = threading.Event()
            self.gate.set()
            super().__init__({"a": W.IntSlider(value=1, max=10)})

        def preview(self, a):
            return {"a": a, "kind": "preview", "preview": "a probe's preview"}

        def compute(self, a):
            self.gate.wait(30)  # bounded: a broken test fails instead of hanging
            try:
                checkpoint()
            except Cancelled:
                self.cancelled.append(a)
                raise
            if a == 7:
                raise ValueError("seven is refused")
            if a == 8:
                raise RuntimeError("eight breaks")
            return {"a": a, "kind": "full"}

        def draw(self, fig, r):
            self.drawn.append((r["a"], r["kind"]))
            self.drawn_in_main.append(threading.current_thread() is threading.main_thread())
            fig.add_subplot().plot([0, r["a"]])

    e = Probe()
    for k, v in attrs.items():
        setattr(e, k, v)
    return e


def test_the_first_figure_is_the_full_answer_and_a_change_previews_then_refines():
    e = _refining_probe()
    assert e.drawn == [(1, "full")]  # made: no preview (a notebook's static figure is the answer)
    e.controls["a"].value = 2  # outside a kernel: refined at once, after the preview
    assert e.drawn[1:] == [(2, "preview"), (2, "full")]
    assert e.result["kind"] == "full" and not e.refining and "computed in" in e.status.value


def test_a_refinement_in_the_background_replaces_the_preview_in_place():
    e = _refining_probe(background=True)
    e.gate.clear()
    e.controls["a"].value = 3
    assert e.result["kind"] == "preview" and e.refining
    assert "refining" in e.status.value and "a probe's preview" in e.status.value
    assert e.controls["a"].disabled is False  # the user may move on: that cancels the refinement
    with pytest.raises(ValueError, match="is a preview"):
        e.save("unused")
    e.gate.set()
    assert e.wait(timeout=30) is True
    assert e.drawn[-1] == (3, "full") and e.result["kind"] == "full" and not e.refining
    assert "computed in" in e.status.value


def test_a_new_change_cancels_the_refinement_in_progress():
    e = _refining_probe(background=True, cancel_wait=0.0)
    e.gate.clear()
    e.controls["a"].value = 4
    first = e._worker
    e.controls["a"].value = 5  # the refinement of 4 is waiting at the gate: cancelled, not awaited
    e.gate.set()
    first.join(30)
    assert e.wait(timeout=30) is True
    assert e.cancelled == [4]  # its checkpoint raised
    assert (4, "full") not in e.drawn and e.drawn[-2:] == [(5, "preview"), (5, "full")]
    assert e.result == {"a": 5, "kind": "full"}


def test_a_refinement_that_fails_says_so_and_keeps_the_kernel_alive():
    e = _refining_probe(background=True)
    e.controls["a"].value = 7
    assert e.wait(timeout=30) is False
    assert "Cannot compute: seven is refused" in e.status.value and e.result["kind"] == "preview"
    with pytest.raises(ValueError, match="is a preview"):  # not refining any more, but not the answer
        e.save("unused")
    e.controls["a"].value = 8
    assert e.wait(timeout=30) is False
    assert "The full answer failed: RuntimeError: eight breaks" in e.status.value
    e.controls["a"].value = 9
    assert e.wait(timeout=30) is True and e.result == {"a": 9, "kind": "full"}


def test_cancellable_blocks_stop_the_conjugate_gradient_at_its_next_iteration():
    import threading

    from defocus_lab._cancel import Cancelled, cancellable
    from defocus_lab.propagate.cg import pcg
    A = np.diag(np.arange(1.0, 51.0))
    seen = []
    stop = threading.Event()

    def callback(it, x, res):
        seen.append(it)
        if it == 3:
            stop.set()

    with cancellable(stop), pytest.raises(Cancelled):
        pcg(lambda v: A @ v, np.ones(50), tol=1e-30, maxiter=40, callback=callback, warn=False)
    assert seen == [1, 2, 3]
    x, info = pcg(lambda v: A @ v, np.ones(50), tol=1e-12, maxiter=100)  # outside: as before
    assert info.converged and np.allclose(A @ x, 1.0)
    with pytest.raises(TypeError, match="threading.Event"):
        with cancellable(True):
            pass


def test_truth_explorer_keeps_what_a_change_does_not_touch():
    from defocus_lab.pipeline import estimate_defocus
    from defocus_lab.ui.tour import TruthExplorer
    e = TruthExplorer()
    e.controls["method"].value = "kriener2013"
    scene = next(iter(e._scenes.values()))
    dense, _ = estimate_defocus(scene.image, method="kriener2013", units="sigma")
    np.testing.assert_allclose(e.result["map"], dense)  # kept sparse estimates change no number
    sparse = e._sparse[(next(iter(e._scenes)), "kriener2013")]
    e.background = True
    e.controls["propagation"].value = "domain_transform"  # the sparse estimate is kept: no preview
    assert not e.refining and e._sparse[(next(iter(e._scenes)), "kriener2013")] is sparse
    e.controls["max_sigma"].value = 4.0  # a new scene: shown at once, its map follows
    assert e.refining and "map" not in e.result and e.result["truth"].max() == pytest.approx(4.0, rel=0.05)
    assert e.wait(timeout=120) and e.result["mae"] >= 0 and "MAE" in e.status.value


def test_in_a_kernel_the_refinement_runs_in_a_thread_and_the_event_loop_draws_it(tmp_path):
    """The lab's own path: inside an IPython kernel a change returns with its preview, and the
    kernel's event loop (not the worker thread) draws the full answer into the Output's state."""
    import nbformat
    from nbclient import NotebookClient
    cells = [
        "%matplotlib inline\nimport sys, threading\nsys.path.insert(0, " + repr(str(Path(__file__).parent)) + ")\n"
        "from test_ui import _refining_probe\ne = _refining_probe()\ne.gate.clear()",
        "e.controls['a'].value = 6\nassert e.refining and e.result['kind'] == 'preview', e.result\n"
        "assert e._worker is not None and e._worker is not threading.main_thread()",
        "e.gate.set()\ne._worker.join(60)",  # the worker hands its answer to the loop, which runs it before the next cell
        "assert not e.refining and e.result == {'a': 6, 'kind': 'full'}, (e.refining, e.result)\n"
        "assert e.drawn[-1] == (6, 'full') and all(e.drawn_in_main)\n"
        "assert 'computed in' in e.status.value\n"
        "out = e.output.outputs\nassert len(out) == 1 and out[0]['data']['image/png']",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors


def test_a_new_laplacian_previews_the_solve_so_far_and_then_the_map_it_would_have_given(photo):
    e = ui.DefocusMapExplorer(photo)
    e.background, e.preview_seconds = True, 0.0  # the preview stops after one iteration
    e.controls["radius"].value = 2
    assert e.refining and e.result["info"].iterations == 1 and not e.result["info"].converged
    assert e.wait(timeout=120) and e.result["info"].converged and "preview" not in e.result
    plain = ui.DefocusMapExplorer(photo)
    plain.preview = lambda **_: None  # no preview at all
    plain.controls["radius"].value = 2
    # however far the preview got: equal to rounding (OpenMP's reductions), where a solve continued from the
    # preview's partial map would differ by the CG tolerance (~1e-4 here)
    np.testing.assert_allclose(e.result["dense"], plain.result["dense"], rtol=1e-6)
    e.preview_seconds = 60.0  # time enough: the "preview" converges and is the answer itself
    e.controls["lam"].value = 0.01
    assert not e.refining and e._worker is None and e.result["info"].converged and "preview" not in e.result


def test_without_a_thread_safe_numba_layer_the_refinement_stays_on_the_main_thread(monkeypatch):
    """numba's workqueue layer aborts the process when two threads launch parallel kernels: with
    it, an explorer draws its preview and then refines at once, on the calling thread."""
    from defocus_lab.ui import base
    monkeypatch.setattr(base, "_threads_are_safe", lambda: False)
    e = _refining_probe(background=True)
    e.controls["a"].value = 2
    assert e._worker is None and not e.refining and e.drawn[-2:] == [(2, "preview"), (2, "full")]


def test_the_package_leaves_numba_a_thread_safe_layer_where_there_is_one():
    import numba
    from defocus_lab.ui.base import _threads_are_safe
    if os.environ.get("NUMBA_THREADING_LAYER", "default") not in ("default", "omp", "tbb", "threadsafe", "safe"):
        pytest.skip("a threading layer was chosen by NUMBA_THREADING_LAYER")
    assert _threads_are_safe() and numba.threading_layer() in ("omp", "tbb")


def test_after_reset_the_colour_range_comes_from_the_full_answer_not_the_preview(photo):
    e = ui.DefocusMapExplorer(photo)
    first = e._ranges["map"]
    e.controls["lam"].value = 0.5
    e.preview_seconds = 0.0  # the preview after reset is one iteration of the solve
    e.tools["reset"].click()
    assert e._ranges["map"] == pytest.approx(first, rel=1e-3)
    assert e._ranges["map"] == pytest.approx(e.colour_max("unused", e.result["dense"]))

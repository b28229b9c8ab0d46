"""Kriener, Binder & Wille (2013): estimator, preset, half-resolution path, experiments, explorers."""
import matplotlib
import numpy as np
import pytest
from scipy import ndimage as ndi

matplotlib.use("Agg")

import naive  # noqa: E402
from defocus_lab.estimate import kriener2013, zhuo2011  # noqa: E402
from defocus_lab.estimate.zhuo_sim import _grad_mag_central, _grad_mag_scharr  # noqa: E402
from defocus_lab.experiments import kriener as ex  # noqa: E402
from defocus_lab.pipeline import estimate_defocus  # noqa: E402
from defocus_lab.propagate import MattingSolver, matting  # noqa: E402
from defocus_lab.propagate.matting import decimate2, downsample_sparse  # noqa: E402
from defocus_lab.synth import bar_image, smooth_surface_scene, step_edge_image  # noqa: E402
from defocus_lab.ui import kriener as ui  # noqa: E402


@pytest.fixture(scope="module")
def scene():
    return smooth_surface_scene(96, roundness=1.0)


def test_scharr_equals_central_difference_across_a_straight_edge():
    img = step_edge_image(48, sigma=1.5)
    np.testing.assert_allclose(_grad_mag_scharr(img)[2:-2, 2:-2], _grad_mag_central(img)[2:-2, 2:-2], atol=1e-12)
    rng = np.random.default_rng(1)
    tex = ndi.gaussian_filter(rng.random((48, 48)), 1.0)
    assert not np.allclose(_grad_mag_scharr(tex), _grad_mag_central(tex))  # they differ elsewhere


@pytest.mark.parametrize("sigma", [0.8, 1.5, 3.0])
def test_kriener_recovers_step_edge_blur(sigma):
    sb = kriener2013(step_edge_image(64, sigma=sigma))
    assert np.median(sb.values[sb.mask]) == pytest.approx(sigma, rel=0.05)


def test_kriener_without_smoothing_is_the_scharr_gradient_ratio(scene):
    a = kriener2013(scene.image, radius=0)
    b = zhuo2011(scene.image, variant="paper", sigma0=3.0, gradient="scharr", bilateral=None)
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_allclose(a.values, b.values)


def test_kriener_smoothing_reduces_noise():
    bars = bar_image(n_edges=9, blur_max=3.0, noise_var=0.002, seed=3)
    raw = kriener2013(bars.image, radius=0)
    smooth = kriener2013(bars.image, radius=2)
    # along each edge column the true blur is constant: the guided smoothing must tighten it
    spread = lambda sb: np.nanmean([np.std(sb.values[:, c][sb.mask[:, c]]) for c in bars.columns[1:]
                                    if sb.mask[:, c].sum() > 5])
    assert spread(smooth) < 0.8 * spread(raw)


def test_gradient_option_is_checked():
    img = step_edge_image(32)
    with pytest.raises(ValueError, match="gradient"):
        zhuo2011(img, gradient="sobel")
    with pytest.raises(ValueError, match="paper"):
        zhuo2011(img, variant="code", gradient="scharr")


def test_kriener_method_uses_its_propagation_preset(scene):
    dense, sb = estimate_defocus(scene.image, method="kriener2013")
    want = matting(scene.image, sb.values, sb.mask, radius=3, eps=1e-3, lam=0.1, downsample=2)
    np.testing.assert_allclose(dense, want)
    full, _ = estimate_defocus(scene.image, method="kriener2013", propagator_options={"downsample": 1})
    assert not np.allclose(full, dense)  # the override reached the propagator


def test_auto_preconditioner_follows_the_window_size(scene):
    assert MattingSolver(scene.image, radius=1).preconditioner == "amg"
    assert MattingSolver(scene.image, radius=3).preconditioner == "amg3x3"
    assert MattingSolver(scene.image, radius=1, preconditioner="amg3x3").preconditioner == "amg"


@pytest.mark.parametrize("shape", [(17, 12), (16, 9), (20, 14, 3), (3, 5), (2, 7), (1, 1)])
def test_decimate2_matches_naive(rng, shape):
    a = rng.random(shape)
    np.testing.assert_allclose(decimate2(a), naive.decimate2(a), atol=1e-12)


def test_decimate2_keeps_constants_and_even_samples_of_smooth_ramps():
    np.testing.assert_allclose(decimate2(np.full((15, 10), 0.3)), 0.3)
    y, x = np.mgrid[0:40, 0:40].astype(float)
    ramp = 0.01 * x + 0.02 * y
    np.testing.assert_allclose(decimate2(ramp)[3:-3, 3:-3], ramp[::2, ::2][3:-3, 3:-3], atol=1e-12)


def test_downsample_sparse_keeps_a_constant_value(rng):
    mask = rng.random((40, 30)) < 0.2
    vals, keep = downsample_sparse(np.where(mask, 2.5, 0.0), mask)
    assert keep.shape == (20, 15) and keep.any()
    np.testing.assert_allclose(vals[keep], 2.5)


def test_smooth_surface_scene_shows_the_failure():
    flat = smooth_surface_scene(128, roundness=0.0)
    round_ = smooth_surface_scene(128, roundness=1.0)
    d_flat, _ = estimate_defocus(flat.image, method="kriener2013")
    d_round, _ = estimate_defocus(round_.image, method="kriener2013")
    assert np.median(d_round[round_.cylinder]) > np.median(d_flat[flat.cylinder]) + 0.5
    assert flat.sigma[flat.cylinder].max() == 0.0
    with pytest.raises(ValueError, match="roundness"):
        smooth_surface_scene(64, roundness=2.0)


def test_convergence_curves(scene):
    sb = kriener2013(scene.image)
    curves = ex.convergence_curves(scene.image, sb.values, sb.mask, **ex.PAPER_SETTING, maxiter=150, n_points=10)
    t, mse = curves["direct"]
    assert np.all(np.diff(t) > 0) and mse[-1] < 1e-2 * mse[0]
    ta, msea = curves["accelerated"]
    assert msea[-1] > 10 * mse[-1]  # stalls at the half-resolution solution
    if ex.have_pymatting():
        assert curves["pymatting (V-cycle)"][1][-1] < 1e-6


def test_propagation_table():
    from skimage import data, transform
    img = np.clip(transform.resize(data.coffee(), (64, 96), anti_aliasing=True), 0, 1)
    sb = kriener2013(img)
    rows = {r["method"]: r for r in ex.propagation_table(img, sb.values, sb.mask, **ex.EXACT_SETTING)}
    assert rows["defocus_lab"]["max_err"] < 1e-3
    assert rows["scipy direct"]["max_err"] < 1e-5
    assert rows["defocus_lab half"]["iterations"] > 0
    if ex.have_pymatting():
        assert rows["pymatting V-cycle"]["max_err"] < 1e-3
    html = ui.propagation_table_html(list(rows.values()), img.shape[:2], "exact")
    assert "34 s" in html and "defocus_lab half" in html


def test_acceleration_explorer(scene):
    e = ui.AccelerationExplorer(scene.image, side=96)
    e.controls["iterations"].value = 50
    d2 = e.result["maps"]["accelerated"].copy()
    assert e.result["info"]["direct"].iterations == 50
    e.controls["downsample"].value = 4
    assert not np.allclose(d2, e.result["maps"]["accelerated"])
    m = e.result["magnified"]["direct"].copy()
    e.controls["factor"].value = 3.0
    assert not np.allclose(m, e.result["magnified"]["direct"])


def test_smooth_surface_explorer():
    e = ui.SmoothSurfaceExplorer(size=96)
    blurred = e.result["cylinder_blur"]
    e.controls["roundness"].value = 0.0
    assert e.result["cylinder_blur"] < blurred


def test_scribble_explorer(scene):
    e = ui.ScribbleExplorer(scene.image, side=96, downsample=2)
    e.add_box((0.6, 0.9), (0.1, 0.4), "sharp")
    reg = e.region((0.6, 0.9), (0.1, 0.4))
    assert np.abs(e.result["dense"][reg]).mean() < 0.15
    e.add_box((0.6, 0.9), (0.1, 0.4), "blurred", 3.0)
    assert e.result["dense"][reg].mean() == pytest.approx(3.0, abs=0.3)
    e.buttons["undo"].click()
    assert len(e.boxes) == 1
    e.tools["reset"].click()
    assert e.boxes == [] and "ms" in e.status.value
    with pytest.raises(ValueError, match="kind"):
        e.add_box((0, 1), (0, 1), "blurry")


def test_scribble_explorer_rejects_an_unknown_setting(scene):
    with pytest.raises(ValueError, match="setting"):
        ui.ScribbleExplorer(scene.image, side=96, setting="fast")


def test_downsample_sparse_of_stacked_maps_equals_one_by_one(rng):
    mask = rng.random((40, 30)) < 0.2
    a, b = rng.random((40, 30)), rng.random((40, 30))
    both, keep = downsample_sparse(np.stack([a, b], axis=-1), mask)
    for k, m in enumerate((a, b)):
        one, keep1 = downsample_sparse(m, mask)
        np.testing.assert_array_equal(keep, keep1)
        np.testing.assert_allclose(both[..., k], one, atol=1e-15)


def test_acceleration_explorer_previews_the_accelerated_half_and_keeps_its_solves(scene):
    e = ui.AccelerationExplorer(scene.image, side=96)
    first = e.result["info"]["direct"]
    e.background = True
    e.controls["iterations"].value = 60
    assert e.refining and set(e.result["maps"]) == {"accelerated"} and "difference" not in e.result
    assert e.wait(timeout=120)
    assert set(e.result["maps"]) == {"direct", "accelerated"} and e.result["info"]["direct"].iterations == 60
    e.controls["factor"].value = 3.0  # both solves kept: no preview, no worker
    assert not e.refining and e._worker is None and set(e.result["maps"]) == {"direct", "accelerated"}
    e.controls["iterations"].value = 200  # back to the first settings: kept too
    assert not e.refining and e.result["info"]["direct"] is first


def test_full_resolution_cancels_the_refinement_of_the_copy(scene):
    e = ui.AccelerationExplorer(scene.image, side=64)
    e.background = True
    e.controls["iterations"].value = 40
    assert e.refining
    e.tools["full"].click()
    assert e.wait(timeout=120) is False  # the copy's answer is dropped: the photo's figure stays
    assert e.full_result is not None and "full resolution" in e.status.value and not e.refining


def test_convergence_explorer_reruns_only_the_curves_a_change_touches(scene):
    e = ui.ConvergenceExplorer(scene.image, side=64)
    assert set(e._refs) == set(ui.SETTINGS)  # both references made with the photo
    direct = e.result["curves"]["direct"]
    e.background = True
    e.controls["downsample"].value = 4  # only the cheap curve: answered at once
    assert not e.refining and e.result["curves"]["direct"] is direct
    e.controls["preconditioner"].value = "none"  # the direct curve too: previewed
    assert e.refining and list(e.result["curves"]) == ["accelerated"]
    assert e.wait(timeout=120)
    assert e.result["curves"]["direct"] is not direct and {"direct", "accelerated"} <= set(e.result["curves"])
    t, mse = e.result["curves"]["direct"]
    assert len(t) == len(mse) > 5 and mse[-1] < mse[0]

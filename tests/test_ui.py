"""The notebook explorers, headless: set a control's value, the result must change."""
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


def test_bilateral_explorer_filters_the_raw_estimate(photo):
    e = ui.BilateralExplorer(photo)
    raw, filt = e.result["raw"], e.result["filtered"]
    assert np.array_equal(raw.mask, filt.mask) and not np.allclose(raw.values, filt.values)
    before = filt.values.copy()
    e.controls["sigma_r"].value = 0.4
    assert np.array_equal(e.result["raw"].values, raw.values)  # the estimate is not touched
    assert not np.allclose(e.result["filtered"].values, before)

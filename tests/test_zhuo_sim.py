import numpy as np
import pytest

from defocus_lab.estimate import canny, zhuo2011
from defocus_lab.estimate.zhuo_sim import ratio_table
from defocus_lab.synth import step_edge_image


def _edge_estimate(sigma, **kw):
    img = step_edge_image(64, sigma=sigma)
    edges = np.zeros((64, 64), bool)
    edges[:, 32] = True
    sb = zhuo2011(img, edges=edges, bilateral=None, max_blur=20, **kw)
    assert sb.mask[:, 32].all()
    return float(np.median(sb.values[sb.mask]))


@pytest.mark.parametrize("variant", ["paper", "code"])
@pytest.mark.parametrize("sigma", [0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0])
def test_sigma_recovered_within_5_percent(variant, sigma):
    assert abs(_edge_estimate(sigma, variant=variant) / sigma - 1) < 0.05


@pytest.mark.parametrize("sigma", [1.0, 2.0, 4.0])
def test_code_formula_is_exact_above_one_pixel(sigma):
    assert abs(_edge_estimate(sigma, variant="code", inversion="formula") / sigma - 1) < 0.01


def test_paper_formula_overestimates_sharp_edges():
    """Eq. 7 with central differences ignores the operator's own smoothing: a known bias."""
    assert _edge_estimate(0.5, variant="paper", inversion="formula") > 0.75
    assert abs(_edge_estimate(4.0, variant="paper", inversion="formula") / 4 - 1) < 0.02


def test_sigma0_changes_nothing_in_the_estimate():
    a = _edge_estimate(2.0, variant="paper", sigma0=1.0)
    b = _edge_estimate(2.0, variant="paper", sigma0=3.0)
    assert abs(a - b) < 0.05


def test_ratio_table_is_monotone():
    R, S = ratio_table("code", 1.0, 1.5)
    assert np.all(np.diff(R) > 0) and np.all(np.diff(S) < 0)
    # a sampled perfect step gives less than the continuous s2 / s1 = 1.5
    assert 1.35 < R[-1] < 1.5 and S[-1] == 0.0


def test_bar_image_errors_grow_with_noise():
    from defocus_lab.experiments.zhuo_sim import bar_errors
    def err(**kw):
        return np.nanmean(bar_errors(spacing=40, max_blur=20, **kw)["error"][1:])
    clean, noisy = err(), err(noise_var=0.01, seed=3)
    assert clean < 0.05
    assert noisy > clean


def test_canny_relative_thresholds():
    img = step_edge_image(48, sigma=1.0)
    e = canny(img, sigma=1.0, high=0.1)
    assert e[:, 22:27].any(axis=1)[5:-5].all()
    assert not e[:, :15].any()


def test_joint_bilateral_smooths_outliers():
    img = step_edge_image(64, sigma=2.0)
    edges = np.zeros((64, 64), bool)
    edges[:, 32] = True
    raw = zhuo2011(img, edges=edges, bilateral=None)
    vals = raw.values.copy()
    vals[10, 32] = 5.0  # an outlier
    from defocus_lab.kernels import sparse_bilateral
    out = sparse_bilateral(vals, raw.mask, img, sigma_s=6.4, sigma_r=0.1)
    assert abs(out[10, 32] - 2.0) < abs(vals[10, 32] - 2.0) / 5

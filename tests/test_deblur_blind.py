"""The blind scheme of the deblurring paper (apps/deblur.py, kernels/admm.py): each step against
its NumPy reference, the k-step's descent, the disk search, the layers and their composition,
and the ground-truth scenes (synth/layers.py)."""
import numpy as np
import pytest
from scipy import ndimage as ndi

import naive
from defocus_lab.apps import deblur as db
from defocus_lab.kernels.admm import data_update, framelet_prior_update, prior_update
from defocus_lab.kernels.framelet import _TAPS, analysis_direct, horizontal_pass
from defocus_lab.kernels.psf import gaussian_kernel, rank_rule
from defocus_lab.render import disk_kernel, pupil_kernel


def test_the_fused_admm_steps_match_numpy(rng):
    H, W = 7, 11
    Ku, g, p = rng.normal(size=(3, H, W))
    m2 = rng.random((H, W))
    p1, e1 = p.copy(), np.empty((H, W))
    data_update(Ku, g, m2, 0.7, p1, e1)
    p2, e2 = naive.admm_data_update(Ku, g, m2, 0.7, p)
    np.testing.assert_allclose(p1, p2, atol=1e-14)
    np.testing.assert_allclose(e1, e2, atol=1e-14)
    u = rng.random((H, W))
    q = rng.normal(scale=0.1, size=(9, H, W))
    for first in (0, 1):
        q1, d1 = q.copy(), np.empty_like(q)
        prior_update(analysis_direct(u), 0.05, first, q1, d1)
        q2, d2 = naive.admm_prior_update(analysis_direct(u), 0.05, first, q)
        np.testing.assert_allclose(q1, q2, atol=1e-14)
        np.testing.assert_allclose(d1, d2, atol=1e-14)
    q3, d3 = q.copy(), np.empty_like(q)  # the fused framelet form: W u made on the fly
    framelet_prior_update(horizontal_pass(u), _TAPS, 0.05, q3, d3)
    q4, d4 = naive.admm_prior_update(naive.framelet_analysis(u), 0.05, 1, q)
    np.testing.assert_allclose(q3, q4, atol=1e-14)
    np.testing.assert_allclose(d3, d4, atol=1e-14)


def test_the_c_step_is_the_weighted_l0_minimiser(rng):
    x = rng.normal(scale=0.1, size=500)
    w = rng.random(500)
    for lam in (0.0, 1e-3, 0.01):
        np.testing.assert_array_equal(db.c_step(x, w, lam), naive.weighted_l0_minimiser(x, lam, w))
    np.testing.assert_allclose(db.c_weights([0.0, 0.01]), [1.0, np.exp(-5.0)])
    assert db.hard_threshold([0.2, -0.3, 0.1], 0.2).tolist() == [0.0, -0.3, 0.0]


def test_the_kernel_gradient_matches_finite_differences(rng):
    u = rng.random((12, 14))
    g = rng.random((12, 14))
    m = (rng.random((12, 14)) > 0.3).astype(float)
    k = rng.random((5, 5))
    grad = db.kernel_gradient(u, g, m, k, lam2=0.3)
    h = 1e-6
    for i, j in [(0, 0), (2, 2), (4, 1), (1, 3)]:
        e = np.zeros_like(k)
        e[i, j] = h
        fd = (naive.kernel_objective(u, g, m, k + e, 0.3) - naive.kernel_objective(u, g, m, k - e, 0.3)) / (2 * h)
        assert grad[i, j] == pytest.approx(fd, rel=1e-6, abs=1e-8)


def test_the_k_step_descends_and_stays_feasible(rng):
    """From a wrong disk, the projected gradient lowers the objective of Eq. 9 (the Cauchy first
    step is a descent step) and every iterate is in Omega."""
    sharp = ndi.gaussian_filter(rng.random((64, 64)), 1.0)
    true = db.embed_kernel(disk_kernel(3.0), 15)
    f = np.real(np.fft.ifft2(db.kernel_transfer(true, sharp.shape) * np.fft.fft2(sharp)))
    k0 = db.embed_kernel(disk_kernel(1.5), 15)
    k, info = db.k_step(sharp, f, None, k0, lam2=0.0, steps=5, info=True)
    assert info["objective"][-1] < 0.5 * info["objective"][0]
    assert k.sum() == pytest.approx(1.0) and k.min() >= 0
    np.testing.assert_allclose(k, k.T, atol=1e-12)
    np.testing.assert_allclose(k, k[::-1], atol=1e-12)
    assert np.abs(k - true).sum() < np.abs(k0 - true).sum()


def test_the_lambda2_rule_and_the_radius_conversion():
    k = db.embed_kernel(disk_kernel(6.0), 31)
    assert db.lambda2_rule(k) == pytest.approx((-50 * np.linalg.norm(k) + 15) * 1e5 / 255 ** 2)
    assert db.lambda2_rule(np.ones((1, 1))) == 0.0  # negative: clipped
    assert db.sigma_to_radius(db.radius_to_sigma(5.0)) == pytest.approx(5.0)
    # a disk's per-axis second moment is r^2 / 4: the moment match is exact up to the anti-aliasing
    d = disk_kernel(8.0)
    x = np.arange(d.shape[0]) - d.shape[0] // 2
    assert np.sqrt(np.sum(d * x[None, :] ** 2)) == pytest.approx(db.radius_to_sigma(8.0), rel=0.02)


def test_the_kernels_of_the_ground_truth():
    g = gaussian_kernel(2.0)
    assert g.shape == (13, 13) and g.sum() == pytest.approx(1.0) and rank_rule(g) == 1
    p = pupil_kernel(11.5, 9.0)
    assert p.shape == (23, 23) and p.sum() == pytest.approx(1.0)
    assert p[11, 11] > p[11, 1] > 0  # brighter at the centre, still a disk's support
    with pytest.raises(ValueError, match="odd"):
        gaussian_kernel(1.0, 4)


@pytest.mark.parametrize("radius", [3.0, 6.0])
def test_the_disk_search_finds_the_radius(radius):
    """Tung & Hwang's search read as the knee of the re-blur error finds the true disk on a
    photo blurred by it (notebook 03 shows the curves)."""
    from skimage import data, color
    rng = np.random.default_rng(0)
    img = color.rgb2gray(data.astronaut())[::2, ::2]
    b = ndi.convolve(img, disk_kernel(radius), mode="reflect") + 0.005 * rng.normal(size=img.shape)
    m = np.zeros(img.shape, bool)
    m[20:236, 20:236] = True
    r, k, errors = db.initial_disk(b, m, radii=np.arange(1.0, 11.0))
    assert r == radius
    assert np.all(np.diff(errors) > 0) or errors.argmin() < 3  # smallest error: a small disk, never the truth
    assert k.shape == (31, 31)


def test_layers_from_a_map_and_the_composition(rng):
    bm = np.zeros((40, 60))
    bm[:, 20:40] = 2.0
    bm[:, 40:] = 4.0
    bm += 0.05 * rng.random(bm.shape)
    labels = db.layers_from_map(bm, n_layers=3)
    assert labels[:, :20].max() == 0 and (labels[:, 20:40] == 1).all() and (labels[:, 40:] == 2).all()
    np.testing.assert_array_equal(db.layers_from_map(bm, thresholds=[3.0]), (bm > 3.0).astype(int))
    img = rng.random((40, 60, 3))
    ones = {1: np.ones_like(img), 2: np.zeros_like(img)}
    out = db.compose(img, labels, ones, feather=0.0)
    np.testing.assert_array_equal(out[:, :20], img[:, :20])  # the in-focus layer kept exactly
    assert (out[:, 20:40] == 1).all() and (out[:, 40:] == 0).all()
    soft = db.compose(img, labels, ones, feather=2.0)
    np.testing.assert_array_equal(soft[:, :20], img[:, :20])
    assert 0.2 < soft[20, 40, 0] < 0.8 and soft[20, 30, 0] == pytest.approx(1.0, abs=1e-3)  # a blend at the 1|2 seam only
    with pytest.raises(ValueError, match="constant"):
        db.layers_from_map(np.ones((10, 10)))
    with pytest.raises(ValueError, match="non-negative integers"):
        db.compose(img, labels - 1, {})


def test_bad_input_gets_clear_errors(rng):
    f = rng.random((40, 40))
    m = np.zeros((40, 40), bool)
    with pytest.raises(ValueError, match="mask is empty"):
        db.deblur_layer(f, m)
    m[10:30, 10:30] = True
    with pytest.raises(ValueError, match="odd"):
        db.deblur_layer(f, m, kernel_size=30)
    with pytest.raises(ValueError, match='k0 must be "search"'):
        db.deblur_layer(f, m, k0="disk")
    with pytest.raises(ValueError, match="needs blur_map"):
        db.deblur_layer(f, m, k0="map")
    with pytest.raises(ValueError, match="NaN"):
        db.deblur_layer(np.full((40, 40), np.nan), m)
    with pytest.raises(ValueError, match="weights in"):
        db.u_step(f, np.ones((3, 3)) / 9, mask=2 * np.ones((40, 40)))


def test_a_layer_with_its_true_kernel_given_gains_like_the_non_blind_bound():
    """deblur_layer from the true disk (k0 given) lands within 0.3 dB of the u-step that knows
    the kernel, and both gain over the blurred layer: the alternation does not lose the kernel."""
    from skimage import data
    from skimage.metrics import peak_signal_noise_ratio as psnr
    rng = np.random.default_rng(1)
    img = data.camera()[::4, ::4] / 255.0
    k = disk_kernel(3.0)
    b = ndi.convolve(img, k, mode="reflect") + 0.005 * rng.normal(size=img.shape)
    m = np.zeros(img.shape, bool)
    m[16:112, 16:112] = True
    res = db.deblur_layer(b, m, k0=k, iterations=8, residual=False)
    padded = np.pad(b, 15, mode="symmetric")
    mp = np.pad(m, 15).astype(float)
    nb = db.u_step(padded, db.embed_kernel(k, 31), mp, iterations=120)[15:-15, 15:-15]
    blurred, blind, bound = (psnr(img[m], np.clip(x, 0, 1)[m], data_range=1) for x in (b, res.u, nb))
    assert bound > blurred + 1.5
    assert blind > bound - 0.3
    assert len(res.history) == 8 and res.k.sum() == pytest.approx(1.0)


def test_the_deblur_explorer_previews_a_few_grey_iterations_then_refines():
    import matplotlib
    matplotlib.use("Agg")
    from defocus_lab.ui.deblur import DeblurExplorer
    e = DeblurExplorer()
    assert e.result["iterations"] == 10 and "preview" not in e.result
    e.background = True
    e.controls["iterations"].value = 6
    r = e.result
    assert e.refining and r["iterations"] == DeblurExplorer.PREVIEW_ITERATIONS
    assert np.array_equal(r["image"][..., 0], r["image"][..., 2])  # grey: the colour comes with the full answer
    assert e.wait(timeout=300) and e.result["iterations"] == 6 and "preview" not in e.result
    assert not np.array_equal(e.result["image"][..., 0], e.result["image"][..., 2])
    e.controls["kernel_size"].value = 21  # a new disk search: the preview draws without a kernel
    assert e.refining and "k" not in e.result and e.figure is not None
    assert e.wait(timeout=300) and e.result["k"].shape == (21, 21)

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import naive
from defocus_lab.propagate import ConvergenceWarning, matting


def _problem(rng, shape=(40, 48)):
    from skimage import data, transform
    img = transform.resize(data.astronaut(), shape, anti_aliasing=True)
    mask = rng.random(shape) < 0.08
    vals = np.where(mask, rng.uniform(0.5, 3.0, shape), 0.0)
    return img, vals, mask


@pytest.mark.parametrize("pc", ["amg", "multigrid", "jacobi"])
def test_cg_equals_direct_solve(rng, pc):
    img, vals, mask = _problem(rng)
    d_direct = matting(img, vals, mask, solver="direct")
    d_cg = matting(img, vals, mask, preconditioner=pc, tol=1e-12, maxiter=20000)
    np.testing.assert_allclose(d_cg, d_direct, atol=1e-6)


def test_larger_windows_with_the_3x3_multigrid_equal_the_direct_solve_in_few_iterations(rng):
    """Kriener's 7x7 windows: the multigrid of the 3x3 Laplacian preconditions the matrix-free
    product; the same solution as SuperLU's, in a fraction of Jacobi's iterations."""
    from defocus_lab import data
    from defocus_lab.estimate import kriener2013
    img = data.load_image("coffee")[100:196, 200:328]
    sb = kriener2013(img)
    vals, mask = sb.values, sb.mask
    kw = dict(radius=3, eps=1e-3, lam=0.1)
    d_direct = matting(img, vals, mask, solver="direct", **kw)
    d, info = matting(img, vals, mask, preconditioner="amg3x3", tol=1e-10, maxiter=5000, return_info=True, **kw)
    _, jac = matting(img, vals, mask, preconditioner="jacobi", tol=1e-10, maxiter=5000, return_info=True, **kw)
    np.testing.assert_allclose(d, d_direct, atol=1e-6)
    assert info.converged and info.iterations < jac.iterations / 3


def test_direct_equals_reference_system(rng):
    img, vals, mask = _problem(rng, (14, 17))
    # eps 1e-4 keeps the system well conditioned, so two factorisations agree to 1e-8
    L = naive.matting_laplacian(img, 1, 1e-4)
    D = sp.diags(0.005 * mask.ravel())
    ref = spla.spsolve((L + D).tocsc(), D @ vals.ravel()).reshape(14, 17)
    np.testing.assert_allclose(matting(img, vals, mask, eps=1e-4, solver="direct"), ref, atol=1e-8)


def test_propagation_respects_image_edges():
    img = np.zeros((30, 30, 3)); img[:, 15:] = 1.0
    vals = np.zeros((30, 30)); mask = np.zeros((30, 30), bool)
    vals[5, 3], mask[5, 3] = 1.0, True
    vals[25, 27], mask[25, 27] = 3.0, True
    d = matting(img, vals, mask)
    assert np.abs(d[:, :14] - 1.0).max() < 0.05 and np.abs(d[:, 16:] - 3.0).max() < 0.05


def test_nonconvergence_warns_with_residual(rng):
    img, vals, mask = _problem(rng)
    with pytest.warns(ConvergenceWarning, match="relative residual"):
        matting(img, vals, mask, preconditioner="jacobi", maxiter=3)


def test_warm_start_converges_at_once(rng):
    img, vals, mask = _problem(rng, (90, 120))  # above the multigrid's direct-solve size
    d, info = matting(img, vals, mask, return_info=True, tol=1e-8)
    d2, info2 = matting(img, vals, mask, x0=d, return_info=True, tol=1e-8)
    assert info2.iterations <= 1 < info.iterations


def test_callback_sees_falling_residuals(rng):
    img, vals, mask = _problem(rng, (90, 120))
    seen = []
    matting(img, vals, mask, callback=lambda it, x, res: seen.append(res) and False)
    assert len(seen) > 2 and seen[-1] < seen[0]


@pytest.mark.parametrize("kw,match", [
    (dict(lam=0), "lam"), (dict(eps=-1), "eps"), (dict(radius=0), "radius"),
    (dict(solver="lu"), "solver"), (dict(preconditioner="x"), "preconditioner")])
def test_bad_options(rng, kw, match):
    img, vals, mask = _problem(rng, (20, 20))
    with pytest.raises(ValueError, match=match):
        matting(img, vals, mask, **kw)


def test_empty_mask_is_an_error(rng):
    img, vals, mask = _problem(rng, (20, 20))
    with pytest.raises(ValueError, match="mask is empty"):
        matting(img, vals, np.zeros_like(mask))


def test_solver_reuse_across_masks_gives_the_fresh_solution(rng):
    """A hierarchy kept from another mask is only a preconditioner: the answer is the fresh one."""
    from defocus_lab.propagate import MattingSolver
    img, vals, mask = _problem(rng, (90, 120))
    mask2 = mask & (rng.random(mask.shape) < 0.6)
    ms = MattingSolver(img)
    ms.solve(vals, mask, tol=1e-10)
    reused, info = ms.solve(vals, mask2, tol=1e-10, maxiter=500)
    fresh = matting(img, vals, mask2, tol=1e-10, maxiter=500)
    assert info.converged
    np.testing.assert_allclose(reused, fresh, atol=1e-6)


def test_half_resolution_solve_is_close_to_full():
    """Kriener et al.'s acceleration: same map up to edge detail, on a scene with known blur."""
    from defocus_lab import metrics
    from defocus_lab.estimate import zhuo2011
    from defocus_lab.synth import defocused_motorcycle
    sc = defocused_motorcycle(scale=0.5)
    sb = zhuo2011(sc.image)
    full = matting(sc.image, sb.values, sb.mask)
    half = matting(sc.image, sb.values, sb.mask, downsample=2)
    assert half.shape == full.shape
    assert np.abs(half - full).mean() < 0.08
    assert metrics.mae(half, sc.sigma) < metrics.mae(full, sc.sigma) + 0.05


def test_guided_upsample_reproduces_colour_affine_maps(rng):
    from defocus_lab.propagate.matting import guided_upsample, half_size
    img = np.zeros((40, 50, 3)); img[:, 26:] = (0.9, 0.2, 0.4); img[:, :26] = (0.1, 0.7, 0.3)
    truth = 1.0 + 3.0 * img[..., 0]
    up = guided_upsample(truth[::2, ::2], img, radius=3, eps=1e-8)
    # exact everywhere but the unsampled column beside the colour edge, where windows that saw
    # only the other colour take part in the mean of Eq. 8 (a one-pixel seam, inherent to it)
    seam = np.zeros(50, bool); seam[25] = True
    np.testing.assert_allclose(up[:, ~seam], truth[:, ~seam], atol=1e-3)
    assert np.abs(up[:, seam] - truth[:, seam]).max() < 0.5 * 2.4
    assert half_size(img).shape == (20, 25, 3)


@pytest.mark.parametrize("ds", [0, 3, 6])
def test_downsample_must_be_a_power_of_two(rng, ds):
    img, vals, mask = _problem(rng, (20, 20))
    with pytest.raises(ValueError, match="downsample"):
        matting(img, vals, mask, downsample=ds)


def test_weights_make_constraints_firmer(rng):
    img = rng.random((30, 30, 3))
    vals = np.zeros((30, 30)); mask = np.zeros((30, 30), bool)
    mask[::4, ::4] = True
    vals[mask] = rng.random(mask.sum()) * 3
    w = np.ones((30, 30)); w[:10, :10] = 1000.0
    soft = matting(img, vals, mask, lam=0.01, solver="direct")
    firm = matting(img, vals, mask, lam=0.01, solver="direct", weights=w)
    sel = mask & (w > 1)
    assert np.abs(firm[sel] - vals[sel]).max() < 0.5 * np.abs(soft[sel] - vals[sel]).max()
    np.testing.assert_allclose(matting(img, vals, mask, lam=0.01, solver="direct", weights=np.ones((30, 30))), soft)
    with pytest.raises(ValueError, match="non-negative"):
        matting(img, vals, mask, weights=-w)
    half = matting(img, vals, mask, lam=0.01, weights=w, downsample=2)
    assert half.shape == (30, 30)


@pytest.mark.parametrize("shape, want", [((500, 500), 1), ((536, 800), 2), ((3000, 4000), 8)])
def test_auto_downsample(shape, want, monkeypatch):
    import importlib
    mod = importlib.import_module("defocus_lab.propagate.matting")
    monkeypatch.setattr(mod, "half_size", lambda im: im[::2, ::2])  # cheap: only the level count matters
    monkeypatch.setattr(mod, "MattingWindows", lambda *a, **k: None)
    s = mod.MattingSolver(np.zeros(shape), downsample="auto")
    assert s.downsample == want


@pytest.mark.parametrize("method, shape, want", [
    ("zhuo2011", (360, 360), 1), ("zhuo2011", (608, 640), 1), ("zhuo2011", (600, 900), 2),
    ("zhuo2011", (1224, 1632), 4), ("zhuo2011", (3000, 4000), 8), ("zhuo2011", (4000, 6000), 16),
    ("kriener2013", (600, 800), 2), ("kriener2013", (1000, 1000), 2), ("kriener2013", (1224, 1632), 4),
    ("kriener2013", (3000, 4000), 8), ("kriener2013", (4000, 6000), 16)])
def test_presets_solve_at_the_papers_resolution_then_at_a_fraction_at_photo_size(method, shape, want):
    """Zhuo & Sim at full resolution up to 0.52 MP (every RTF and CUHK image: 640x608 is the
    largest), Kriener at half resolution up to 1 MP; above, the solve holds at most 0.26 MP."""
    from defocus_lab.conventions import PHOTO_ABOVE_PIXELS, PHOTO_WORKING_PIXELS
    from defocus_lab.pipeline import METHODS
    from defocus_lab.propagate.matting import check_fits, matting as prop
    options = METHODS[method].options
    d = prop.resolution(shape, **options)
    assert d == want
    n = shape[0] * shape[1]
    if n > PHOTO_ABOVE_PIXELS:
        assert -(-shape[0] // d) * -(-shape[1] // d) <= PHOTO_WORKING_PIXELS
    check_fits(shape, **options)  # a 24 MP photo passes the preflight with the preset


def test_solve_downsample_checks_its_arguments():
    from defocus_lab.propagate.matting import solve_downsample
    assert solve_downsample((100, 100), "auto") == 1
    assert solve_downsample((100, 100), 2, 100) == 16
    with pytest.raises(ValueError, match="power of two"):
        solve_downsample((100, 100), 3)
    with pytest.raises(ValueError, match="'auto'"):
        solve_downsample((100, 100), "fast")
    with pytest.raises(ValueError, match="max_pixels"):
        solve_downsample((100, 100), 1, 0)


def test_estimate_defocus_says_at_which_resolution_it_solved(caplog, capsys):
    import logging
    import defocus_lab as dl
    from defocus_lab.synth import step_edge_image
    img = step_edge_image(96, sigma=2.0)
    _, _, info = dl.estimate_defocus(img, estimator_options={"bilateral": None}, return_info=True)
    assert info["downsample"] == 1 and info["solve"].downsample == 1 and info["method"] == "zhuo2011"
    with caplog.at_level(logging.INFO, logger="defocus_lab"):
        dense, _, info = dl.estimate_defocus(img, estimator_options={"bilateral": None}, return_info=True,
                                             propagator_options={"max_pixels": 1000, "photo_above": 0}, progress=True)
    assert info["downsample"] == 4 and dense.shape == (96, 96)
    assert "solved at 1/4 (24x24)" in caplog.text
    err = capsys.readouterr().err
    assert "zhuo2011: matting propagation at 1/4 resolution" in err and "zhuo2011: done" in err


def test_solver_reuse_after_a_new_mask_keeps_iterations_low(rng):
    from defocus_lab.propagate import MattingSolver
    img = rng.random((48, 64, 3))
    vals = rng.random((48, 64)) * 3
    m1 = rng.random((48, 64)) < 0.1
    m2 = m1.copy(); m2[:20, :20] = True
    w = np.ones((48, 64)); w[:20, :20] = 100.0
    ms = MattingSolver(img)
    ms.solve(vals, m1)
    d_reused, info_reused = ms.solve(vals, m2, weights=w)
    d_fresh, info_fresh = MattingSolver(img).solve(vals, m2, weights=w)
    assert info_reused.iterations <= info_fresh.iterations + 3
    np.testing.assert_allclose(d_reused, d_fresh, atol=1e-3)

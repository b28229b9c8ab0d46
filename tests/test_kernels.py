"""Every kernel against its plain NumPy reference in naive.py."""
import numpy as np
import pytest
import scipy.sparse as sp

import naive
from defocus_lab.kernels import blur_from_ratio, box_mean, box_sum, sparse_bilateral
from defocus_lab.kernels.matting import MattingWindows


@pytest.mark.parametrize("r", [0, 1, 2, 5, 30])
@pytest.mark.parametrize("shape", [(7, 9), (3, 20, 13), (1, 1), (1, 7), (6, 1)])
def test_box_sum_matches_naive(rng, r, shape):
    a = rng.random(shape)
    np.testing.assert_allclose(box_sum(a, r), naive.box_sum(a, r), rtol=0, atol=1e-11)
    count = naive.box_sum(np.ones(shape[-2:]), r)
    np.testing.assert_allclose(box_mean(a, r), naive.box_sum(a, r) / count, rtol=0, atol=1e-12)


@pytest.mark.parametrize("channels", [None, 3])
@pytest.mark.parametrize("r", [1, 2])
def test_explicit_laplacian_matches_levin(rng, channels, r):
    shape = (11, 14) if channels is None else (11, 14, 3)
    img = rng.random(shape)
    ours = MattingWindows(img, r, 1e-7).to_sparse()
    ref = naive.matting_laplacian(img, r, 1e-7)
    assert abs(ours - ref).max() < 1e-10 * max(1.0, abs(ref).max())


@pytest.mark.parametrize("r", [1, 2, 3])
@pytest.mark.parametrize("eps", [1e-7, 1e-3])
def test_matrix_free_product_equals_explicit(rng, r, eps):
    img = rng.random((23, 31, 3))
    win = MattingWindows(img, r, eps)
    L = naive.matting_laplacian(img, r, eps)
    for _ in range(3):
        p = rng.standard_normal((23, 31))
        np.testing.assert_allclose(win.matvec(p).ravel(), L @ p.ravel(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(win.diagonal().ravel(), L.diagonal(), rtol=0, atol=1e-10)
    d = rng.random((23, 31))
    np.testing.assert_allclose(win.matvec(p, d).ravel(), (L + sp.diags(d.ravel())) @ p.ravel(), atol=1e-10)


def test_laplacian_null_space(rng):
    """L 1 = 0 exactly, and L annihilates the colour channels as eps -> 0 (Levin et al.)."""
    img = rng.random((16, 16, 3))
    win = MattingWindows(img, 1, 1e-12)
    assert np.abs(win.matvec(np.ones((16, 16)))).max() < 1e-9
    assert np.abs(win.matvec(img[..., 1])).max() < 1e-6


@pytest.mark.parametrize("s1,s2", [(0.0, 1.0), (1.0, 1.5)])
def test_blur_from_ratio_matches_naive(rng, s1, s2):
    g2 = rng.random((20, 20)) + 0.1
    g1 = g2 * rng.uniform(0.9, 2.0, (20, 20))
    edges = rng.random((20, 20)) < 0.5
    v, ok = blur_from_ratio(g1, g2, edges, s1=s1, s2=s2, r_min=1.01, max_blur=3.0)
    v0, ok0 = naive.blur_from_ratio(g1, g2, edges, s1, s2, 1.01, None, 3.0)
    np.testing.assert_array_equal(ok, ok0)
    np.testing.assert_allclose(v, v0, atol=1e-12)


def test_blur_from_ratio_table_matches_naive(rng):
    from defocus_lab.estimate.zhuo_sim import ratio_table
    table = ratio_table("code", 1.0, 1.5)
    g2 = rng.random((20, 20)) + 0.1
    g1 = g2 * rng.uniform(0.95, 1.6, (20, 20))
    edges = rng.random((20, 20)) < 0.7
    v, ok = blur_from_ratio(g1, g2, edges, s1=1.0, s2=1.5, r_min=1.01, max_blur=3.0, table=table)
    v0, ok0 = naive.blur_from_ratio(g1, g2, edges, 1.0, 1.5, 1.01, None, 3.0, table=table)
    np.testing.assert_array_equal(ok, ok0)
    np.testing.assert_allclose(v, v0, atol=1e-12)


@pytest.mark.parametrize("guide_channels", [1, 3])
def test_sparse_bilateral_matches_naive(rng, guide_channels):
    vals = rng.random((30, 25)) * 3
    mask = rng.random((30, 25)) < 0.2
    guide = rng.random((30, 25)) if guide_channels == 1 else rng.random((30, 25, 3))
    ours = sparse_bilateral(vals, mask, guide, sigma_s=2.5, sigma_r=0.2)
    ref = naive.sparse_bilateral(vals, mask, guide, 2.5, 0.2)
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    assert np.all(ours[~mask] == 0)


@pytest.mark.parametrize("guide_channels", [1, 3])
def test_bilateral_grid_matches_naive(rng, guide_channels):
    vals = rng.random((40, 30)) * 3
    mask = rng.random((40, 30)) < 0.3
    guide = rng.random((40, 30)) if guide_channels == 1 else rng.random((40, 30, 3))
    ours = sparse_bilateral(vals, mask, guide, sigma_s=6.0, sigma_r=0.3, method="grid")
    ref = naive.bilateral_grid(vals, mask, guide, 6.0, 0.3)
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    assert np.all(ours[~mask] == 0)


@pytest.mark.parametrize("name", ["coffee", "chelsea"])
def test_bilateral_grid_close_to_the_exact_filter_on_photos(name):
    """Zhuo & Sim's joint bilateral (sigma_s 10 % of the side, sigma_r 0.1) on their gradient-ratio
    estimates: the grid against every pair of the windows. Measured: mean 0.0014 / 0.0023 px,
    99th percentile 0.012 / 0.015 px, on values of 0-3 px."""
    from defocus_lab import data
    from defocus_lab.estimate.zhuo_sim import zhuo2011
    img = data.load_image(name)
    raw = zhuo2011(img, bilateral=None)
    ss = 0.1 * max(img.shape[:2])
    exact = sparse_bilateral(raw.values, raw.mask, img, sigma_s=ss, sigma_r=0.1, method="exact")
    grid = sparse_bilateral(raw.values, raw.mask, img, sigma_s=ss, sigma_r=0.1, method="grid")
    d = np.abs(exact - grid)[raw.mask]
    assert d.mean() < 0.005 and np.percentile(d, 99) < 0.03 and d.max() < 0.15


def test_bilateral_auto_takes_the_exact_kernel_while_cheap_and_the_grid_above(rng, monkeypatch):
    from defocus_lab.kernels import bilateral
    vals = rng.random((60, 50)) * 3
    mask = rng.random((60, 50)) < 0.3
    guide = rng.random((60, 50, 3))
    kw = dict(sigma_s=8.0, sigma_r=0.2)
    exact = sparse_bilateral(vals, mask, guide, method="exact", **kw)
    grid = sparse_bilateral(vals, mask, guide, method="grid", **kw)
    assert np.abs(exact - grid).max() > 1e-6  # they differ, so the choice below is seen
    np.testing.assert_array_equal(sparse_bilateral(vals, mask, guide, **kw), exact)
    monkeypatch.setattr(bilateral, "EXACT_MAX_PAIRS", 100)
    np.testing.assert_array_equal(sparse_bilateral(vals, mask, guide, **kw), grid)
    # a grid too large for its bound: "grid" refuses with the fix, "auto" keeps the exact kernel
    monkeypatch.setattr(bilateral, "GRID_MAX_CELLS", 1000)
    with pytest.raises(ValueError, match="method='exact'"):
        sparse_bilateral(vals, mask, guide, method="grid", **kw)
    np.testing.assert_array_equal(sparse_bilateral(vals, mask, guide, **kw), exact)
    with pytest.raises(ValueError, match="grid_step"):
        sparse_bilateral(vals, mask, guide, method="grid", grid_step=2.0, **kw)
    with pytest.raises(ValueError, match="method must be one of"):
        sparse_bilateral(vals, mask, guide, method="fast", **kw)


def test_bilateral_grid_size_does_not_grow_with_the_image():
    """With sigma_s a fixed share of the side (Zhuo & Sim's 10 %), the grid has the same cells at
    any size: its work is the splat and the slice, linear in the mask pixels."""
    from defocus_lab import data
    from defocus_lab.kernels.bilateral import grid_cells
    img = data.load_image("coffee")
    cells = []
    for k in (1, 2, 4):
        big = np.repeat(np.repeat(img, k, axis=0), k, axis=1)
        ys, xs = np.nonzero(np.ones(big.shape[:2], bool))
        cells.append(grid_cells(ys, xs, big, sigma_s=0.1 * max(big.shape[:2]), sigma_r=0.1))
    assert max(cells) <= 1.05 * min(cells)


def test_sparse_products_match_scipy(rng):
    import scipy.sparse as sp
    from defocus_lab.kernels.sparse import galerkin, matmat, residual, spmv
    A = sp.random(400, 400, density=0.02, random_state=1, format="csr")
    A = (A + A.T).tocsr()
    P = sp.random(400, 90, density=0.03, random_state=2, format="csr")
    np.testing.assert_allclose(matmat(A, P).toarray(), (A @ P).toarray(), atol=1e-13)
    np.testing.assert_allclose(galerkin(A, P).toarray(), (P.T @ A @ P).toarray(), atol=1e-12)
    x, b = rng.random(400), rng.random(400)
    np.testing.assert_allclose(spmv(A, x), A @ x, atol=1e-13)
    np.testing.assert_allclose(residual(A, x, b), b - A @ x, atol=1e-13)


def test_multigrid_preconditioner_is_symmetric(rng):
    """CG needs a symmetric preconditioner: <M r1, r2> == <r1, M r2>."""
    import scipy.sparse as sp
    from defocus_lab.propagate.multigrid import MultigridPreconditioner, SmoothedAggregationPreconditioner
    img = rng.random((60, 70, 3))
    A = (MattingWindows(img, 1, 1e-5).to_sparse() + sp.diags(0.01 * (rng.random(4200) < 0.1))).tocsr()
    B = np.concatenate([np.ones((4200, 1)), img.reshape(-1, 3)], axis=1)
    for M in (MultigridPreconditioner(A, (60, 70), coarsest=300),
              SmoothedAggregationPreconditioner(A, (60, 70), B, coarsest=300)):
        assert len(M.levels) >= 1
        r1, r2 = rng.standard_normal(4200), rng.standard_normal(4200)
        assert abs(M(r1) @ r2 - r1 @ M(r2)) < 1e-8 * np.linalg.norm(M(r1)) * np.linalg.norm(r2)


@pytest.mark.parametrize("grey", [False, True])
def test_aggregate_qr_matches_naive(rng, grey):
    """The tentative prolongator: orthonormal near-null vectors per aggregate, in aggregate order;
    a grey region drops the colour columns that are constant there."""
    from defocus_lab.kernels.multigrid import aggregate_qr
    H, W, a = 13, 12, 5  # edge aggregates hold 6 to 15 pixels
    img = rng.random((H, W, 3))
    if grey:
        img[:5, :5] = 0.4  # first aggregate: constant colour, only the constant vector survives
    B = np.concatenate([np.ones((H * W, 1)), img.reshape(-1, 3)], axis=1)
    y, x = np.divmod(np.arange(H * W), W)
    agg = (y // a) * (-(-W // a)) + x // a
    order = np.argsort(agg, kind="stable")
    starts = np.searchsorted(agg[order], np.arange(agg.max() + 2))
    rows, cols, vals, Bc = aggregate_qr(order, starts, B, 1e-4)
    nc = len(Bc)
    T = np.zeros((H * W, nc))
    T[rows, cols] = vals
    T_ref, Bc_ref = naive.aggregate_qr(agg, B, 1e-4)
    assert nc == T_ref.shape[1] == (agg.max() + 1) * 4 - (3 if grey else 0)
    np.testing.assert_allclose(T, T_ref, atol=1e-12)
    np.testing.assert_allclose(Bc, Bc_ref, atol=1e-12)
    np.testing.assert_allclose(T @ Bc, B, atol=1e-12)  # T reproduces the near-null vectors


@pytest.mark.parametrize("forward", [True, False])
@pytest.mark.parametrize("blocks", [1, 3, 8])
def test_gauss_seidel_matches_naive(rng, forward, blocks):
    """The hybrid sweep: fresh values inside a block, start-of-sweep values across blocks."""
    import scipy.sparse as sp
    from defocus_lab.kernels.multigrid import gauss_seidel
    img = rng.random((9, 11, 3))
    n = 99
    A = (MattingWindows(img, 1, 1e-3).to_sparse() + sp.diags(0.1 + rng.random(n))).tocsr()
    b, x0 = rng.standard_normal(n), rng.standard_normal(n)
    bounds = np.linspace(0, n, blocks + 1).astype(np.int64)
    x = x0.copy()
    gauss_seidel(A, A.diagonal(), x, b, forward=forward, bounds=bounds)
    np.testing.assert_allclose(x, naive.gauss_seidel(A.toarray(), b, x0, bounds, forward), atol=1e-12)
    with pytest.raises(ValueError, match="in place"):
        gauss_seidel(A, A.diagonal(), x.astype(np.float32), b)
    with pytest.raises(ValueError, match="CSR"):
        gauss_seidel(A.tocsc(), A.diagonal(), x, b)


def test_prolongator_filter_keeps_row_maxima():
    import scipy.sparse as sp
    from defocus_lab.propagate.multigrid import _filter_rows
    P = sp.csr_matrix(np.array([[1.0, 0.01, -0.5], [0.0, 0.0, 0.0], [0.02, -2.0, 0.03]]))
    F = _filter_rows(P, 0.02).toarray()
    np.testing.assert_array_equal(F, [[1.0, 0.0, -0.5], [0, 0, 0], [0.0, -2.0, 0.0]])  # 0.03 < 0.02 * 2


@pytest.mark.parametrize("channels", [None, 3])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("r", [1, 4])
def test_guided_filter_matches_naive(rng, channels, weighted, r):
    from defocus_lab.kernels.guided import guided_filter
    shape = (19, 23) if channels is None else (19, 23, 3)
    g = rng.random(shape)
    p = rng.random((19, 23))
    w = None
    if weighted:  # Kriener's upsampling: only every second pixel defined
        w = np.zeros((19, 23)); w[::2, ::2] = 1.0
    ours = guided_filter(g, p, r, 1e-3, weights=w)
    ref = naive.guided_filter(g, p, r, 1e-3, weights=w)
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_guided_filter_in_bands_equals_one_piece(rng, monkeypatch):
    from defocus_lab.kernels import guided
    g, p = rng.random((61, 23, 3)), rng.random((61, 23))
    w = (rng.random((61, 23)) < 0.5).astype(float)
    whole = guided.guided_filter(g, p, 3, 1e-3, weights=w)
    monkeypatch.setattr(guided, "BAND_PIXELS", 23 * 13)  # 13-row bands, 6-row halos
    np.testing.assert_allclose(guided.guided_filter(g, p, 3, 1e-3, weights=w), whole, atol=1e-12)


def test_hierarchy_follows_a_diagonal_change(rng):
    """After update_diagonal every coarse operator is the Galerkin product of the changed one."""
    import scipy.sparse as sp
    from defocus_lab.kernels.sparse import galerkin
    from defocus_lab.propagate.multigrid import SmoothedAggregationPreconditioner
    img = rng.random((60, 70, 3))
    A = (MattingWindows(img, 1, 1e-5).to_sparse() + sp.diags(0.01 * (rng.random(4200) < 0.1))).tocsr()
    B = np.concatenate([np.ones((4200, 1)), img.reshape(-1, 3)], axis=1)
    M = SmoothedAggregationPreconditioner(A, (60, 70), B, coarsest=300)
    delta = np.zeros(4200)
    delta[rng.choice(4200, 300, replace=False)] = rng.random(300)  # a scribble: some pixels change
    M.update_diagonal(delta)
    op = (A + sp.diags(delta)).tocsr()
    for Al, P, d in M.levels:
        np.testing.assert_allclose(Al.toarray(), op.toarray(), atol=1e-9)
        np.testing.assert_allclose(d, op.diagonal())
        op = galerkin(op, P)
    np.testing.assert_allclose(M.coarse_matrix.toarray(), op.toarray(), atol=1e-9)
    x = rng.standard_normal(op.shape[0])
    np.testing.assert_allclose(M.coarse.solve(op @ x), x, atol=1e-6)


def test_guided_filter_scratch_reuse_does_not_leak_between_calls(rng):
    from defocus_lab.kernels.guided import guided_filter
    g = rng.random((40, 50, 3))
    p1, p2 = rng.random((40, 50)), rng.random((40, 50))
    q1 = guided_filter(g, p1, 4, 1e-2)
    keep = q1.copy()
    q2 = guided_filter(g, p2, 4, 1e-2)  # same size: the scratch of the first call is reused
    np.testing.assert_array_equal(q1, keep)
    np.testing.assert_allclose(q2, naive.guided_filter(g, p2, 4, 1e-2), atol=1e-10)


# --- the lens renderer's disk by row runs (kernels/disk.py) ---------------------------------------

@pytest.mark.parametrize("radius", [0.0, 1.0, 2.3, 11.5])
def test_kernel_steps_give_the_rows_back(rng, radius):
    from defocus_lab.kernels.disk import kernel_steps
    from defocus_lab.render import disk_kernel
    for k in (disk_kernel(radius), rng.random((5, 5)) * (rng.random((5, 5)) < 0.5)):
        starts, offsets, deltas, reach = kernel_steps(k)
        n = k.shape[0] // 2
        for r in range(k.shape[0]):
            row = np.zeros(2 * n + 2)
            row[offsets[starts[r]:starts[r + 1]] + n] = deltas[starts[r]:starts[r + 1]]
            np.testing.assert_allclose(np.cumsum(row)[:-1], k[r], atol=1e-15)
            nz = np.flatnonzero(k[r])
            assert reach[r] == (np.abs(nz - n).max() if nz.size else -1)
    with pytest.raises(ValueError, match="odd"):
        kernel_steps(np.ones((4, 4)))


def _members(layer_share):
    """CSR members (rowptr, cols, shares) of the pixels with a share > 0."""
    inside = layer_share > 0
    rowptr = np.zeros(layer_share.shape[0] + 1, np.int64)
    rowptr[1:] = np.cumsum(inside.sum(axis=1))
    ys, xs = np.nonzero(inside)
    return rowptr, xs.astype(np.int32), layer_share[ys, xs].astype(np.float32)


@pytest.mark.parametrize("shape,radius", [((23, 19), 3.0), ((30, 7), 5.2), ((9, 40), 12.0), ((40, 41), 0.7),
                                          ((2, 2), 1.5), ((64, 50), 9.5), ((20, 30), None)])
@pytest.mark.parametrize("over", [False, True])
def test_disk_layer_matches_convolution_by_offsets(rng, shape, radius, over):
    """Runs scattered from the layer's pixels, mirrored borders included (thin images reflect
    more than once), against the convolution of the dense layer by its offsets."""
    from defocus_lab.kernels.disk import disk_layer
    H, W = shape
    src = rng.random((H, W, 3)).astype(np.float32)
    share = np.where(rng.random(shape) < 0.4, rng.random(shape), 0.0).astype(np.float32)
    layer = np.concatenate([src * share[..., None], share[..., None]], axis=2).astype(np.float64)
    from defocus_lab.render import disk_kernel
    kernel = disk_kernel(radius) if radius is not None else rng.random((7, 7))  # any kernel, even asymmetric
    want = naive.disk_by_offsets(layer, kernel)
    acc, cov = rng.random((H, W, 3)), rng.random((H, W))
    a = np.clip(want[..., 3], 0, 1)
    want_acc = want[..., :3] + (1 - a)[..., None] * acc if over else want[..., :3]
    want_cov = a + (1 - a) * cov if over else a
    disk_layer(src, *_members(share), kernel, acc, cov, over=over)
    np.testing.assert_allclose(acc, want_acc, atol=1e-6)
    np.testing.assert_allclose(cov, want_cov, atol=1e-6)


def test_layer_members_share_each_pixel_between_two_levels(rng):
    from defocus_lab.kernels.disk import layer_members
    rad = rng.random((13, 11)) * 4.0
    rad[0, 0], rad[0, 1] = 0.0, 4.0  # both ends of the ladder
    keys = rng.random((13, 11))
    step, nlev = 0.5, 9
    rowptr, cols, shares, mean_key = layer_members(rad, np.arange(nlev) * step, keys)
    share = np.zeros((nlev, 13, 11))
    for k in range(nlev):
        for y in range(13):
            sl = slice(rowptr[k, y], rowptr[k, y + 1])
            assert np.all(np.diff(cols[sl]) > 0)
            share[k, y, cols[sl]] = shares[sl]
    want = np.zeros_like(share)
    pos = np.minimum(rad / step, nlev - 1)
    lo = np.floor(pos).astype(int)
    frac = pos - lo
    for y in range(13):
        for x in range(11):
            want[lo[y, x], y, x] += 1 - frac[y, x]
            if frac[y, x] > 0:
                want[lo[y, x] + 1, y, x] += frac[y, x]
    np.testing.assert_allclose(share, want, atol=1e-6)
    has = want.sum(axis=(1, 2)) > 0
    np.testing.assert_allclose(mean_key[has], (want * keys).sum(axis=(1, 2))[has] / want.sum(axis=(1, 2))[has])
    assert np.all(np.isnan(mean_key[~has]))


@pytest.mark.parametrize("f", [2, 4])
def test_block_layer_and_upsampling_match_naive(rng, f):
    from defocus_lab.kernels.disk import block_layer, upsample
    H, W = 37, 50
    src = rng.random((H, W, 3)).astype(np.float32)
    share = np.where(rng.random((H, W)) < 0.3, rng.random((H, W)), 0.0).astype(np.float32)
    colour, rows, cols, shares = block_layer(src, *_members(share), f)
    got = np.zeros(colour.shape[:2] + (4,))
    ys = np.repeat(np.arange(colour.shape[0]), np.diff(rows))
    got[ys, cols, :3] = colour[ys, cols] * shares[:, None]
    got[ys, cols, 3] = shares
    layer = np.concatenate([src * share[..., None], share[..., None]], axis=2).astype(np.float64)
    np.testing.assert_allclose(got, naive.block_means(layer, f), atol=1e-6)
    small = rng.random((10, 13, 2))
    np.testing.assert_allclose(upsample(small, f, (37, 50)), naive.upsample_linear(small, f, (37, 50)), atol=1e-12)
    np.testing.assert_allclose(upsample(small[..., 0], f, (37, 50)), naive.upsample_linear(small[..., 0], f, (37, 50)),
                               atol=1e-12)

"""Plain NumPy references for every kernel of defocus_lab (slow, obvious, for tests only)."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def box_sum(a, r):
    """Sum over the in-bounds (2r+1)^2 window, by looping over offsets."""
    a = np.asarray(a, dtype=np.float64)
    H, W = a.shape[-2:]
    out = np.zeros_like(a)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if abs(dy) >= H or abs(dx) >= W:
                continue
            ys = slice(max(0, -dy), min(H, H - dy))
            xs = slice(max(0, -dx), min(W, W - dx))
            ys2 = slice(max(0, dy), min(H, H + dy))
            xs2 = slice(max(0, dx), min(W, W + dx))
            out[..., ys, xs] += a[..., ys2, xs2]
    return out


def matting_laplacian(image, r=1, eps=1e-7):
    """Levin, Lischinski & Weiss (2008) Eq. 11, window by window, windows inside the image."""
    img = np.asarray(image, dtype=np.float64)
    if img.ndim == 2:
        img = img[..., None]
    H, W, C = img.shape
    idx = np.arange(H * W).reshape(H, W)
    nw = (2 * r + 1) ** 2
    rows, cols, vals = [], [], []
    for y in range(r, H - r):
        for x in range(r, W - r):
            win = img[y - r:y + r + 1, x - r:x + r + 1].reshape(nw, C)
            ids = idx[y - r:y + r + 1, x - r:x + r + 1].ravel()
            mu = win.mean(axis=0)
            d = win - mu
            cov = d.T @ d / nw
            Ainv = np.linalg.inv(cov + eps / nw * np.eye(C))
            block = np.eye(nw) - (1.0 + d @ Ainv @ d.T) / nw
            rows.append(np.repeat(ids, nw))
            cols.append(np.tile(ids, nw))
            vals.append(block.ravel())
    n = H * W
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))


def blur_from_ratio(g1, g2, edges, s1, s2, r_min=1.0, r_max=None, max_blur=np.inf, table=None):
    if r_max is None:
        r_max = s2 / s1 if s1 > 0 else np.inf
    values = np.zeros(g1.shape)
    valid = np.zeros(g1.shape, bool)
    for (y, x) in zip(*np.nonzero(edges)):
        if g2[y, x] <= 0:
            continue
        R = g1[y, x] / g2[y, x]
        if not (r_min < R <= r_max):
            continue
        if table is not None:
            Rt, St = table
            if R < Rt[0]:
                continue
            s = St[-1] if R >= Rt[-1] else np.interp(R, Rt, St)
        else:
            s = np.sqrt(max((s2 ** 2 - R ** 2 * s1 ** 2) / (R ** 2 - 1), 0.0))
        values[y, x] = min(s, max_blur)
        valid[y, x] = True
    return values, valid


def sparse_bilateral(values, mask, guide, sigma_s, sigma_r, truncate=3.0):
    g = np.asarray(guide, dtype=np.float64)
    if g.ndim == 2:
        g = g[..., None]
    radius = int(np.ceil(truncate * sigma_s))
    ys, xs = np.nonzero(mask)
    out = np.zeros(values.shape)
    for y, x in zip(ys, xs):
        d2 = (ys - y) ** 2 + (xs - x) ** 2
        keep = d2 <= radius ** 2
        gd = ((g[ys[keep], xs[keep]] - g[y, x]) ** 2).sum(axis=1)
        w = np.exp(-d2[keep] / (2 * sigma_s ** 2) - gd / (2 * sigma_r ** 2))
        out[y, x] = (w * values[ys[keep], xs[keep]]).sum() / w.sum()
    return out


def bilateral_grid(values, mask, guide, sigma_s, sigma_r, step=0.5):
    """The bilateral grid of kernels/bilateral.py with dense NumPy: multilinear splat by
    np.add.at over the 2^D corners, the Gaussian (4 sigmas, weights normalised as scipy does)
    as a matrix along each axis, multilinear slice."""
    import itertools
    g = np.asarray(guide, dtype=np.float64)
    g = g[..., None] if g.ndim == 2 else g
    ys, xs = np.nonzero(mask)
    P = np.column_stack([ys / (step * sigma_s), xs / (step * sigma_s)]
                        + [g[ys, xs, c] / (step * sigma_r) for c in range(g.shape[2])])
    P = P - P.min(axis=0)
    D = P.shape[1]
    shape = tuple(np.floor(P.max(axis=0)).astype(int) + 2)
    base = np.floor(P).astype(int)
    frac = P - base
    num, den = np.zeros(shape), np.zeros(shape)
    corners = [np.array(c) for c in itertools.product((0, 1), repeat=D)]
    for c in corners:
        w = np.prod(np.where(c == 1, frac, 1 - frac), axis=1)
        idx = tuple((base + c).T)
        np.add.at(num, idx, w * values[ys, xs])
        np.add.at(den, idx, w)
    sd = np.sqrt(1 / step ** 2 - 1 / 3)
    rad = int(4 * sd + 0.5)
    taps = np.exp(-0.5 * (np.arange(-rad, rad + 1) / sd) ** 2)
    taps /= taps.sum()
    for axis in range(D):
        n = shape[axis]
        i = np.arange(n)
        off = i[None, :] - i[:, None]
        K = np.where(np.abs(off) <= rad, taps[np.clip(off + rad, 0, 2 * rad)], 0.0)
        num = np.moveaxis(np.tensordot(K, num, axes=([1], [axis])), 0, axis)
        den = np.moveaxis(np.tensordot(K, den, axes=([1], [axis])), 0, axis)
    a = np.zeros(len(ys))
    b = np.zeros(len(ys))
    for c in corners:
        w = np.prod(np.where(c == 1, frac, 1 - frac), axis=1)
        idx = tuple((base + c).T)
        a += w * num[idx]
        b += w * den[idx]
    out = np.zeros(values.shape)
    out[ys, xs] = a / b
    return out


def guided_filter(guide, p, r, eps, weights=None):
    """Weighted guided filter, window by window with numpy least squares (He et al.; Kriener Eq. 7-8)."""
    g = np.asarray(guide, dtype=np.float64)
    if g.ndim == 2:
        g = g[..., None]
    H, W, C = g.shape
    w = np.ones((H, W)) if weights is None else np.asarray(weights, dtype=np.float64)
    a = np.zeros((H, W, C))
    b = np.zeros((H, W))
    has = np.zeros((H, W))
    for y in range(H):
        for x in range(W):
            ys, xs = slice(max(0, y - r), min(H, y + r + 1)), slice(max(0, x - r), min(W, x + r + 1))
            ww = w[ys, xs].ravel()
            if ww.sum() <= 1e-12:
                continue
            I = g[ys, xs].reshape(-1, C)
            pp = p[ys, xs].ravel()
            mI = (ww[:, None] * I).sum(0) / ww.sum()
            mp = (ww * pp).sum() / ww.sum()
            d = I - mI
            cov = (ww[:, None] * d).T @ d / ww.sum()
            cip = (ww[:, None] * d).T @ (pp - mp) / ww.sum()
            a[y, x] = np.linalg.solve(cov + eps * np.eye(C), cip)
            b[y, x] = mp - a[y, x] @ mI
            has[y, x] = 1
    A, B, N = box_sum(np.moveaxis(a, -1, 0), r), box_sum(b, r), box_sum(has, r)
    out = np.zeros((H, W))
    ok = N > 0
    out[ok] = ((np.moveaxis(A, 0, -1) * g).sum(-1)[ok] + B[ok]) / N[ok]
    return out


def lens_blur(image, radius_map, step, depth=None, kernel=None):
    """Layered disk blur without FFTs or gamma: pixels shared linearly between the two radius
    levels around their own, each level's (colour * share, share) convolved with the disk by a
    loop over kernel offsets (reflect padding), layers composited over far to near (order: mean
    depth of the layer), then divided by the coverage. The disk: the renderer's
    (``kernel(radius)``, default :func:`defocus_lab.render.disk_kernel`)."""
    from defocus_lab.render import disk_kernel
    kernel = kernel or disk_kernel
    img = np.asarray(image, dtype=np.float64)
    img = img[..., None] if img.ndim == 2 else img
    H, W, C = img.shape
    key = radius_map if depth is None else depth
    nlev = max(1, int(np.ceil(radius_map.max() / step))) + 1
    share = np.zeros((nlev, H, W))
    for y in range(H):
        for x in range(W):
            pos = min(radius_map[y, x] / step, nlev - 1)
            k = min(int(np.floor(pos)), nlev - 1)
            f = pos - k
            share[k, y, x] += 1.0 - f
            if f > 0:
                share[k + 1, y, x] += f
    mean_key = [(key * s).sum() / s.sum() if s.sum() > 0 else -np.inf for s in share]
    acc = np.zeros((H, W, C))
    cov = np.zeros((H, W))
    for k in sorted(range(nlev), key=lambda k: -mean_key[k]):
        if not share[k].any():
            continue
        kern = kernel(k * step)
        layer = np.concatenate([img * share[k][..., None], share[k][..., None]], axis=2)
        out = disk_by_offsets(layer, kern)
        a = np.clip(out[..., -1], 0, 1)
        acc = out[..., :-1] + (1 - a)[..., None] * acc
        cov = a + (1 - a) * cov
    res = np.clip(acc / np.maximum(cov, 1e-12)[..., None], 0, 1)
    return res if np.asarray(image).ndim == 3 else res[..., 0]


def disk_by_offsets(layer, kernel):
    """(H, W, P) ``layer`` convolved with ``kernel`` by a loop over its offsets, borders
    mirrored as np.pad(mode="reflect") (the layer convolution of the lens renderer)."""
    n = kernel.shape[0] // 2
    H, W = layer.shape[:2]
    pad = np.pad(layer, ((n, n), (n, n), (0, 0)), mode="reflect")
    out = np.zeros(layer.shape)
    for dy in range(-n, n + 1):
        for dx in range(-n, n + 1):
            out += kernel[dy + n, dx + n] * pad[n - dy:n - dy + H, n - dx:n - dx + W]
    return out


def block_means(a, k):
    """(ceil(H / k), ceil(W / k), ...): the mean of each k x k block of ``a`` over the pixels
    it holds (the last blocks may be partial)."""
    H, W = a.shape[:2]
    h, w = -(-H // k), -(-W // k)
    out = np.zeros((h, w) + a.shape[2:])
    for i in range(h):
        for j in range(w):
            out[i, j] = a[i * k:(i + 1) * k, j * k:(j + 1) * k].mean(axis=(0, 1))
    return out


def upsample_linear(a, r, shape):
    """``a`` r times finer by separable linear interpolation between pixel centres (coarse pixel
    i covers fine pixels r i .. r i + r - 1), edge values beyond the outer centres."""
    for axis, n in ((0, shape[0]), (1, shape[1])):
        m = a.shape[axis]
        c = (np.arange(n) + 0.5) / r - 0.5
        i0 = np.clip(np.floor(c).astype(int), 0, m - 1)
        i1 = np.minimum(i0 + 1, m - 1)
        t = np.clip(c - i0, 0.0, 1.0)
        t = t.reshape((-1,) + (1,) * (a.ndim - 1)) if axis == 0 else t.reshape((1, -1) + (1,) * (a.ndim - 2))
        lo, hi = np.take(a, i0, axis=axis), np.take(a, i1, axis=axis)
        a = lo + t * (hi - lo)
    return a


def decimate2(a):
    """Bicubic decimation by 2 (Keys a = -0.5, kernel stretched by 2, centred on even pixels),
    pixel by pixel with mirrored (symmetric) borders."""
    def cubic(t):
        t = abs(t)
        if t <= 1:
            return 1.5 * t ** 3 - 2.5 * t ** 2 + 1
        if t <= 2:
            return -0.5 * t ** 3 + 2.5 * t ** 2 - 4 * t + 2
        return 0.0

    def mirror(j, n):
        while j < 0 or j >= n:
            j = -j - 1 if j < 0 else 2 * n - j - 1
        return j

    a = np.asarray(a, dtype=np.float64)
    H, W = a.shape[:2]
    out = np.zeros(((H + 1) // 2, (W + 1) // 2) + a.shape[2:])
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            for dy in range(-3, 4):
                for dx in range(-3, 4):
                    w = cubic(dy / 2) * cubic(dx / 2) / 4
                    out[i, j] += w * a[mirror(2 * i + dy, H), mirror(2 * j + dx, W)]
    return out


# ----------------------------------------------------------------------------- Karaali 2022

def _conv_valid(x, w):
    """x (N, H, W, Cin), w HWIO (kh, kw, Cin, Cout): 'valid' correlation, loop over offsets."""
    kh, kw = w.shape[:2]
    H, W = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    out = np.zeros((x.shape[0], H, W, w.shape[3]))
    for u in range(kh):
        for v in range(kw):
            out += x[:, u:u + H, v:v + W, :] @ w[u, v]
    return out


def _maxpool3_same(x):
    """3x3 / stride 3 max pool, TensorFlow 'SAME': output ceil(n / 3), padding at the end."""
    N, H, W, C = x.shape
    Ho, Wo = -(-H // 3), -(-W // 3)
    out = np.full((N, Ho, Wo, C), -np.inf)
    for i in range(Ho):
        for j in range(Wo):
            out[:, i, j] = x[:, 3 * i:3 * i + 3, 3 * j:3 * j + 3].max(axis=(1, 2))
    return out


def karaali_forward(tensors, kind, patches):
    """B-NET / E-NET as the authors' TensorFlow graph, in float64, from their tensors (file order).

    patches: (N, 41, 41, 3) in [0, 1]. Returns the softmax probabilities (N, classes).
    """
    t = [np.asarray(a, dtype=np.float64) for a in tensors]
    x = np.asarray(patches, dtype=np.float64)
    relu = lambda a: np.maximum(a, 0.0)  # noqa: E731
    conv = lambda a, w: relu(_conv_valid(a, w))  # noqa: E731

    def pool_first(inp, w):  # conv, pool, conv, conv, conv
        h = _maxpool3_same(conv(inp, w[0]))
        for k in (1, 2, 3):
            h = conv(h, w[k])
        return h

    def b27(inp, w):  # conv, conv, conv, pool, 1x1 conv
        h = conv(conv(conv(inp, w[0]), w[1]), w[2])
        return conv(_maxpool3_same(h), w[3])

    def b15(inp, w):
        for k in range(4):
            inp = conv(inp, w[k])
        return inp

    c27, c15 = x[:, 8:35, 8:35], x[:, 14:29, 14:29]
    if kind == "bnet":
        feats = [pool_first(x, t[0:4]), b27(c27, t[4:8]), b15(c15, t[8:12])]
        rest = t[12:]
    else:
        feats = [pool_first(x, t[4:8]), pool_first(x, t[0:4]), b27(c27, t[8:12]), b15(c15, t[12:16])]
        rest = t[16:]
    h = np.concatenate(feats, axis=3)
    for k in range(4):
        h = conv(h, rest[k])
    h = h.reshape(h.shape[0], -1)
    h = relu(h @ rest[4] + rest[5].ravel())
    h = relu(h @ rest[6] + rest[7].ravel())
    z = h @ rest[8] + rest[9].ravel()
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def recursive_filter(src, guide, sigma_s, sigma_r, iterations, penalty=None):
    """Domain-transform recursive filter written from Gastal & Oliveira's description: per pixel
    loops, the derivative 1 + penalty + sigma_s / sigma_r * sum |dI|, a = exp(-sqrt(2) / sigma_i)."""
    F = np.array(src, dtype=np.float64)
    F = F[..., None] if F.ndim == 2 else F
    J = np.asarray(guide, dtype=np.float64)
    J = J[..., None] if J.ndim == 2 else J
    H, W = F.shape[:2]
    P = np.zeros((H, W)) if penalty is None else np.asarray(penalty, dtype=np.float64)
    dx = np.ones((H, W)) + P
    dy = np.ones((H, W)) + P
    for y in range(H):
        for x in range(W):
            if x > 0:
                dx[y, x] += sigma_s / sigma_r * np.abs(J[y, x] - J[y, x - 1]).sum()
            if y > 0:
                dy[y, x] += sigma_s / sigma_r * np.abs(J[y, x] - J[y - 1, x]).sum()
    N = iterations
    for i in range(N):
        s = sigma_s * np.sqrt(3) * 2 ** (N - i - 1) / np.sqrt(4 ** N - 1)
        a = np.exp(-np.sqrt(2) / s)
        for y in range(H):
            for x in range(1, W):
                F[y, x] += a ** dx[y, x] * (F[y, x - 1] - F[y, x])
            for x in range(W - 2, -1, -1):
                F[y, x] += a ** dx[y, x + 1] * (F[y, x + 1] - F[y, x])
        for x in range(W):
            for y in range(1, H):
                F[y, x] += a ** dy[y, x] * (F[y - 1, x] - F[y, x])
            for y in range(H - 2, -1, -1):
                F[y, x] += a ** dy[y + 1, x] * (F[y + 1, x] - F[y, x])
    return F[..., 0] if np.ndim(src) == 2 else F


def aggregate_qr(agg, B, rel_tol):
    """Tentative smoothed-aggregation prolongator: on every aggregate, Gram-Schmidt on the columns of
    B restricted to it, dropping a column whose remainder falls below rel_tol times its norm.
    Returns (dense T (N, nc), coarse near-null vectors Bc (nc, k))."""
    N, k = B.shape
    cols, Bc = [], []
    for a in np.unique(agg):
        idx = np.flatnonzero(agg == a)
        Q = np.zeros((len(idx), 0))
        R = np.zeros((k, k))
        for j in range(k):
            v = B[idx, j].astype(np.float64)
            n0 = np.linalg.norm(v)
            c = Q.T @ v
            v = v - Q @ c
            c2 = Q.T @ v  # re-orthogonalise once
            v = v - Q @ c2
            R[:Q.shape[1], j] = c + c2
            n1 = np.linalg.norm(v)
            if n0 > 0 and n1 > rel_tol * n0 and Q.shape[1] < len(idx):
                R[Q.shape[1], j] = n1
                Q = np.concatenate([Q, (v / n1)[:, None]], axis=1)
        for c in range(Q.shape[1]):
            col = np.zeros(N)
            col[idx] = Q[:, c]
            cols.append(col)
            Bc.append(R[c])
    return np.array(cols).T, np.array(Bc)


def gauss_seidel(A, b, x, bounds, forward):
    """One hybrid Gauss-Seidel sweep on a dense A: the rows in blocks ``bounds``; inside a block
    rows in order (reversed when not ``forward``) with the block's fresh values, the other
    blocks' values as they were at the start of the sweep."""
    x_old = np.array(x, dtype=np.float64)
    x = x_old.copy()
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        rows = range(lo, hi) if forward else range(hi - 1, lo - 1, -1)
        for i in rows:
            inside = np.zeros(len(x), bool)
            inside[lo:hi] = True
            v = np.where(inside, x, x_old)
            x[i] += (b[i] - A[i] @ v) / A[i, i]
    return x


def inverted_residual(x, expand_w, expand_bn, dw_w, dw_bn, project_w, project_bn, stride, eps=1e-3):
    """One MobileNetV2 block on x (C, H, W) by loops over pixels: 1x1 expansion (weights
    (hidden, C) or None for none) + batch norm + ReLU6, 3x3 depthwise convolution (weights
    (hidden, 3, 3), zero padding 1, ``stride``) + batch norm + ReLU6, 1x1 projection (weights
    (out, hidden)) + batch norm, plus x when the stride is 1 and the channels match. A batch
    norm is (gamma, beta, mean, var) in inference mode."""
    def bn(a, p):
        g, b, m, v = p
        return (a - m[:, None, None]) / np.sqrt(v[:, None, None] + eps) * g[:, None, None] + b[:, None, None]

    def relu6(a):
        return np.minimum(np.maximum(a, 0.0), 6.0)

    h = x if expand_w is None else relu6(bn(np.einsum("oc,chw->ohw", expand_w, x), expand_bn))
    C, H, W = h.shape
    Ho, Wo = (H - 1) // stride + 1, (W - 1) // stride + 1
    pad = np.pad(h, ((0, 0), (1, 1), (1, 1)))
    d = np.zeros((C, Ho, Wo))
    for c in range(C):
        for i in range(Ho):
            for j in range(Wo):
                d[c, i, j] = (pad[c, i * stride:i * stride + 3, j * stride:j * stride + 3] * dw_w[c]).sum()
    d = relu6(bn(d, dw_bn))
    out = bn(np.einsum("oc,chw->ohw", project_w, d), project_bn)
    if stride == 1 and out.shape[0] == x.shape[0]:
        out = out + x
    return out


def patch_mean(classes, ys, xs, shape, pad, size=32):
    """Eq. 6 of Galetto & Deng by a loop over the patches: each adds its class to the pixels of
    the (unpadded) image its square covers; the mean over the patches of each pixel."""
    H, W = shape
    tot, cnt = np.zeros((H, W)), np.zeros((H, W))
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            y0, y1 = max(y - pad, 0), min(y - pad + size, H)
            x0, x1 = max(x - pad, 0), min(x - pad + size, W)
            if y1 > y0 and x1 > x0:
                tot[y0:y1, x0:x1] += classes[i, j]
                cnt[y0:y1, x0:x1] += 1
    return tot / np.maximum(cnt, 1)


def weighted_guided_filter(guide, p, r, eps, edge_eps=1e-6):
    """WGIF (Li et al. 2015) by explicit windows: Gamma from each pixel's 3x3 variance, a and b
    per window (clipped at the border), then the mean of a G + b over the windows of each pixel."""
    H, W = guide.shape

    def win(a, y, x, rr):
        return a[max(y - rr, 0):y + rr + 1, max(x - rr, 0):x + rr + 1]

    v3 = np.array([[win(guide, y, x, 1).var() for x in range(W)] for y in range(H)]) + edge_eps
    gamma = v3 * np.mean(1.0 / v3)
    a = np.zeros((H, W))
    b = np.zeros((H, W))
    for y in range(H):
        for x in range(W):
            g, q = win(guide, y, x, r), win(p, y, x, r)
            cov = (g * q).mean() - g.mean() * q.mean()
            a[y, x] = cov / (g.var() + eps / gamma[y, x])
            b[y, x] = q.mean() - a[y, x] * g.mean()
    out = np.zeros((H, W))
    for y in range(H):
        for x in range(W):
            out[y, x] = win(a, y, x, r).mean() * guide[y, x] + win(b, y, x, r).mean()
    return out


# ----------------------------------------------------------------------------- blind deblurring kernels

def symmetrize_kernel(k):
    """The mean over the group generated by the paper's three maps (transpose, row flip, column
    flip, written as index formulas), found by closing the set under composition."""
    k = np.asarray(k, dtype=np.float64)
    d = k.shape[0]

    def transpose(m):
        return np.array([[m[j, i] for j in range(d)] for i in range(d)])

    def row_flip(m):
        return np.array([[m[d - 1 - i, j] for j in range(d)] for i in range(d)])

    def col_flip(m):
        return np.array([[m[i, d - 1 - j] for j in range(d)] for i in range(d)])

    # the group acts on index grids: close {identity} under the three generators
    idx = np.arange(d * d, dtype=np.float64).reshape(d, d)
    seen = {idx.tobytes(): idx}
    todo = [idx]
    while todo:
        m = todo.pop()
        for g in (transpose, row_flip, col_flip):
            n = g(m)
            if n.tobytes() not in seen:
                seen[n.tobytes()] = n
                todo.append(n)
    flat = k.ravel()
    return sum(flat[m.astype(int)] for m in seen.values()) / len(seen)


def truncate_rank(k, r0):
    """Rank-r0 approximation from the eigenvectors of k^T k (right singular vectors): k V V^T."""
    k = np.asarray(k, dtype=np.float64)
    w, v = np.linalg.eigh(k.T @ k)
    top = v[:, np.argsort(w)[::-1][:r0]]
    return k @ top @ top.T


def framelet_analysis(u):
    """The 9 piecewise-linear framelet coefficients by explicit periodic convolution loops:
    c_n[y, x] = sum over dy, dx of f_n[dy, dx] u[(y - dy) mod H, (x - dx) mod W]."""
    h = [np.array([1.0, 2.0, 1.0]) / 4.0, np.sqrt(2.0) / 4.0 * np.array([1.0, 0.0, -1.0]),
         np.array([-1.0, 2.0, -1.0]) / 4.0]
    u = np.asarray(u, dtype=np.float64)
    H, W = u.shape
    out = []
    for a in h:
        for b in h:
            f = np.outer(a, b)
            c = np.zeros((H, W))
            for y in range(H):
                for x in range(W):
                    for dy in (-1, 0, 1):
                        for dx in (-1, 0, 1):
                            c[y, x] += f[dy + 1, dx + 1] * u[(y - dy) % H, (x - dx) % W]
            out.append(c)
    return np.array(out)


def soft_threshold(x, t):
    """The l1 proximal map written by cases: x - t above t, x + t below -t, else 0."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > t, x - t, np.where(x < -t, x + t, 0.0))


def framelet_synthesis(c):
    """W^T c by explicit loops: the adjoint of framelet_analysis, u[y - dy, x - dx] += f_n c_n[y, x]."""
    h = [np.array([1.0, 2.0, 1.0]) / 4.0, np.sqrt(2.0) / 4.0 * np.array([1.0, 0.0, -1.0]),
         np.array([-1.0, 2.0, -1.0]) / 4.0]
    c = np.asarray(c, dtype=np.float64)
    _, H, W = c.shape
    u = np.zeros((H, W))
    n = 0
    for a in h:
        for b in h:
            f = np.outer(a, b)
            for y in range(H):
                for x in range(W):
                    for dy in (-1, 0, 1):
                        for dx in (-1, 0, 1):
                            u[(y - dy) % H, (x - dx) % W] += f[dy + 1, dx + 1] * c[n, y, x]
            n += 1
    return u


def admm_data_update(Ku, g, m2, rho, p):
    """The data half of a scaled ADMM iteration, term by term: (p, v - p) after the update."""
    v = (m2 * g + rho * (Ku + p)) / (m2 + rho)
    p_new = p + Ku - v
    return p_new, v - p_new


def admm_prior_update(Wu, t, first, q):
    """The prior half: z = soft(Wu + q, t) on planes >= first; (q, z - q) after the update."""
    z = Wu + q
    z[first:] = soft_threshold(z[first:], t)
    q_new = q + Wu - z
    return q_new, z - q_new


def weighted_l0_minimiser(x, lam, weights):
    """argmin over c of 1/2 (x - c)^2 + lam w [c != 0], pixel by pixel: compare the two costs."""
    x = np.asarray(x, dtype=np.float64)
    keep_cost = lam * np.asarray(weights, dtype=np.float64)  # c = x: no data cost, the l0 price
    drop_cost = 0.5 * x * x  # c = 0
    return np.where(keep_cost < drop_cost, x, 0.0)


def kernel_objective(u, g, m, k, lam2):
    """1/2 || m (k * u - g) ||^2 + lam2 ||k||^2 with k * u by explicit periodic loops (k centred)."""
    H, W = u.shape
    d = k.shape[0]
    R = d // 2
    ku = np.zeros((H, W))
    for i in range(d):
        for j in range(d):
            ku += k[i, j] * np.roll(u, (i - R, j - R), axis=(0, 1))
    r = m * (ku - g)
    return 0.5 * float(np.sum(r * r)) + lam2 * float(np.sum(k * k))

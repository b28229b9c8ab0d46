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

"""The closed-form matting Laplacian (Levin, Lischinski & Weiss 2008) without forming it.

With window statistics computed once per image (colour mean ``mu_k`` and the regularised inverse
``A_k = (Sigma_k + eps/|w| I)^-1`` of every window ``w_k`` lying inside the image), the product
``L p`` takes eight box sums (He, Sun & Tang 2010):

    a_k = A_k (mean_k(I p) - mu_k mean_k(p)),   b_k = mean_k(p) - a_k . mu_k,
    (L p)_i = n_i p_i - (I_i . sum_{k ni i} a_k + sum_{k ni i} b_k),

where ``n_i`` counts the windows that hold pixel i. The explicit sparse matrix is built by the
same statistics in gather form (one row per pixel, parallel over rows), for direct solves,
multigrid hierarchies and the tests.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numba import njit, prange

from .._validate import as_image, check_int, check_positive
from ._sym3 import window_inverse
from .boxfilter import box_sum_into


@njit(parallel=True, cache=True, nogil=True)
def _window_stats(I, S1, S2, r, eps, mu, A):
    """Fill ``mu`` (3, H, W) and ``A`` (6, H, W: a00 a01 a02 a11 a12 a22) at window centres.

    ``S1`` holds the window sums of I (3 channels), ``S2`` those of the six products I_c I_d.
    Centres closer than r to the border get zeros (their windows leave the image).
    """
    _, H, W = I.shape
    nw = (2 * r + 1) ** 2
    e = eps / nw
    for y in prange(H):
        for x in range(W):
            if y < r or y >= H - r or x < r or x >= W - r:
                for c in range(3):
                    mu[c, y, x] = 0.0
                for c in range(6):
                    A[c, y, x] = 0.0
                continue
            m0, m1, m2, a00, a01, a02, a11, a12, a22 = window_inverse(
                S1[0, y, x], S1[1, y, x], S1[2, y, x], S2[0, y, x], S2[1, y, x], S2[2, y, x],
                S2[3, y, x], S2[4, y, x], S2[5, y, x], nw, e)
            mu[0, y, x] = m0
            mu[1, y, x] = m1
            mu[2, y, x] = m2
            A[0, y, x] = a00
            A[1, y, x] = a01
            A[2, y, x] = a02
            A[3, y, x] = a11
            A[4, y, x] = a12
            A[5, y, x] = a22


@njit(parallel=True, cache=True, nogil=True)
def _fill_products(I, p, q):
    """q[0] = p, q[1 + c] = I_c p."""
    _, H, W = I.shape
    for y in prange(H):
        for x in range(W):
            v = p[y, x]
            q[0, y, x] = v
            q[1, y, x] = I[0, y, x] * v
            q[2, y, x] = I[1, y, x] * v
            q[3, y, x] = I[2, y, x] * v


@njit(parallel=True, cache=True, nogil=True)
def _window_coefficients(S, mu, A, r, q):
    """From window sums S of (p, I p) compute a_k (q[0:3]) and b_k (q[3]) at interior centres."""
    _, H, W = mu.shape
    nw = (2 * r + 1) ** 2
    for y in prange(H):
        for x in range(W):
            if y < r or y >= H - r or x < r or x >= W - r:
                q[0, y, x] = 0.0
                q[1, y, x] = 0.0
                q[2, y, x] = 0.0
                q[3, y, x] = 0.0
                continue
            pm = S[0, y, x] / nw
            m0 = mu[0, y, x]
            m1 = mu[1, y, x]
            m2 = mu[2, y, x]
            v0 = S[1, y, x] / nw - m0 * pm
            v1 = S[2, y, x] / nw - m1 * pm
            v2 = S[3, y, x] / nw - m2 * pm
            a0 = A[0, y, x] * v0 + A[1, y, x] * v1 + A[2, y, x] * v2
            a1 = A[1, y, x] * v0 + A[3, y, x] * v1 + A[4, y, x] * v2
            a2 = A[2, y, x] * v0 + A[4, y, x] * v1 + A[5, y, x] * v2
            q[0, y, x] = a0
            q[1, y, x] = a1
            q[2, y, x] = a2
            q[3, y, x] = pm - a0 * m0 - a1 * m1 - a2 * m2


@njit(parallel=True, cache=True, nogil=True)
def _assemble_product(I, p, n, S, d, out):
    """out = n p - (I . S[0:3] + S[3]) + d p  (d: diagonal added to L, e.g. lambda D)."""
    _, H, W = I.shape
    for y in prange(H):
        for x in range(W):
            out[y, x] = (n[y, x] + d[y, x]) * p[y, x] - (
                I[0, y, x] * S[0, y, x] + I[1, y, x] * S[1, y, x] + I[2, y, x] * S[2, y, x] + S[3, y, x])


@njit(cache=True, nogil=True)
def _entry(I, mu, A, r, yi, xi, yj, xj, H, W):
    """L_ij for pixels (yi, xi), (yj, xj): the sum over interior windows holding both."""
    nw = (2 * r + 1) ** 2
    y0 = max(max(yi, yj) - r, r)
    y1 = min(min(yi, yj) + r, H - 1 - r)
    x0 = max(max(xi, xj) - r, r)
    x1 = min(min(xi, xj) + r, W - 1 - r)
    s = 0.0
    diag = 1.0 if (yi == yj and xi == xj) else 0.0
    for ky in range(y0, y1 + 1):
        for kx in range(x0, x1 + 1):
            u0 = I[0, yi, xi] - mu[0, ky, kx]
            u1 = I[1, yi, xi] - mu[1, ky, kx]
            u2 = I[2, yi, xi] - mu[2, ky, kx]
            v0 = I[0, yj, xj] - mu[0, ky, kx]
            v1 = I[1, yj, xj] - mu[1, ky, kx]
            v2 = I[2, yj, xj] - mu[2, ky, kx]
            Av0 = A[0, ky, kx] * v0 + A[1, ky, kx] * v1 + A[2, ky, kx] * v2
            Av1 = A[1, ky, kx] * v0 + A[3, ky, kx] * v1 + A[4, ky, kx] * v2
            Av2 = A[2, ky, kx] * v0 + A[4, ky, kx] * v1 + A[5, ky, kx] * v2
            s += diag - (1.0 + u0 * Av0 + u1 * Av1 + u2 * Av2) / nw
    return s


def _shared_1d(n, r):
    """For each position y of an axis of length n: how many positions within 2r share an interior
    window with it (the condition :func:`_fill_csr` tests along each axis)."""
    y = np.arange(n)
    count = np.zeros(n, dtype=np.int64)
    for d in range(-2 * r, 2 * r + 1):
        j = y + d
        ok = (j >= 0) & (j < n)
        ok &= np.maximum(np.maximum(y, j) - r, r) <= np.minimum(np.minimum(y, j) + r, n - 1 - r)
        count += ok
    return count


def _row_counts(H, W, r):
    """Non-zeros per row of L: sharing a window is separable in y and x."""
    return np.outer(_shared_1d(H, r), _shared_1d(W, r)).ravel()


@njit(parallel=True, cache=True, nogil=True)
def _fill_csr(I, mu, A, r, indptr, indices, data):
    """Rows of L in gather form: for pixel i, every interior window k holding it contributes
    delta_ij - (1 + (I_i - mu_k)^T A_k (I_j - mu_k)) / |w| to each pixel j of the window; A_k (I_i - mu_k)
    is formed once per (i, k), the contributions summed in a dense (4r+1)^2 patch around i, and
    the patch's entries that share a window with i written out in row-major order."""
    _, H, W = I.shape
    R = 2 * r
    P = 2 * R + 1
    nw = (2 * r + 1) ** 2
    for y in prange(H):
        acc = np.empty((P, P))
        for x in range(W):
            for u in range(P):
                for v in range(P):
                    acc[u, v] = 0.0
            i0 = I[0, y, x]
            i1 = I[1, y, x]
            i2 = I[2, y, x]
            for ky in range(max(y - r, r), min(y + r, H - 1 - r) + 1):
                for kx in range(max(x - r, r), min(x + r, W - 1 - r) + 1):
                    m0 = mu[0, ky, kx]
                    m1 = mu[1, ky, kx]
                    m2 = mu[2, ky, kx]
                    u0 = i0 - m0
                    u1 = i1 - m1
                    u2 = i2 - m2
                    w0 = A[0, ky, kx] * u0 + A[1, ky, kx] * u1 + A[2, ky, kx] * u2
                    w1 = A[1, ky, kx] * u0 + A[3, ky, kx] * u1 + A[4, ky, kx] * u2
                    w2 = A[2, ky, kx] * u0 + A[4, ky, kx] * u1 + A[5, ky, kx] * u2
                    for yj in range(ky - r, ky + r + 1):
                        for xj in range(kx - r, kx + r + 1):
                            acc[yj - y + R, xj - x + R] -= (1.0 + w0 * (I[0, yj, xj] - m0) + w1 * (I[1, yj, xj] - m1)
                                                           + w2 * (I[2, yj, xj] - m2)) / nw
                    acc[R, R] += 1.0
            # the entries that share an interior window with pixel (y, x): along each axis the
            # window centres between max(y, yj) - r and min(y, yj) + r must fit inside
            t = indptr[y * W + x]
            for yj in range(max(0, y - R), min(H, y + R + 1)):
                if max(max(y, yj) - r, r) > min(min(y, yj) + r, H - 1 - r):
                    continue
                for xj in range(max(0, x - R), min(W, x + R + 1)):
                    if max(max(x, xj) - r, r) <= min(min(x, xj) + r, W - 1 - r):
                        indices[t] = yj * W + xj
                        data[t] = acc[yj - y + R, xj - x + R]
                        t += 1


@njit(parallel=True, cache=True, nogil=True)
def _diagonal(I, mu, A, r, out):
    _, H, W = I.shape
    for y in prange(H):
        for x in range(W):
            out[y, x] = _entry(I, mu, A, r, y, x, y, x, H, W)


class MattingWindows:
    """Window statistics of a guide image for the matting Laplacian, computed once.

    Parameters
    ----------
    guide : ndarray, (H, W) or (H, W, 3)
        uint8, uint16 or float in [0, 1] (checked as every image of the package). A grey guide is stored as the colour image (g, 0, 0): the two empty
        channels drop out of Eq. 11, which leaves exactly the grey-level Laplacian.
    radius : int
        Window radius r (windows are (2r+1)^2; Levin's 3x3 is r = 1).
    eps : float
        Regularisation epsilon of Levin et al.

    Notes
    -----
    Only windows lying wholly inside the image are used, as in Levin et al.'s code and pymatting.

    Examples
    --------
    The Laplacian's product without the matrix, and the matrix, agree; constants are in its null
    space:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> windows = MattingWindows(rng.random((12, 10, 3)), radius=1, eps=1e-3)
    >>> p = rng.random((12, 10))
    >>> bool(np.allclose(windows.matvec(p), (windows.to_sparse() @ p.ravel()).reshape(12, 10)))
    True
    >>> bool(np.allclose(windows.matvec(np.ones((12, 10))), 0))
    True
    """

    def __init__(self, guide: np.ndarray, radius: int = 1, eps: float = 1e-7):
        g = as_image(guide, name="guide", min_side=1, copy=False)  # only read
        radius = check_int(radius, "radius", minimum=1)
        eps = check_positive(eps, "eps")
        if g.ndim == 2:
            g = np.stack([g, np.zeros_like(g), np.zeros_like(g)], axis=2)
        H, W = g.shape[:2]
        if H < 2 * radius + 1 or W < 2 * radius + 1:
            raise ValueError(f"the image ({H}x{W}) is smaller than one {2 * radius + 1}x{2 * radius + 1} "
                             f"window: use a smaller radius or a larger image")
        self.shape = (H, W)
        self.radius = radius
        self.eps = eps
        self.I = np.ascontiguousarray(np.moveaxis(g, -1, 0))
        r = self.radius
        prods = np.empty((6, H, W))
        k = 0
        for c in range(3):
            for d in range(c, 3):
                prods[k] = self.I[c] * self.I[d]
                k += 1
        S1 = np.empty((3, H, W))
        S2 = np.empty((6, H, W))
        box_sum_into(self.I, r, S1)
        box_sum_into(prods, r, S2)
        self.mu = np.empty((3, H, W))
        self.A = np.empty((6, H, W))
        _window_stats(self.I, S1, S2, r, self.eps, self.mu, self.A)
        inside = np.zeros((1, H, W))
        inside[0, r:H - r, r:W - r] = 1.0
        self.counts = np.empty((1, H, W))
        box_sum_into(inside, r, self.counts)
        self.counts = self.counts[0]
        self._q = np.empty((4, H, W))
        self._s = np.empty((4, H, W))
        self._zero = np.zeros((H, W))

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    def matvec(self, p: np.ndarray, diag_add: np.ndarray | None = None,
               out: np.ndarray | None = None) -> np.ndarray:
        """Return (L + diag(diag_add)) p for p of shape (H, W) or (H*W,), in the shape of p."""
        shape = p.shape
        p2 = np.ascontiguousarray(p, dtype=np.float64).reshape(self.shape)
        d = self._zero if diag_add is None else diag_add.reshape(self.shape)
        res = np.empty(self.shape) if out is None else out.reshape(self.shape)
        _fill_products(self.I, p2, self._q)
        box_sum_into(self._q, self.radius, self._s)
        _window_coefficients(self._s, self.mu, self.A, self.radius, self._q)
        box_sum_into(self._q, self.radius, self._s)
        _assemble_product(self.I, p2, self.counts, self._s, d, res)
        return res.reshape(shape)

    def diagonal(self) -> np.ndarray:
        """The diagonal of L as an (H, W) array."""
        out = np.empty(self.shape)
        _diagonal(self.I, self.mu, self.A, self.radius, out)
        return out

    def to_sparse(self) -> sp.csr_matrix:
        """The explicit Laplacian as an (N, N) CSR matrix (N = H W)."""
        H, W = self.shape
        n = H * W
        counts = _row_counts(H, W, self.radius)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        indices = np.empty(indptr[-1], dtype=np.int64)
        data = np.empty(indptr[-1])
        _fill_csr(self.I, self.mu, self.A, self.radius, indptr, indices, data)
        return sp.csr_matrix((data, indices, indptr), shape=(n, n))

"""Multigrid V-cycles on the image grid, used as CG preconditioners.

Two hierarchies share one V-cycle (Gauss-Seidel forward before the coarse correction, backward
after, so the preconditioner is symmetric as CG needs; Galerkin coarse operators ``P^T A P``;
the coarsest level factorised once):

- :class:`MultigridPreconditioner`: geometric, bilinear prolongation, the grid halved per level.
  Fine for smooth operators; for the matting Laplacian with a small epsilon it needs hundreds of
  iterations, because the Laplacian's near-null space is not smooth: every function that is
  locally affine in the colours (1, R, G, B) costs almost nothing (Levin et al. 2008, Sec. 3).
- :class:`SmoothedAggregationPreconditioner`: aggregates of 6x6 pixels (then 2x2 nodes), a
  tentative prolongator that reproduces exactly those near-null vectors on every aggregate
  (orthonormalised per aggregate), smoothed by one damped Jacobi step (Vanek, Mandel & Brezina
  1996). This is the one the propagator uses.

The hierarchies tried and not adopted, and the measurements behind the defaults, are in
``benchmarks/design-notes.md``.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from ..kernels.multigrid import SMOOTHER_BLOCKS, aggregate_qr, gauss_seidel, inner_rows
from ..kernels.sparse import galerkin, matmat, residual, spmv
from .cg import norm



def _interp_1d(n: int) -> sp.csr_matrix:
    nc = (n + 1) // 2
    rows, cols, vals = [], [], []
    for i in range(n):
        if i % 2 == 0:
            rows.append(i); cols.append(i // 2); vals.append(1.0)
        else:
            lo, hi = (i - 1) // 2, (i + 1) // 2
            if hi < nc:
                rows += [i, i]; cols += [lo, hi]; vals += [0.5, 0.5]
            else:
                rows.append(i); cols.append(lo); vals.append(1.0)
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, nc))


def prolongation(shape) -> tuple[sp.csr_matrix, tuple[int, int]]:
    """Bilinear prolongation from the (ceil(H/2), ceil(W/2)) grid to the (H, W) grid."""
    H, W = shape
    P = sp.kron(_interp_1d(H), _interp_1d(W), format="csr")
    return P, ((H + 1) // 2, (W + 1) // 2)


class MultigridPreconditioner:
    """V-cycle approximation of A^-1 for a symmetric positive definite grid operator A (CSR).

    Parameters
    ----------
    A : scipy.sparse matrix, (H W, H W)
    shape : (H, W)
    coarsest : int
        Stop coarsening when a level has at most this many unknowns; it is factorised exactly.
    sweeps : int
        Gauss-Seidel sweeps before and after each coarse correction.
    """

    def __init__(self, A, shape, *, coarsest: int = 4000, sweeps: int = 1, max_levels: int = 12):
        self.sweeps = int(sweeps)
        self.levels = []  # (A, P, diag(A)) per level, fine to coarse
        self._PT = []  # P^T as CSR per level
        A = sp.csr_matrix(A)
        while A.shape[0] > coarsest and len(self.levels) < max_levels and min(shape) > 2:
            P, cshape = prolongation(shape)
            self.levels.append((A, P, A.diagonal().copy()))
            self._PT.append(sp.csr_matrix(P.T))
            A = galerkin(A, P, self._PT[-1])
            shape = cshape
        self.coarse_shape = shape
        self.coarse_matrix = sp.csc_matrix(A)
        self.coarse = spla.splu(self.coarse_matrix)
        self._prepare()

    def update_diagonal(self, delta: np.ndarray) -> None:
        """Follow a change of the finest operator's diagonal, A <- A + diag(delta) (a new mask or
        new weights of the data term), without rebuilding: every coarse operator gets the
        Galerkin image of the change, A_{l+1} += P_l^T dA_l P_l, and the coarsest is
        factorised again. The prolongators stay those of the first operator. The work follows
        the changed pixels (a scribble touches few), far less than a new hierarchy."""
        delta = np.asarray(delta, dtype=np.float64).ravel()
        dA = sp.diags(delta).tocsr()
        dA.eliminate_zeros()
        if dA.nnz == 0:
            return
        levels = []
        for (A, P, _), PT in zip(self.levels, self._PT):
            A = (A + dA).tocsr()
            levels.append((A, P, A.diagonal().copy()))
            dA = galerkin(dA, P, PT)
            dA.eliminate_zeros()
        self.levels = levels
        self._inner = [inner_rows(A, bd) for (A, _, _), bd in zip(self.levels, self._bounds)]
        self.coarse_matrix = (self.coarse_matrix + dA).tocsc()
        self.coarse = spla.splu(self.coarse_matrix)

    def _prepare(self):
        """Thread blocks for the smoother, once per hierarchy (the transposed prolongators
        ``_PT`` are made while the levels are built)."""
        self._bounds = [np.linspace(0, A.shape[0], SMOOTHER_BLOCKS + 1).astype(np.int64)
                        for A, _, _ in self.levels]
        self._inner = [inner_rows(A, bd) for (A, _, _), bd in zip(self.levels, self._bounds)]

    def _cycle(self, level: int, b: np.ndarray) -> np.ndarray:
        if level == len(self.levels):
            return self.coarse.solve(b)
        A, P, d = self.levels[level]
        bounds, inner = self._bounds[level], self._inner[level]
        x = np.zeros_like(b)
        work = np.empty_like(b)
        for _ in range(self.sweeps):
            gauss_seidel(A, d, x, b, forward=True, bounds=bounds, inner=inner, work=work)
        r = residual(A, x, b)
        x += spmv(P, self._cycle(level + 1, spmv(self._PT[level], r)))
        for _ in range(self.sweeps):
            gauss_seidel(A, d, x, b, forward=False, bounds=bounds, inner=inner, work=work)
        return x

    def __call__(self, r: np.ndarray) -> np.ndarray:
        return self._cycle(0, np.ascontiguousarray(r, dtype=np.float64))


def _spectral_radius_DinvA(A, d, iters=15, seed=0):
    x = np.random.default_rng(seed).standard_normal(A.shape[0])
    lam = 1.0
    for _ in range(iters):
        y = spmv(A, x) / d
        lam = norm(y) / max(norm(x), 1e-300)
        x = y / max(norm(y), 1e-300)
    return lam


class SmoothedAggregationPreconditioner(MultigridPreconditioner):
    """Smoothed-aggregation multigrid for a grid operator with near-null vectors ``B`` (N, k).

    For the matting Laplacian ``B = [1, R, G, B]`` (or ``[1, I]`` for grey guides).

    Parameters
    ----------
    A : sparse (N, N), symmetric positive definite
    shape : (H, W) of the image grid
    B : ndarray (N, k), near-null vectors
    coarsest : int
        Levels with at most this many unknowns are factorised exactly.
    sweeps : int
        Hybrid Gauss-Seidel sweeps before and after each coarse correction.
    rel_tol : float
        A near-null vector whose remainder on an aggregate falls below this fraction of its
        norm is dropped there (e.g. a colour constant over the aggregate).
    fine_agg, coarse_agg : int
        Aggregates are ``fine_agg`` x ``fine_agg`` pixels on the finest level, ``coarse_agg`` x
        ``coarse_agg`` nodes above. A smoothed prolongator reaches 2 pixels beyond its
        aggregate, so the next operator couples aggregates up to 6 pixels apart: with 6x6
        aggregates those are the 9 around each (36 entries per row), with 5x5 the 25 around
        (98 entries per row). 6x6 takes more but cheaper iterations and a shorter set-up
        (measurements: ``benchmarks/design-notes.md``).
    p_drop, p_drop_from : float, int
        From level ``p_drop_from`` on, prolongator entries below ``p_drop`` times their row's
        largest are dropped. Smoothing makes every level's operator denser than the one below;
        filtering the coarse prolongators holds the growth back at the same CG iteration count
        and with a shorter set-up (``benchmarks/design-notes.md``).
    """

    def __init__(self, A, shape, B, *, coarsest: int = 3000, sweeps: int = 1, max_levels: int = 10,
                 rel_tol: float = 1e-4, coarse_agg: int = 2, p_drop: float = 0.02, p_drop_from: int = 1,
                 fine_agg: int = 6):
        self.coarse_agg = int(coarse_agg)
        self.sweeps = int(sweeps)
        self.levels = []
        self._PT = []
        A = sp.csr_matrix(A)
        B = np.ascontiguousarray(B, dtype=np.float64)
        Hn, Wn = shape
        node_of_dof = np.arange(A.shape[0])
        a = int(fine_agg)
        while A.shape[0] > coarsest and len(self.levels) < max_levels and max(Hn, Wn) > 1:
            Ha, Wa = -(-Hn // a), -(-Wn // a)
            ny, nx = np.divmod(node_of_dof, Wn)
            agg = (ny // a) * Wa + (nx // a)
            order = np.argsort(agg, kind="stable")
            starts = np.searchsorted(agg[order], np.arange(Ha * Wa + 1))
            rows, cols, vals, Bc = aggregate_qr(order, starts, B, rel_tol)
            nc = len(Bc)
            if nc >= A.shape[0]:
                break  # no coarsening left
            T = sp.csr_matrix((vals, (rows, cols)), shape=(A.shape[0], nc))
            d = A.diagonal().copy()
            omega = 4.0 / (3.0 * _spectral_radius_DinvA(A, d))
            AT = matmat(A, T)
            AT.data *= np.repeat(omega / d, np.diff(AT.indptr))
            P = (T - AT).tocsr()
            if p_drop > 0 and len(self.levels) >= p_drop_from:
                P = _filter_rows(P, p_drop)
            self.levels.append((A, P, d))
            self._PT.append(sp.csr_matrix(P.T))
            A = galerkin(A, P, self._PT[-1])
            B = np.ascontiguousarray(Bc)
            node_of_dof = _coarse_nodes(agg, rows, cols, nc)
            Hn, Wn = Ha, Wa
            a = self.coarse_agg
        self.coarse_shape = (Hn, Wn)
        self.coarse_matrix = sp.csc_matrix(A)
        self.coarse = spla.splu(self.coarse_matrix)
        self._prepare()


def _coarse_nodes(agg, rows, cols, nc):
    """The aggregate (next level's node) of every coarse dof."""
    out = np.empty(nc, np.int64)
    out[cols] = agg[rows]
    return out


def _filter_rows(P, theta):
    """Drop the entries of each row below theta times the row's largest magnitude."""
    P = P.tocsr()
    mag = np.abs(P.data)
    rows = np.repeat(np.arange(P.shape[0]), np.diff(P.indptr))
    rowmax = np.zeros(P.shape[0])
    np.maximum.at(rowmax, rows, mag)
    keep = mag >= theta * rowmax[rows]
    indptr = np.zeros(P.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[keep], minlength=P.shape[0]), out=indptr[1:])
    return sp.csr_matrix((P.data[keep], P.indices[keep], indptr), shape=P.shape)

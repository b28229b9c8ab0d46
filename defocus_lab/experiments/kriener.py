"""Kriener, Binder & Wille (2013): the numbers behind notebook 04.

- :func:`convergence_curves`: Fig. 6, MSE against CPU time for the direct (full-resolution) and
  the accelerated (half-resolution + guided upsampling) propagation, every iteration count of
  one CG run recorded through its callback (so a curve costs one solve, not one per point).
- :func:`propagation_table`: seconds, iterations, peak memory and error of every propagation
  we can run here (ours at full and reduced resolution, pymatting's CG when installed, scipy's
  direct solver), on this machine, beside the paper's 34 s / 5 s.
"""
from __future__ import annotations

import time
import warnings

import numpy as np
import scipy.sparse as sp

from .._cache import cached
from .._cancel import checkpoint
from ..estimate.kriener import METHOD as KRIENER2013
from ..estimate.zhuo_sim import METHOD as ZHUO2011
from ..propagate.cg import ConvergenceWarning
from ..propagate.matting import MattingSolver
from ._measure import PeakRSS

PAPER_SECONDS = {"direct": 34.0, "accelerated": 5.0}  # Fig. 5 caption, 500 iterations, 800x536
# The Laplacian settings of the two papers' presets (defined beside their estimators), without
# the resolution: the experiments vary that themselves.
PAPER_SETTING = {k: KRIENER2013.options[k] for k in ("radius", "eps", "lam")}  # Sec. 2.3
EXACT_SETTING = {k: ZHUO2011.options[k] for k in ("radius", "eps", "lam")}  # Zhuo & Sim


def have_pymatting() -> bool:
    try:
        import pymatting  # noqa: F401
    except ImportError:
        return False
    return True


def pymatting_solve(image, values, mask, *, lam, eps, radius, tol=1e-6, maxiter=5000,
                    preconditioner="vcycle", callback=None):
    """pymatting's CG on (L + lam D) d = lam D values; returns (d, iterations, converged).

    ``preconditioner``: "vcycle" or "ichol" (pymatting's two). ``callback(x)`` per iteration.
    pymatting raises when ``maxiter`` is reached; the last iterate is returned instead."""
    from pymatting import cf_laplacian, cg, ichol, vcycle
    H, W = mask.shape
    L = cf_laplacian(image, epsilon=eps, radius=radius)
    dvec = lam * mask.ravel().astype(np.float64)
    A = (L + sp.diags(dvec)).tocsr()
    M = vcycle(A, (H, W)) if preconditioner == "vcycle" else ichol(A)
    count = [0]
    last = [np.zeros(H * W)]

    def cb(A_, x, *rest):
        checkpoint()  # pymatting's loop has none of its own (defocus_lab._cancel)
        count[0] += 1
        last[0] = x
        if callback is not None:
            callback(x)

    try:
        x = cg(A, dvec * values.ravel(), M=M, rtol=tol, maxiter=maxiter, callback=cb)
        converged = True
    except ValueError:  # "did not converge within maxiter iterations"
        x, converged = last[0].copy(), False
    return x.reshape(H, W), count[0], converged


def reference_solution(image, values, mask, *, lam, eps, radius, tol=1e-10):
    """The converged full-resolution solution (multigrid CG to ``tol``; the Fig. 6 baseline,
    where the paper took its direct method at 500 iterations)."""
    ms = MattingSolver(image, eps=eps, radius=radius, preconditioner="amg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        d, info = ms.solve(values, mask, lam=lam, tol=tol, maxiter=500)
    return d


def record_points(maxiter: int, n_points: int = 24) -> set:
    """The iteration counts at which :func:`convergence_curves` keeps a point: ``n_points``
    log-spaced counts from 1 to ``maxiter`` (fewer where they coincide)."""
    return set(np.unique(np.geomspace(1, maxiter, n_points).astype(int)).tolist())


CURVES = ("direct", "accelerated", "pymatting (V-cycle)")


def convergence_curves(image, values, mask, *, lam, eps, radius, reference=None, maxiter=500,
                       downsample=2, preconditioner="jacobi", n_points=24, pymatting=True, which=None,
                       budget=None) -> dict:
    """Fig. 6: {name: (seconds, mse)} for "direct", "accelerated" and, when installed and asked,
    "pymatting (V-cycle)".

    Each curve is one CG run to ``maxiter`` iterations (no tolerance stop) whose callback keeps
    the iterate at ``n_points`` log-spaced iteration counts. Time is measured from the start of
    the method (set-up included) with the callback's own time taken out; for the accelerated
    method the time of the final guided upsampling is added to every point, as every point
    would need it. MSE is against ``reference`` (default :func:`reference_solution`).
    ``which``: the names of :data:`CURVES` to compute (default all), e.g. the accelerated curve
    alone for a quick first look (the explorer's preview). ``budget`` (s): each of the lab's two
    runs stops after that long, set-up included, and its curve ends there (a partial curve, for
    a preview; pymatting's run has no such stop).
    """
    which = CURVES if which is None else tuple(which)
    unknown = set(which) - set(CURVES)
    if unknown:
        raise ValueError(f"which takes names from {CURVES}; got {sorted(unknown)}")
    if reference is None:
        reference = reference_solution(image, values, mask, lam=lam, eps=eps, radius=radius)
    keep = record_points(maxiter, n_points)
    curves = {}
    for name, ds in (("direct", 1), ("accelerated", downsample)):
        if name not in which:
            continue
        rec = _Recorder(keep, budget=budget)
        ms = MattingSolver(image, eps=eps, radius=radius, preconditioner=preconditioner, downsample=ds)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ms.solve(values, mask, lam=lam, tol=1e-300, maxiter=maxiter,
                     callback=lambda it, x, res: rec(x, it))
        up_time = 0.0
        mse = []
        for x in rec.shots:
            t = time.perf_counter()
            x = np.maximum(ms.upsample(x), 0.0)  # as solve() returns it
            up_time = time.perf_counter() - t
            mse.append(float(np.mean((x - reference) ** 2)))
        curves[name] = (np.asarray(rec.times) + up_time, np.asarray(mse))
    if pymatting and CURVES[2] in which and have_pymatting():
        rec = _Recorder(keep, shape=reference.shape)
        pymatting_solve(image, values, mask, lam=lam, eps=eps, radius=radius, tol=1e-300,
                        maxiter=maxiter, callback=rec)
        curves[CURVES[2]] = (np.asarray(rec.times), np.asarray(
            [float(np.mean((np.maximum(x, 0.0) - reference) ** 2)) for x in rec.shots]))
    return curves


class _Recorder:
    """A CG callback that keeps the iterate at the iteration counts in ``keep``, with the time
    since it was made; its own time (the copies) is left out of the later times."""

    def __init__(self, keep, shape=None, budget=None):
        self.keep, self.shape, self.budget = keep, shape, budget
        self.times, self.shots = [], []
        self.count = 0
        self._paused = 0.0
        self._t0 = time.perf_counter()

    def __call__(self, x, iteration=None):
        t = time.perf_counter()
        self.count = self.count + 1 if iteration is None else iteration
        if self.count in self.keep:
            self.times.append(t - self._t0 - self._paused)
            x = np.array(x, dtype=np.float64)  # a copy: CG updates its iterate in place
            self.shots.append(x if self.shape is None else x.reshape(self.shape))
        self._paused += time.perf_counter() - t
        return self.budget is not None and time.perf_counter() - self._t0 > self.budget  # True stops CG


METHODS = ("defocus_lab", "defocus_lab half", "pymatting V-cycle", "pymatting ichol", "scipy direct")


@cached()
def propagation_table(image, values, mask, *, lam, eps, radius, tol=1e-6, methods=METHODS,
                      reference=None, direct_max_pixels=400_000) -> list[dict]:
    """Run each propagation once here; rows of {method, seconds, iterations, peak_mb, max_err}.

    ``max_err`` is max |d - reference| (default: the converged solution). Methods that cannot
    run (pymatting not installed; scipy's direct solve above ``direct_max_pixels``) are left
    out with a row whose ``note`` says why. Memory is the resident-set growth sampled during the
    call (in a notebook the numbers include whatever Python keeps cached: a guide, not a budget).
    """
    if reference is None:
        reference = reference_solution(image, values, mask, lam=lam, eps=eps, radius=radius)
    H, W = mask.shape
    rows = []
    for m in methods:
        row = {"method": m}
        if m.startswith("pymatting") and not have_pymatting():
            rows.append({**row, "note": "pymatting not installed (pip install pymatting)"})
            continue
        if m == "scipy direct" and H * W > direct_max_pixels:
            rows.append({**row, "note": f"skipped above {direct_max_pixels} pixels (memory)"})
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            with PeakRSS() as mem:
                t = time.perf_counter()
                if m.startswith("defocus_lab"):
                    ms = MattingSolver(image, eps=eps, radius=radius, downsample=2 if m.endswith("half") else 1)
                    d, info = ms.solve(values, mask, lam=lam, tol=tol, maxiter=5000)
                    its = info.iterations
                elif m.startswith("pymatting"):
                    d, its, _ = pymatting_solve(image, values, mask, lam=lam, eps=eps, radius=radius,
                                                tol=tol, preconditioner="vcycle" if "V-cycle" in m else "ichol")
                    d = np.maximum(d, 0.0)  # clipped as ours are
                else:
                    ms = MattingSolver(image, eps=eps, radius=radius)
                    d, info = ms.solve(values, mask, lam=lam, solver="direct")
                    its = 0
                sec = time.perf_counter() - t
        rows.append({**row, "seconds": sec, "iterations": its, "peak_mb": mem.added / 2 ** 20,
                     "max_err": float(np.abs(d - reference).max())})
    return rows


def matrix_free_product(image, radii=(1, 3), *, eps: float = 1e-3, seed: int = 0) -> list[dict]:
    """The matting Laplacian product two ways on ``image``, per window radius: the explicit
    sparse matrix (built, then multiplied) against the box-filter product that never forms it.

    Rows of {radius, nnz_per_row, max_diff, build_s, box_filter_s, explicit_s}; the first
    product of each is run once untimed (it loads the compiled kernels). That the two agree is
    asserted in ``tests/test_kernels.py``; their speed at other sizes is
    ``benchmarks/bench_matting_product.py``."""
    from ..kernels.matting import MattingWindows
    p = np.random.default_rng(seed).random(np.shape(image)[:2])
    rows = []
    for r in radii:
        win = MattingWindows(image, radius=r, eps=eps)
        win.matvec(p)
        t = time.perf_counter()
        L = win.to_sparse()
        t_build = time.perf_counter() - t
        t = time.perf_counter()
        q_free = win.matvec(p)
        t_free = time.perf_counter() - t
        t = time.perf_counter()
        q_expl = (L @ p.ravel()).reshape(p.shape)
        t_expl = time.perf_counter() - t
        rows.append({"radius": r, "nnz_per_row": L.nnz / L.shape[0], "max_diff": float(np.abs(q_free - q_expl).max()),
                     "build_s": t_build, "box_filter_s": t_free, "explicit_s": t_expl})
    return rows

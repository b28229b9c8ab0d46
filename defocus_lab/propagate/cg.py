"""Preconditioned conjugate gradient with an honest convergence report."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from .._cancel import checkpoint


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """<a, b> over all entries, without BLAS.

    Notes
    -----
    NumPy's ``vdot`` and ``linalg.norm`` call OpenBLAS, whose threads keep spinning for a while
    after each call; on a small machine they then compete with numba's threads in the next
    multigrid cycle (a third slower per V-cycle on 2 cores: ``benchmarks/design-notes.md``).
    ``einsum`` sums in its own loop."""
    return float(np.einsum("i,i->", a.ravel(), b.ravel()))


def norm(a: np.ndarray) -> float:
    """Euclidean norm without BLAS (see :func:`dot`)."""
    return float(np.sqrt(dot(a, a)))


class ConvergenceWarning(UserWarning):
    """An iterative solve stopped at ``maxiter`` above its tolerance; the residual is in the text."""


@dataclass
class SolveInfo:
    """What a solve did: iterations, final relative residual, whether it met ``tol``, the
    relative residual after every iteration, and (matting) the factor the solve ran at below the
    image's resolution (1: full resolution)."""
    iterations: int
    residual: float
    converged: bool
    history: list = field(default_factory=list)
    downsample: int = 1


def pcg(matvec, b, *, precond=None, x0=None, tol=1e-6, maxiter=1000, callback=None, warn=True,
        hint="raise maxiter or tol"):
    """Solve A x = b for symmetric positive definite A given as ``matvec``.

    Stops when ||b - A x|| <= tol ||b||. Returns (x, SolveInfo). On non-convergence a
    :class:`ConvergenceWarning` names the residual reached and ends with ``hint`` (what the
    caller knows helps); the iterate is returned as it is.
    ``callback(iteration, x, relative_residual)`` is called after every iteration; returning True
    stops the solve early.
    """
    b = np.asarray(b, dtype=np.float64)
    x = np.zeros_like(b) if x0 is None else np.array(x0, dtype=np.float64).reshape(b.shape)
    bnorm = norm(b)
    if bnorm == 0.0:
        return np.zeros_like(b), SolveInfo(0, 0.0, True, [0.0])
    r = b - matvec(x)
    res = norm(r) / bnorm
    history = [res]
    if res <= tol:
        return x, SolveInfo(0, res, True, history)
    z = precond(r) if precond is not None else r
    p = z.copy()
    rz = dot(r, z)
    it = 0
    while it < maxiter:
        checkpoint()  # an explorer's refinement that a new change made obsolete stops here
        it += 1
        Ap = matvec(p)
        pAp = dot(p, Ap)
        if pAp <= 0.0:
            break  # the operator is not positive definite along p: report what we have
        alpha = rz / pAp
        x += alpha * p
        r -= alpha * Ap
        res = norm(r) / bnorm
        history.append(res)
        if callback is not None and callback(it, x, res):
            break
        if res <= tol:
            break
        z = precond(r) if precond is not None else r
        rz_new = dot(r, z)
        p *= rz_new / rz
        p += z
        rz = rz_new
    converged = res <= tol
    if not converged and warn:
        warnings.warn(f"conjugate gradient stopped after {it} iterations at relative residual {res:.3g} "
                      f"(tolerance {tol:.3g}): {hint}",
                      ConvergenceWarning, stacklevel=3)
    return x, SolveInfo(it, res, converged, history)

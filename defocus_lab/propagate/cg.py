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
    """An iterative solve stopped at ``maxiter`` above its tolerance; the residual is in the text.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> A = np.diag(np.arange(1.0, 50.0))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     x, info = pcg(lambda v: A @ v, np.ones(49), maxiter=3)
    >>> info.converged, caught[0].category is ConvergenceWarning
    (False, True)
    """


@dataclass
class SolveInfo:
    """What a solve did (the parameters are kept as attributes of the same names).

    Parameters
    ----------
    iterations : int
        The iterations run.
    residual : float
        The final relative residual ||b - A x|| / ||b||.
    converged : bool
        Whether it met the tolerance.
    history : list of float
        The relative residual before the first iteration and after each one.
    downsample : int
        The matting propagator's factor below the image's resolution that the solve ran at
        (1: full resolution).

    Examples
    --------
    >>> import numpy as np
    >>> _, info = pcg(lambda v: 2.0 * v, np.ones(3))
    >>> info.iterations, info.converged, len(info.history)
    (1, True, 2)
    """
    iterations: int
    residual: float
    converged: bool
    history: list = field(default_factory=list)
    downsample: int = 1


def pcg(matvec, b, *, precond=None, x0=None, tol=1e-6, maxiter=1000, callback=None, warn=True,
        hint="raise maxiter or tol"):
    """Solve A x = b for symmetric positive definite A given as ``matvec``.

    The preconditioned conjugate gradient, stopped when ||b - A x|| <= tol ||b||, or by
    ``callback``, or at ``maxiter``. It checks for cancellation once per iteration
    (:mod:`defocus_lab._cancel`: an explorer's obsolete refinement stops there).

    Parameters
    ----------
    matvec : callable
        ``matvec(x) -> A x`` for arrays of the shape of ``b`` (any shape: the solve works on
        the arrays as they are).
    b : ndarray
        The right-hand side.
    precond : callable, optional
        ``precond(r) -> M^-1 r``, symmetric positive definite (default: none).
    x0 : ndarray, optional
        The first iterate (default: zeros).
    tol : float
        The relative residual to reach.
    maxiter : int
        The iteration cap.
    callback : callable, optional
        ``callback(iteration, x, relative_residual)`` after every iteration; returning True
        stops the solve early (``converged`` then says whether ``tol`` was met).
    warn : bool
        Warn with a :class:`ConvergenceWarning` when ``maxiter`` is reached above ``tol``.
    hint : str
        The end of that warning: what the caller knows helps.

    Returns
    -------
    x : ndarray
        The last iterate (returned as it is when the solve did not converge).
    info : SolveInfo
        Iterations, residual, convergence and the residual history.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> x, info = pcg(lambda v: A @ v, np.array([1.0, 2.0]), tol=1e-10)
    >>> np.allclose(A @ x, [1.0, 2.0]), info.converged, info.iterations
    (True, True, 2)
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

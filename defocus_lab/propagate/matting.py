"""Propagation of sparse blur by the closed-form matting Laplacian (Zhuo & Sim 2011, Eqs. 10-12).

Minimises d^T L d + lambda (d - d_hat)^T D (d - d_hat), i.e. solves (L + lambda D) d = lambda D d_hat,
with L the matting Laplacian of Levin et al. (2008) and D the diagonal indicator of the mask.
"""
from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._validate import as_image, as_map, check_int, check_memory, check_positive, memory_budget
from ..kernels.matting import MattingWindows
from ..kernels.pyramid import decimate2, half_size, photo_factor  # noqa: F401  (Kriener's decimation; importable here too)
from ..kernels.sparse import spmv
from ..types import SparseBlur, as_sparse  # noqa: F401  (SparseBlur: the doctests)
from .cg import SolveInfo, pcg
from .multigrid import MultigridPreconditioner, SmoothedAggregationPreconditioner

SOLVERS = ("cg", "direct")
PRECONDITIONERS = ("auto", "amg", "amg3x3", "multigrid", "jacobi", "none")
DIRECT_MAX_PIXELS = 400_000
AUTO_MAX_PIXELS = 1 << 18  # downsample="auto": the coarse problem holds at most this many pixels

log = logging.getLogger("defocus_lab")


def matting(image, sparse, mask=None, *, lam: float = 0.005, eps: float = 1e-7, radius: int = 1,
            solver: str = "cg", preconditioner: str = "auto", tol: float = 1e-6,
            maxiter: int = 2000, x0=None, callback=None, downsample: int | str = 1,
            max_pixels: int | None = None, photo_above: int | None = None, weights=None,
            return_info: bool = False):
    """Fill a sparse map over the whole image with the matting Laplacian.

    Parameters
    ----------
    image : ndarray (H, W) or (H, W, 3)
        The guide (uint8, uint16 or float in [0, 1]).
    sparse : SparseBlur
        The sparse blur: ``values`` where ``mask`` is True (the diagonal of D), and its
        ``confidence`` (when set) as per-pixel weights of the data term. The array form
        ``matting(image, values, mask)`` is accepted as a convenience.
    mask : ndarray (H, W) bool, optional
        Only with the array form: where ``values`` are defined.
    lam : float
        Weight lambda of the data term (Zhuo & Sim: 0.005).
    eps : float
        Regularisation epsilon of the Laplacian (1e-7 in the authors' code).
    radius : int
        Window radius (1: 3x3 windows).
    solver : {"cg", "direct"}
        "cg": preconditioned conjugate gradient. With "amg" and "multigrid" the explicit
        Laplacian is built (the hierarchy needs it) and also serves the products; with
        "amg3x3", "jacobi" or "none" the product is matrix-free (box filters, O(N) memory).
        "direct": the explicit matrix factorised by SuperLU (exact; up to 0.4 MP, memory grows
        fast).
    preconditioner : {"auto", "amg", "amg3x3", "multigrid", "jacobi", "none"}
        For "cg". "auto" (default): "amg" for 3x3 windows, "amg3x3" for larger ones. "amg":
        smoothed-aggregation multigrid built on the Laplacian's near-null vectors (1, R, G, B),
        few iterations even at eps = 1e-7. "amg3x3": the same multigrid built on the 3x3-window
        Laplacian of the image (same eps and data term), preconditioning the matrix-free product
        of the larger windows: their explicit Laplacian has (4r+1)^2 entries per row (169 at
        r = 3) and costs more to build than it saves, while the 3x3 one (25) is cheap and close
        enough: Kriener's 7x7 setting on a 12 MP photo solved at 1/8 took 54 iterations and 9.7 s
        for the whole call, against 1291 iterations and 17.4 s with "jacobi"
        (``benchmarks/bench_photo_size.py --preconditioners``).
        "multigrid": geometric, bilinear; "jacobi": the diagonal (hundreds to thousands of
        iterations); see ``propagate.multigrid``.
    tol : float
        Relative residual ||b - A d|| / ||b|| at which CG stops.
    maxiter : int
        CG iteration cap; reaching it warns with the residual (:class:`ConvergenceWarning`).
    x0 : ndarray (H, W), optional
        Initial guess (a previous solution: warm start). Default: the mean of the sparse values.
    callback : callable, optional
        ``callback(iteration, d, relative_residual)``; return True to stop.
    downsample : int or "auto"
        1: solve at full resolution. 2, 4, ...: Kriener et al. (2013): the sparse map is
        downsampled by 2 per level (bicubic on values * mask and on mask, then normalised), the
        system solved at the coarsest size, and the solution brought back up by the guided fit of
        their Eqs. 7-8 over the defined pixels (21x21 windows, epsilon 0.01), one octave at a time.
        ``x0`` is then read at the coarse size. "auto": the smallest power of two that brings the
        problem to at most 2^18 pixels (1 up to 0.26 MP, 2 for 0.5 MP, 8 for 12 MP), the same as
        ``downsample=1, max_pixels=2**18``.
    max_pixels : int, optional
        Photo size: when the solve at ``downsample`` would hold more than this many pixels, the
        downsampling goes on by powers of two until it holds at most this many (see
        :func:`solve_downsample`).
    photo_above : int, optional
        With ``max_pixels``: images of at most this many pixels are solved at ``downsample``
        whatever ``max_pixels`` says (they are not photos). The presets use the pair so that a
        paper's setting, made for images of a fraction of a megapixel, scales to a 24 MP photo in
        linear time (:data:`defocus_lab.conventions.PHOTO_SIZE`): Zhuo & Sim at full resolution
        up to 0.52 MP (every RTF, CUHK and DUT image, the papers' photos), above at a fraction
        of at most 0.26 MP; Kriener at half resolution up to 1 MP, above at most 0.26 MP. The
        factor used is in the returned :class:`SolveInfo` (``downsample``) and in an INFO line
        of the ``defocus_lab`` logger when the size chose it.
    weights : ndarray (H, W), optional
        Per-pixel weights of the data term, multiplied with ``sparse.confidence`` when both are
        set: D = diag(mask * confidence * weights) (default 1). A user's scribbles, for example,
        get a large weight so that they hold like hard constraints.
    return_info : bool
        Also return a :class:`SolveInfo`.

    Returns
    -------
    ndarray (H, W) float64: the dense map, clipped at 0 (and the SolveInfo when asked).

    Raises
    ------
    ValueError
        Bad input (the message says how to fix the call); no sparse value with a positive weight;
        a problem larger than the memory budget (:func:`check_fits`, which names the options
        that fit).

    Notes
    -----
    Blur is never negative, but the solution of the quadratic problem can undershoot below the
    smallest sparse value beside strong colour edges (the Laplacian is not monotone): the
    returned map is clipped at 0. ``MattingSolver.last`` keeps the unclipped solve (the warm
    start of the next one).

    References
    ----------
    S. Zhuo and T. Sim, "Defocus map estimation from a single image", Pattern Recognition 44(9),
    2011, doi:10.1016/j.patcog.2011.03.009.
    A. Levin, D. Lischinski and Y. Weiss, "A closed-form solution to natural image matting",
    IEEE TPAMI 30(2), 2008, doi:10.1109/TPAMI.2007.1177.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((20, 20)); img[:, 10:] = 1.0
    >>> vals = np.zeros((20, 20)); mask = np.zeros((20, 20), bool)
    >>> vals[10, 2], mask[10, 2] = 1.0, True
    >>> vals[10, 17], mask[10, 17] = 3.0, True
    >>> d = matting(img, SparseBlur(vals, mask))
    >>> bool(abs(d[0, 0] - 1.0) < 0.05 and abs(d[19, 19] - 3.0) < 0.05)
    True
    """
    sparse = as_sparse(sparse, mask)
    ms = MattingSolver(image, eps=eps, radius=radius, preconditioner=preconditioner, downsample=downsample,
                       max_pixels=max_pixels, photo_above=photo_above)
    d, info = ms.solve(sparse, lam=lam, solver=solver, tol=tol, maxiter=maxiter, x0=x0,
                       callback=callback, weights=weights)
    return (d, info) if return_info else d


class MattingSolver:
    """Propagation on one image, keeping what does not change between solves.

    The window statistics, the explicit Laplacian and the multigrid hierarchy are built once and
    reused: a notebook slider that changes the sparse estimates (or a scribble that removes
    some) pays only for the CG iterations. The hierarchy is built for ``L + lam D`` of the first
    solve; a later mask, ``lam`` or ``weights`` changes only the diagonal, and the coarse
    operators take the Galerkin image of that change (work in proportion to the changed pixels)
    while the prolongators stay (a stale hierarchy would need several times the iterations:
    ``benchmarks/design-notes.md``). ``solve(..., warm=True)`` starts from the
    last solution.

    Parameters
    ----------
    image : ndarray (H, W) or (H, W, 3)
        The guide (uint8, uint16 or float in [0, 1]).
    eps, radius, preconditioner, downsample, max_pixels, photo_above :
        As in :func:`matting`.
    upsample_radius, upsample_eps : int, float
        The guided fit that brings a downsampled solve back up (Kriener et al.'s Eqs. 7-8):
        its window radius (px) and regularisation.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((24, 24)); img[:, 12:] = 1.0
    >>> vals = np.zeros((24, 24)); mask = np.zeros((24, 24), bool)
    >>> vals[5, 3], mask[5, 3], vals[20, 20], mask[20, 20] = 1.0, True, 2.0, True
    >>> ms = MattingSolver(img)
    >>> d, info = ms.solve(SparseBlur(vals, mask))
    >>> d2, info2 = ms.solve(SparseBlur(vals, mask), warm=True)
    >>> info2.iterations
    0
    """

    def __init__(self, image, *, eps: float = 1e-7, radius: int = 1, preconditioner: str = "auto",
                 downsample: int | str = 1, max_pixels: int | None = None, photo_above: int | None = None,
                 upsample_radius: int = 10, upsample_eps: float = 0.01):
        shape = np.shape(image)[:2]
        asked = 1 if downsample == "auto" else downsample
        downsample = solve_downsample(shape, downsample, max_pixels, photo_above)
        if downsample != asked:  # the size chose it: say so
            log.info("matting: the %dx%d image is solved at 1/%d (%dx%d): downsample=%r, max_pixels=%r",
                     shape[0], shape[1], downsample, -(-shape[0] // downsample), -(-shape[1] // downsample),
                     asked, max_pixels)
        self.downsample = downsample
        self.upsample_radius = check_int(upsample_radius, "upsample_radius", minimum=1)
        self.upsample_eps = check_positive(upsample_eps, "upsample_eps")
        self.full_image = as_image(image, copy=False)  # only read
        self.pyramid = [self.full_image]  # fine to coarse
        while 2 ** (len(self.pyramid) - 1) < downsample:
            self.pyramid.append(half_size(self.pyramid[-1]))
        self.image = self.pyramid[-1]
        self.eps = check_positive(eps, "eps")
        if preconditioner not in PRECONDITIONERS:
            raise ValueError(f"preconditioner must be one of {PRECONDITIONERS}; got {preconditioner!r}")
        self.radius = check_int(radius, "radius", minimum=1)
        self.preconditioner = resolve_preconditioner(preconditioner, self.radius)
        H, W = self.shape = self.image.shape[:2]
        side = 2 * self.radius + 1
        if min(H, W) < side:
            h, w = self.full_image.shape[:2]
            if downsample > 1:
                fix = (f"solved at 1/{downsample} size it is {H}x{W}, smaller than one {side}x{side} "
                       f"window (radius {self.radius}): use a smaller downsample (1 solves at full "
                       f"resolution) or a smaller radius")
            else:
                fix = (f"it is smaller than one {side}x{side} window (radius {self.radius}): use a "
                       f"smaller radius or a larger image")
            raise ValueError(f"the {h}x{w} image is too small for this propagation: {fix}")
        check_fits(self.full_image.shape[:2], radius=self.radius, preconditioner=self.preconditioner,
                   downsample=downsample)
        self.windows = MattingWindows(self.image, self.radius, self.eps)
        self._L = None
        self._proxy = None
        self._mg = None
        self._mg_dvec = None
        self._guide_planes = {}
        self.last = None

    def _planes(self, level):
        """The guide planes of a pyramid level, made once (the upsampling's guide never changes)."""
        from ..kernels.guided import guide_planes
        if level not in self._guide_planes:
            self._guide_planes[level] = guide_planes(self.pyramid[level])
        return self._guide_planes[level]

    @property
    def laplacian(self) -> sp.csr_matrix:
        """The explicit matting Laplacian (built on first use)."""
        if self._L is None:
            self._L = self.windows.to_sparse()
        return self._L

    def _hierarchy(self, A, dvec):
        """The multigrid for L + diag(dvec): built on the first solve; for a later data term
        (another mask, lambda or weights) the hierarchy follows the change of the diagonal
        (:meth:`MultigridPreconditioner.update_diagonal`) instead of being rebuilt."""
        if self._mg is None:
            H, W = self.shape
            if self.preconditioner in ("amg", "amg3x3"):
                nullvecs = np.concatenate([np.ones((H * W, 1)), self.image.reshape(H * W, -1)], axis=1)
                self._mg = SmoothedAggregationPreconditioner(A, (H, W), nullvecs)
            else:
                self._mg = MultigridPreconditioner(A, (H, W))
        else:
            self._mg.update_diagonal(dvec - self._mg_dvec)
        self._mg_dvec = dvec.copy()
        return self._mg

    def solve(self, sparse, mask=None, *, lam: float = 0.005, solver: str = "cg", tol: float = 1e-6,
              maxiter: int = 2000, x0=None, warm: bool = False, callback=None, weights=None):
        """Solve (L + lam D) d = lam D values for this sparse blur; returns (d, SolveInfo).

        ``sparse`` is a :class:`~defocus_lab.types.SparseBlur` (or ``values, mask`` arrays);
        its ``confidence`` and ``weights`` (optional, (H, W), >= 0) scale D per pixel (see
        :func:`matting`). With ``downsample`` > 1 the values, mask and weights are at full
        resolution, the system is solved at the coarse size (weights averaged over the kept
        pixels like the values) and the returned map is at full resolution again; ``self.last``
        holds the coarse solution (unclipped). The returned map is clipped at 0."""
        sparse = as_sparse(sparse, mask)
        full = self.full_image.shape[:2]
        if sparse.shape != full:
            raise ValueError(f"the sparse blur has shape {sparse.shape}; the image has {full}")
        vals, msk = sparse.values, sparse.mask
        wts = sparse.confidence
        if weights is not None:
            w = as_map(weights, full, name="weights")
            if w.min() < 0:
                raise ValueError("weights must be non-negative (confidence of each sparse value)")
            wts = w if wts is None else wts * w
        lam = check_positive(lam, "lam")
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}; got {solver!r}")
        if not msk.any():
            raise ValueError("the sparse blur has no value (its mask is empty): propagation needs at "
                             "least one")
        if wts is not None and not np.any(msk & (wts > 0)):
            raise ValueError("every sparse value has weight 0 (weights / confidence are 0 on the whole "
                             "mask): the data term is empty and the map would be all zeros; give some "
                             "values a positive weight")
        if len(self.pyramid) > 1:
            # values and weights go down together: one decimation of the mask per level
            stacked = vals if wts is None else np.stack([vals, wts], axis=-1)
            for _ in range(len(self.pyramid) - 1):
                stacked, msk = downsample_sparse(stacked, msk)
            vals, wts = (stacked, None) if wts is None else (stacked[..., 0], stacked[..., 1])
        d, info = self._solve(vals, msk, lam=lam, solver=solver, tol=tol, maxiter=maxiter, x0=x0,
                              warm=warm, callback=callback, weights=wts)
        info.downsample = self.downsample
        return np.maximum(self.upsample(d), 0.0), info

    def upsample(self, d: np.ndarray) -> np.ndarray:
        """A solution at the solve's size brought to full resolution (the guided fit of
        :func:`guided_upsample`, one octave at a time); unchanged when ``downsample`` is 1."""
        for level in range(len(self.pyramid) - 2, -1, -1):
            d = guided_upsample(d, self.pyramid[level], radius=self.upsample_radius, eps=self.upsample_eps,
                                planes=self._planes(level))
        return d

    def _solve(self, vals, msk, *, lam, solver, tol, maxiter, x0, warm, callback, weights=None):
        H, W = self.shape
        if not msk.any():
            raise ValueError(f"no sparse value survives downsampling by {self.downsample}: "
                             f"use a smaller downsample")
        dvec = lam * msk.astype(np.float64)
        if weights is not None:
            dvec *= weights
        b = dvec * vals
        if solver == "direct":
            if H * W > DIRECT_MAX_PIXELS:
                raise ValueError(f"solver='direct' is limited to {DIRECT_MAX_PIXELS} pixels (this image has "
                                 f"{H * W}); use solver='cg'")
            A = (self.laplacian + sp.diags(dvec.ravel())).tocsc()
            d = spla.spsolve(A, b.ravel()).reshape(H, W)
            info = SolveInfo(0, float(np.linalg.norm(A @ d.ravel() - b.ravel()) / np.linalg.norm(b)), True)
            self.last = d
            return d, info
        tol = check_positive(tol, "tol")
        maxiter = check_int(maxiter, "maxiter", minimum=1)
        if x0 is not None:
            x0 = as_map(x0, (H, W), name="x0")
        elif warm and self.last is not None:
            x0 = self.last
        else:
            x0 = np.full((H, W), vals[msk].mean())
        if self.preconditioner in ("amg", "multigrid"):
            A = (self.laplacian + sp.diags(dvec.ravel())).tocsr()
            mg = self._hierarchy(A, dvec.ravel())
            precond = lambda r: mg(r.ravel()).reshape(H, W)  # noqa: E731
            matvec = lambda p: spmv(A, p.ravel()).reshape(H, W)  # noqa: E731  (the matrix exists)
        elif self.preconditioner == "amg3x3":
            if self._proxy is None:  # the 3x3-window Laplacian: what the hierarchy is built on
                self._proxy = MattingWindows(self.image, 1, self.eps).to_sparse()
            mg = self._hierarchy((self._proxy + sp.diags(dvec.ravel())).tocsr(), dvec.ravel())
            precond = lambda r: mg(r.ravel()).reshape(H, W)  # noqa: E731
            matvec = lambda p: self.windows.matvec(p, dvec)  # noqa: E731  (matrix-free: box filters)
        else:
            if self.preconditioner == "jacobi":
                inv = 1.0 / (self.windows.diagonal() + dvec)
                precond = lambda r: inv * r  # noqa: E731
            else:
                precond = None
            matvec = lambda p: self.windows.matvec(p, dvec)  # noqa: E731  (matrix-free: box filters)
        hint = "raise maxiter or tol"
        if self.preconditioner not in ("amg", "amg3x3"):
            hint += (f", or use preconditioner='amg' (tens of iterations even at eps 1e-7, where "
                     f"{self.preconditioner!r} needs hundreds to thousands)")
        d, info = pcg(matvec, b, precond=precond, x0=x0, tol=tol, maxiter=maxiter, callback=callback, hint=hint)
        self.last = d
        return d, info


def check_fits(shape, *, radius: int = 1, preconditioner: str = "auto", downsample: int | str = 1,
               max_pixels: int | None = None, photo_above: int | None = None, **_ignored) -> None:
    """Raise :class:`~defocus_lab._validate.TooLarge`, naming the options that fit, when a
    matting propagation of an image of ``shape`` (H, W) with these options would not fit in
    memory (:func:`estimated_bytes` against :func:`~defocus_lab._validate.memory_budget`).

    :class:`MattingSolver` calls it before building anything, and ``estimate_defocus`` before
    the estimator runs (``matting.preflight``), so that a photo too large for the machine is
    refused in a second, not after minutes of estimation. Other options are ignored."""
    h, w = int(shape[0]), int(shape[1])
    ds = solve_downsample((h, w), downsample, max_pixels, photo_above)
    r = check_int(radius, "radius", minimum=1)
    pc = resolve_preconditioner(preconditioner, r)
    budget = memory_budget()

    def need(d, p):
        return estimated_bytes((-(-h // d), -(-w // d)), r, p) + 100 * h * w
    if need(ds, pc) <= budget:
        return
    fit = ds
    while fit < 1 << 10 and need(fit, pc) > budget:
        fit *= 2
    check_memory(need(ds, pc), f"the matting propagation of a {h}x{w} image solved at "
                               f"{-(-h // ds)}x{-(-w // ds)} with the {pc!r} preconditioner",
                 f"solve at a lower resolution, downsample={fit} (Kriener et al.; or downsample='auto'; "
                 f"estimate_defocus: propagator_options={{'downsample': {fit}}}; CLI: -P downsample={fit}), "
                 f"or use the matrix-free preconditioner='jacobi' (~{need(ds, 'jacobi') / 2**30:.1f} GB, many "
                 f"more iterations)")


def resolve_preconditioner(preconditioner: str, radius: int) -> str:
    """``preconditioner="auto"``: "amg" for 3x3 windows, "amg3x3" (the multigrid of the 3x3
    Laplacian for the matrix-free product) for larger ones (see :func:`matting`); "amg3x3"
    with 3x3 windows is "amg"; any other value is returned as it is."""
    if preconditioner == "auto":
        return "amg" if radius == 1 else "amg3x3"
    return "amg" if preconditioner == "amg3x3" and radius == 1 else preconditioner


def solve_downsample(shape, downsample: int | str = 1, max_pixels: int | None = None,
                     photo_above: int | None = None) -> int:
    """The factor a matting solve on ``shape`` runs at: ``downsample`` (a power of two, or
    "auto" for ``1`` with ``max_pixels`` 2^18), raised by powers of two while the solve would
    hold more than ``max_pixels`` pixels (None: no bound), unless the image holds at most
    ``photo_above`` pixels."""
    if isinstance(downsample, str):
        if downsample != "auto":
            raise ValueError(f"downsample must be a power of two (1, 2, 4, ...) or 'auto'; got {downsample!r}")
        downsample, max_pixels = 1, AUTO_MAX_PIXELS if max_pixels is None else max_pixels
    downsample = check_int(downsample, "downsample", minimum=1)
    if downsample & (downsample - 1):
        raise ValueError(f"downsample must be a power of two (1, 2, 4, ...); got {downsample}")
    if max_pixels is None:
        return downsample
    max_pixels = check_int(max_pixels, "max_pixels", minimum=16)
    photo_above = None if photo_above is None else check_int(photo_above, "photo_above", minimum=0)
    return photo_factor(shape, max_pixels, downsample, photo_above)


# The keyword options a parameter sweep may set (defocus_lab.sweep routes each name by them;
# tests/test_sweep.py checks them against the signature).
matting.option_names = frozenset({"lam", "eps", "radius", "solver", "preconditioner", "tol", "maxiter", "downsample",
                                   "max_pixels", "photo_above"})
matting.preflight = check_fits  # what estimate_defocus asks before it estimates
matting.returns_info = True  # estimate_defocus(..., return_info=True) asks for the SolveInfo
matting.resolution = lambda shape, *, downsample=1, max_pixels=None, photo_above=None, **_: solve_downsample(
    shape, downsample, max_pixels, photo_above)


def estimated_bytes(shape, radius: int, preconditioner: str) -> int:
    """Peak memory of one solve at ``shape`` (bytes), from the peaks that
    ``benchmarks/bench_propagation.py`` measures (``benchmarks/design-notes.md``).

    With the explicit Laplacian (the multigrid preconditioners) the matrix, L + lam D, the
    hierarchy and their products hold about 72 bytes per stored entry, (4 r + 1)^2 entries per
    row; the matrix-free solve (box filters) keeps ~50 planes of float64 (window statistics,
    CG vectors). An estimate for refusing what cannot fit, not a promise."""
    n = int(shape[0]) * int(shape[1])
    per_pixel = 400
    if preconditioner in ("amg", "multigrid"):
        per_pixel += (4 * radius + 1) ** 2 * 72
    elif preconditioner == "amg3x3":
        per_pixel += 25 * 72  # the 3x3 Laplacian and its hierarchy
    return n * per_pixel


def downsample_sparse(values, mask, *, min_weight: float = 0.1):
    """Halve a sparse map (Kriener et al. 2013): bicubic decimation of values * mask and of mask,
    the ratio where the decimated mask exceeds ``min_weight`` (a decision: weaker support is
    noise). ``values`` is (H, W) or (H, W, k): k maps defined on the same mask."""
    m = mask.astype(np.float64)[..., None]
    vals = values.reshape(values.shape[:2] + (-1,))
    both = decimate2(np.concatenate([vals * m, m], axis=-1))  # one pass for the maps and the mask
    mm = both[..., -1:]
    keep = mm > min_weight
    out = np.where(keep, both[..., :-1] / np.where(keep, mm, 1.0), 0.0)
    return out.reshape(out.shape[:2] + values.shape[2:]), keep[..., 0]


def guided_upsample(low, guide, *, radius: int = 10, eps: float = 0.01, planes=None) -> np.ndarray:
    """Bring a map up one octave (Kriener et al. 2013, Eqs. 7-8): place it on every second pixel
    of the guide's grid and fit a_k . I + b_k over those pixels in each window.

    Exact for maps affine in the colours, except on a one-pixel seam beside colour edges: an
    unsampled pixel next to the edge also averages windows that saw only the other colour.
    ``planes``: the guide's :func:`~defocus_lab.kernels.guided.guide_planes`, when kept."""
    from ..kernels.guided import guided_filter
    H, W = guide.shape[:2]
    up = np.zeros((H, W))
    w = np.zeros((H, W))
    up[::2, ::2] = low[: (H + 1) // 2, : (W + 1) // 2]
    w[::2, ::2] = 1.0
    return guided_filter(guide, up, radius, eps, weights=w, planes=planes)

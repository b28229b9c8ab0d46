"""Defocus blur kernels as matrices: the feasible set of the blind deconvolution of "Removing
out-of-focus blur from a single image" (the lab's third paper, Eq. 4 and the projection of Alg. 1).

A defocus kernel k (d x d, d odd) is kept in

    Omega = {k : sum k = 1, k >= 0, rank(k) <= r0, k in O},

O the kernels unchanged by transposition and by the row and column flips. Those three maps
generate the 8 symmetries of the square, so O is the set fixed by all 8.

- :func:`symmetrize`: the mean of the 8 transforms of k. It is the orthogonal projection onto O
  (the average over a group of orthogonal maps), exact and idempotent. The paper writes a
  sequence of pairwise averages instead, which is neither; the lab takes the exact one.
- :func:`rank_rule`: the paper's adaptive r0, the number of singular values at least 1/30 of the
  largest.
- :func:`truncate_rank`: the best rank-r0 approximation (SVD). It keeps a kernel of O in O when
  the singular values at the cut are distinct: conjugating by a flip or transposing does not
  change the singular values, so the truncation commutes with the 8 symmetries.
- :func:`project_kernel`: onto Omega. The intersection has no closed-form projection; the lab
  alternates the exact steps (symmetrize, truncate to r0, clip at 0) until the clip changes
  nothing larger than ``tol`` (or ``sweeps`` are done), then normalises the sum. The result is
  exactly symmetric, non-negative and of sum 1; its rank is r0 up to the last clip, whose size
  :func:`project_kernel` returns (``info=True``). r0 comes from the symmetrised input by
  :func:`rank_rule` unless given. A kernel already in Omega (rank r0 given) comes back unchanged.
"""
from __future__ import annotations

import numpy as np

RANK_RATIO = 1.0 / 30.0  # the paper's rule: keep singular values >= 1/30 of the largest


def _square(k, name: str = "k") -> np.ndarray:
    k = np.asarray(k, dtype=np.float64)
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise ValueError(f"{name} must be a square (d, d) kernel; got shape {k.shape}")
    if not np.all(np.isfinite(k)):
        raise ValueError(f"{name} has NaN or infinite values")
    return k


def symmetrize(k) -> np.ndarray:
    """The mean of the 8 symmetries of the square applied to ``k`` (d, d): the orthogonal
    projection onto the symmetric kernels O (module docstring)."""
    k = _square(k)
    r = k + np.rot90(k, 1) + np.rot90(k, 2) + np.rot90(k, 3)
    return (r + r.T) / 8.0  # the 4 rotations, then each transposed: the 8 elements of the group


def rank_rule(k, ratio: float = RANK_RATIO) -> int:
    """The number of singular values of ``k`` at least ``ratio`` times the largest (0 for k = 0)."""
    s = np.linalg.svd(_square(k), compute_uv=False)
    if s[0] <= 0:
        return 0
    return int(np.sum(s >= ratio * s[0]))


TIE = 1e-8  # singular values closer than this (relative) are one value split by rounding


def truncate_rank(k, r0: int, *, whole_ties: bool = False, return_rank: bool = False):
    """The best approximation of ``k`` of rank at most ``r0`` (Eckart-Young: the SVD with all but
    the ``r0`` largest singular values set to 0).

    ``whole_ties``: when the cut splits a group of equal singular values (a symmetric kernel
    often has pairs), the whole group goes, so that the result is unique and stays in O (module
    docstring); the rank is then below ``r0``. If that would leave nothing, the group is kept
    whole instead (rank above ``r0``: the only symmetric choice left). ``return_rank``: also the
    number of singular values kept."""
    k = _square(k)
    if isinstance(r0, bool) or int(r0) < 0:
        raise ValueError(f"r0 must be a rank >= 0; got {r0!r}")
    u, s, vt = np.linalg.svd(k)
    r = min(int(r0), len(s))
    if whole_ties and 0 < r < len(s) and s[r] >= s[r - 1] * (1.0 - TIE):
        lo = r - 1
        while lo > 0 and s[lo - 1] <= s[lo] * (1.0 + TIE):
            lo -= 1
        if lo > 0:
            r = lo
        else:
            while r < len(s) and s[r] >= s[r - 1] * (1.0 - TIE):
                r += 1
    out = (u[:, :r] * s[:r]) @ vt[:r]
    return (out, r) if return_rank else out


def project_kernel(k, *, r0: int | None = None, ratio: float = RANK_RATIO, symmetric: bool = True,
                   low_rank: bool = True, sweeps: int = 200, tol: float = 1e-12, info: bool = False):
    """The projection onto the feasible set Omega (module docstring) of the kernel ``k`` (d, d).

    ``symmetric`` / ``low_rank`` False drop that constraint (the paper's ablations, Figs. 6-7).
    ``r0``: the rank bound; None takes :func:`rank_rule` of the symmetrised input.
    A kernel whose positive part is (almost) all zero (a gradient step can make one; below 1e-9 of
    the largest magnitude) has no feasible point near it; it becomes the centred delta (no
    blur), a point of Omega, and ``info`` says so.

    Returns the kernel (d, d), float64; with ``info=True`` also a dict: ``r0`` (the rank the last
    truncation kept: the bound asked, less where it would split a pair of equal singular values,
    more only where that pair is the largest, :func:`truncate_rank`), ``sweeps`` done,
    ``clip`` (the largest change of the last clip), ``rank_gap`` (a bound on the returned kernel's
    (r0 + 1)-th singular value that clip may leave: d clip / sum) and ``fallback`` (True when the
    delta was returned).
    """
    k = _square(k)
    d = k.shape[0]
    if symmetric:
        k = symmetrize(k)
    scale = float(np.abs(k).max())
    if low_rank and r0 is None:
        r0 = max(rank_rule(k, ratio), 1)
    done, clip, kept = 0, 0.0, r0
    for done in range(1, max(int(sweeps), 1) + 1):
        if low_rank:
            k, kept = truncate_rank(k, r0, whole_ties=symmetric, return_rank=True)
            if symmetric:  # only rounding moves a kernel of O truncated without splitting a tie out of O
                k = symmetrize(k)
        neg = np.minimum(k, 0.0)
        clip = float(-neg.min()) if neg.size else 0.0
        clip = max(clip, 0.0)
        k = k - neg
        if clip <= tol * max(float(np.abs(k).max()), 1e-300) or not low_rank:
            break
    total = float(k.sum())
    fallback = total <= 1e-9 * scale  # (almost) nothing positive left: normalising would blow up noise
    if fallback:
        k = np.zeros((d, d))
        k[d // 2, d // 2] = 1.0
    else:
        k = k / total
    if info:
        # the last clip changed each entry by at most `clip`: the kernel before it had rank <= r0, so
        # its (r0 + 1)-th singular value is at most the clip's spectral norm <= d clip (Weyl), scaled
        gap = 0.0 if fallback or not low_rank else d * clip / total
        return k, {"r0": kept if low_rank else None, "sweeps": done, "clip": clip, "rank_gap": gap,
                   "fallback": fallback}
    return k


def gaussian_kernel(sigma: float, size: int | None = None) -> np.ndarray:
    """A normalised isotropic Gaussian of ``sigma`` px sampled on a size x size grid (size odd;
    default the tight box 2 ceil(3 sigma) + 1). sigma 0 is the 1x1 identity."""
    sigma = float(sigma)
    if not np.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma must be a finite number >= 0; got {sigma}")
    if size is None:
        size = 2 * int(np.ceil(3.0 * sigma)) + 1
    if size % 2 == 0 or size < 1:
        raise ValueError(f"size must be a positive odd number; got {size}")
    if sigma == 0:
        k = np.zeros((size, size))
        k[size // 2, size // 2] = 1.0
        return k
    x = np.arange(size) - size // 2
    g = np.exp(-x ** 2 / (2.0 * sigma ** 2))
    k = np.outer(g, g)
    return k / k.sum()


"""Propagation by the depth-edge-aware domain transform (Karaali, Harte & Jung 2022, Sec. III-C).

The dense map is a normalised edge-aware filtering of the sparse one (their Eq. 1),

    B = RF(values * mask) / RF(mask),

where RF is the recursive domain-transform filter (:func:`defocus_lab.kernels.domain_transform.
recursive_filter`) guided by a simplified copy of the image (the image filtered by the same
filter guided by itself: sigma_s 7, sigma_r 0.5, 5 iterations) and with the penalty psi added to
the transform at depth edges, so that blur does not flow between objects. The authors' code uses
sigma_s = min(H, W) / 8, sigma_r = 3.75, 5 iterations and psi = 20 (the paper prints 100).

Numerator and denominator are filtered together (two planes of one call). Far from every
defined pixel behind depth edges the denominator can underflow; such pixels (weight below
``1e-12`` of the largest) take the value of the same propagation without the penalty, and a
:class:`UserWarning` says how many there were (the authors' code returns NaN there).
"""
from __future__ import annotations

import warnings

import numpy as np

from .._validate import as_image, as_mask, check_int, check_positive
from ..kernels.domain_transform import recursive_filter
from ..types import SparseBlur, as_sparse  # noqa: F401  (SparseBlur: the doctest)

WEAK = 1e-12


def simplified_guide(image, *, sigma_s: float = 7.0, sigma_r: float = 0.5, iterations: int = 5) -> np.ndarray:
    """The image filtered by the domain transform guided by itself (the authors' guide)."""
    img = as_image(image, copy=False)  # only read
    return recursive_filter(img, sigma_s=sigma_s, sigma_r=sigma_r, iterations=iterations)


def domain_transform(image, sparse, mask=None, *, depth_edges=None, psi: float = 20.0,
                     sigma_s: float | None = None, sigma_r: float = 3.75, iterations: int = 5,
                     guide_sigma_s: float = 7.0, guide_sigma_r: float = 0.5, guide_iterations: int = 5,
                     guide=None) -> np.ndarray:
    """Dense map by normalised domain-transform filtering of the sparse values.

    Parameters
    ----------
    image : ndarray (H, W, 3) or (H, W)
        The image, float in [0, 1] (uint8 and uint16 are scaled).
    sparse : SparseBlur
        Sparse blur (any unit; the output has the same): ``values`` where ``mask`` is True
        (Karaali: the pattern edges) and ``depth_edges``. ``confidence`` is not used. The array
        form ``domain_transform(image, values, mask)`` is accepted as a convenience.
    mask : ndarray (H, W) bool, optional
        Only with the array form: where ``values`` are defined.
    depth_edges : ndarray (H, W) bool, optional
        Where the transform is penalised by ``psi`` (Karaali: E-NET's depth edges); default
        ``sparse.depth_edges``.
    psi : float
        Depth-edge penalty (authors' code 20, paper 100; 0 turns it off).
    sigma_s : float, optional
        Spatial standard deviation; default min(H, W) / 8.
    sigma_r : float
        Range standard deviation, in units of the guide (images in [0, 1]).
    iterations : int
        Passes of the recursive filter (Gastal & Oliveira: each pass with a smaller spatial
        sigma, together making ``sigma_s``).
    guide_sigma_s, guide_sigma_r, guide_iterations :
        The self-guided pre-smoothing of the image that becomes the guide.
    guide : ndarray, optional
        A ready guide (skips the pre-smoothing; what sliders reuse).

    Returns
    -------
    ndarray (H, W) float64
        The dense map, in the sparse values' unit.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((40, 40, 3)); img[:, 20:] = 1.0
    >>> vals = np.zeros((40, 40)); mask = np.zeros((40, 40), bool)
    >>> mask[20, 5], vals[20, 5] = True, 1.0
    >>> mask[20, 35], vals[20, 35] = True, 3.0
    >>> d = domain_transform(img, SparseBlur(vals, mask))
    >>> bool(abs(d[0, 0] - 1) < 0.01 and abs(d[39, 39] - 3) < 0.01)
    True
    """
    sparse = as_sparse(sparse, mask)
    img = as_image(image, copy=False)  # only read
    H, W = img.shape[:2]
    if sparse.shape != (H, W):
        raise ValueError(f"the sparse blur has shape {sparse.shape}; the image has {(H, W)}")
    vals, m = sparse.values, sparse.mask
    if depth_edges is None:
        depth_edges = sparse.depth_edges
    else:
        depth_edges = as_mask(depth_edges, (H, W), name="depth_edges")
    if not m.any():
        raise ValueError("the sparse blur has no value (its mask is empty): there is nothing to propagate")
    if sigma_s is None:
        sigma_s = min(H, W) / 8.0
    sigma_s = check_positive(sigma_s, "sigma_s")
    iterations = check_int(iterations, "iterations", minimum=1)
    if guide is None:
        guide = simplified_guide(img, sigma_s=guide_sigma_s, sigma_r=guide_sigma_r,
                                 iterations=guide_iterations)
    elif np.shape(guide)[:2] != (H, W):
        raise ValueError(f"guide must have the image's height and width {(H, W)}; got {np.shape(guide)}")
    mf = m.astype(np.float64)
    stack = np.stack([np.where(m, vals, 0.0), mf], axis=-1)
    num, den = _filter(stack, guide, sigma_s, sigma_r, iterations, depth_edges, psi)
    weak = ~(den > WEAK * den.max())
    out = np.divide(num, den, out=np.zeros_like(num), where=~weak)
    if weak.any():
        if depth_edges is not None and psi > 0:
            n0, d0 = _filter(stack, guide, sigma_s, sigma_r, iterations, None, 0.0)
            fill = np.divide(n0, d0, out=np.zeros_like(n0), where=d0 > 0)
        else:
            fill = np.full((H, W), float(vals[m].mean()))
        out[weak] = fill[weak]
        warnings.warn(f"domain_transform: {int(weak.sum())} pixels are (nearly) unreachable from the "
                      f"sparse values and took the value of the propagation without depth-edge penalty "
                      f"(or the mean): lower psi or sigma_r, or raise sigma_s", UserWarning, stacklevel=2)
    return out


def _filter(stack, guide, sigma_s, sigma_r, iterations, depth_edges, psi):
    f = recursive_filter(stack, guide, sigma_s=sigma_s, sigma_r=sigma_r, iterations=iterations,
                         depth_edges=depth_edges, psi=psi)
    return f[..., 0], f[..., 1]


# The keyword options a parameter sweep may set (defocus_lab.sweep routes each name by them;
# tests/test_sweep.py checks them against the signature).
domain_transform.option_names = frozenset({"psi", "sigma_s", "sigma_r", "iterations", "guide_sigma_s", "guide_sigma_r",
                                            "guide_iterations"})

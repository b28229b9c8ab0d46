"""The piecewise-linear spline framelets of Daubechies, Han, Ron & Shen (2003): the analysis
operator W of the deblurring paper's l1 prior (its u-step solves an ADMM whose sub-problems are
diagonal in the Fourier domain, hence periodic boundaries here).

The three 1-D filters

    h0 = [1, 2, 1] / 4,   h1 = sqrt(2) / 4 [1, 0, -1],   h2 = [-1, 2, -1] / 4

satisfy |H0|^2 + |H1|^2 + |H2|^2 = cos^4 + 2 sin^2 cos^2 + sin^4 = 1 at every frequency (the
unitary extension principle), so their 9 tensor products h_i x h_j form a tight frame of 2-D
filters: W^T W = I. :func:`analysis` gives the 9 coefficient planes (the first, h0 x h0, is the
low-pass), :func:`synthesis` is W^T; both by FFT over the image's periodic extension, with each
filter centred on the pixel.
"""
from __future__ import annotations

import numpy as np

FILTERS_1D = (np.array([1.0, 2.0, 1.0]) / 4.0,
              np.sqrt(2.0) / 4.0 * np.array([1.0, 0.0, -1.0]),
              np.array([-1.0, 2.0, -1.0]) / 4.0)


def filters_2d() -> np.ndarray:
    """(9, 3, 3): the tensor products h_i x h_j, i the vertical and j the horizontal filter,
    (0, 0) first."""
    return np.array([np.outer(a, b) for a in FILTERS_1D for b in FILTERS_1D])


def transfer(shape) -> np.ndarray:
    """(9, H, W) complex: the FFTs of the 9 filters, each centred at pixel (0, 0) of an (H, W)
    periodic grid (so that filtering does not shift the image)."""
    H, W = shape
    if H < 3 or W < 3:
        raise ValueError(f"the image must be at least 3x3 for the 3x3 framelets; got {shape}")
    out = np.empty((9, H, W), complex)
    for n, f in enumerate(filters_2d()):
        grid = np.zeros((H, W))
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                grid[dy % H, dx % W] = f[dy + 1, dx + 1]
        out[n] = np.fft.fft2(grid)
    return out


def analysis(u, F=None) -> np.ndarray:
    """W u: (9, H, W) coefficients of the grey image ``u`` (H, W), periodic. ``F``: the
    :func:`transfer` of its shape, when already made (solvers reuse it)."""
    u = np.asarray(u, dtype=np.float64)
    if u.ndim != 2:
        raise ValueError(f"u must be a grey (H, W) image; got shape {u.shape}")
    F = transfer(u.shape) if F is None else F
    return np.real(np.fft.ifft2(F * np.fft.fft2(u)[None]))


def synthesis(c, F=None) -> np.ndarray:
    """W^T c: the (H, W) image of the (9, H, W) coefficients ``c`` (the adjoint of
    :func:`analysis`; with the tight frame, synthesis(analysis(u)) = u)."""
    c = np.asarray(c, dtype=np.float64)
    if c.ndim != 3 or c.shape[0] != 9:
        raise ValueError(f"c must be the (9, H, W) coefficients of analysis(); got shape {c.shape}")
    F = transfer(c.shape[1:]) if F is None else F
    return np.real(np.fft.ifft2(np.sum(np.conj(F) * np.fft.fft2(c), axis=0)))

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

:func:`analysis_direct` and :func:`synthesis_direct` compute the same two maps directly, in two
separable passes of 3-tap filters (36 multiply-adds a pixel for the 9 planes), numba-parallel over
rows. The deblurring's ADMM applies W and W^T once each per iteration: directly they cost about a
tenth of the 9 FFTs of the Fourier form at 0.5 MP, and the tight frame (sum |F_n|^2 = 1) means the
u-step's Fourier division never needs the filters' transfers at all.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

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


@njit(parallel=True, cache=True, nogil=True)
def _rows(u, taps, out):
    """out[j, y, x] = sum_d taps[j, d] u[y, (x - d + 1) mod W]: the horizontal pass (convolution)."""
    H, W = u.shape
    for y in prange(H):
        for j in range(taps.shape[0]):
            a, b, c = taps[j, 0], taps[j, 1], taps[j, 2]
            for x in range(W):
                xl = x - 1 if x > 0 else W - 1
                xr = x + 1 if x < W - 1 else 0
                out[j, y, x] = a * u[y, xr] + b * u[y, x] + c * u[y, xl]


@njit(parallel=True, cache=True, nogil=True)
def _columns(t, taps, out):
    """out[3 i + j, y, x] = sum_d taps[i, d] t[j, (y - d + 1) mod H, x]: the vertical pass."""
    _, H, W = t.shape
    for y in prange(H):
        yu = y - 1 if y > 0 else H - 1
        yd = y + 1 if y < H - 1 else 0
        for i in range(3):
            a, b, c = taps[i, 0], taps[i, 1], taps[i, 2]
            for j in range(3):
                for x in range(W):
                    out[3 * i + j, y, x] = a * t[j, yd, x] + b * t[j, y, x] + c * t[j, yu, x]


@njit(parallel=True, cache=True, nogil=True)
def _columns_adjoint(c, taps, out):
    """out[j, y, x] = sum_i sum_d taps[i, d] c[3 i + j, (y + d - 1) mod H, x]: the vertical pass of W^T."""
    _, H, W = c.shape
    for y in prange(H):
        yu = y - 1 if y > 0 else H - 1
        yd = y + 1 if y < H - 1 else 0
        for j in range(3):
            for x in range(W):
                acc = 0.0
                for i in range(3):
                    n = 3 * i + j
                    acc += taps[i, 0] * c[n, yu, x] + taps[i, 1] * c[n, y, x] + taps[i, 2] * c[n, yd, x]
                out[j, y, x] = acc


@njit(parallel=True, cache=True, nogil=True)
def _rows_adjoint(t, taps, out):
    """out[y, x] = sum_j sum_d taps[j, d] t[j, y, (x + d - 1) mod W]: the horizontal pass of W^T."""
    _, H, W = t.shape
    for y in prange(H):
        for x in range(W):
            xl = x - 1 if x > 0 else W - 1
            xr = x + 1 if x < W - 1 else 0
            acc = 0.0
            for j in range(3):
                acc += taps[j, 0] * t[j, y, xl] + taps[j, 1] * t[j, y, x] + taps[j, 2] * t[j, y, xr]
            out[y, x] = acc


_TAPS = np.ascontiguousarray(np.stack(FILTERS_1D))


def horizontal_pass(u, out=None) -> np.ndarray:
    """(3, H, W): the three 1-D filters along the rows of ``u`` (the first half of
    :func:`analysis_direct`; the ADMM's fused prior step does the second, kernels/admm.py)."""
    u = np.ascontiguousarray(u, dtype=np.float64)
    if u.ndim != 2 or min(u.shape) < 3:
        raise ValueError(f"u must be a grey (H, W) image of at least 3x3; got shape {u.shape}")
    out = np.empty((3,) + u.shape) if out is None else out
    _rows(u, _TAPS, out)
    return out


def analysis_direct(u) -> np.ndarray:
    """W u as :func:`analysis` gives it, by the direct separable passes (module docstring)."""
    t = horizontal_pass(u)
    out = np.empty((9,) + t.shape[1:])
    _columns(t, _TAPS, out)
    return out


def synthesis_direct(c, out=None, work=None) -> np.ndarray:
    """W^T c as :func:`synthesis` gives it, by the direct separable passes; ``out`` (H, W) and
    ``work`` (3, H, W) are buffers to reuse (a solver calls this every iteration)."""
    c = np.ascontiguousarray(c, dtype=np.float64)
    if c.ndim != 3 or c.shape[0] != 9 or min(c.shape[1:]) < 3:
        raise ValueError(f"c must be the (9, H, W) coefficients of analysis(); got shape {c.shape}")
    t = np.empty((3,) + c.shape[1:]) if work is None else work
    _columns_adjoint(c, _TAPS, t)
    out = np.empty(c.shape[1:]) if out is None else out
    _rows_adjoint(t, _TAPS, out)
    return out

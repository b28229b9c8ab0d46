"""Removing out-of-focus blur (the lab's third paper): the non-blind step of its alternating
scheme, the image u of one layer given its kernel k (issue in progress: the kernel and c steps,
the layers and their composition come next).

The u-step minimises

    1/2 || m (k * u - f) ||^2 + lam || W u ||_1

over the whole grey image u, with m the layer's mask (1 inside the layer, 0 outside: only the
layer's pixels are data) and W the piecewise-linear spline framelets
(:mod:`defocus_lab.kernels.framelet`; its 8 high-pass planes are penalised, the low-pass is
not, as is usual for framelet priors) or the forward differences of total variation
(``prior="tv"``). The mask makes the data term non-diagonal in Fourier, so the split is

    v = k * u,   z = W u,

and ADMM (scaled form, penalties ``rho_v`` and ``rho_z``) alternates three closed-form steps:
u by one FFT division (``rho_v |K|^2 + rho_z sum |F_n|^2``, never 0: the kernel sums to 1),
v per pixel ((m^2 f + rho_v (k * u + p)) / (m^2 + rho_v)), z by soft thresholding. Convolutions
are periodic (FFT); pixels near the border that the periodic wrap would mix are data only if
the mask says so, so a mask that is 0 within the kernel's radius of the border keeps the wrap
out of the data term.
"""
from __future__ import annotations

import numpy as np

from .._validate import check_int, check_positive
from ..kernels.framelet import transfer as framelet_transfer

PRIORS = ("framelet", "tv")


def soft_threshold(x, t):
    """The proximal map of t ||.||_1: sign(x) max(|x| - t, 0), elementwise."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.maximum(np.abs(x) - t, 0.0)


def kernel_transfer(k, shape) -> np.ndarray:
    """The FFT of the (d, d) kernel ``k`` embedded in an (H, W) periodic grid with its centre at
    pixel (0, 0) (so that k * u is not shifted); d odd, at most the image's sides."""
    k = np.asarray(k, dtype=np.float64)
    d = k.shape[0]
    if k.ndim != 2 or k.shape[1] != d or d % 2 == 0:
        raise ValueError(f"k must be a square kernel of odd size; got shape {k.shape}")
    H, W = shape
    if d > min(H, W):
        raise ValueError(f"the kernel ({d}x{d}) is larger than the image ({H}x{W}): crop a smaller kernel")
    grid = np.zeros((H, W))
    grid[:d, :d] = k
    grid = np.roll(grid, (-(d // 2), -(d // 2)), axis=(0, 1))
    return np.fft.fft2(grid)


def prior_transfer(shape, prior: str = "framelet") -> tuple[np.ndarray, np.ndarray]:
    """(F, penalised): the FFTs of the prior's filters (n, H, W) and which of the n planes the l1
    term counts (the framelets' low-pass is not penalised)."""
    if prior == "framelet":
        F = framelet_transfer(shape)
        return F, np.arange(9) > 0
    if prior == "tv":
        H, W = shape
        dx = np.zeros((H, W))
        dx[0, 0], dx[0, -1] = -1.0, 1.0  # u[x + 1] - u[x] as a periodic convolution ... and below
        dy = np.zeros((H, W))
        dy[0, 0], dy[-1, 0] = -1.0, 1.0
        return np.stack([np.fft.fft2(dx), np.fft.fft2(dy)]), np.ones(2, bool)
    raise ValueError(f"prior must be one of {PRIORS}; got {prior!r}")


def u_step(f, k, mask=None, *, lam: float = 0.005, prior: str = "framelet", rho_v: float = 1.0,
           rho_z: float = 0.05, iterations: int = 100, u0=None, info: bool = False):
    """The image of one layer given its kernel (module docstring): ``f`` the blurred grey image
    (H, W) in [0, 1], ``k`` the (d, d) kernel, ``mask`` (H, W) bool or weights in [0, 1] (default
    every pixel), ``lam`` the l1 weight (the paper: 0.005). ``iterations`` bounds the work.
    Returns u (H, W) float64 (and with ``info`` the primal residuals ||k*u - v||, ||Wu - z|| per
    iteration)."""
    f = np.asarray(f, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"f must be a grey (H, W) image; got shape {f.shape}")
    m = np.ones_like(f) if mask is None else np.asarray(mask, dtype=np.float64)
    if m.shape != f.shape:
        raise ValueError(f"mask {m.shape} and image {f.shape} must share a shape")
    lam = check_positive(lam, "lam", allow_zero=True)
    rho_v, rho_z = check_positive(rho_v, "rho_v"), check_positive(rho_z, "rho_z")
    iterations = check_int(iterations, "iterations", minimum=1)
    m2 = m * m  # the data term is 1/2 || m (k * u - f) ||^2
    K = kernel_transfer(k, f.shape)
    F, penalised = prior_transfer(f.shape, prior)
    denom = rho_v * np.abs(K) ** 2 + rho_z * np.sum(np.abs(F) ** 2, axis=0)
    u = f.copy() if u0 is None else np.asarray(u0, dtype=np.float64).copy()
    U = np.fft.fft2(u)
    v = np.real(np.fft.ifft2(K * U))
    z = np.real(np.fft.ifft2(F * U[None]))
    p = np.zeros_like(v)
    q = np.zeros_like(z)
    history = []
    for _ in range(iterations):
        rhs = rho_v * np.conj(K) * np.fft.fft2(v - p) + rho_z * np.sum(np.conj(F) * np.fft.fft2(z - q), axis=0)
        U = rhs / denom
        Ku = np.real(np.fft.ifft2(K * U))
        Wu = np.real(np.fft.ifft2(F * U[None]))
        v = (m2 * f + rho_v * (Ku + p)) / (m2 + rho_v)
        z = Wu + q
        z[penalised] = soft_threshold(z[penalised], lam / rho_z)
        p += Ku - v
        q += Wu - z
        if info:
            history.append((float(np.linalg.norm(Ku - v)), float(np.linalg.norm(Wu - z))))
    u = np.real(np.fft.ifft2(U))
    return (u, {"residuals": history}) if info else u

"""The disk radius of a blurred region from its power spectrum: the initial kernel of the photo
deblurring (:mod:`defocus_lab.apps.restore`) and its local evidence of blur.

**Why.** Tung & Hwang's search (:func:`defocus_lab.apps.deblur.initial_disk`) deconvolves the
layer with every disk and reads a bend in the re-blur error. That error always grows with the
radius, and on real layers (estimated masks, Gaussian-like lens kernels) the bend is weak or
misplaced: the closing note of issue 14 measured 9 px for a 6 px layer and 13 px on the flower
photo. The spectrum instead says the radius directly: a patch blurred by a disk of radius r has
the power spectrum

    P(rho) = c |K_r(rho)|^2 rho^-alpha + n

(a natural image's power law, attenuated by the disk's transfer function with its rings of
zeros, above a white noise floor n). "No blur" (K = 1) and "too much" (K zero where the patch
still has energy above the noise) are both models of the same data, and the fit weighs them:
neither can win by construction, as the smallest disk does in the re-blur error.

**How.** Hann-windowed periodograms of w x w windows (:func:`window_spectra`), averaged on rings
of integer |rho| w; for every radius of a grid and every alpha of a grid, c and n are the weighted
least squares fit of the ring means (weights 1 / P^2, a fit of relative error), and the fit is
scored by the Whittle likelihood sum_rings count (log M + P / M) (:func:`whittle_scores`). The
model spectrum is the discrete anti-aliased disk of :func:`defocus_lab.render.disk_kernel` on the
window's grid, smoothed by the Hann window's 3-tap spectrum, so that the model sees what the
periodogram sees. The lowest rings (|rho| w < 2) are left out: they hold the window's mean and
the content the window cuts.

- :func:`layer_radius`: the radius of a layer is the median of the best radius of every window
  that lies (90 %) inside the layer and holds detail above the noise (a window of noise alone
  fits every disk large enough to hide its content, and would vote for the largest; a layer with
  no such window is not measured): a layer cut from an estimated map holds wrong pixels, and the
  median does not follow a minority of sharp windows, where a Welch average would (the sharp
  windows hold most of the high-frequency energy).
- :func:`window_scores` and :func:`ratio`: per window, the log-likelihood ratio between the
  layer's radius and the best radius at most half of it, and how much the window says at all
  (its likelihood over white noise). Positive: the window is sharper than the layer's kernel (the kernel would destroy what
  it holds); large negative: the window is blurred like the layer. Flat windows say neither, and
  are left to the map.

Measured on the lab's tuning scenes (Kodak 01-04, half sharp, half a disk of 2-6 px, noise
0.005; ``benchmarks/table_deblur.py`` prints the radii of the held-out scenes): the layer radius
is exact on disk layers cut from the Zhuo & Sim map by Otsu (2, 3, 4, 5, 6 px), and 0.25-0.75 px
under the radius of a Gaussian-pupil kernel (whose rim carries little weight); the in-focus
halves read 0.75-1 px.
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..render import disk_kernel

RADII = np.arange(0.0, 10.01, 0.25)  # px: the radii the layer fit tries
ALPHAS = np.arange(1.0, 3.51, 0.25)  # the power-law exponents of the sharp image's spectrum
LOW_RING = 2  # rings below this (times 1/w cycles per px) are left out of every fit
LAYER_WINDOW = 64  # px: windows of the layer's radius
EVIDENCE_WINDOW = 32  # px: windows of the local evidence
EVIDENCE_RADII = np.arange(0.0, 10.01, 0.5)
INFORMATIVE = 20.0  # log-likelihood over white noise alone that a window needs to vote on a layer's radius


def hann2(w: int) -> np.ndarray:
    """The periodic 2-D Hann window of side w (its DFT has three taps per axis)."""
    h = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(w) / w)
    return np.outer(h, h)


def _rings(w: int) -> np.ndarray:
    fy = np.fft.fftfreq(w)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    return np.rint(np.sqrt(fy ** 2 + fx ** 2) * w).astype(np.int64)


def ring_means(P, w: int) -> np.ndarray:
    """The means of the periodograms ``P`` (..., w, w) on the rings |rho| w = 0 .. w/2 - 1."""
    rings = _rings(w).ravel()
    nb = w // 2
    P = np.asarray(P, dtype=np.float64)
    flat = P.reshape(P.shape[:-2] + (w * w,))
    keep = rings < nb
    onehot = np.zeros((w * w, nb))
    onehot[np.nonzero(keep)[0], rings[keep]] = 1.0
    counts = onehot.sum(axis=0)
    return flat @ onehot / np.maximum(counts, 1.0)


def ring_counts(w: int) -> np.ndarray:
    """How many frequencies each ring of :func:`ring_means` holds."""
    rings = _rings(w).ravel()
    return np.bincount(rings[rings < w // 2], minlength=w // 2).astype(np.float64)


def _smooth_hann(S):
    """E[periodogram] of a spectrum S under the periodic Hann window: S convolved (circularly) with
    the window's squared 3-tap DFT [1/16, 1/4, 1/16] per axis (uncorrelated frequencies)."""
    t = np.array([1.0 / 16, 1.0 / 4, 1.0 / 16])
    out = np.zeros_like(S)
    for dy, wy in zip((-1, 0, 1), t):
        for dx, wx in zip((-1, 0, 1), t):
            out += wy * wx * np.roll(S, (dy, dx), (0, 1))
    return out


def model_bank(w: int, radii, alphas) -> np.ndarray:
    """(n_radii, n_alphas, w/2 - LOW_RING): the ring means of |K_r|^2 rho^-alpha (Hann-smoothed)
    for every radius and exponent, the shapes the spectra are fitted with."""
    fy = np.fft.fftfreq(w)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    rho = np.maximum(np.sqrt(fy ** 2 + fx ** 2), 0.5 / w)
    bank = np.empty((len(radii), len(alphas), w // 2 - LOW_RING))
    for i, r in enumerate(radii):
        k = disk_kernel(r) if r > 0.5 else np.ones((1, 1))
        if k.shape[0] > w:
            raise ValueError(f"a disk of radius {r} px does not fit the {w} px window: use a larger window")
        grid = np.zeros((w, w))
        d = k.shape[0]
        grid[:d, :d] = k
        K2 = np.abs(np.fft.fft2(np.roll(grid, (-(d // 2), -(d // 2)), (0, 1)))) ** 2
        for j, a in enumerate(alphas):
            bank[i, j] = ring_means(_smooth_hann(K2 * rho ** -a), w)[LOW_RING:]
    return bank


@lru_cache(maxsize=8)
def _cached_bank(w: int, radii: tuple, alphas: tuple) -> np.ndarray:
    bank = model_bank(w, radii, alphas)
    bank.flags.writeable = False
    return bank


def _bank(w: int, radii, alphas) -> np.ndarray:
    """:func:`model_bank`, kept for the grids the lab uses (every layer and every window of a photo
    is fitted with the same few banks)."""
    return _cached_bank(int(w), tuple(float(r) for r in radii), tuple(float(a) for a in alphas))


def window_spectra(g, w: int, step: int):
    """The ring means (ny, nx, w/2 - LOW_RING) of the Hann-windowed periodograms of the w x w
    windows of the grey image ``g`` every ``step`` px (each window's mean removed), and the
    windows' top-left corners (ys, xs)."""
    g = np.asarray(g, dtype=np.float64)
    H, W = g.shape
    if H < w or W < w:
        raise ValueError(f"the image ({H}x{W}) is smaller than the {w} px window")
    v = sliding_window_view(g, (w, w))[::step, ::step]
    v = v - v.mean(axis=(2, 3), keepdims=True)
    P = np.abs(np.fft.fft2(v * hann2(w))) ** 2
    ys = np.arange(0, H - w + 1, step)[: v.shape[0]]
    xs = np.arange(0, W - w + 1, step)[: v.shape[1]]
    return ring_means(P, w)[..., LOW_RING:], ys, xs


def whittle_scores(p, bank, counts) -> np.ndarray:
    """(..., n_radii): for every spectrum ``p`` (..., n_rings) the Whittle score of each radius,
    its best exponent, c and n fitted (module docstring). Lower is better; differences are
    log-likelihood ratios."""
    p = np.maximum(np.asarray(p, dtype=np.float64), 1e-30)[..., None, None, :]
    A = bank[(None,) * (p.ndim - 3)]
    wts = 1.0 / p ** 2
    s_aa, s_a, s_1 = (wts * A * A).sum(-1), (wts * A).sum(-1), wts.sum(-1)
    s_ap, s_p = (wts * A * p).sum(-1), (wts * p).sum(-1)
    det = s_aa * s_1 - s_a ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        c = (s_ap * s_1 - s_a * s_p) / det
        n = (s_aa * s_p - s_a * s_ap) / det
        neg = ~(n >= 0)  # a negative (or undefined) noise floor: refit c alone
        c = np.where(neg, s_ap / s_aa, c)
    n = np.where(neg, 0.0, n)
    model = np.maximum(np.maximum(c, 1e-30)[..., None] * A + n[..., None], 1e-30)
    return (counts * (np.log(model) + p / model)).sum(-1).min(-1)


def layer_radius(g, mask, *, radii=RADII, alphas=ALPHAS, window: int = LAYER_WINDOW, coverage: float = 0.9):
    """(radius px, info): the disk radius of the layer ``mask`` of the grey image ``g``, the median
    of the best radius of the windows at least ``coverage`` inside the layer (module docstring).
    A layer with no such window of side ``window`` is tried with windows of half the side, then
    with the windows that overlap it most. ``info``: the windows' radii and the window side."""
    g = np.asarray(g, dtype=np.float64)
    m = np.asarray(mask, dtype=bool)
    if m.shape != g.shape:
        raise ValueError(f"mask {m.shape} and image {g.shape} must share a shape")
    if not m.any():
        raise ValueError("the layer's mask is empty: there is nothing to measure")
    radii = np.asarray(radii, dtype=np.float64)
    found = None
    for w in (window, window // 2):
        if min(g.shape) < w:
            continue
        step = w // 2
        p, ys, xs = window_spectra(g, w, step)
        cov = sliding_window_view(m, (w, w))[::step, ::step].mean(axis=(2, 3))[: len(ys), : len(xs)]
        if found is None or (cov >= coverage).any():
            found = (w, p, cov)
        if (cov >= coverage).any():
            break
    if found is None:
        raise ValueError(f"the image ({g.shape[0]}x{g.shape[1]}) is smaller than a {window // 2} px window")
    w, p, cov = found
    inside = cov >= coverage
    if not inside.any():  # a thin layer: the windows that overlap it most
        inside = cov >= cov.max() - 1e-9
    use = radii[radii <= (w - 1) / 2 - 0.5]
    counts = ring_counts(w)[LOW_RING:]
    spectra = p[inside]
    scores = whittle_scores(spectra, _bank(w, use, alphas), counts)
    # a window of noise alone fits every disk large enough to hide its content: it does not vote
    signal = noise_score(spectra, counts) - scores.min(axis=-1) > INFORMATIVE
    if not signal.any():
        raise ValueError("the layer holds no detail above the noise: its blur cannot be measured (a flat layer "
                         "gains nothing from a deconvolution)")
    best = use[np.argmin(scores[signal], axis=-1)]
    return float(np.median(best)), {"window_radii": best, "window": w, "flat_windows": int((~signal).sum())}


def noise_score(p, counts) -> np.ndarray:
    """The Whittle score of white noise alone (M = n, its maximum-likelihood level) for every
    spectrum ``p`` (..., n_rings): the model every disk's fit must beat by :data:`INFORMATIVE`
    for the window to say anything."""
    p = np.maximum(np.asarray(p, dtype=np.float64), 1e-30)
    n = (counts * p).sum(-1) / counts.sum()
    return counts.sum() * (np.log(n) + 1.0)


class WindowScores(NamedTuple):
    """What :func:`window_scores` measured: the Whittle ``scores`` (ny, nx, n_radii) of every window
    for every disk of ``radii``, each window's ``info`` (how much better its best disk explains it
    than white noise alone, :func:`noise_score`), the windows' top-left corners ``ys``, ``xs`` and
    their side ``window``."""
    scores: np.ndarray
    info: np.ndarray
    radii: np.ndarray
    ys: np.ndarray
    xs: np.ndarray
    window: int


def window_scores(g, *, window: int = EVIDENCE_WINDOW, step: int | None = None, radii=EVIDENCE_RADII,
                  alphas=ALPHAS) -> WindowScores:
    """The fit of every w x w window of ``g`` (every ``step`` px, default w / 4) by every disk of
    ``radii`` (those that fit the window): what :func:`ratio` reads for any radius, so that one
    measure serves every layer of a photo."""
    w = int(window)
    step = max(1, w // 4) if step is None else int(step)
    radii = np.asarray(radii, dtype=np.float64)
    radii = radii[radii <= (w - 1) / 2 - 0.5]
    p, ys, xs = window_spectra(g, w, step)
    counts = ring_counts(w)[LOW_RING:]
    scores = whittle_scores(p, _bank(w, radii, alphas), counts)
    return WindowScores(scores, noise_score(p, counts) - scores.min(-1), radii, ys, xs, w)


def ratio(ws: WindowScores, radius: float, below: float | None = None) -> np.ndarray:
    """Per window of ``ws``, the Whittle score of the disk of ``radius`` (rounded to the grid)
    minus the best score of a disk of at most ``below`` px (default half the radius; module
    docstring): > 0 the window is sharper than the kernel, < 0 blurred like it."""
    i = int(np.argmin(np.abs(ws.radii - radius)))
    small = ws.radii <= (radius / 2 if below is None else below)
    if not small.any():
        raise ValueError(f"no disk of the grid is at most {below} px: below must be >= 0")
    return ws.scores[..., i] - ws.scores[..., small].min(-1)

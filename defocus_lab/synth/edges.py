"""Step edges and bar images blurred analytically (no sampled-kernel error), with known blur."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from .._validate import check_int, check_positive


def _blurred_step(x, x0, sigma):
    if sigma == 0:
        return np.where(x > x0, 1.0, np.where(x == x0, 0.5, 0.0))
    return ndtr((x - x0) / sigma)


def step_edge_1d(n: int = 101, *, sigma: float = 2.0, amplitude: float = 1.0, offset: float = 0.0,
                 position: float | None = None) -> np.ndarray:
    """A 1-D step edge A u(x - x0) + B blurred by a Gaussian of std ``sigma`` (Eqs. 1, 3).

    The edge sits on a pixel centre (default the middle pixel) so that the gradient peaks there.

    Parameters
    ----------
    n : int
        The number of samples (>= 3).
    sigma : float
        The blur, Gaussian std in pixels (0: a sharp step, 0.5 at the edge pixel).
    amplitude, offset : float
        A and B: the step's height and the level on its left.
    position : float, optional
        The edge's position x0 (default: the middle pixel, ``n // 2``).

    Returns
    -------
    ndarray (n,) float64

    Examples
    --------
    >>> step_edge_1d(5, sigma=0.0).tolist()
    [0.0, 0.0, 0.5, 1.0, 1.0]
    >>> edge = step_edge_1d(101, sigma=2.0)
    >>> int(abs(np.diff(edge)).argmax())  # the gradient peaks at the edge (between 49 and 50 here)
    49
    """
    n = check_int(n, "n", minimum=3)
    sigma = check_positive(sigma, "sigma", allow_zero=True)
    x = np.arange(n, dtype=np.float64)
    x0 = (n // 2) if position is None else float(position)
    return offset + amplitude * _blurred_step(x, x0, sigma)


def step_edge_image(size: int = 64, *, sigma: float = 2.0, low: float = 0.2, high: float = 0.8) -> np.ndarray:
    """A vertical step edge (size x size, grey) blurred by a Gaussian of std ``sigma``.

    Parameters
    ----------
    size : int
        The side, px; the edge is at column ``size // 2``.
    sigma : float
        The blur, Gaussian std in pixels.
    low, high : float
        The levels left and right of the edge.

    Returns
    -------
    ndarray (size, size) float64
        Grey, in [low, high].

    Examples
    --------
    >>> img = step_edge_image(8, sigma=0.0)
    >>> img.shape, img[0].tolist()
    ((8, 8), [0.2, 0.2, 0.2, 0.2, 0.5, 0.8, 0.8, 0.8])
    """
    row = step_edge_1d(size, sigma=sigma, amplitude=high - low, offset=low)
    return np.repeat(row[None, :], size, axis=0)


@dataclass
class BarImage:
    """A bar image: ``image`` (H, W) grey in [0, 1], the edge columns and their true blur.

    Parameters
    ----------
    image : ndarray (H, W)
        The bars, grey in [0, 1].
    columns : ndarray (N,) int
        The edges' columns.
    sigmas : ndarray (N,) float
        Each edge's true blur, Gaussian std in pixels.

    Examples
    --------
    >>> bars = bar_image(n_edges=3, blur_max=2.0)
    >>> bars.columns.tolist(), bars.sigmas.tolist()
    ([20, 40, 60], [0.0, 1.0, 2.0])
    """
    image: np.ndarray
    columns: np.ndarray
    sigmas: np.ndarray


def bar_image(*, n_edges: int = 21, blur_max: float = 5.0, spacing: int = 20, height: int = 48,
              margin: int = 20, low: float = 0.1, high: float = 0.9, noise_var: float = 0.0,
              seed: int | None = 0) -> BarImage:
    """Vertical bars whose edge blur rises linearly from 0 to ``blur_max`` (Zhuo & Sim, Fig. 5).

    Edges alternate rising and falling, ``spacing`` px apart, on pixel centres; neighbouring
    edges overlap when their blur is large against the spacing (Fig. 5(e)). Gaussian noise of
    variance ``noise_var`` is added with ``seed`` (Fig. 5(d)) and the result clipped to [0, 1]
    (with the default levels 0.1 / 0.9 and variance 0.01 that touches 16 % of the flat pixels, a small bias; the paper does not give its contrast).

    Parameters
    ----------
    n_edges : int
        The number of edges.
    blur_max : float
        The last edge's blur (Gaussian std, px); the first is sharp.
    spacing : int
        Pixels between edges.
    height : int
        The image's height.
    margin : int
        Pixels left of the first edge and right of the last.
    low, high : float
        The two grey levels.
    noise_var : float
        The variance of the added Gaussian noise (0: none).
    seed : int or None
        The noise's seed.

    Returns
    -------
    BarImage

    Examples
    --------
    >>> bars = bar_image(n_edges=21, blur_max=5.0, noise_var=0.001, seed=0)
    >>> bars.image.shape, len(bars.columns), float(bars.sigmas[-1])
    ((48, 441), 21, 5.0)
    """
    n_edges = check_int(n_edges, "n_edges", minimum=1)
    spacing = check_int(spacing, "spacing", minimum=2)
    blur_max = check_positive(blur_max, "blur_max", allow_zero=True)
    width = 2 * margin + (n_edges - 1) * spacing + 1
    x = np.arange(width, dtype=np.float64)
    cols = margin + spacing * np.arange(n_edges)
    sigmas = np.linspace(0.0, blur_max, n_edges)
    row = np.full(width, low)
    for k, (c, s) in enumerate(zip(cols, sigmas)):
        sign = 1.0 if k % 2 == 0 else -1.0
        row += sign * (high - low) * _blurred_step(x, c, s)
    img = np.repeat(row[None, :], height, axis=0)
    if noise_var > 0:
        rng = np.random.default_rng(seed)
        img = np.clip(img + rng.normal(0.0, np.sqrt(noise_var), img.shape), 0.0, 1.0)
    return BarImage(img, cols, sigmas)

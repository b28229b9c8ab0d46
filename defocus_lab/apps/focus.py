"""Focused-region extraction and defocus magnification (Zhuo & Sim 2011, Fig. 9)."""
from __future__ import annotations

import numpy as np

from .._validate import as_image, as_map, check_positive
from ..render import varying_gaussian_blur


def segment_focus(defocus_map, t_f: float = 1.0) -> np.ndarray:
    """Pixels whose blur is below ``t_f`` (sigma, px) are in focus (the paper: t_f = 1).

    Parameters
    ----------
    defocus_map : ndarray (H, W)
        Gaussian sigma in pixels (convert a disk map with :func:`defocus_lab.conventions.convert_units`).
    t_f : float
        The threshold, px (>= 0).

    Returns
    -------
    ndarray (H, W) bool
        True where in focus.

    Raises
    ------
    ValueError
        A map that is not 2-D, or a negative ``t_f``.

    Examples
    --------
    >>> import numpy as np
    >>> segment_focus(np.array([[0.2, 0.9], [1.5, 3.0]])).tolist()
    [[True, True], [False, False]]
    """
    m = np.asarray(defocus_map, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"defocus_map must be (H, W); got {m.shape}")
    check_positive(t_f, "t_f", allow_zero=True)
    return m < t_f


def magnify(image, defocus_map, factor: float = 2.0, *, in_focus: float = 0.0, renderer: str = "lens",
            step: float = 0.25, depth=None) -> np.ndarray:
    """Simulate a larger aperture: scale the blur map by ``factor`` and re-blur (Zhuo & Sim Fig. 9,
    Kriener et al. Fig. 5).

    ``defocus_map`` is the Gaussian sigma (px) the image already has. The re-blur adds what
    takes a pixel from sigma to ``factor`` * sigma:

    - ``renderer="lens"`` (default): a disk (bokeh) of radius 2 sigma sqrt(factor^2 - 1), layered
      far to near with occlusion (:func:`defocus_lab.render.lens_blur`; the papers used
      Photoshop's Lens Blur). A disk of radius R has the second moment of a Gaussian of
      sigma R / 2, which fixes the factor 2; quadrature is exact for Gaussians and a close
      approximation for disks. ``depth`` (larger = farther) sets the compositing order
      (default: the blur itself).
    - ``renderer="gaussian"``: a Gaussian of sigma sqrt(factor^2 - 1) sigma per pixel (no
      occlusion: fast, and halos at depth edges). ``step`` is its sigma ladder spacing.

    ``in_focus`` (px): blur up to this level counts as in focus and stays as it is; above it,
    sigma - in_focus is magnified. Estimated maps rarely reach 0 on a sharp subject (the
    estimators' floor is ~0.5 px), so with the default 0 the subject softens a little too.

    A re-blur larger than the image (:func:`defocus_lab.render.max_blur`) is refused with a
    ValueError: it is a mistake of units or factor, and would take minutes and gigabytes.

    Parameters
    ----------
    image : ndarray (H, W) or (H, W, 3)
        The photo (uint8, uint16 or float in [0, 1]).
    defocus_map : ndarray (H, W)
        Its blur, Gaussian sigma in pixels.
    factor : float
        The magnification, >= 1 (1 leaves the image as it is).
    in_focus : float
        Blur up to this level (px) stays as it is.
    renderer : {"lens", "gaussian"}
        A layered disk blur with occlusion, or a per-pixel Gaussian.
    step : float
        The Gaussian renderer's sigma ladder spacing (px).
    depth : ndarray (H, W), optional
        The lens renderer's compositing order (larger = farther; default: the blur).

    Returns
    -------
    ndarray
        The re-blurred image, float in [0, 1], of the image's shape.

    Raises
    ------
    ValueError
        ``factor`` < 1, an unknown renderer, or a re-blur larger than the image.

    Examples
    --------
    >>> import numpy as np
    >>> from defocus_lab.synth import step_edge_image
    >>> image = step_edge_image(64, sigma=1.0)
    >>> blur = np.zeros((64, 64)); blur[:, 32:] = 1.0      # the right half is out of focus
    >>> out = magnify(image, blur, factor=3.0, renderer="gaussian")
    >>> out.shape, bool(np.allclose(out[:, :16], image[:, :16]))
    ((64, 64), True)
    """
    from ..render import lens_blur, max_blur

    img = as_image(image)
    m = as_map(defocus_map, img.shape[:2], name="defocus_map")
    factor = check_positive(factor, "factor")
    if factor < 1:
        raise ValueError(f"factor must be >= 1 (re-blurring cannot sharpen); got {factor}")
    if renderer not in ("lens", "gaussian"):
        raise ValueError(f"renderer must be 'lens' or 'gaussian'; got {renderer!r}")
    in_focus = check_positive(in_focus, "in_focus", allow_zero=True)
    extra = np.clip(m - in_focus, 0, None) * np.sqrt(factor ** 2 - 1.0)
    reach = float(extra.max()) * (2.0 if renderer == "lens" else 1.0)
    limit = max_blur(img.shape, renderer)
    if reach > limit:
        raise ValueError(
            f"magnifying by {factor:g} turns the largest blur of the map ({float(m.max()):.4g} px) into a "
            f"re-blur of {reach:.4g} px ({'disk radius' if renderer == 'lens' else 'sigma'}), more than a "
            f"{img.shape[0]}x{img.shape[1]} image can show (at most {limit:.4g} px): lower factor, or "
            f"check that the map is Gaussian sigma in px of this image")
    if renderer == "lens":
        return lens_blur(img, 2.0 * extra, depth=depth, step=max(2 * step, 0.25))
    return np.clip(varying_gaussian_blur(img, extra, step=step), 0, 1)

"""Training and illustration scenes of Karaali, Harte & Jung (2022), Sec. IV-A.

- :func:`disk_blur`: a sharp image convolved with a disk of radius R (Eq. 4; B-NET's data);
- :func:`blob_mask`: a random smooth closed shape, a stand-in for the salient-object masks the
  authors cut foregrounds with (none are at hand here);
- :func:`foreground_background`: a foreground blurred by R1 laid over a background blurred by
  R2 (Fig. 4; E-NET's depth edges lie on the shape's outline, its pattern edges inside and
  outside). The foreground's colour and coverage are blurred together and composited over the
  blurred background (occlusion-aware: the sharp foreground does not take the background's blur).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy.signal import fftconvolve

from .._validate import as_image, check_positive
from ..render import disk_kernel

FIG4_LEVELS = ((0, 1), (0, 3), (0, 5), (1, 3), (1, 5), (3, 5))  # (R1 foreground, R2 background)


def disk_blur(image, radius: float) -> np.ndarray:
    """``image`` convolved with a normalised disk of ``radius`` px (symmetric borders)."""
    return _disk_blur(as_image(image), check_positive(radius, "radius", allow_zero=True))


def _disk_blur(img: np.ndarray, radius: float) -> np.ndarray:
    """Disk blur of an (H, W) or (H, W, C) float array, any number of channels."""
    k = disk_kernel(radius)
    n = k.shape[0] // 2
    if n == 0:
        return img.copy()
    pad = ((n, n), (n, n)) + ((0, 0),) * (img.ndim - 2)
    p = np.pad(img, pad, mode="symmetric")
    kk = k if img.ndim == 2 else k[..., None]
    return np.clip(fftconvolve(p, kk, mode="valid", axes=(0, 1)), 0.0, 1.0)


def blob_mask(shape, *, seed=0, size: float = 0.35, wobble: float = 0.25, harmonics: int = 5) -> np.ndarray:
    """A random star-convex blob (bool (H, W)) centred near the middle: radius
    ``size * min(H, W) * (1 + sum of random low harmonics)``."""
    rng = np.random.default_rng(seed)
    H, W = shape
    cy, cx = H * (0.5 + 0.1 * rng.uniform(-1, 1)), W * (0.5 + 0.1 * rng.uniform(-1, 1))
    yy, xx = np.mgrid[:H, :W]
    th = np.arctan2(yy - cy, xx - cx)
    r = np.ones_like(th)
    for k in range(1, harmonics + 1):
        r += wobble / k * rng.normal() * np.cos(k * th + rng.uniform(0, 2 * np.pi))
    return np.hypot(yy - cy, xx - cx) <= size * min(H, W) * np.clip(r, 0.3, None)


@dataclass
class CompositeScene:
    image: np.ndarray       # (H, W, 3) in [0, 1]
    mask: np.ndarray        # bool (H, W): the foreground
    blur: np.ndarray        # (H, W) disk radius of the layer seen at each pixel (mask decides)
    depth_edges: np.ndarray  # bool (H, W): the outline of the foreground (1 px)
    r_fg: float
    r_bg: float


def foreground_background(foreground, background, mask, r_fg: float, r_bg: float) -> CompositeScene:
    """Fig. 4: ``foreground`` inside ``mask`` blurred by ``r_fg`` over ``background`` blurred by ``r_bg``."""
    fg = as_image(foreground, name="foreground", allow_gray=False)
    bg = as_image(background, name="background", allow_gray=False)
    m = np.asarray(mask, dtype=bool)
    if fg.shape != bg.shape or m.shape != fg.shape[:2]:
        raise ValueError(f"foreground {fg.shape}, background {bg.shape} and mask {m.shape} must share "
                         f"their height and width")
    layer = _disk_blur(np.concatenate([fg * m[..., None], m[..., None].astype(float)], axis=2), r_fg)
    a = layer[..., 3:]
    img = np.clip(layer[..., :3] + (1.0 - a) * disk_blur(bg, r_bg), 0.0, 1.0)
    outline = m & ~ndi.binary_erosion(m)
    return CompositeScene(img, m, np.where(m, float(r_fg), float(r_bg)), outline, float(r_fg), float(r_bg))

"""The papers' shared facts and the lab's unit conventions: the lowest floor of the package.

Everything here is a constant or a pure NumPy function; this module imports nothing from the
package, so any module (estimators, networks, synthetic data, the pipeline) can read it without
pulling torch or the data registry in.

- Karaali, Harte & Jung (2022): B-NET's 23 blur classes (disk radius 0.5 + 0.25 k px) and the
  41x41 patch around each edge pixel.
- The RTF conversion table between Gaussian sigma and disk radius (the ``convertion.mat`` of the
  RTF dataset, 23 pairs). The file is still read by :func:`defocus_lab.data.rtf_table`, and a test
  checks that it equals these constants whenever ``DEFOCUS_LAB_DATA`` holds it; the constants
  make unit conversion work offline.
- Photo size: the pixel counts above which the presets stop solving the matting propagation at
  the paper's resolution (:data:`PHOTO_ABOVE_PIXELS`, :data:`PHOTO_WORKING_PIXELS`).
- Unit names: blur is "sigma" (Gaussian standard deviation, px) inside the package, "disk" (disk
  radius, px) where a method's own unit is the disk (Karaali's networks, the RTF protocol).
"""
from __future__ import annotations

__all__ = ["check_units", "sigma_to_disk", "disk_to_sigma", "convert_units"]

from types import MappingProxyType

import numpy as np

UNITS = ("sigma", "disk")

# Photo size (README, "The package"). The papers worked on images of a fraction of a megapixel;
# the lab's default pipelines keep the paper's resolution up to PHOTO_ABOVE_PIXELS (0.52 MP: every
# RTF, CUHK and DUT image and the papers' photos are processed as in the papers) and, above, do
# their costly stage on a power-of-two fraction of the photo of at most PHOTO_WORKING_PIXELS
# (0.26 MP): Zhuo & Sim's and Kriener's matting solve (the matting propagator's ``max_pixels``
# and ``photo_above``), Karaali's networks (the estimator's). A 12 MP photo: 1/8; 24 MP: 1/16.
PHOTO_ABOVE_PIXELS = 1 << 19
PHOTO_WORKING_PIXELS = 1 << 18
PHOTO_SIZE = MappingProxyType({"max_pixels": PHOTO_WORKING_PIXELS, "photo_above": PHOTO_ABOVE_PIXELS})  # as options

# Karaali, Harte & Jung 2022 (Sec. III-A): patches of 41x41 around each edge pixel; B-NET's
# class k is a disk of radius 0.5 + 0.25 k px, k = 0..22.
KARAALI_PATCH = 41
KARAALI_PAD = KARAALI_PATCH // 2
KARAALI_BLUR_LEVELS = 0.5 + 0.25 * np.arange(23)
KARAALI_BLUR_LEVELS.setflags(write=False)

# The RTF dataset's convertion.mat: (Gaussian sigma, disk radius) per row, disk radius on B-NET's
# 23 levels. Written as the decimals the file holds (it stores them to float rounding).
RTF_SIGMA = np.array([0.3, 0.5, 0.65, 0.775, 0.875, 0.975, 1.125, 1.275, 1.375, 1.525, 1.65, 1.8,
                      1.925, 2.05, 2.2, 2.325, 2.45, 2.6, 2.725, 2.875, 3.0, 3.15, 3.275])
RTF_DISK = 0.5 + 0.25 * np.arange(23)
RTF_SIGMA.setflags(write=False)
RTF_DISK.setflags(write=False)

CONVERSIONS = ("linear", "nearest")


def check_units(units: str, name: str = "units") -> str:
    """``units`` if it is one of :data:`UNITS`, else a ValueError that lists them.

    Parameters
    ----------
    units : str
        The unit to check.
    name : str
        The argument's name, for the message.

    Returns
    -------
    str
        ``units`` itself.

    Raises
    ------
    ValueError
        When ``units`` is not "sigma" or "disk".

    Examples
    --------
    >>> check_units("disk")
    'disk'
    >>> check_units("px", name="units")
    Traceback (most recent call last):
    ...
    ValueError: units must be one of ('sigma', 'disk'); got 'px'
    """
    if units not in UNITS:
        raise ValueError(f"{name} must be one of {UNITS}; got {units!r}")
    return units


def _convert(x, src, dst, method):
    x = np.asarray(x, dtype=np.float64)
    if method == "nearest":
        return dst[np.abs(x[..., None] - src).argmin(axis=-1)]
    if method == "linear":
        return np.interp(x, src, dst)
    raise ValueError(f"method must be one of {CONVERSIONS}; got {method!r}")


def sigma_to_disk(sigma, *, method: str = "linear"):
    """Gaussian sigma (px) -> disk radius (px) through the RTF table.

    ``method="nearest"`` is Karaali's Table I protocol (the nearest table entry); "linear"
    interpolates, and values beyond the table are clamped to its ends (0.5 and 6 px).

    Parameters
    ----------
    sigma : float or array_like
        Gaussian standard deviation in pixels.
    method : {"linear", "nearest"}
        Interpolate the table, or take its nearest entry.


    Returns
    -------
    float or ndarray
        Disk radius in pixels: a float for a scalar, else an ndarray of the input's shape.

    Examples
    --------
    >>> float(sigma_to_disk(3.275, method="nearest"))
    6.0
    """
    return _convert(sigma, RTF_SIGMA, RTF_DISK, method)


def disk_to_sigma(disk, *, method: str = "linear"):
    """Disk radius (px) -> Gaussian sigma (px) through the RTF table (see :func:`sigma_to_disk`).

    Parameters
    ----------
    disk : float or array_like
        Disk radius in pixels.
    method : {"linear", "nearest"}
        Interpolate the table, or take its nearest entry.


    Returns
    -------
    float or ndarray
        Gaussian standard deviation in pixels, of the input's shape.

    Examples
    --------
    >>> float(disk_to_sigma(6.0))
    3.275
    """
    return _convert(disk, RTF_DISK, RTF_SIGMA, method)


def convert_units(blur, src: str, dst: str, mask=None) -> np.ndarray:
    """Blur from unit ``src`` to ``dst`` ("sigma" or "disk") through the RTF table (linear
    interpolation); entries outside ``mask`` (when given) are 0.

    Parameters
    ----------
    blur : array_like
        Blur values in ``src``.
    src, dst : {"sigma", "disk"}
        The unit of ``blur`` and the unit wanted.
    mask : ndarray of bool, optional
        Where the values are defined (a sparse map): 0 elsewhere in the result.


    Returns
    -------
    ndarray of float64
        The blur in ``dst``, of the input's shape.


    Raises
    ------
    ValueError
        An unknown unit.

    Examples
    --------
    >>> convert_units([0.3, 3.275], "sigma", "disk")
    array([0.5, 6. ])
    """
    check_units(src, "src")
    check_units(dst, "dst")
    if src == dst:
        out = np.asarray(blur, dtype=np.float64)
    else:
        out = sigma_to_disk(blur) if src == "sigma" else disk_to_sigma(blur)
    return out if mask is None else np.where(mask, out, 0.0)

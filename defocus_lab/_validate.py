"""Input checking shared by every public function.

The rules (also in the README): images are float in [0, 1] with shape (H, W) or (H, W, 3);
uint8 and uint16 are scaled to [0, 1]; float32 and float64 are accepted as they are; anything
else raises a ValueError that says how to fix the call. Arithmetic inside the package is float64.
"""
from __future__ import annotations

import os

import numpy as np

MIN_SIDE = 8


def as_image(image, *, name: str = "image", allow_gray: bool = True, allow_rgb: bool = True,
             min_side: int = MIN_SIDE, copy: bool = True) -> np.ndarray:
    """Return ``image`` as a C-contiguous float64 array in [0, 1], or raise ValueError.

    ``copy=False`` may return the caller's own array (a float64 image already in range): for
    callers that only read it (a 12 MP guide is 288 MB; every pass over it counts)."""
    if isinstance(image, (list, tuple)):
        image = np.asarray(image)
    if not isinstance(image, np.ndarray):
        raise ValueError(
            f"{name} must be a NumPy array of shape (H, W) or (H, W, 3); got {type(image).__name__}: "
            f"convert it with np.asarray(...) first (PIL images: np.asarray(pil_image)).")
    if image.ndim == 3 and image.shape[2] == 4:
        raise ValueError(
            f"expected an RGB {name} of shape (H, W, 3); got {image.shape} with 4 channels: "
            f"drop the alpha channel with {name}[..., :3]")
    if image.ndim == 3 and image.shape[2] == 1:
        raise ValueError(f"{name} has shape {image.shape}: pass {name}[..., 0] for a grey image")
    shapes = []
    if allow_gray:
        shapes.append("(H, W)")
    if allow_rgb:
        shapes.append("(H, W, 3)")
    ok = (allow_gray and image.ndim == 2) or (allow_rgb and image.ndim == 3 and image.shape[2] == 3)
    if not ok:
        raise ValueError(f"{name} must have shape {' or '.join(shapes)}; got {image.shape}")
    if min(image.shape[:2]) < min_side:
        raise ValueError(
            f"{name} is too small: {image.shape[:2]}; both sides must be at least {min_side} pixels "
            f"(upsample it, e.g. with skimage.transform.rescale)")
    dt = image.dtype
    if dt == np.uint8:
        return np.ascontiguousarray(image, dtype=np.float64) / 255.0
    if dt == np.uint16:
        return np.ascontiguousarray(image, dtype=np.float64) / 65535.0
    if dt in (np.float32, np.float64):
        out = np.ascontiguousarray(image, dtype=np.float64)
        lo, hi = float(out.min()), float(out.max())  # NaN propagates: no separate isfinite pass
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"{name} contains NaN or infinite values: replace them first, "
                             f"e.g. np.nan_to_num({name}, nan=0.0)")
        if lo < -1e-6 or hi > 1.0 + 1e-6:
            hint = " (it looks like 0..255 data: divide by 255)" if hi > 1.5 else ""
            raise ValueError(f"float {name} must lie in [0, 1]; got values in [{lo:.4g}, {hi:.4g}]{hint}")
        if not copy and lo >= 0.0 and hi <= 1.0:
            return out
        return np.clip(out, 0.0, 1.0)
    raise ValueError(f"{name} has dtype {dt}; use uint8, uint16, float32 or float64 in [0, 1] "
                     f"(e.g. {name}.astype(np.float64) / {name}.max())")


def as_map(values, shape, *, name: str = "values", allow_nan: bool = False) -> np.ndarray:
    """Return a (H, W) float64 map matching ``shape``, or raise ValueError."""
    values = np.asarray(values)
    if values.shape != tuple(shape):
        raise ValueError(f"{name} must have the image's shape {tuple(shape)}; got {values.shape}")
    if values.dtype.kind not in "fiu":
        raise ValueError(f"{name} must be a real-valued array; got dtype {values.dtype}")
    out = np.ascontiguousarray(values, dtype=np.float64)
    if not allow_nan and not np.all(np.isfinite(out)):
        raise ValueError(f"{name} contains NaN or infinite values: set them to 0 and leave them out of the mask")
    return out


def as_mask(mask, shape, *, name: str = "mask") -> np.ndarray:
    """Return a (H, W) boolean mask matching ``shape``, or raise ValueError."""
    mask = np.asarray(mask)
    if mask.shape != tuple(shape):
        raise ValueError(f"{name} must have the image's shape {tuple(shape)}; got {mask.shape}")
    if mask.dtype != bool:
        if mask.dtype.kind not in "iuf":
            raise ValueError(f"{name} must be boolean; got dtype {mask.dtype}")
        u = np.unique(mask)
        if not np.all(np.isin(u, (0, 1))):
            raise ValueError(f"{name} must be boolean or 0/1; got values {u[:5]}...: use mask > 0")
        mask = mask.astype(bool)
    return np.ascontiguousarray(mask)


def check_positive(value, name: str, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r}") from None
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        need = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a finite {need} number; got {value!r}")
    return v


def check_int(value, name: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {value}")
    return int(value)


def to_gray(image: np.ndarray) -> np.ndarray:
    """Luminance (ITU-R BT.601 weights, as MATLAB's rgb2gray) of a validated float image."""
    if image.ndim == 2:
        return image
    # einsum, not ``image @ w``: a matrix product goes to OpenBLAS, whose threads then spin and
    # slow the numba kernels that follow (see propagate.cg.dot)
    return np.einsum("...c,c->...", image, np.array([0.2989, 0.5870, 0.1140]))



# ----------------------------------------------------------------------------- resources

MEMORY_ENV = "DEFOCUS_LAB_MEMORY_GB"


class TooLarge(ValueError):
    """A call would need more memory (or work) than this machine can give it.

    A ValueError, so that a notebook explorer shows it as a message and the CLI as its one-line
    error; the message names the options that fit."""


def _cgroup_limit() -> tuple[int, int] | None:
    """(limit, in use) bytes of this process's cgroup memory limit (Linux containers, CI
    runners, JupyterHub pods; cgroup v2, else v1), or None where there is none: the machine's
    own figures overstate what such a process may hold."""
    for limit_file, used_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                  ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                   "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file) as f:
                text = f.read().strip()
            with open(used_file) as f:
                used = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if text == "max" or not text.isdigit() or int(text) >= 1 << 60:  # v1 writes "no limit" as ~2^63
            return None
        return int(text), used
    return None


def _os_memory(field: str, pages: str) -> int:
    """psutil's ``virtual_memory().<field>`` (bytes), else ``sysconf(pages) * page size``, else 8 GB."""
    try:
        import psutil
        return int(getattr(psutil.virtual_memory(), field))
    except ImportError:  # pragma: no cover - psutil is a dependency
        try:
            return int(os.sysconf(pages) * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return 8 << 30


def total_memory() -> int:
    """Bytes of memory this process could ever use: the machine's physical memory, or its
    container's cgroup limit when lower (else 8 GB assumed)."""
    total = _os_memory("total", "SC_PHYS_PAGES")
    cg = _cgroup_limit()
    return min(total, cg[0]) if cg else total


def available_memory() -> int:
    """Bytes of memory available now: the OS's figure (page cache it can drop included), or
    what the container's cgroup limit leaves when lower (else 8 GB assumed)."""
    avail = _os_memory("available", "SC_AVPHYS_PAGES")
    cg = _cgroup_limit()
    return max(0, min(avail, cg[0] - cg[1])) if cg else avail


# The budget's policy (README, "Memory"): a job of at most FLOOR_FRACTION of the machine's memory
# always runs, whatever the moment's free memory; a larger one is planned against
# AVAILABLE_FRACTION of the memory available now; nothing above AVAILABLE_FRACTION of the
# machine's memory ever runs.
FLOOR_FRACTION = 1 / 8
AVAILABLE_FRACTION = 0.8


def memory_budget() -> int:
    """Bytes one call may plan to use.

    ``DEFOCUS_LAB_MEMORY_GB`` when set (tests pin it; a shared server can cap each user);
    else ``clip(0.8 * available, total / 8, 0.8 * total)``, where ``total`` is the machine's
    (or container's) memory and ``available`` what is free now.

    Why the floor: the free memory of a desktop moves by gigabytes from one minute to the next
    (a browser tab, another kernel, a build), and a check against the moment alone refused a
    0.5 GB solve on a 24 GB machine while another program briefly held the rest. A job under an
    eighth of the machine (3 GB of 24, 1 GB of 8) fits comfortably: it is never refused, and if
    memory is really that short the OS's MemoryError is reported by the caller as usual. Above
    the floor the job is large for the machine, and it is planned against 80 % of what is free
    now (the rest is for Python, the notebook and the OS); the ceiling refuses what could not
    fit even on an idle machine."""
    v = os.environ.get(MEMORY_ENV)
    if v:
        try:
            gb = float(v)
        except ValueError:
            raise ValueError(f"{MEMORY_ENV} must be a number of gigabytes; got {v!r}") from None
        if not gb > 0:
            raise ValueError(f"{MEMORY_ENV} must be positive; got {v!r}")
        return int(gb * (1 << 30))
    total = total_memory()
    return int(min(max(AVAILABLE_FRACTION * available_memory(), FLOOR_FRACTION * total), AVAILABLE_FRACTION * total))


def check_memory(nbytes: float, what: str, fix: str) -> None:
    """Raise :class:`TooLarge` when ``nbytes`` exceeds :func:`memory_budget`; ``what`` is the
    work ("the full-resolution matting Laplacian of a 6000x4000 image"), ``fix`` the options
    that fit."""
    budget = memory_budget()
    if nbytes > budget:
        raise TooLarge(f"{what} needs about {nbytes / 2**30:.1f} GB, more than the {budget / 2**30:.1f} GB "
                       f"this machine can give it ({MEMORY_ENV} sets the budget): {fix}")

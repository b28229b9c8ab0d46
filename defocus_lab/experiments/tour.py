"""The lab as a whole (notebook 00): one photo through every estimator x propagator of the
registry, the applications from any of those maps, and the ground-truth table of every method.

Decisions:

- **Each estimator runs once per photo**, and each propagator then runs on its sparse estimate:
  the same maps as :func:`~defocus_lab.pipeline.estimate_defocus` with ``propagation=`` (a
  method's own propagator takes its preset options, another propagator its own defaults, as
  there), without estimating four times over. Seconds are kept per stage: the estimate's
  and the propagation's.
- **One unit**: every map is converted to Gaussian sigma (px) through the RTF table
  (:func:`~defocus_lab.conventions.convert_units`), so that one colour scale compares them;
  Karaali's disk radius is shown as sigma.
- A combination that cannot run (no edge in the photo, the authors' weights missing) is listed
  in ``skipped`` with the reason, never dropped silently.
"""
from __future__ import annotations

import time

import numpy as np

APPLICATIONS = ("focus segmentation", "defocus magnification", "adaptive sharpening", "shallow depth of field",
                "deblurring (all in focus)")


def registry_grid(image, methods=None, propagators=None, *, progress=None) -> dict:
    """Every method (default: those that can run here) x every propagator on ``image``.

    Returns {"maps": {(method, propagator): sigma map}, "sparse": {method: SparseBlur (sigma)},
    "seconds": {(method, propagator): {"estimate", "propagate"}}, "skipped": {key: why},
    "own": {method: its preset propagator}}. ``progress``: a tqdm-like class."""
    from .._validate import as_image
    from ..pipeline import METHODS, PROPAGATORS, estimate_defocus
    from ._measure import stepped
    from .galetto import lab_methods
    img = as_image(image)
    methods = list(methods or lab_methods())
    propagators = list(propagators or PROPAGATORS)
    out = {"maps": {}, "sparse": {}, "seconds": {}, "skipped": {}, "own": {m: METHODS[m].propagator for m in methods}}
    for m in stepped(methods, progress, "estimators x propagators"):
        t = time.perf_counter()
        try:
            sparse = METHODS[m].estimate(img)
        except (ValueError, FileNotFoundError) as exc:
            for p in propagators:
                out["skipped"][(m, p)] = f"{m}: {exc}"
            continue
        t_est = time.perf_counter() - t
        out["sparse"][m] = sparse
        for p in propagators:  # the pipeline's own rules (presets, units), the estimate given
            try:
                dense, _, info = estimate_defocus(img, method=m, propagation=p, sparse=sparse, units="sigma",
                                                  return_info=True, progress=False)
            except ValueError as exc:  # e.g. no sparse estimate at all: the pipeline says why
                out["skipped"][(m, p)] = f"{m} + {p}: {exc}"
                continue
            out["maps"][(m, p)] = dense
            out["seconds"][(m, p)] = {"estimate": t_est, "propagate": info["seconds"]["propagate"]}
    return out


def apply(image, blur_map, application: str, **params):
    """(result image, what it shows, extra maps) of ``application`` (one of :data:`APPLICATIONS`)
    from ``blur_map`` (sigma px): ``t_f`` (segmentation), ``factor`` (magnification), ``c0``,
    ``c1`` (shallow depth of field), ``n_layers``, ``iterations`` (deblurring)."""
    from ..apps.deblur import deblur
    from ..apps.enhance import adaptive_unsharp_mask, shallow_depth_of_field
    from ..apps.focus import magnify, segment_focus
    if application == "focus segmentation":
        t_f = params.get("t_f", 1.0)
        mask = segment_focus(blur_map, t_f)
        shown = np.asarray(image, dtype=np.float64).copy()
        shown[~mask] *= 0.25
        return shown, f"in focus: sigma < {t_f:g} px ({mask.mean():.0%} of the pixels)", {"in focus": mask}
    if application == "defocus magnification":
        f = params.get("factor", 2.0)
        return magnify(image, blur_map, f, in_focus=params.get("in_focus", 0.5)), f"blur x {f:g} (lens renderer)", {}
    if application == "adaptive sharpening":
        return adaptive_unsharp_mask(image, blur_map), "Galetto & Deng's adaptive unsharp mask (Eqs. 8-11)", {}
    if application == "shallow depth of field":
        c0, c1 = params.get("c0", 1.0), params.get("c1", 7.0)
        r, w = shallow_depth_of_field(image, blur_map, c0=c0, c1=c1)
        return r, f"Galetto & Deng's Eq. 12 (c0 {c0:g}, c1 {c1:g} px)", {"weight W": w}
    if application == "deblurring (all in focus)":
        n, it = int(params.get("n_layers", 2)), int(params.get("iterations", 5))
        r = deblur(image, blur_map=blur_map, n_layers=n, iterations=it, progress=False)
        return r.image, f"blind deblurring of {n - 1} blurred layer(s), {it} iterations", {"layers": r.labels}
    raise ValueError(f"application must be one of {APPLICATIONS}; got {application!r}")

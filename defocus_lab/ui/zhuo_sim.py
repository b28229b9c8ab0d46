"""Explorers for notebook 01 (Zhuo & Sim 2011)."""
from __future__ import annotations

import time
import warnings

import ipywidgets as W
import numpy as np

from ..apps import magnify, segment_focus
from ..estimate.zhuo_sim import zhuo2011
from ..conventions import PHOTO_SIZE
from ..kernels.bilateral import sparse_bilateral
from ..experiments import zhuo_sim as ex
from ..propagate import MattingSolver, matting
from ..propagate.cg import ConvergenceWarning
from ..types import SparseBlur
from .base import BoxDrawer, Explorer, ImageExplorer, box_region, colorbar, show_map, slider, sparse_rgba

_LABEL = {"description_width": "initial"}  # labels in full, not cut


class CocExplorer(Explorer):
    """Fig. 2(b): CoC diameter against distance (Eq. 2)."""
    title = "zhuo2011-coc"
    figsize = (6, 3.2)

    def __init__(self):
        super().__init__({
            "d_f": slider(500.0, 200.0, 2000.0, 50.0, "focus distance d_f (mm)"),
            "f0": slider(80.0, 20.0, 150.0, 5.0, "focal length f0 (mm)"),
            "f_numbers": W.SelectMultiple(options=[1.4, 2.0, 2.8, 4.0, 5.6, 8.0], value=(2.0, 2.8, 4.0),
                                          description="f-numbers N", rows=6, style=_LABEL)})

    def compute(self, d_f, f0, f_numbers):
        if f0 >= d_f:
            raise ValueError("the focus distance must exceed the focal length")
        return ex.coc_curves(np.linspace(f0 * 1.5, 3000.0, 400), f_numbers, d_f=d_f, f0=f0)

    def draw(self, fig, r):
        ax = fig.add_subplot(111)
        for N, c in r["curves"].items():
            ax.plot(r["distance"], c, label=f"N = {N}")
        ax.set_xlabel("object distance d (mm)")
        ax.set_ylabel("CoC diameter c (mm)")
        ax.legend(fontsize=8)


class EdgeProfileExplorer(Explorer):
    """Fig. 3 in 1-D: the ratio of gradients peaks at the edge and gives sigma (Eqs. 4-7)."""
    title = "zhuo2011-edge-profile"
    figsize = (11, 3.0)

    def __init__(self):
        super().__init__({
            "sigma": slider(2.0, 0.2, 6.0, 0.1, "edge blur sigma"),
            "sigma0": slider(1.0, 0.3, 4.0, 0.1, "re-blur sigma0"),
            "inversion": W.ToggleButtons(options=["calibrated", "formula"], description="inversion")})

    def compute(self, sigma, sigma0, inversion):
        return ex.edge_profile(sigma, sigma0, inversion=inversion)

    def draw(self, fig, r):
        a, b, c = fig.subplots(1, 3)
        a.plot(r["x"], r["edge"], label="edge i(x)")
        a.plot(r["x"], r["reblurred"], "--", label="re-blurred i1(x)")
        a.legend(fontsize=8); a.set_title("edges", fontsize=9)
        b.plot(r["x"], r["grad"], label="|grad i|")
        b.plot(r["x"], r["grad_reblurred"], "--", label="|grad i1|")
        b.legend(fontsize=8); b.set_title("gradients", fontsize=9)
        c.plot(r["x"], r["ratio"])
        c.axvline(0, color="k", lw=0.5)
        c.set_title(f"ratio: R = {r['R']:.3f} at the edge -> sigma = {r['sigma_est']:.3f} "
                    f"(true {r['sigma']:.2f})", fontsize=9)
        c.set_ylim(0.9, max(1.2, np.nanmax(r["ratio"][np.abs(r["x"]) < 15]) * 1.05))


class BarErrorExplorer(Explorer):
    """Fig. 5(d)-(f): error against blur on synthetic bar images."""
    title = "zhuo2011-bars"
    figsize = (11, 3.2)

    def __init__(self):
        super().__init__({
            "variant": W.ToggleButtons(options=["paper", "code"], description="variant"),
            "noise_var": slider(0.01, 0.0, 0.02, 0.001, "noise variance (d)"),
            "spacings": W.SelectMultiple(options=[10, 15, 20, 30, 40], value=(10, 20, 40),
                                         description="edge distances (e)", rows=5, style=_LABEL),
            "seed": W.IntSlider(value=0, min=0, max=20, description="noise seed")})

    def compute(self, variant, noise_var, spacings, seed):
        return {
            "noise": {nv: ex.bar_errors(noise_var=nv, variant=variant, seed=seed) for nv in (0.0, noise_var)},
            "spacing": {s: ex.bar_errors(spacing=s, variant=variant) for s in spacings},
            "shift": {s: ex.bar_errors(shift=s, variant=variant) for s in (0, 1, 2)},
        }

    def draw(self, fig, r):
        axes = fig.subplots(1, 3, sharey=True)
        for ax, key, title, lab in zip(axes, ("noise", "spacing", "shift"),
                                       ("(d) noise", "(e) edge distance", "(f) edge shifted"),
                                       ("var {:g}", "{} px", "{} px")):
            for k, e in r[key].items():
                ax.plot(e["sigma"], e["error"], marker=".", label=lab.format(k))
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("blur sigma")
            ax.legend(fontsize=8)
        axes[0].set_ylabel("|error| (sigma, px)")
        # one range for the explorer (chosen from the first result, kept until reset): every
        # curve of that result fits, and a change of a control can be compared with the last
        top = self.colour_max("error", [np.nanmax(e["error"]) for g in r.values() for e in g.values()], 100)
        axes[0].set_ylim(0, 1.1 * top)


def _estimator_controls():
    return {
        "variant": W.ToggleButtons(options=["paper", "code"], description="variant"),
        "sigma0": slider(1.0, 0.3, 4.0, 0.1, "sigma0 (paper)"),
        "std1": slider(1.0, 0.5, 3.0, 0.1, "std1 (code)"),
        "std2": slider(1.5, 0.6, 5.0, 0.1, "std2 (code)"),
        "canny_sigma": slider(1.0, 0.5, 4.0, 0.1, "Canny sigma"),
        "canny_high": slider(0.1, 0.02, 0.5, 0.01, "Canny high"),
        "canny_low": slider(0.4, 0.1, 1.0, 0.05, "Canny low (x high)"),
    }


def _estimator_applicable(values):
    """sigma0 is the paper variant's, std1 and std2 the code variant's."""
    paper = values.get("variant") == "paper"
    return {"sigma0": paper, "std1": not paper, "std2": not paper}


def _sparse(image, v, bilateral="joint"):
    return zhuo2011(image, variant=v["variant"], sigma0=v["sigma0"], std1=v["std1"], std2=v["std2"],
                          canny_sigma=v["canny_sigma"], canny_high=v["canny_high"],
                          canny_low=v["canny_low"] * v["canny_high"], bilateral=bilateral)


def _dark(ax, image):
    ax.imshow(np.zeros(image.shape[:2]), cmap="gray", vmin=0, vmax=1)


class BilateralExplorer(ImageExplorer):
    """Fig. 4: joint bilateral filtering of the sparse map at edge pixels (Eq. 9)."""
    figsize = (11, 3.4)
    title = "zhuo2011-bilateral"

    def __init__(self, image, **kwargs):
        c = _estimator_controls()
        c.update({"sigma_s": slider(0.1, 0.01, 0.3, 0.01, "sigma_s (x image size)"),
                  "sigma_r": slider(0.1, 0.01, 0.5, 0.01, "sigma_r (intensity)")})
        super().__init__(image, c, **kwargs)

    def applicable(self, values):
        return _estimator_applicable(values)

    def compute(self, sigma_s, sigma_r, **v):
        raw = _sparse(self.image, v, bilateral=None)
        values = sparse_bilateral(raw.values, raw.mask, self.image, sigma_s=sigma_s * max(self.image.shape[:2]),
                                  sigma_r=sigma_r) if raw.mask.any() else raw.values
        return {"raw": raw, "filtered": SparseBlur(values, raw.mask, raw.edges)}

    def saved_map(self, r):
        f = r["filtered"]
        return np.where(f.mask, f.values, np.nan), self.map_unit() + ", NaN off the edges"

    def draw(self, fig, r):
        a, b, c = fig.subplots(1, 3)
        raw = r["raw"]
        vmax = self.colour_max("map", raw.values[raw.mask] if raw.mask.any() else [1.0], 98)
        a.imshow(self.image); a.set_title("input", fontsize=9); a.axis("off")
        for ax, k, t in ((b, "raw", "sparse blur (Eq. 7)"), (c, "filtered", "after joint bilateral (Eq. 9)")):
            _dark(ax, self.image)
            ax.imshow(sparse_rgba(r[k].values, r[k].mask, vmax))
            ax.set_title(t, fontsize=9); ax.axis("off")
        colorbar(fig, [b, c], vmax, self.label())


class DefocusMapExplorer(ImageExplorer):
    """Fig. 6: the whole method on a photo: sparse estimate, propagation (Eqs. 10-12)."""
    note = ("A change re-estimates and re-solves from the last map (about half a second on 2 cores); epsilon and "
            "the window radius rebuild the Laplacian: the solve so far is shown first, then the converged map "
            "(benchmarks/bench_explorers.py).")
    figsize = (11, 3.4)
    title = "zhuo2011-map"

    def __init__(self, image, **kwargs):
        c = _estimator_controls()
        c.update({"lam": slider(0.005, -4, 0, 0.1, "lambda", log=True),
                  "eps": slider(1e-7, -9, -2, 0.5, "epsilon", log=True),
                  "radius": W.IntSlider(value=1, min=1, max=4, description="window radius"),
                  "tol": slider(1e-5, -8, -2, 0.5, "CG tolerance", log=True)})
        super().__init__(image, c, **kwargs)

    def prepare(self):
        self._solver = None

    def applicable(self, values):
        return _estimator_applicable(values)

    def _matting(self, eps, radius):
        s = self._solver
        if s is None or s.eps != eps or s.radius != radius:  # the Laplacian depends on these only
            # photo size (the full-resolution button) as the default pipeline: conventions.PHOTO_SIZE
            s = self._solver = MattingSolver(self.image, eps=eps, radius=radius, **PHOTO_SIZE)
        return s

    def preview(self, lam, eps, radius, tol, **v):
        """The sparse estimate and the solve, stopped once :attr:`preview_seconds` have passed
        (both included); the answer itself when the solve converged by then, else a preview.

        The refinement solves again from where this solve started (the solver's warm start is put
        back), so the map shown at the end does not depend on how far the preview got: the
        same settings give the same map on a busy machine and on a quiet one."""
        t = time.perf_counter()
        sparse = _sparse(self.image, v)
        solver = self._matting(eps, radius)
        start = solver.last
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            dense, info = solver.solve(
                sparse, lam=lam, tol=tol, warm=True, callback=lambda *_: time.perf_counter() - t > self.preview_seconds)
        out = {"sparse": sparse, "dense": dense, "info": info}
        if not info.converged:
            solver.last = start
            out["preview"] = f"the solve after {info.iterations} iterations; the full solve follows"
        return out

    def compute(self, lam, eps, radius, tol, **v):
        sparse = _sparse(self.image, v)
        dense, info = self._matting(eps, radius).solve(sparse, lam=lam, tol=tol, warm=True)
        return {"sparse": sparse, "dense": dense, "info": info}

    def draw(self, fig, r):
        a, b, c = fig.subplots(1, 3)
        dense = r["dense"]
        vmax = self.colour_max("map", dense)
        a.imshow(self.image); a.set_title("input", fontsize=9); a.axis("off")
        _dark(b, self.image)
        b.imshow(sparse_rgba(r["sparse"].values, r["sparse"].mask, vmax))
        b.set_title(f"sparse ({int(r['sparse'].mask.sum())} edge px)", fontsize=9); b.axis("off")
        at = r["info"].downsample
        show_map(c, dense, f"defocus map (CG: {r['info'].iterations} iterations"
                           + (f", solved at 1/{at})" if at > 1 else ")") + (", refining ..." if "preview" in r else ""),
                 vmax=vmax)
        colorbar(fig, [b, c], vmax, self.label())


class FocusExplorer(ImageExplorer):
    """Fig. 9: focused-region extraction (t_f) and defocus magnification.

    The threshold is in the map's own pixels (the copy's; the paper's t_f = 1 is in
    full-resolution pixels of its photos) and starts at Otsu's threshold of the map; the
    histogram shows where it cuts. Magnification leaves the pixels below the threshold as they
    are (``magnify(..., in_focus=t_f)``): the focused region stays sharp, as in the paper.
    The full-resolution button applies the same threshold in the photo's pixels (t_f times the
    copy's scale), so it cuts the photo's map where it cuts the copy's.
    """
    figsize = (11, 3.3)
    title = "zhuo2011-focus"

    def __init__(self, image, side=320, **kwargs):
        super().__init__(image, side=side, **kwargs)

    def prepare(self):
        # the map does not depend on the sliders: computed once per image
        self._dense = matting(self.image, zhuo2011(self.image), **PHOTO_SIZE)
        if hasattr(self, "controls") and self.from_copy == 1.0:  # a new photo (not the full-size twin)
            top, t0 = self._threshold_range()
            t = self.controls["t_f"]
            self._quiet = True  # set_image recomputes once, after
            t.max = max(top, t.min + t.step)
            t.value = t0
            self._quiet = False
            self._defaults["t_f"] = t0

    def _threshold_range(self):
        """(slider top, Otsu's threshold) of the map, rounded for the slider."""
        from skimage.filters import threshold_otsu
        top = float(np.percentile(self._dense, 99.5)) or 1.0
        t0 = float(threshold_otsu(self._dense)) if np.ptp(self._dense) > 0 else top / 2
        return round(top, 2), round(t0, 2)

    def make_controls(self):
        top, t0 = self._threshold_range()
        return {"t_f": slider(t0, 0.0, top, 0.01, "threshold t_f (px)"),
                "factor": slider(2.0, 1.0, 5.0, 0.25, "magnification")}

    def compute(self, t_f, factor):
        t_f = t_f * self.from_copy  # blur scales with the resolution (1 on the copy)
        return {"dense": self._dense, "focus": segment_focus(self._dense, t_f), "t_f": t_f,
                "magnified": magnify(self.image, self._dense, factor, in_focus=t_f)}

    def draw(self, fig, r):
        gs = fig.add_gridspec(1, 5, width_ratios=[1, 1, 0.9, 1, 1])
        a, b, h, c, d = (fig.add_subplot(g) for g in gs)
        vmax = self.colour_max("map", r["dense"])
        a.imshow(self.image); a.set_title("input", fontsize=9); a.axis("off")
        im = show_map(b, r["dense"], "defocus map", vmax=vmax)
        b.contour(r["focus"], levels=[0.5], colors="w", linewidths=0.8)
        fig.colorbar(im, ax=b, shrink=0.8, extend="max").set_label(self.label(), fontsize=8)
        h.hist(r["dense"].ravel(), bins=60, range=(0, vmax), color="0.5")
        h.axvline(r["t_f"], color="r", label=f"t_f = {r['t_f']:.2f}")
        h.set_xlabel(self.label(), fontsize=8); h.set_yticks([]); h.legend(fontsize=7)
        h.set_title(f"{100 * r['focus'].mean():.0f} % in focus", fontsize=9)
        c.imshow(self.image * r["focus"][..., None]); c.set_title("focused region", fontsize=9); c.axis("off")
        d.imshow(r["magnified"]); d.set_title("magnified (focus kept sharp)", fontsize=9); d.axis("off")


class MarkupExplorer(ImageExplorer):
    """Fig. 10: user markup removes the sparse estimates inside a region before propagation.
    The region is drawn with the mouse on the left image (:class:`BoxDrawer`) or set with the
    two range sliders (fractions of the width and height)."""
    figsize = (7.6, 3.4)
    title = "zhuo2011-markup"

    def __init__(self, image, region=(0.0, 0.3, 0.0, 0.3), **kwargs):
        x0, x1, y0, y1 = region
        c = {"x": W.FloatRangeSlider(value=(x0, x1), min=0, max=1, step=0.01, description="region x"),
             "y": W.FloatRangeSlider(value=(y0, y1), min=0, max=1, step=0.01, description="region y"),
             "enabled": W.Checkbox(value=True, description="exclude region")}
        super().__init__(image, c, **kwargs)

    def prepare(self):
        self._sparse = zhuo2011(self.image)
        self._solver = MattingSolver(self.image, **PHOTO_SIZE)

    def body(self):
        self.drawer = BoxDrawer(self.image, self._drawn, title="drag a box to mark a region")
        return W.HBox([self.drawer.widget, self.output])

    def _drawn(self, x, y):
        self._quiet = True
        self.controls["x"].value = x
        self._quiet = False
        self.controls["y"].value = y  # one update, after both

    def probe_control(self):
        return self.controls["x"]

    def region(self, x, y):
        return box_region(self.image.shape[:2], x, y)

    def compute(self, x, y, enabled):
        region = self.region(x, y)
        sparse = self._sparse.excluding(region) if enabled else self._sparse
        if not sparse.mask.any():
            raise ValueError("the region covers every edge: shrink it")
        dense, _ = self._solver.solve(sparse, warm=True)
        return {"region": region, "sparse": sparse, "dense": dense, "box": (x, y)}

    def show(self, draw, result):
        if getattr(self, "drawer", None) is not None and "box" in result:
            self.drawer.set_boxes([(*result["box"], "r")])
        super().show(draw, result)

    def draw(self, fig, r):
        b, c = fig.subplots(1, 2)
        vmax = self.colour_max("map", r["dense"])
        _dark(b, self.image)
        b.imshow(sparse_rgba(r["sparse"].values, r["sparse"].mask, vmax)); b.axis("off")
        b.contour(r["region"], levels=[0.5], colors="r", linewidths=0.8)
        b.set_title("sparse estimates kept", fontsize=9)
        show_map(c, r["dense"], "defocus map", vmax=vmax)
        colorbar(fig, [b, c], vmax, self.label())


def full_resolution_maps(names):
    """Fig. 6 on every photo in ``names`` at full resolution: the photos above, their maps by the
    default pipeline (``estimate_defocus``) below, each with its colorbar; returns the figure.
    A progress bar says which photo is being computed."""
    import matplotlib.pyplot as plt

    from .. import data
    from ..pipeline import estimate_defocus
    from ..experiments._measure import stepped
    from .base import progress
    fig, axes = plt.subplots(2, len(names), figsize=(4 * len(names), 6), squeeze=False, layout="constrained")
    for k, n in enumerate(stepped(names, progress, "defocus maps at full resolution")):
        img = data.load_image(n, download=False)
        dense, _ = estimate_defocus(img)
        axes[0, k].imshow(img); axes[0, k].set_title(n); axes[0, k].axis("off")
        im = axes[1, k].imshow(dense, vmin=0, vmax=np.percentile(dense, 99.5)); axes[1, k].axis("off")
        fig.colorbar(im, ax=axes[1, k], shrink=0.7, label=f"sigma (px, full resolution {img.shape[1]}x{img.shape[0]})")
    return fig


def table1_markdown(row: dict) -> str:
    """The Table I row (``experiments.zhuo_sim.table1_row()``) as a Markdown table, with what was
    skipped."""
    lines = ["| data | raw MAE | relative MAE | accuracy |", "|---|---|---|---|"]
    for nn, s in row["rtf"].items():
        lines.append(f"| RTF {nn} | {s['mae']:.3f} | {s['relative_mae']:.3f} | |")
    for n, acc in row["cuhk"].items():
        lines.append(f"| {n} | | | {100 * acc:.1f} % |")
    lines.append(f"| synthetic motorcycle (σ) | {row['motorcycle_mae']:.3f} | | |")
    if row["skipped"]:
        lines.append(f"\n*Skipped (not available here): {', '.join(row['skipped'])}.*")
    return "\n".join(lines)

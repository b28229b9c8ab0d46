"""Explorers for notebook 01 (Zhuo & Sim 2011)."""
from __future__ import annotations

import ipywidgets as W
import numpy as np

from ..apps import magnify, segment_focus
from ..estimate.zhuo_sim import zhuo2011
from ..kernels.bilateral import sparse_bilateral
from ..types import SparseBlur
from ..experiments import zhuo_sim as ex
from ..propagate import MattingSolver, matting
from .base import Explorer, ImageExplorer, box_region, show_map, slider, sparse_rgba

class CocExplorer(Explorer):
    """Fig. 2(b): CoC diameter against distance (Eq. 2)."""
    figsize = (6, 3.2)

    def __init__(self):
        super().__init__({
            "d_f": slider(500.0, 200.0, 2000.0, 50.0, "focus distance d_f (mm)"),
            "f0": slider(80.0, 20.0, 150.0, 5.0, "focal length f0 (mm)"),
            "f_numbers": W.SelectMultiple(options=[1.4, 2.0, 2.8, 4.0, 5.6, 8.0], value=(2.0, 2.8, 4.0),
                                          description="f-numbers N", rows=6)})

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
    figsize = (11, 3.2)

    def __init__(self):
        super().__init__({
            "variant": W.ToggleButtons(options=["paper", "code"], description="variant"),
            "noise_var": slider(0.01, 0.0, 0.02, 0.001, "noise variance (d)"),
            "spacings": W.SelectMultiple(options=[10, 15, 20, 30, 40], value=(10, 20, 40),
                                         description="edge distances (e)", rows=5),
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
                                       ("var {}", "{} px", "{} px")):
            for k, e in r[key].items():
                ax.plot(e["sigma"], e["error"], marker=".", label=lab.format(k))
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("blur sigma")
            ax.legend(fontsize=8)
        axes[0].set_ylabel("|error|")
        axes[0].set_ylim(0, 3)


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


def _sparse(image, v, bilateral="joint"):
    return zhuo2011(image, variant=v["variant"], sigma0=v["sigma0"], std1=v["std1"], std2=v["std2"],
                          canny_sigma=v["canny_sigma"], canny_high=v["canny_high"],
                          canny_low=v["canny_low"] * v["canny_high"], bilateral=bilateral)


class BilateralExplorer(ImageExplorer):
    """Fig. 4: joint bilateral filtering of the sparse map at edge pixels (Eq. 9)."""
    figsize = (11, 3.4)

    def __init__(self, image):
        c = _estimator_controls()
        c.update({"sigma_s": slider(0.1, 0.01, 0.3, 0.01, "sigma_s (x image size)"),
                  "sigma_r": slider(0.1, 0.01, 0.5, 0.01, "sigma_r (intensity)")})
        super().__init__(image, c)

    def compute(self, sigma_s, sigma_r, **v):
        raw = _sparse(self.image, v, bilateral=None)
        values = sparse_bilateral(raw.values, raw.mask, self.image, sigma_s=sigma_s * max(self.image.shape[:2]),
                                  sigma_r=sigma_r) if raw.mask.any() else raw.values
        return {"raw": raw, "filtered": SparseBlur(values, raw.mask, raw.edges)}

    def draw(self, fig, r):
        a, b, c = fig.subplots(1, 3)
        vmax = float(np.percentile(r["raw"].values[r["raw"].mask], 98)) if r["raw"].mask.any() else 1
        a.imshow(self.image); a.set_title("input", fontsize=9); a.axis("off")
        for ax, k, t in ((b, "raw", "sparse blur (Eq. 7)"), (c, "filtered", "after joint bilateral (Eq. 9)")):
            ax.imshow(np.zeros(self.image.shape[:2]), cmap="gray", vmin=0, vmax=1)
            ax.imshow(sparse_rgba(r[k].values, r[k].mask, vmax))
            ax.set_title(t, fontsize=9); ax.axis("off")


class DefocusMapExplorer(ImageExplorer):
    """Fig. 6: the whole method on a photo: sparse estimate, propagation (Eqs. 10-12)."""
    full_resolution_px = True
    figsize = (11, 3.4)

    def __init__(self, image):
        c = _estimator_controls()
        c.update({"lam": slider(0.005, -4, 0, 0.1, "lambda", log=True),
                  "eps": slider(1e-7, -9, -2, 0.5, "epsilon", log=True),
                  "radius": W.IntSlider(value=1, min=1, max=4, description="window radius"),
                  "tol": slider(1e-5, -8, -2, 0.5, "CG tolerance", log=True)})
        self._solver = None
        super().__init__(image, c)

    def compute(self, lam, eps, radius, tol, **v):
        sparse = _sparse(self.image, v)
        s = self._solver
        if s is None or s.eps != eps or s.radius != radius:  # the Laplacian depends on these only
            s = self._solver = MattingSolver(self.image, eps=eps, radius=radius)
        dense, info = s.solve(sparse, lam=lam, tol=tol, warm=True)
        return {"sparse": sparse, "dense": dense, "info": info}

    def draw(self, fig, r):
        a, b, c = fig.subplots(1, 3)
        dense = r["dense"] / self.factor  # full-resolution pixels
        vmax = float(np.percentile(dense, 99.5))
        a.imshow(self.image); a.set_title("input", fontsize=9); a.axis("off")
        b.imshow(np.zeros(self.image.shape[:2]), cmap="gray")
        b.imshow(sparse_rgba(r["sparse"].values / self.factor, r["sparse"].mask, vmax))
        b.set_title(f"sparse ({int(r['sparse'].mask.sum())} edge px)", fontsize=9); b.axis("off")
        im = show_map(c, dense, f"defocus map (CG: {r['info'].iterations} iterations)", vmax=vmax)
        fig.colorbar(im, ax=c, shrink=0.8, label="sigma (px, full resolution)")

    def full_resolution(self):
        """The same parameters on the full-size image: (dense map, SparseBlur)."""
        v = self.values()
        sparse = _sparse(self.full, v)
        dense = matting(self.full, sparse, lam=v["lam"], eps=v["eps"], radius=v["radius"],
                        tol=v["tol"])
        return dense, sparse


class FocusExplorer(ImageExplorer):
    """Fig. 9: focused-region extraction (t_f) and defocus magnification."""
    full_resolution_px = True
    figsize = (11, 3.4)

    def __init__(self, image, side=320):
        self._dense = None
        super().__init__(image, {"t_f": slider(1.0, 0.1, 3.0, 0.05, "threshold t_f"),
                                 "factor": slider(2.0, 1.0, 5.0, 0.25, "magnification")}, side=side)

    def compute(self, t_f, factor):
        if self._dense is None:  # the map does not depend on these sliders: compute it once
            sparse = zhuo2011(self.image)
            self._dense = matting(self.image, sparse)
        # t_f is in full-resolution pixels (the paper's units); the copy's blur is smaller by factor
        return {"dense": self._dense, "focus": segment_focus(self._dense / self.factor, t_f),
                "magnified": magnify(self.image, self._dense, factor)}

    def draw(self, fig, r):
        a, b, c, d = fig.subplots(1, 4)
        a.imshow(self.image); a.set_title("input", fontsize=9); a.axis("off")
        show_map(b, r["dense"], "defocus map")
        c.imshow(self.image * r["focus"][..., None]); c.set_title("focused region", fontsize=9); c.axis("off")
        d.imshow(r["magnified"]); d.set_title("defocus magnified", fontsize=9); d.axis("off")


class MarkupExplorer(ImageExplorer):
    """Fig. 10: user markup removes the sparse estimates inside a region before propagation."""
    figsize = (11, 3.4)

    def __init__(self, image, region=(0.0, 0.3, 0.0, 0.3)):
        x0, x1, y0, y1 = region
        c = {"x": W.FloatRangeSlider(value=(x0, x1), min=0, max=1, step=0.01, description="region x"),
             "y": W.FloatRangeSlider(value=(y0, y1), min=0, max=1, step=0.01, description="region y"),
             "enabled": W.Checkbox(value=True, description="exclude region")}
        self._sparse = None
        self._solver = None
        super().__init__(image, c)

    def region(self, x, y):
        return box_region(self.image.shape[:2], x, y)

    def compute(self, x, y, enabled):
        if self._sparse is None:
            self._sparse = zhuo2011(self.image)
            self._solver = MattingSolver(self.image)
        region = self.region(x, y)
        sparse = self._sparse.excluding(region) if enabled else self._sparse
        if not sparse.mask.any():
            raise ValueError("the region covers every edge: shrink it")
        dense, _ = self._solver.solve(sparse, warm=True)
        return {"region": region, "sparse": sparse, "dense": dense}

    def draw(self, fig, r):
        a, b, c = fig.subplots(1, 3)
        a.imshow(self.image); a.contour(r["region"], levels=[0.5], colors="r"); a.axis("off")
        a.set_title("input and marked region", fontsize=9)
        vmax = float(np.percentile(r["dense"], 99.5))
        b.imshow(np.zeros(self.image.shape[:2]), cmap="gray")
        b.imshow(sparse_rgba(r["sparse"].values, r["sparse"].mask, vmax)); b.axis("off")
        b.set_title("sparse estimates kept", fontsize=9)
        show_map(c, r["dense"], "defocus map", vmax=vmax)


def full_resolution_maps(names):
    """Fig. 6 on every photo in ``names`` at full resolution: the photos above, their maps by the
    default pipeline (``estimate_defocus``) below; returns the figure."""
    import matplotlib.pyplot as plt

    from .. import data
    from ..pipeline import estimate_defocus
    fig, axes = plt.subplots(2, len(names), figsize=(4 * len(names), 6), squeeze=False, layout="constrained")
    for k, n in enumerate(names):
        img = data.load_image(n, download=False)
        dense, _ = estimate_defocus(img)
        axes[0, k].imshow(img); axes[0, k].set_title(n); axes[0, k].axis("off")
        im = axes[1, k].imshow(dense, vmin=0, vmax=np.percentile(dense, 99.5)); axes[1, k].axis("off")
        fig.colorbar(im, ax=axes[1, k], shrink=0.7, label="sigma (px)")
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

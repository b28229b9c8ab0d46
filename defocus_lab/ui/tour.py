"""Figures and explorers for notebook 00, the tour of the lab: every estimator x propagator on one
photo, the applications from any of the maps, a method against the synthetic ground truth, and
the ground-truth table of every method."""
from __future__ import annotations

import html

import ipywidgets as W
import numpy as np

from ..conventions import convert_units
from ..experiments import evaluate as ev
from ..experiments import tour as ex
from ..pipeline import METHODS, PROPAGATORS, estimate_defocus
from .base import Explorer, ImageExplorer, colorbar, show_map, slider, sparse_rgba

_LABEL = {"description_width": "initial"}


def _key_name(key) -> str:
    m, p = key
    return f"{m} + {p}" + (" (its own)" if METHODS[m].propagator == p else "")


class RegistryExplorer(ImageExplorer):
    """Every method of the registry (rows) with every propagator (columns) on the picker's photo:
    the sparse estimate first, then each dense map, all on **one colour scale** (its top: the
    ``top`` percentile of every map together) and in one unit (sigma or disk radius, through the
    RTF table), each titled with its seconds (estimate + propagation).

    The maps are computed once per photo (``prepare``: ~15 s for a 320 px copy on 2 cores, a
    bar shows the progress); the controls only redraw, so they answer at once. The grid is what
    :class:`ApplicationExplorer` draws its maps from.
    """

    side = 320
    figsize = (11, 9)
    layout = None  # 20 panels: placed by subplots_adjust, twice as fast to draw as the constrained layout
    title = "registry"
    note = "Rows: the estimators; columns: their sparse estimate, then each propagator. Own = the paper's pair."

    def prepare(self):
        from .base import progress
        self.grid = ex.registry_grid(self.image, progress=progress)
        self.methods = [m for m in METHODS if m in self.grid["sparse"]] + \
            sorted({m for m, _ in self.grid["skipped"]} - set(self.grid["sparse"]))

    def make_controls(self):
        return {"top": slider(99.0, 90.0, 100.0, 0.5, "colour scale top (percentile of all maps)", width="420px"),
                "units": W.ToggleButtons(options=["sigma", "disk"], value="sigma", description="unit",
                                         style=_LABEL)}

    def compute(self, top, units):
        maps = {k: (m if units == "sigma" else convert_units(m, "sigma", "disk")) for k, m in self.grid["maps"].items()}
        every = np.concatenate([m.ravel() for m in maps.values()]) if maps else np.zeros(1)
        vmax = float(np.percentile(every, top)) or 1.0
        return {"maps": maps, "vmax": vmax, "units": units, "skipped": dict(self.grid["skipped"])}

    def status_text(self, result):
        skipped = "; ".join(sorted(set(result["skipped"].values())))
        return (f"{len(result['maps'])} maps, one scale 0..{result['vmax']:.2f} px ({result['units']}). "
                + (f"Skipped: {html.escape(skipped)}. " if skipped else "") + super().status_text(result))

    def draw(self, fig, r):
        props = list(PROPAGATORS)
        ax = fig.subplots(len(self.methods), len(props) + 1, squeeze=False)
        fig.subplots_adjust(left=0.01, right=0.91, top=0.96, bottom=0.01, wspace=0.05, hspace=0.3)
        grey = self.image.mean(axis=2) if self.image.ndim == 3 else self.image
        for i, m in enumerate(self.methods):
            sb = self.grid["sparse"].get(m)
            a = ax[i, 0]
            a.imshow(grey, cmap="gray")
            if sb is not None:
                vals = sb.values if sb.units == r["units"] else convert_units(sb.values, sb.units, r["units"], sb.mask)
                a.imshow(sparse_rgba(vals, sb.mask, r["vmax"]))
                n = int(sb.mask.sum())
                a.set_title(f"{m}: {n if n < sb.mask.size else 'dense'} estimates", fontsize=8)
            else:
                a.set_title(f"{m}: skipped", fontsize=8)
            a.axis("off")
            for j, p in enumerate(props):
                a = ax[i, j + 1]
                key = (m, p)
                if key in r["maps"]:
                    s = self.grid["seconds"][key]
                    own = " (own)" if self.grid["own"].get(m) == p else ""
                    show_map(a, r["maps"][key], f"{p}{own}\n{s['estimate']:.2f} + {s['propagate']:.2f} s",
                             vmax=r["vmax"])
                    a.title.set_fontsize(8)
                else:
                    a.text(0.5, 0.5, "skipped", ha="center", va="center", transform=a.transAxes)
                    a.axis("off")
        colorbar(fig, ax, r["vmax"], self.label(r["units"]), cax=fig.add_axes((0.93, 0.15, 0.015, 0.7)))


class ApplicationExplorer(ImageExplorer):
    """The applications from any map of a :class:`RegistryExplorer` (the same photo): focus
    segmentation (Zhuo & Sim's t_f), defocus magnification (the lens renderer), Galetto & Deng's
    adaptive sharpening and shallow depth of field, and the blind deblurring of the third
    paper. Only the controls of the chosen application are enabled."""

    side = 320
    figsize = (11, 3.6)
    title = "application"

    def __init__(self, registry: RegistryExplorer, **kwargs):
        self.registry = registry
        super().__init__(registry.picker if registry.picker is not None else registry.full, **kwargs)

    def _show_full_button(self, button) -> None:
        """No **full resolution** here: the maps are the registry's, on its copy (its own button
        computes them on the photo)."""
        button.layout.display = "none"

    def prepare(self):
        keys = list(self.registry.grid["maps"])
        if not keys:
            raise ValueError("no map of the registry could be computed for this photo")
        self.keys = {_key_name(k): k for k in keys}
        if getattr(self, "controls", None):
            menu = self.controls["source"]
            old = menu.value
            menu.options = list(self.keys)
            if old in self.keys:
                menu.value = old

    def make_controls(self):
        first = next((n for n, k in self.keys.items() if k == ("zhuo2011", "matting")), next(iter(self.keys)))
        return {"source": W.Dropdown(options=list(self.keys), value=first, description="map", style=_LABEL),
                "application": W.Dropdown(options=list(ex.APPLICATIONS), value=ex.APPLICATIONS[0],
                                          description="application", style=_LABEL),
                "t_f": slider(1.0, 0.2, 4.0, 0.1, "t_f: in focus below (sigma px)"),
                "factor": slider(2.0, 1.2, 4.0, 0.1, "magnification factor"),
                "c0": slider(1.0, 0.2, 3.0, 0.1, "c0: sharp up to (px)"),
                "c1": slider(4.0, 1.0, 10.0, 0.5, "c1: fully blurred from (px)"),
                "n_layers": W.IntSlider(value=2, min=2, max=4, description="layers", style=_LABEL),
                "iterations": W.IntSlider(value=5, min=1, max=20, description="iterations N", style=_LABEL)}

    def applicable(self, values):
        use = {"focus segmentation": {"t_f"}, "defocus magnification": {"factor"},
               "adaptive sharpening": set(), "shallow depth of field": {"c0", "c1"},
               "deblurring (all in focus)": {"n_layers", "iterations"}}[values["application"]]
        return {k: k in use for k in ("t_f", "factor", "c0", "c1", "n_layers", "iterations")}

    def compute(self, source, application, t_f, factor, c0, c1, n_layers, iterations):
        if c1 <= c0 and application == "shallow depth of field":
            raise ValueError(f"c1 ({c1:g}) must exceed c0 ({c0:g})")
        m = self.registry.grid["maps"][self.keys[source]]
        if m.shape != self.image.shape[:2]:
            raise ValueError("the registry's maps are of another photo: wait for it to finish")
        out, what, extra = ex.apply(self.image, m, application, t_f=t_f, factor=factor, c0=c0, c1=c1,
                                    n_layers=n_layers, iterations=iterations)
        return {"map": m, "out": np.clip(out, 0, 1), "what": what, "extra": extra, "source": source,
                "application": application}

    def status_text(self, r):
        return f"{r['application']} from {r['source']}: {r['what']}. " + super().status_text(r)

    def draw(self, fig, r):
        n = 3 + len(r["extra"])
        ax = fig.subplots(1, n)
        ax[0].imshow(self.image)
        ax[0].set_title("photo (copy)", fontsize=9)
        show_map(ax[1], r["map"], r["source"], vmax=self.colour_max("map", r["map"]))
        ax[2].imshow(r["out"])
        ax[2].set_title(r["application"], fontsize=9)
        for a, (name, e) in zip(ax[3:], r["extra"].items()):
            a.imshow(e, cmap="viridis" if e.dtype != bool else "gray")
            a.set_title(name, fontsize=9)
        for a in ax:
            a.axis("off")
        colorbar(fig, [ax[1]], self.colour_max("map", r["map"]), self.label())


class TruthExplorer(Explorer):
    """One method against the synthetic ground truth: scikit-image's motorcycle rendered with
    thin-lens defocus from its real disparity (the focus plane and the largest blur on sliders),
    the method's map, the true sigma and the absolute error, with the MAE. The scene is rendered
    at half size (370x250) when its sliders move.

    What a change does not touch is kept: the scene, the sparse estimate of each (scene,
    method) and the dense map of each (scene, method, propagator). A change that must run an
    estimator or the matting solve first shows the new scene and its true sigma (with the sparse
    estimate when it is kept), then the map and its error when they are computed."""

    figsize = (11, 3.2)
    title = "truth"
    KEEP = 8  # sparse estimates and dense maps kept
    QUICK = ("domain_transform", "wgif")  # propagators that answer at once (no linear solve)

    def __init__(self, **kwargs):
        controls = {"method": W.Dropdown(options=list(METHODS), value="zhuo2011", description="method",
                                         style=_LABEL),
                    "propagation": W.Dropdown(options=["(its own)"] + list(PROPAGATORS), value="(its own)",
                                              description="propagator", style=_LABEL),
                    "focus": slider(0.75, 0.05, 0.95, 0.05, "focus plane (disparity quantile)"),
                    "max_sigma": slider(3.0, 1.0, 5.0, 0.25, "largest blur (sigma px)")}
        self._scenes: dict = {}
        self._sparse: dict = {}
        self._dense: dict = {}
        super().__init__(controls, **kwargs)

    def probe_control(self):
        return self.controls["max_sigma"]

    def _scene(self, focus, max_sigma):
        from ..synth import defocused_motorcycle
        key = (round(focus, 3), round(max_sigma, 3))
        if key not in self._scenes:
            self._scenes = {key: defocused_motorcycle(scale=0.5, focus=focus, max_sigma=max_sigma)}
        return key, self._scenes[key]

    @staticmethod
    def _keep(cache, key, value, limit):
        if len(cache) >= limit:
            cache.pop(next(iter(cache)))
        cache[key] = value
        return value

    def _result(self, scene, method, prop, dense=None, sparse=None):
        out = {"image": scene.image, "truth": scene.sigma, "method": method, "propagation": prop, "sparse": sparse}
        if dense is not None:
            from .. import metrics
            err = np.abs(dense - scene.sigma)
            out.update(map=dense, error=err, mae=float(err.mean()), relative_mae=metrics.relative_mae(dense, scene.sigma))
        return out

    def preview(self, method, propagation, focus, max_sigma):
        key, scene = self._scene(focus, max_sigma)
        prop = METHODS[method].propagator if propagation == "(its own)" else propagation
        if (key, method, prop) in self._dense:
            return None
        sparse = self._sparse.get((key, method))
        if sparse is not None and prop in self.QUICK:
            return None  # only a quick propagation to run
        out = self._result(scene, method, prop, sparse=sparse)
        out["preview"] = "the scene and its true sigma" + ("" if sparse is None else ", the sparse estimate") + \
            "; the map follows"
        return out

    def compute(self, method, propagation, focus, max_sigma):
        key, scene = self._scene(focus, max_sigma)
        prop = METHODS[method].propagator if propagation == "(its own)" else propagation
        if (key, method, prop) not in self._dense:
            try:  # in the estimator's own unit, as estimate_defocus takes a kept sparse estimate back
                dense, sparse = estimate_defocus(scene.image, method=method, propagation=prop, progress=False,
                                                 sparse=self._sparse.get((key, method)))
            except FileNotFoundError as exc:  # the authors' weights are not here
                raise ValueError(str(exc).split(".")[0]) from None
            self._keep(self._sparse, (key, method), sparse, self.KEEP)
            if sparse.units != "sigma":
                dense = convert_units(dense, sparse.units, "sigma")
            self._keep(self._dense, (key, method, prop), (dense, sparse), self.KEEP)
        dense, sparse = self._dense[(key, method, prop)]
        return self._result(scene, method, prop, dense, sparse)

    def status_text(self, r):
        return (f"{r['method']} + {r['propagation']}: MAE {r['mae']:.3f} px, relative MAE {r['relative_mae']:.3f}. "
                + super().status_text(r))

    def draw(self, fig, r):
        ax = fig.subplots(1, 4)
        ax[0].imshow(r["image"])
        ax[0].set_title("rendered motorcycle", fontsize=9)
        ax[0].axis("off")
        vmax = max(float(r["truth"].max()), 1e-6)
        if "map" in r:
            show_map(ax[1], r["map"], f"{r['method']} + {r['propagation']}", vmax=vmax)
        else:  # a preview
            ax[1].imshow(r["image"].mean(axis=2), cmap="gray", alpha=0.35)
            sb = r["sparse"]
            if sb is not None:
                values = sb.values if sb.units == "sigma" else convert_units(sb.values, sb.units, "sigma", sb.mask)
                ax[1].imshow(sparse_rgba(values, sb.mask, vmax))
            ax[1].set_title(f"{r['method']} + {r['propagation']}: refining ...", fontsize=9)
            ax[1].axis("off")
        show_map(ax[2], r["truth"], "true sigma", vmax=vmax)
        colorbar(fig, list(ax[1:3]), vmax, "sigma (px, the 370x250 scene)")
        if "error" in r:
            show_map(ax[3], r["error"], f"|error|, MAE {r['mae']:.3f} px", vmax=vmax, cmap="magma")
            colorbar(fig, [ax[3]], vmax, "|error| (px)", cmap="magma")
        else:
            ax[3].set_title("|error|: refining ...", fontsize=9)
            ax[3].axis("off")


def table_html(results: dict) -> str:
    """The ground-truth tables of :func:`defocus_lab.experiments.evaluate.evaluate` (dataset ->
    result), one per dataset: each method's mean scores, seconds and images, the published
    figure under ours where a paper gives one."""
    parts = []
    for dataset, r in results.items():
        names = list(r["metrics"])
        better = {m: ("lower is better" if m in ev.MAP_METRICS else "higher is better") for m in names}
        head = "".join(f"<th title='{better[m]}'>{m}</th>" for m in names)
        rows = []
        for m, s in r["summary"].items():
            pub = r["published"].get(m, ({}, ""))[0]
            cells = "".join(f"<td>{s[k]:.3f}" + (f"<br><small>paper {pub[k]:.3f}</small>" if k in pub else "")
                            + "</td>" for k in names)
            fails = (f" ({s['errors']} failed)" if s["errors"] else "") + \
                (f" ({s['warned']} with solver warnings)" if s.get("warned") else "")
            rows.append(f"<tr><td><code>{m}</code></td>{cells}<td>{s['seconds']:.2f}</td>"
                        f"<td>{s['images']}{fails}</td></tr>")
        sources = sorted({src for _, src in r["published"].values()})
        foot = ("<br><small>paper: " + "; ".join(html.escape(s) for s in sources)
                + " (the papers' image sets; ours is the sample here)</small>") if sources else ""
        skipped = f"<br><small>not here: {', '.join(r['skipped'])}</small>" if r["skipped"] else ""
        n = len({row["image"] for row in r["rows"]})
        parts.append(f"<h4>{html.escape(dataset)} ({n} images; {', '.join(f'{k}: {v}' for k, v in better.items())})</h4>"
                     f"<table><tr><th>method</th>{head}<th>seconds</th><th>images</th></tr>{''.join(rows)}</table>"
                     f"{foot}{skipped}")
    return "".join(parts)

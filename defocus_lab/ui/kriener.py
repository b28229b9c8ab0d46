"""Explorers for notebook 04 (Kriener, Binder & Wille 2013)."""
from __future__ import annotations

import time
import warnings

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np

from ..apps import magnify, scribble
from ..estimate.kriener import kriener2013
from ..experiments import kriener as ex
from ..pipeline import estimate_defocus
from ..conventions import PHOTO_SIZE, PHOTO_WORKING_PIXELS
from ..propagate import MattingSolver
from ..propagate.matting import solve_downsample
from ..propagate.cg import ConvergenceWarning
from ..synth.scenes import smooth_surface_scene
from ..types import SparseBlur
from .base import BoxDrawer, Explorer, ImageExplorer, box_region, colorbar, show_map, slider, working_copy

SETTINGS = {"Kriener (7x7, eps 1e-3, lambda 0.1)": ex.PAPER_SETTING,
            "exact (3x3, eps 1e-7, lambda 0.005)": ex.EXACT_SETTING}


_LABEL = {"description_width": "initial"}  # labels in full, not cut to the default width


def _propagation_controls(iterations=200):
    p = ex.PAPER_SETTING
    return {"radius": W.IntSlider(value=p["radius"], min=1, max=5, description="window radius", style=_LABEL),
            "eps": slider(p["eps"], -8, -1, 0.5, "epsilon", log=True),
            "lam": slider(p["lam"], -4, 0, 0.25, "lambda", log=True),
            "downsample": W.Dropdown(options=[2, 4, 8], value=2, description="downsample", style=_LABEL,
                                     layout=W.Layout(width="auto")),
            "iterations": W.IntSlider(value=iterations, min=5, max=1000, step=5, description="CG iterations",
                                      style=_LABEL),
            "preconditioner": W.Dropdown(options=["auto", "jacobi", "amg", "none"], value="auto",
                                         description="preconditioner", style=_LABEL,
                                         layout=W.Layout(width="auto"))}


class _SolverCache:
    """MattingSolvers by (eps, radius, downsample, preconditioner): the window statistics and any
    hierarchy are built once per combination, so only the sliders that change them cost set-up.

    At photo size (the full-resolution button) "direct" is the default pipeline's solve, at the
    power-of-two fraction ``base`` of ``conventions.PHOTO_SIZE``, and every downsample is taken
    from there, so that direct and accelerated keep their ratio."""

    def __init__(self, image):
        self.image = image
        self.base = solve_downsample(image.shape[:2], 1, **PHOTO_SIZE)
        self._solvers = {}

    def get(self, eps, radius, downsample, preconditioner):
        key = (eps, radius, downsample, preconditioner)
        if key not in self._solvers:
            if len(self._solvers) > 6:
                self._solvers.clear()
            self._solvers[key] = MattingSolver(self.image, eps=eps, radius=radius, downsample=downsample * self.base,
                                               preconditioner=preconditioner)
        return self._solvers[key]


def _fixed_iterations(solver, sparse, lam, iterations, budget=None):
    """Run CG for exactly ``iterations`` (as the paper does), from a cold start; (map, info, s).
    With ``budget`` (s), stop early once that long has passed (a preview's partial solve)."""
    t = time.perf_counter()
    stop = None if budget is None else (lambda it, x, res: time.perf_counter() - t > budget)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        d, info = solver.solve(sparse, lam=lam, tol=1e-14, maxiter=iterations, callback=stop)
    return d, info, time.perf_counter() - t


class AccelerationExplorer(ImageExplorer):
    """Fig. 5: direct (full resolution) against accelerated (solved at 1/downsample, guided
    upsampling) blur maps after the same number of CG iterations, their difference, and the
    magnified images.

    A change of the propagation shows the accelerated half at once (its solve is the cheap one:
    a quarter of the pixels at downsample 2) and the direct half follows in the background
    (:meth:`Explorer.preview`). Each solve is kept by its settings, so moving back to earlier
    settings, or moving only the magnification, solves nothing."""
    title = "kriener2013-acceleration"
    note = ("A change of the propagation shows the accelerated map at once and the direct one when its solve "
            "ends (2.5-4 s on 2 cores for the 320 px copy; benchmarks/bench_explorers.py).")
    figsize = (11, 6.4)
    side = 320
    KEEP = 8  # solves kept (each a map of the copy)

    def prepare(self):
        self.sparse = kriener2013(self.image)
        self.cache = _SolverCache(self.image)
        self._solved = {}

    def make_controls(self):
        c = _propagation_controls()
        c["factor"] = slider(2.0, 1.0, 4.0, 0.25, "magnification")
        c["in_focus"] = slider(0.6, 0.0, 2.0, 0.1, "in focus below (px)")
        return c

    def _solve(self, ds, radius, eps, lam, iterations, preconditioner, budget=None):
        """(map, info, seconds) of the solve at 1/ds, kept by its settings; with ``budget`` (s),
        stopped once that long has passed, and kept only if it ran to the end."""
        key = (ds, radius, eps, lam, iterations, preconditioner)
        if key in self._solved:
            return self._solved[key]
        got = _fixed_iterations(self.cache.get(eps, radius, ds, preconditioner), self.sparse, lam, iterations,
                                budget=budget)
        if got[1].iterations == iterations or got[1].converged:
            if len(self._solved) >= self.KEEP:
                self._solved.pop(next(iter(self._solved)))
            self._solved[key] = got
        return got

    def _result(self, solved, factor, in_focus):
        in_focus = in_focus * self.from_copy  # px of the copy; the full-resolution twin's in its own
        mag = {k: magnify(self.image, np.clip(v[0], 0, None), factor, in_focus=in_focus) for k, v in solved.items()}
        out = {"maps": {k: v[0] for k, v in solved.items()}, "info": {k: v[1] for k, v in solved.items()},
               "seconds": {k: v[2] for k, v in solved.items()}, "magnified": mag}
        if len(solved) == 2:
            out["difference"] = np.abs(solved["direct"][0] - solved["accelerated"][0])
        return out

    def preview(self, radius, eps, lam, downsample, iterations, preconditioner, factor, in_focus):
        """The accelerated half: its solve when kept, else as many of its iterations as fit in
        :attr:`preview_seconds` (kept when that is all of them)."""
        if (1, radius, eps, lam, iterations, preconditioner) in self._solved:
            return None  # the direct solve is kept: the full answer is quick
        acc = self._solve(downsample, radius, eps, lam, iterations, preconditioner, budget=self.preview_seconds)
        out = self._result({"accelerated": acc}, factor, in_focus)
        n = acc[1].iterations
        out["preview"] = ("the accelerated half" + ("" if n == iterations or acc[1].converged else
                                                    f" after {n} of its {iterations} iterations")
                          + "; the direct solve follows")
        return out

    def compute(self, radius, eps, lam, downsample, iterations, preconditioner, factor, in_focus):
        solved = {name: self._solve(ds, radius, eps, lam, iterations, preconditioner)
                  for name, ds in (("direct", 1), ("accelerated", downsample))}
        return self._result(solved, factor, in_focus)

    def saved_map(self, r):
        return r["maps"]["accelerated"], self.label() + ", accelerated"

    def draw(self, fig, r):
        ax = fig.subplots(2, 3)
        vmax = self.colour_max("map", r["maps"].get("direct", r["maps"]["accelerated"]))
        for j, k in enumerate(("direct", "accelerated")):
            if k not in r["maps"]:  # a preview: the direct solve is running
                for a in ax[:, j]:
                    _pending(a, f"{k}: refining ...")
                continue
            info, sec = r["info"][k], r["seconds"][k]
            at = f" (1/{info.downsample})" if info.downsample > 1 else ""
            show_map(ax[0, j], r["maps"][k], f"{k}{at}: {info.iterations} it, {sec:.2f} s, residual "
                          f"{info.residual:.1e}" + (" (preview)" if "preview" in r else ""), vmax=vmax)
            ax[1, j].imshow(r["magnified"][k]); ax[1, j].axis("off")
            ax[1, j].set_title(f"{k}, magnified", fontsize=9)
        colorbar(fig, list(ax[0, :2]), vmax, self.label())
        ax[1, 2].imshow(self.image); ax[1, 2].set_title("input", fontsize=9); ax[1, 2].axis("off")
        if "difference" not in r:
            _pending(ax[0, 2], "|direct - accelerated|: refining ...")
            return
        dmax = self.colour_max("difference", r["difference"], 100)
        show_map(ax[0, 2], r["difference"], f"|direct - accelerated| (max {r['difference'].max():.2f})",
                 vmax=dmax, cmap="magma")
        colorbar(fig, ax[0, 2], dmax, self.label("|difference|"), cmap="magma")


def _pending(ax, text):
    """An empty panel that says what is still being computed."""
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=9, color="0.4", transform=ax.transAxes)
    ax.set_xticks([]); ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("0.8")


class ConvergenceExplorer(ImageExplorer):
    """Fig. 6: MSE (log) against CPU time for the direct and the accelerated method, every
    iteration count of one run, against a converged reference; pymatting's V-cycle CG too
    when it is installed.

    Each curve is kept by the settings it depends on (the accelerated one by its downsample, the
    others not), so a change reruns only the curves it touches. When the direct or pymatting
    curve must be rerun, the accelerated curve (the cheap one) is drawn first and the others
    follow in the background. The converged references of both settings are made when the
    photo is prepared."""
    title = "kriener2013-convergence"
    note = ("A change reruns the curves it touches, each timed point by point: the accelerated curve at once, "
            "the direct and pymatting curves a few seconds later (benchmarks/bench_explorers.py). The curves "
            "are of the working copy only: at photo size each point would be a full solve of minutes, so this "
            "explorer has no full-resolution button.")
    figsize = (7, 3.8)
    side = 400
    KEEP = 12  # curves kept

    def prepare(self):
        self.sparse = kriener2013(self.image)
        self._refs = {name: ex.reference_solution(self.image, self.sparse.values, self.sparse.mask, **s)
                      for name, s in SETTINGS.items()}
        self._curves = {}

    def _show_full_button(self, button) -> None:
        button.layout.display = "none"  # see the note

    def make_controls(self):
        return {
            "setting": W.Dropdown(options=list(SETTINGS), description="setting", style=_LABEL,
                                  layout=W.Layout(width="auto")),
            "iterations": W.IntSlider(value=300, min=20, max=1000, step=20, description="max iterations",
                                      style=_LABEL),
            "downsample": W.Dropdown(options=[2, 4], value=2, description="downsample", style=_LABEL,
                                     layout=W.Layout(width="auto")),
            "preconditioner": W.Dropdown(options=["jacobi", "none", "amg"], value="jacobi",
                                         description="preconditioner", style=_LABEL, layout=W.Layout(width="auto")),
            "pymatting": W.Checkbox(value=ex.have_pymatting(), description="pymatting curve",
                                    disabled=not ex.have_pymatting())}

    def applicable(self, values):
        return {"pymatting": ex.have_pymatting()}

    @staticmethod
    def _key(name, setting, iterations, downsample, preconditioner):
        if name == "accelerated":
            return name, setting, iterations, downsample, preconditioner
        if name == "direct":
            return name, setting, iterations, preconditioner
        return name, setting, iterations  # pymatting: its own V-cycle

    def _wanted(self, pymatting):
        return ex.CURVES if pymatting and ex.have_pymatting() else ex.CURVES[:2]

    def _curve(self, name, setting, iterations, downsample, preconditioner, budget=None):
        """(seconds, mse) of one curve, kept by the settings it depends on; with ``budget`` (s), its
        first points, as many as fit, kept only if it ran to the end."""
        key = self._key(name, setting, iterations, downsample, preconditioner)
        if key in self._curves:
            return self._curves[key]
        got = ex.convergence_curves(self.image, self.sparse.values, self.sparse.mask, **SETTINGS[setting],
                                    reference=self._refs[setting], maxiter=iterations, downsample=downsample,
                                    preconditioner=preconditioner, which=[name], budget=budget)[name]
        if budget is None or len(got[0]) == len(ex.record_points(iterations)):
            if len(self._curves) >= self.KEEP:
                self._curves.pop(next(iter(self._curves)))
            self._curves[key] = got
        return got

    def preview(self, setting, iterations, downsample, preconditioner, pymatting):
        missing = [n for n in self._wanted(pymatting) if self._key(n, setting, iterations, downsample,
                                                                    preconditioner) not in self._curves]
        if set(missing) <= {"accelerated"}:
            return None  # only the cheap curve to run: the full answer is quick
        curve = self._curve("accelerated", setting, iterations, downsample, preconditioner, budget=self.preview_seconds)
        others = " and ".join(n for n in missing if n != "accelerated")
        return {"curves": {"accelerated": curve}, "setting": setting,
                "preview": f"the accelerated curve (so far); {others} to follow"}

    def compute(self, setting, iterations, downsample, preconditioner, pymatting):
        curves = {n: self._curve(n, setting, iterations, downsample, preconditioner) for n in self._wanted(pymatting)}
        return {"curves": curves, "setting": setting}

    def draw(self, fig, r):
        ax = fig.subplots()
        for name, (t, mse) in r["curves"].items():
            ax.semilogy(t, np.maximum(mse, 1e-30), "o-", ms=3, label=name)
        h, w = self.image.shape[:2]
        ax.set_xlabel("time (s, wall clock on this machine, set-up included; the paper: CPU time)")
        ax.set_ylabel("MSE against the converged solution")
        ax.set_title(f"{h}x{w}, {r['setting']}" + (" (refining ...)" if "preview" in r else ""), fontsize=9)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)


def propagation_table_html(rows, shape, setting) -> str:
    """The live table (rows of :func:`defocus_lab.experiments.kriener.propagation_table`) with
    the paper's timings beside."""
    head = ("<tr><th>method</th><th>seconds</th><th>iterations</th><th>peak MB</th>"
            "<th>max |d - converged|</th></tr>")
    body = []
    for r in rows:
        if "note" in r:
            body.append(f"<tr><td>{r['method']}</td><td colspan=4><i>{r['note']}</i></td></tr>")
        else:
            body.append(f"<tr><td>{r['method']}</td><td>{r['seconds']:.2f}</td><td>{r['iterations']}</td>"
                        f"<td>{r['peak_mb']:.0f}</td><td>{r['max_err']:.2e}</td></tr>")
    paper = ex.PAPER_SECONDS
    return (f"<p>{shape[1]}x{shape[0]}, setting {setting}, CG to a relative residual of 1e-6.</p>"
            f"<table>{head}{''.join(body)}</table>"
            f"<p><small>Paper (Fig. 5, 800x536, 500 iterations, single-threaded C++ on a 2012 Mac Pro): "
            f"direct {paper['direct']:.0f} s, accelerated {paper['accelerated']:.0f} s.</small></p>")


def product_table_html(rows) -> str:
    """:func:`defocus_lab.experiments.kriener.matrix_free_product` as a table."""
    head = ("<tr><th>radius</th><th>entries per row</th><th>max |difference|</th><th>build L (s)</th>"
            "<th>box-filter L p (s)</th><th>explicit L p (s)</th></tr>")
    body = "".join(f"<tr><td>{r['radius']}</td><td>{r['nnz_per_row']:.0f}</td><td>{r['max_diff']:.1e}</td>"
                   f"<td>{r['build_s']:.3f}</td><td>{r['box_filter_s']:.4f}</td><td>{r['explicit_s']:.4f}</td></tr>"
                   for r in rows)
    return f"<table>{head}{body}</table>"


def lens_blur_figure(image, *, side: int = 320, factor: float = 3.0):
    """Magnification by ``factor`` of a working copy of ``image``, Kriener's preset map, rendered
    by the lens (disk, layered) and the per-pixel Gaussian renderer side by side. The 5th
    percentile of the map counts as in focus (the estimators' floor on a sharp subject)."""
    img, _ = working_copy(image, side)
    dense, _ = estimate_defocus(img, method="kriener2013")
    in_focus = float(np.percentile(dense, 5))
    fig, ax = plt.subplots(1, 3, figsize=(11, 3.4), layout="constrained")
    ax[0].imshow(img); ax[0].set_title("input", fontsize=9)
    for a, renderer, what in ((ax[1], "lens", "lens renderer"), (ax[2], "gaussian", "per-pixel Gaussian")):
        a.imshow(magnify(img, dense, factor, in_focus=in_focus, renderer=renderer))
        a.set_title(f"magnified x{factor:g}, {what}", fontsize=9)
    for a in ax:
        a.axis("off")
    return fig


class SmoothSurfaceExplorer(Explorer):
    """Fig. 7: a sharp but smoothly shaded cylinder is taken for blur; a flat one is not."""
    title = "kriener2013-smooth-surface"
    figsize = (11, 3.2)

    def __init__(self, size=192):
        self.size = size
        super().__init__({"roundness": slider(1.0, 0.0, 1.0, 0.1, "roundness"),
                          "background_sigma": slider(3.0, 0.0, 5.0, 0.25, "background blur sigma"),
                          "factor": slider(2.0, 1.0, 4.0, 0.25, "magnification")})

    def compute(self, roundness, background_sigma, factor):
        scene = smooth_surface_scene(self.size, roundness=roundness, background_sigma=background_sigma)
        dense, sparse = estimate_defocus(scene.image, method="kriener2013")
        return {"scene": scene, "dense": dense, "sparse": sparse,
                "magnified": magnify(scene.image, np.clip(dense, 0, None), factor),
                "cylinder_blur": float(np.median(dense[scene.cylinder]))}

    def draw(self, fig, r):
        a, b, c, d = fig.subplots(1, 4)
        sc = r["scene"]
        vmax = self.colour_max("map", [float(sc.sigma.max()), float(np.percentile(r["dense"], 99)), 1e-3], 100)
        a.imshow(sc.image); a.set_title("input (cylinder and card in focus)", fontsize=9); a.axis("off")
        show_map(b, sc.sigma, "true blur", vmax=vmax)
        show_map(c, r["dense"], f"estimated (cylinder median {r['cylinder_blur']:.2f} px)", vmax=vmax)
        colorbar(fig, [b, c], vmax, "sigma (px)")
        d.imshow(r["magnified"]); d.set_title("magnified", fontsize=9); d.axis("off")


class ScribbleExplorer(ImageExplorer):
    """Interactive correction: box regions as sharp, blurred (a value) or excluded; the map is
    re-solved with a warm start at reduced resolution after every box.

    Boxes are drawn with the mouse on the left image (:class:`BoxDrawer`: drag, release, the box
    is added with the chosen kind), or placed with the two range sliders (fractions of the width
    and height) and added with the button; ``add_box`` does the same from code. Moving the
    sliders recomputes nothing (``live = False``): the buttons do. **undo** drops the last box,
    **reset** all. The status line gives the time of the last update. Blur values, typed and
    shown, are in the working copy's pixels.
    """

    KINDS = scribble.KINDS
    WEIGHT = scribble.WEIGHT
    # CG tolerance of an update: the map stays within a fraction of one colour step of the
    # display from the converged one (benchmarks/design-notes.md, bench_scribble.py)
    TOL = 1e-3
    live = False
    figsize = (6.4, 3.6)
    side = 800
    title = "kriener2013-scribble"

    def __init__(self, image, side=None, setting="exact (3x3, eps 1e-7, lambda 0.005)", downsample=4):
        """Defaults: a working copy of up to 800 px (0.48 MP for an 800x600 photo), the exact
        setting solved at 1/4 with multigrid, so that a box answers in well under a second on a
        2-core machine (``benchmarks/bench_scribble.py`` measures it)."""
        if setting not in SETTINGS:
            raise ValueError(f"setting must be one of {list(SETTINGS)}; got {setting!r}")
        self.setting = SETTINGS[setting]
        self.downsample = downsample
        self.boxes = []
        add, undo = W.Button(description="add box"), W.Button(description="undo")
        add.on_click(lambda _: self.add_box(self.controls["x"].value, self.controls["y"].value,
                                            self.controls["kind"].value, self.controls["value"].value))
        undo.on_click(lambda _: self._set_boxes(self.boxes[:-1]))
        super().__init__(image, side=side, buttons={"add": add, "undo": undo})

    def prepare(self):
        self.sparse = kriener2013(self.image)
        # multigrid even for 7x7 windows: its set-up is paid once here, and then every box costs
        # a few iterations (the hierarchy follows the new data term; see MattingSolver)
        # at photo size (the full-resolution twin) the solve stays under 2^18 px as downsample="auto"
        self.solver = MattingSolver(self.image, eps=self.setting["eps"], radius=self.setting["radius"],
                                    downsample=self.downsample, max_pixels=PHOTO_WORKING_PIXELS,
                                    preconditioner="amg")

    def make_controls(self):
        return {
            "x": W.FloatRangeSlider(value=(0.0, 0.25), min=0, max=1, step=0.01, description="box x", style=_LABEL),
            "y": W.FloatRangeSlider(value=(0.0, 0.25), min=0, max=1, step=0.01, description="box y", style=_LABEL),
            "kind": W.ToggleButtons(options=self.KINDS, description="mark as", style=_LABEL),
            "value": slider(3.0, 0.0, 8.0, 0.25, "blur (px of the copy) for 'blurred'", width="460px")}

    def applicable(self, values):
        return {"value": values.get("kind") == "blurred"}

    def probe_control(self):
        return self.buttons["add"]

    def body(self):
        self.drawer = BoxDrawer(self.image, self._drawn, title="drag a box: it is added as the chosen kind")
        return W.HBox([self.drawer.widget, self.output])

    def _drawn(self, x, y):
        self._quiet = True
        self.controls["x"].value, self.controls["y"].value = x, y
        self._quiet = False
        self.add_box(x, y, self.controls["kind"].value, self.controls["value"].value)

    def region(self, x, y):
        return box_region(self.image.shape[:2], x, y)

    def add_box(self, x, y, kind="sharp", value=0.0):
        """Add a box: ``x``, ``y`` fractions (x0, x1), (y0, y1); ``kind`` one of KINDS; ``value``
        the blur of a 'blurred' box in the working copy's pixels."""
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}; got {kind!r}")
        self._set_boxes(self.boxes + [(tuple(x), tuple(y), kind, float(value))])

    def _set_boxes(self, boxes):
        self.boxes = list(boxes)
        self.update()

    def reset(self):
        """Every box removed, the controls and the colour range back to their first state."""
        self.boxes = []
        super().reset()

    COLOURS = {"sharp": "r", "blurred": "b", "exclude": "0.5"}

    def constraints(self) -> SparseBlur:
        """The sparse estimate after the boxes (:func:`defocus_lab.apps.apply_boxes`)."""
        # a typed value is in the copy's pixels; on the full-resolution twin it is scaled up
        boxes = [(self.region(x, y), kind, value * self.from_copy) for x, y, kind, value in self.boxes]
        return scribble.apply_boxes(self.sparse, boxes, weight=self.WEIGHT)

    def compute(self, **_):
        sb = self.constraints()
        if not sb.mask.any():
            raise ValueError("no constraint left: undo the last box")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            d, info = self.solver.solve(sb, lam=self.setting["lam"], tol=self.TOL, maxiter=300, warm=True)
        return {"dense": d, "info": info, "mask": sb.mask, "boxes": list(self.boxes)}

    def status_text(self, r):
        h, w = self.image.shape[:2]
        return (f"{len(self.boxes)} box{'es' if len(self.boxes) != 1 else ''}; map updated in "
                f"{1000 * self.seconds:.0f} ms ({w}x{h}, solved at 1/{self.solver.downsample}, warm start, "
                f"{r['info'].iterations} CG iterations)")

    def show(self, draw, result):
        if getattr(self, "drawer", None) is not None:
            self.drawer.set_boxes([(x, y, self.COLOURS[k]) for x, y, k, _ in result.get("boxes", [])])
        super().show(draw, result)

    def draw(self, fig, r):
        b = fig.subplots()
        vmax = self.colour_max("map", r["dense"])
        show_map(b, r["dense"], "defocus map (red: sharp, blue: blurred, grey: excluded)", vmax=vmax)
        for x, y, kind, _ in r.get("boxes", []):
            b.contour(box_region(r["dense"].shape, x, y), levels=[0.5], colors=self.COLOURS[kind], linewidths=0.8)
        colorbar(fig, b, vmax, self.label())

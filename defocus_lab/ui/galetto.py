"""Figures and explorers for notebook 05 (Galetto & Deng 2022)."""
from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from ..apps.enhance import (MAP_TOP, guided_smoothing, sdof_weights, shallow_depth_of_field, sharpening_gain,
                            unsharp_mask)
from ..estimate.galetto import galetto2022
from ..experiments import galetto as ex
from ..pipeline import METHODS, estimate_defocus
from ..propagate.wgif import smoothed_guide, wgif
from ..types import SparseBlur
from .base import Explorer, ImageExplorer, colorbar, show_map, slider

_LABEL = {"description_width": "initial"}
GAIN = {"alpha1": 46.0, "beta1": 0.1, "alpha2": 183.0, "beta2": 0.27, "lam_max": 2.0}  # Fig. 13


# ----------------------------------------------------------------------------- figures

def fig3(levels=None) -> Figure:
    """Fig. 3: one sharp patch in the 20 classes (sigma 0..19 px)."""
    levels = ex.fig3_levels() if levels is None else levels
    fig = Figure(figsize=(10, 2.4), layout="constrained")
    ax = fig.subplots(2, 10)
    for k, a in enumerate(ax.ravel()):
        a.imshow(levels[k], cmap="gray", vmin=0, vmax=1)
        a.set_title(f"class {k}", fontsize=8)
        a.axis("off")
    return fig


def fig4(report) -> Figure:
    """Fig. 4: training and validation loss and accuracy per epoch of the shipped run."""
    h = report["history"]
    e = [r["epoch"] for r in h]
    fig = Figure(figsize=(10, 3), layout="constrained")
    a, b = fig.subplots(1, 2)
    a.plot(e, [r["train_loss"] for r in h], "o-", label="training")
    a.plot(e, [r["val_loss"] for r in h], "s-", label="validation")
    a.set_xlabel("epoch")
    a.set_ylabel("cross-entropy")
    a.legend()
    b.plot(e, [r["train_accuracy"] for r in h], "o-", label="training")
    b.plot(e, [r["val_accuracy"] for r in h], "s-", label="validation")
    b.axhline(ex.PAPER_TEST_ACCURACY, color="k", ls=":", label="paper (test, 100 epochs)")
    b.set_xlabel("epoch")
    b.set_ylabel("top-1 accuracy")
    b.set_ylim(0, 1)
    b.legend()
    c = report.get("config", {})
    if c.get("init"):
        fig.suptitle(f"the last stage, from an earlier run's weights ({c.get('loss', 'cross-entropy')} loss, noise up "
                     f"to {c.get('noise', 0):g} after the blur); validation: clean patches", fontsize=9)
    return fig


def table3_html(report) -> str:
    """Tables 2-3: the test split's top-1 and within-one-class accuracy, and precision / recall /
    F1 per class, beside the paper's top-1."""
    t = report["test"]
    c = report["config"]
    head = (f"<p><b>Self-trained MobileNetV2</b> (width {c['width']}, {report['epochs']:.1f} epochs, "
            f"{report['minutes_total']:.0f} min on the CPU): test top-1 <b>{t['accuracy']:.3f}</b>, within one "
            f"class <b>{t['within_one']:.3f}</b> on {t['n']} patches of {report['photos']['test']} held-out photos. "
            f"Paper: top-1 {ex.PAPER_TEST_ACCURACY:.4f} after 100 epochs on DIV2K (GPU).</p>")
    rows = "".join(f"<tr><td>{k}</td><td>{p:.2f}</td><td>{r:.2f}</td><td>{f:.2f}</td></tr>"
                   for k, (p, r, f) in enumerate(zip(t["precision"], t["recall"], t["f1"])))
    return (head + "<table><tr><th>class (sigma px)</th><th>precision</th><th>recall</th><th>F1</th></tr>"
            + rows + "</table>")


def recipes_html(reports: dict) -> str:
    """Table 3 for both split protocols, and every training recipe tried, from the reports of
    ``benchmarks/galetto_recipes.py`` (the same number of steps each, from scratch)."""
    def row(name, r):
        t, noisy = r["test"], r.get("noisy_test")
        proto = r["config"].get("protocol", "photo")
        extra = (f"<td>{noisy['accuracy']:.3f}</td><td>{noisy['within_one']:.3f}</td>" if noisy
                 else "<td>-</td><td>-</td>")
        return (f"<tr><td>{html.escape(name)}</td><td>by {proto}</td><td>{r['patches']['train']}</td>"
                f"<td>{t['n']}</td><td><b>{t['accuracy']:.3f}</b></td><td>{t['within_one']:.3f}</td>{extra}</tr>")
    steps = sorted({r["steps"] for r in reports.values()})
    head = ("<table><tr><th>recipe</th><th>split</th><th>training patches</th><th>test patches</th><th>top-1</th>"
            "<th>within one</th><th>top-1, noisy test</th><th>within one, noisy test</th></tr>")
    return (f"<p>Each recipe trained from scratch for {', '.join(map(str, steps))} steps of 128 patches "
            f"(width 0.5 unless named), one change from <i>paper</i> at a time. The noisy test adds Gaussian noise "
            f"after the blur, of a standard deviation drawn per patch in [0, 0.01] (up to 2.55 grey levels). Paper: top-1 {ex.PAPER_TEST_ACCURACY:.4f} (test photos), "
            f"0.9699 (validation, split by patch).</p>"
            + head + "".join(row(n, reports[n]) for n in sorted(reports, key=_recipe_order)) + "</table>")


def _recipe_order(name: str):
    """The paper's recipe first, its patch split second, then one change at a time, then width 1."""
    first = ("paper", "patch-split", "no-flips", "float", "noise", "ordinal", "ordinal+noise", "width-1")
    return (first.index(name), "") if name in first else (len(first), name)


def table6_html(t6: dict) -> str:
    """Table 6 (BRISQUE, lower is better): the lab's scores beside the paper's on its bird."""
    paper = ex.PAPER_TABLE6_BRISQUE
    cols = ("original", "UM", "proposed")
    return ("<table><tr><th></th>" + "".join(f"<th>{c}</th>" for c in cols) + "<th>GUM</th><th>CAS</th></tr>"
            + "<tr><td>BRISQUE, this photo</td>" + "".join(f"<td>{t6[c]:.2f}</td>" for c in cols)
            + "<td>-</td><td>-</td></tr><tr><td>BRISQUE, paper (Fig. 13)</td>"
            + "".join(f"<td>{paper[c]:.2f}</td>" for c in cols + ("GUM", "CAS")) + "</tr></table>")


def confusion_figure(report) -> Figure:
    """The test split's confusion matrix (rows: true class), each row as shares of its patches."""
    conf = np.asarray(report["test"]["confusion"], float)
    share = conf / np.maximum(conf.sum(1, keepdims=True), 1)
    fig = Figure(figsize=(5, 4.2), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(share, cmap="magma", vmin=0, vmax=1)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("confusion (share of each true class)", fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


def timing_figure(measured: dict, shape, T: float) -> Figure:
    """Eq. 7 against the measurement: seconds by stride, t = T N / s^2 with the measured T."""
    s = sorted(measured)
    model = ex.timing_model(shape, s, T)
    fig = Figure(figsize=(5, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.loglog(s, [measured[k] for k in s], "o-", label="measured (batched)")
    ax.loglog(s, [model[k] for k in s], "k--", label=f"Eq. 7, T = {T * 1e3:.2f} ms")
    from matplotlib.ticker import NullLocator
    ax.xaxis.set_minor_locator(NullLocator())  # only the strides measured, no 6x10^0 between them
    ax.set_xticks(s, [str(k) for k in s])
    ax.set_xlabel("stride (px)")
    ax.set_ylabel("seconds")
    ax.set_title(f"{shape[1]}x{shape[0]} image", fontsize=9)
    ax.legend(fontsize=8)
    return fig


def fig8(image, maps: dict) -> Figure:
    """Fig. 8: classical local measures against the network's classes, over the same window."""
    fig = Figure(figsize=(12, 2.8), layout="constrained")
    ax = fig.subplots(1, len(maps) + 1)
    ax[0].imshow(image, cmap="gray" if image.ndim == 2 else None)
    ax[0].set_title("image", fontsize=9)
    ax[0].axis("off")
    for a, (k, m) in zip(ax[1:], maps.items()):
        im = a.imshow(m, cmap="viridis")
        a.set_title(k, fontsize=9)
        a.axis("off")
        fig.colorbar(im, ax=a, shrink=0.7)
    return fig


def every_method_figure(rows: dict) -> Figure:
    """Figs. 9-10: each photo (a row) with every method's map on one shared colour scale."""
    names = list(rows)
    methods = list(dict.fromkeys(m for r in rows.values() for m in r["maps"]))
    fig = Figure(figsize=(2.4 * (len(methods) + 1), 2.2 * len(names) + 0.4), layout="constrained")
    ax = np.atleast_2d(fig.subplots(len(names), len(methods) + 1))
    vmax = max(float(np.percentile(r["maps"][m]["map"], 99)) for r in rows.values() for m in r["maps"]) or 1.0
    for i, n in enumerate(names):
        r = rows[n]
        ax[i, 0].imshow(r["image"])
        ax[i, 0].set_title(n, fontsize=9)
        ax[i, 0].axis("off")
        for j, m in enumerate(methods):
            if m in r["maps"]:
                show_map(ax[i, j + 1], r["maps"][m]["map"], f"{m} ({r['maps'][m]['seconds']:.1f} s)", vmax)
            else:
                ax[i, j + 1].text(0.5, 0.5, "no estimate", ha="center", va="center", fontsize=8)
                ax[i, j + 1].axis("off")
    colorbar(fig, ax.ravel().tolist(), vmax, "Gaussian sigma (px of the shown copy)")
    return fig


def table5_html(result: dict) -> str:
    """Table 5: best-threshold accuracy per CUHK image and the mean for every method, the paper's
    column beside ours (the paper: the first 200 CUHK defocus images; here the ones available)."""
    methods = list(result["mean"])
    head = "".join(f"<th>{html.escape(METHODS[m].citation)}<br><code>{m}</code></th>" for m in methods)
    def cell(m, n):  # a method with no estimate on an image (e.g. no edge found) shows a dash
        a = result["accuracy"][m].get(n)
        return "<td>-</td>" if a is None else f"<td>{a:.3f}</td>"
    rows = "".join("<tr><td>" + n + "</td>" + "".join(cell(m, n) for m in methods) + "</tr>"
                   for n in result["images"])
    mean = "".join(f"<td><b>{result['mean'][m]:.3f}</b></td>" for m in methods)
    ap = "".join(f"<td>{result['pr'][m]['ap']:.3f}</td>" for m in methods)
    sec = "".join(f"<td>{result['seconds'][m]:.1f}</td>" for m in methods)
    paper = "".join(f"<td>{ex.PAPER_TABLE5[m]:.3f}</td>" if m in ex.PAPER_TABLE5 else "<td>-</td>" for m in methods)
    return (f"<table><tr><th>image</th>{head}</tr>{rows}<tr><td><b>mean accuracy (here, "
            f"{len(result['images'])} images)</b></td>{mean}</tr><tr><td>average precision (Fig. 11)</td>{ap}</tr>"
            f"<tr><td>seconds per image</td>{sec}</tr><tr><td>paper, 200 images</td>{paper}</tr></table>")


def fig11(result: dict) -> Figure:
    """Fig. 11: precision-recall of "blurred" by a threshold sweep, pixels of every image pooled."""
    fig = Figure(figsize=(5, 4), layout="constrained")
    ax = fig.subplots()
    for m, c in result["pr"].items():
        ax.plot(c["recall"], c["precision"], label=f"{m} (AP {c['ap']:.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    ax.set_title(f"CUHK, {len(result['images'])} images", fontsize=9)
    return fig


def fig12() -> Figure:
    """Fig. 12: the gain lambda(m) of Eqs. 9-11 as each parameter moves around Fig. 13's setting."""
    m = np.linspace(0, 1, 400)
    sweeps = {"alpha1": (10, 25, 46, 100), "beta1": (0.05, 0.1, 0.15, 0.2),
              "alpha2": (50, 100, 183, 400), "beta2": (0.2, 0.27, 0.35, 0.5)}
    fig = Figure(figsize=(12, 2.6), layout="constrained")
    axes = fig.subplots(1, 4, sharey=True)
    axes[0].set_ylabel("gain lambda")
    for a, (k, vals) in zip(axes, sweeps.items()):
        for v in vals:
            a.plot(m, sharpening_gain(m * MAP_TOP, **{**GAIN, k: v}), label=f"{k} = {v:g}")
        a.set_xlabel("normalised map m = M / 19")
        a.set_title(f"sweeping {k}", fontsize=9)
        a.legend(fontsize=7)
    return fig


# ----------------------------------------------------------------------------- explorers

class MapExplorer(ImageExplorer):
    """Figs. 5-7: the patch classes (Eq. 6 at a stride), the refined map (WGIF under the
    smoothed guide) and the map thresholded into in focus / blurred."""
    title = "galetto2022-map"
    note = ("Stride 4 reclassifies ~5000 patches (about 0.3 s on the 320 px copy, channels-last batches); the "
            "refinement alone is fast.")
    figsize = (11, 3.2)
    side = 320

    def prepare(self):
        self._classes = {}
        self._guides = {}

    def make_controls(self):
        return {"stride": W.Dropdown(options=[4, 8, 16, 32], value=16, description="stride", style=_LABEL,
                                     layout=W.Layout(width="auto")),
                "variant": W.Dropdown(options=["paper", "demo"], value="paper", description="variant", style=_LABEL,
                                      layout=W.Layout(width="auto")),
                "radius": W.IntSlider(value=16, min=2, max=40, description="WGIF radius r", style=_LABEL),
                "eps": slider(0.005, -5, -0.5, 0.25, "epsilon", log=True),
                "iterations": W.IntSlider(value=7, min=0, max=12, description="guide iterations", style=_LABEL),
                "threshold": slider(1.5, 0.0, 19.0, 0.25, "blurred above (sigma px)")}

    def applicable(self, values):
        return {"iterations": values["variant"] == "paper"}

    def compute(self, stride, variant, radius, eps, iterations, threshold):
        key = (stride, variant)
        if key not in self._classes:
            self._classes[key] = galetto2022(self.image, stride=stride, variant=variant).values
        blocky = self._classes[key]
        gkey = (radius, eps, iterations if variant == "paper" else 1)
        if gkey not in self._guides:
            if len(self._guides) > 8:
                self._guides.clear()
            self._guides[gkey] = smoothed_guide(self.image, radius, eps, gkey[2])
        refined = wgif(self.image, SparseBlur(blocky, np.ones(blocky.shape, bool)), radius=radius, eps=eps,
                       iterations=iterations, variant=variant, guide=self._guides[gkey])
        blurred = refined > threshold * self.from_copy  # px of the copy; the full-resolution twin's in its own
        return {"blocky": blocky, "map": refined, "guide": self._guides[gkey], "blurred": blurred}

    def draw(self, fig, r):
        ax = fig.subplots(1, 4)
        vmax = self.colour_max("map", r["blocky"], 100)
        ax[0].imshow(r["guide"], cmap="gray", vmin=0, vmax=1)
        ax[0].set_title("smoothed guide", fontsize=9)
        ax[0].axis("off")
        show_map(ax[1], r["blocky"], "patch classes (Eq. 6)", vmax)
        show_map(ax[2], r["map"], "refined (Fig. 6)", vmax)
        ax[3].imshow(self.image)
        ax[3].imshow(np.where(r["blurred"][..., None], [0.1, 0.2, 0.9, 0.55], [0, 0, 0, 0]))
        ax[3].set_title(f"blurred (blue): {100 * r['blurred'].mean():.0f} %", fontsize=9)
        ax[3].axis("off")
        colorbar(fig, ax[1:3].tolist(), vmax, self.label())


class SharpeningExplorer(ImageExplorer):
    """Figs. 12-13: adaptive unsharp masking (gain from the map, Eqs. 8-11) beside classical UM."""
    title = "galetto2022-sharpening"
    note = ("The map is computed once per photo; every slider only re-sharpens. The betas read the map in the "
            "photo's own pixels, hence a copy of up to 720 px.")
    figsize = (11, 6.4)
    side = 720

    def prepare(self):
        self.map = estimate_defocus(self.image, method="galetto2022", progress=False)[0]

    def make_controls(self):
        return {"alpha1": slider(GAIN["alpha1"], 0, 3, 0.05, "alpha1", log=True),
                "beta1": slider(GAIN["beta1"], 0.0, 1.0, 0.01, "beta1"),
                "alpha2": slider(GAIN["alpha2"], 0, 3, 0.05, "alpha2", log=True),
                "beta2": slider(GAIN["beta2"], 0.0, 1.0, 0.01, "beta2"),
                "lam_max": slider(GAIN["lam_max"], 0.0, 5.0, 0.1, "lambda max"),
                "amount": slider(2.0, 0.0, 5.0, 0.1, "classical UM amount")}

    def compute(self, alpha1, beta1, alpha2, beta2, lam_max, amount):
        gain = sharpening_gain(self.map, alpha1=alpha1, beta1=beta1, alpha2=alpha2, beta2=beta2, lam_max=lam_max)
        return {"map": self.map, "gain": gain, "classical": unsharp_mask(self.image, amount),
                "adaptive": unsharp_mask(self.image, gain),
                "curve": dict(alpha1=alpha1, beta1=beta1, alpha2=alpha2, beta2=beta2, lam_max=lam_max)}

    def draw(self, fig, r):
        ax = fig.subplots(2, 3)
        for a, im, t in zip(ax[0], (self.image, r["classical"], r["adaptive"]),
                            ("input", "classical unsharp masking", "adaptive (Eqs. 8-11)")):
            a.imshow(im)
            a.set_title(t, fontsize=9)
            a.axis("off")
        vmax = self.colour_max("map", self.map, 100)
        show_map(ax[1, 0], self.map, "defocus map", vmax)
        colorbar(fig, ax[1, 0], vmax, self.label())
        show_map(ax[1, 1], r["gain"], f"gain lambda (max {r['gain'].max():.2f})", max(r["curve"]["lam_max"], 1e-6),
                 cmap="magma")
        m = np.linspace(0, 1, 400)
        ax[1, 2].plot(m, sharpening_gain(m * MAP_TOP, **r["curve"]), "k")
        tw = ax[1, 2].twinx()
        tw.hist(np.clip(self.map / MAP_TOP, 0, 1).ravel(), bins=50, color="C0", alpha=0.35)
        tw.set_yticks([])
        ax[1, 2].set_xlabel("m = M / 19 (bars: this photo's map)")
        ax[1, 2].set_ylabel("gain lambda")


class DepthOfFieldExplorer(ImageExplorer):
    """Fig. 14: a synthetic shallow depth of field, R = W S + (1 - W) B (Eqs. 12-13), with the
    paper's B (guided smoothing) and with the lab's lens renderer as B, side by side."""
    title = "galetto2022-sdof"
    note = ("The map and the paper's B are made once per photo; c0 / c1 / sharpening recombine at once, "
            "the bokeh radius re-renders the lens B (about a second at 720 px). The paper's c0 and c1 are in "
            "the photo's own pixels, hence the larger copy.")
    figsize = (11, 6.4)
    side = 720

    def prepare(self):
        self.map = estimate_defocus(self.image, method="galetto2022", progress=False)[0]
        self.smooth = guided_smoothing(self.image)
        self._lens = {}

    def make_controls(self):
        return {"c0": slider(1.0, 0.0, 9.0, 0.25, "c0 (kept sharp)"),
                "c1": slider(7.0, 0.5, 9.75, 0.25, "c1 (blurred)"),
                "sharpen": slider(0.25, 0.0, 2.0, 0.05, "sharpening of S"),
                "bokeh": slider(8.0, 1.0, 24.0, 1.0, "lens B: disk radius (px)")}

    def compute(self, c0, c1, sharpen, bokeh):
        from ..render import lens_blur
        if not c0 < c1:
            raise ValueError(f"c0 must lie below c1 (the in-focus level under the blurred one); got {c0} and {c1}")
        w = sdof_weights(self.map, c0, c1)
        key = (c0, c1, bokeh)
        if key not in self._lens:
            if len(self._lens) > 6:
                self._lens.clear()
            # the disk grows where W falls; the map as depth puts the sharp subject in front
            self._lens[key] = lens_blur(self.image, bokeh * self.from_copy * (1.0 - w), depth=self.map)
        paper, _ = shallow_depth_of_field(self.image, self.map, c0=c0, c1=c1, blurred=self.smooth, sharpen=sharpen)
        lens, _ = shallow_depth_of_field(self.image, self.map, c0=c0, c1=c1, blurred=self._lens[key], sharpen=sharpen)
        return {"map": self.map, "weights": w, "paper": paper, "lens": lens}

    def draw(self, fig, r):
        ax = fig.subplots(2, 3)
        vmax = self.colour_max("map", self.map, 100)
        show_map(ax[0, 0], self.map, "defocus map", vmax)
        colorbar(fig, ax[0, 0], vmax, self.label())
        show_map(ax[0, 1], r["weights"], "W (1: sharpened S, 0: blurred B)", 1.0, cmap="gray")
        m = np.linspace(0, 19, 400)
        ax[0, 2].plot(m, sdof_weights(m, *self._cs()), "k")
        ax[0, 2].set_xlabel("map M (sigma px)")
        ax[0, 2].set_ylabel("W (Eq. 13, M capped at 10)")
        for a, im, t in zip(ax[1], (self.image, r["paper"], r["lens"]),
                            ("input", "B = guided smoothing (paper)", "B = lens blur (the lab's renderer)")):
            a.imshow(im)
            a.set_title(t, fontsize=9)
            a.axis("off")

    def _cs(self):
        v = self.values()
        return v["c0"], v["c1"]


class LevelsExplorer(Explorer):
    """Fig. 3 live: one patch of the photo in the 20 classes and what the classifier says of each."""
    title = "galetto2022-levels"
    figsize = (10, 2.8)

    def __init__(self, image=None):
        from ..models.mobilenet import load_classifier
        import torch
        self.levels = ex.fig3_levels(image)
        with torch.inference_mode():  # the 20 patches once: the slider only picks one
            x = torch.from_numpy(self.levels[:, None].astype(np.float32))
            self.probs = torch.softmax(load_classifier()(x), 1).numpy()
        super().__init__({"cls": W.IntSlider(value=6, min=0, max=19, description="true class", style=_LABEL)})

    def compute(self, cls):
        return {"patch": self.levels[cls], "probs": self.probs[cls], "cls": cls, "predicted": self.probs.argmax(1)}

    def draw(self, fig, r):
        a, b = fig.subplots(1, 2, width_ratios=[1, 3])
        a.imshow(r["patch"], cmap="gray", vmin=0, vmax=1)
        a.set_title(f"sigma {r['cls']} px", fontsize=9)
        a.axis("off")
        b.bar(np.arange(20), r["probs"], color=["C3" if k == r["cls"] else "C0" for k in range(20)])
        b.set_xticks(range(20))
        b.set_xlabel("class")
        b.set_ylabel("probability")
        hits = int(np.sum(r["predicted"] == np.arange(20)))
        b.set_title(f"the network's output (red: the true class); {hits} of the 20 levels of this patch "
                    f"classified exactly", fontsize=9)

    def status_text(self, result) -> str:
        return f"drawn in {self.seconds * 1e3:.0f} ms (the 20 levels are classified once)."


def table2_html(reports: dict) -> str:
    """The lab's Table 2: test top-1 and within-one accuracy, parameters and training time of
    networks trained for the same number of steps."""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{r['arch']}</td><td>{r['parameters'] / 1e6:.2f} M</td>"
        f"<td>{r['steps']} ({r['epochs']:.1f} epochs)</td><td>{r['minutes_total']:.0f}</td>"
        f"<td>{r['test']['accuracy']:.3f}</td><td>{r['test']['within_one']:.3f}</td></tr>"
        for name, r in reports.items())
    return ("<table><tr><th>run</th><th>network</th><th>parameters</th><th>steps of 128 patches</th>"
            "<th>minutes (2 cores)</th><th>test top-1</th><th>within one class</th></tr>" + rows + "</table>")

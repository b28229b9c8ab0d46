"""Explorers and figures for notebook 02 (Karaali, Harte & Jung 2022)."""
from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np

from .. import metrics
from ..conventions import KARAALI_BLUR_LEVELS, PHOTO_SIZE
from ..estimate.karaali import EdgeClassification, edge_map
from ..models import karaali as K
from ..kernels.pyramid import photo_factor
from ..propagate.domain_transform import domain_transform, simplified_guide
from ..synth.karaali import FIG4_LEVELS, blob_mask, foreground_background
from .base import Explorer, ImageExplorer, colorbar, show_map, slider

_LABEL = {"description_width": "initial"}
PATTERN_RGB, DEPTH_RGB = (0.1, 0.35, 1.0), (1.0, 0.1, 0.1)  # Fig. 6: blue pattern, red depth edges


def _fig4_pair(size=192):
    from skimage import data, transform
    fg = transform.resize(data.astronaut()[:400, 50:450], (size, size), anti_aliasing=True)
    bg = transform.resize(data.coffee()[:, :400], (size, size), anti_aliasing=True)
    return np.clip(fg, 0, 1), np.clip(bg, 0, 1)


def fig4(size: int = 192, seed: int = 3):
    """Fig. 4: foreground/background composites at the paper's six (R1, R2) pairs."""
    fg, bg = _fig4_pair(size)
    m = blob_mask((size, size), seed=seed)
    fig, ax = plt.subplots(2, 3, figsize=(9, 6.2), layout="constrained")
    for a, (r1, r2) in zip(ax.ravel(), FIG4_LEVELS):
        a.imshow(foreground_background(fg, bg, m, r1, r2).image)
        a.set_title(f"foreground R1 = {r1}, background R2 = {r2}", fontsize=9)
        a.axis("off")
    return fig


class CompositeExplorer(Explorer):
    """One Fig. 4 composite with its blur map and depth edges (the outline of the foreground)."""
    title = "karaali2022-composite"
    figsize = (10, 3.4)

    def __init__(self, size: int = 192):
        self.fg, self.bg = _fig4_pair(size)
        super().__init__({"r_fg": slider(0.0, 0.0, 6.0, 0.25, "foreground R1 (px)"),
                          "r_bg": slider(3.0, 0.0, 6.0, 0.25, "background R2 (px)"),
                          "seed": W.IntSlider(value=3, min=0, max=20, description="shape seed", style=_LABEL)})

    def compute(self, r_fg, r_bg, seed):
        return {"scene": foreground_background(self.fg, self.bg, blob_mask(self.fg.shape[:2], seed=seed), r_fg, r_bg)}

    def draw(self, fig, r):
        s = r["scene"]
        ax = fig.subplots(1, 3)
        ax[0].imshow(s.image); ax[0].set_title("composite", fontsize=9); ax[0].axis("off")
        show_map(ax[1], s.blur, "true blur", vmax=6.0)  # 6: the top of the sliders
        colorbar(fig, ax[1], 6.0, "disk radius (px)")
        ax[2].imshow(s.image); ax[2].imshow(np.ma.masked_where(~s.depth_edges, s.depth_edges), cmap="autumn")
        ax[2].set_title("depth edges (what E-NET should find)", fontsize=9); ax[2].axis("off")


def edge_overlay(image, sparse) -> np.ndarray:
    """The image darkened, pattern edges blue and depth edges red (Fig. 6)."""
    img = image if image.ndim == 3 else np.repeat(image[..., None], 3, 2)
    out = 0.45 * img.copy()
    out[sparse.mask] = PATTERN_RGB
    out[sparse.depth_edges] = DEPTH_RGB
    return out


def fig6(results: dict):
    """Fig. 6: pattern (blue) and depth (red) edges of each RTF image (``table1()["images"]``)."""
    n = len(results)
    fig, ax = plt.subplots(1, max(n, 1), figsize=(4.6 * max(n, 1), 4.6), layout="constrained", squeeze=False)
    for a, (nn, r) in zip(ax[0], results.items()):
        sb = r["sparse"]
        a.imshow(edge_overlay(r["image"], sb))
        a.set_title(f"RTF {nn}: {int(sb.mask.sum())} pattern (blue), {int(sb.depth_edges.sum())} depth (red)",
                    fontsize=9)
        a.axis("off")
    return fig


def fig7(results: dict, rows=None, *, columns: int = 4):
    """Fig. 7 / 10: the maps of every row beside the ground truth, RTF image by RTF image, at
    most ``columns`` panels to a line so that the titles stay readable at the notebook's width;
    one colour scale (the largest true blur) and one colorbar."""
    first = next(iter(results.values()))
    names = list(rows or first["rows"])
    per_image = len(names) + 2
    lines_per_image = -(-per_image // columns)
    n_lines = lines_per_image * max(len(results), 1)
    fig, ax = plt.subplots(n_lines, columns, figsize=(11, 2.9 * n_lines), layout="constrained", squeeze=False)
    for a in ax.ravel():
        a.axis("off")
    vmax = max(float(r["gt"].max()) for r in results.values())  # one scale: the largest true blur
    for i, (nn, r) in enumerate(results.items()):
        panels = [ax[i * lines_per_image + k // columns, k % columns] for k in range(per_image)]
        panels[0].imshow(r["image"]); panels[0].set_title(f"RTF {nn}", fontsize=10)
        show_map(panels[1], r["gt"], f"RTF {nn}: ground truth", vmax=vmax)
        for a, name in zip(panels[2:], names):
            row = r["rows"][name]
            show_map(a, row["map"], f"{name}\nMAE {row['mae']:.3f}", vmax=vmax)
        for a in panels:
            a.title.set_fontsize(10)
    colorbar(fig, ax[:, -1], vmax, "disk radius (px)")
    return fig


def fig9(acc: dict):
    """Fig. 9: best-threshold accuracy per CUHK image (``experiments.karaali.cuhk_accuracy()``)
    against the accuracies the paper reports over 200 images (lines, named in the legend beside
    the axes); None when no image was scored."""
    from ..experiments.karaali import PAPER_CUHK_ACCURACY
    if not acc["accuracy"]:
        return None
    fig, ax = plt.subplots(figsize=(10, 3.4), layout="constrained")
    names = list(acc["accuracy"])
    ax.bar(names, [acc["accuracy"][n] for n in names], color="tab:blue", label="Karaali 2022, this machine")
    styles = ["-", "--", ":", "-."]
    for k, (name, v) in enumerate(sorted(PAPER_CUHK_ACCURACY.items(), key=lambda kv: -kv[1])):
        ax.axhline(v, ls=styles[k % 4], lw=1.2, color="k" if "Karaali" in name else f"C{k + 1}",
                   label=f"{name} (paper, 200 images): {v:.1%}")
    ax.set_ylim(0.5, 1.0)
    ax.set_ylabel("best-threshold accuracy")
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    paper = PAPER_CUHK_ACCURACY["Karaali et al. 2022"]
    ax.set_title(f"mean over {len(names)} images: {acc['mean']:.1%} (paper, 200 images: {paper:.2%})", fontsize=10)
    return fig


def table1_html(result: dict, *, ablation: bool = False) -> str:
    """Our rows on the RTF images here, then the paper's Table I (22 images) for comparison."""
    from ..experiments.karaali import AUTHORS_CODE_MAE, PAPER_ABLATION, PAPER_TABLE1
    t = result["table"]
    ids = list(next(iter(t.values()))["per_image"]) if t else []
    head = "".join(f"<th>MAE {nn}</th>" for nn in ids)
    rows = []
    for name, v in t.items():
        cells = "".join(f"<td>{v['per_image'][nn]:.3f}</td>" for nn in ids)
        rows.append(f"<tr><td>{name}</td>{cells}<td>{v['mae']:.3f} &plusmn; {v['std']:.3f}</td>"
                    f"<td>{v['relative_mae']:.3f}</td><td>{v['seconds']:.2f}</td></tr>")
    ours = (f"<table><tr><th>this machine, {len(ids)} RTF images</th>{head}<th>raw MAE &plusmn; std</th>"
            f"<th>relative MAE</th><th>seconds</th></tr>{''.join(rows)}</table>")
    paper_rows = "".join(
        f"<tr><td>{k}</td><td>{m:.3f}{'' if s is None else f' &plusmn; {s:.3f}'}</td><td>{rel:.3f}</td><td>{sec:g}</td></tr>"
        for k, (m, s, rel, sec) in PAPER_TABLE1.items())
    if ablation:
        paper_rows += "".join(f"<tr><td>Karaali 2022, {k}</td><td>{m:.3f}</td><td></td><td></td></tr>"
                              for k, m in PAPER_ABLATION.items())
    code = ", ".join(f"image {k}: {v}" for k, v in AUTHORS_CODE_MAE.items())
    paper = (f"<table><tr><th>the paper, 22 RTF images</th><th>raw MAE</th><th>relative MAE</th><th>seconds</th></tr>"
             f"{paper_rows}</table><small>The authors' TensorFlow code with their weights gives {code}.</small>")
    return f"<div style='display:flex;gap:2em;flex-wrap:wrap'>{ours}{paper}</div>"


class PropagationExplorer(ImageExplorer):
    """The depth-edge-aware domain transform on fixed sparse estimates: psi, sigma_s, sigma_r,
    iterations. Shows the dense map, the ground truth (when given) and the error. Works on the
    image as given (the sparse estimates and the ground truth are of its size)."""
    figsize = (11, 3.4)
    side = None
    title = "karaali2022-propagation"

    def __init__(self, image, sparse, gt=None):
        self.sparse, self.gt = sparse, gt
        self.guide = simplified_guide(image)  # the sliders do not change the guide: made once
        h, w = image.shape[:2]
        self.has_depth = sparse.depth_edges is not None and sparse.depth_edges.any()
        if not self.has_depth:
            self.note = "These estimates have no depth edges: psi changes nothing here."
        super().__init__(image, {"psi": slider(20.0, 0.0, 200.0, 5.0, "psi (depth-edge penalty)"),
                                 "sigma_s": slider(min(h, w) / 8.0, np.log10(2.0), np.log10(max(h, w)), 0.05,
                                                   "sigma_s (px)", log=True),
                                 "sigma_r": slider(3.75, -1.0, 2.0, 0.125, "sigma_r", log=True),
                                 "iterations": W.IntSlider(value=5, min=1, max=10, description="iterations",
                                                           style=_LABEL)})

    def applicable(self, values):
        return {"psi": bool(self.has_depth)}

    def map_unit(self):
        return f"{self.sparse.units} (px)"

    def compute(self, psi, sigma_s, sigma_r, iterations):
        d = domain_transform(self.image, self.sparse, psi=psi, sigma_s=sigma_s, sigma_r=sigma_r, iterations=iterations, guide=self.guide)
        out = {"map": d}
        if self.gt is not None:
            out["mae"] = metrics.mae(d, self.gt)
            out["error"] = np.abs(d - self.gt)
        return out

    def draw(self, fig, r):
        n = 3 if self.gt is not None else 2
        ax = fig.subplots(1, n)
        ax[0].imshow(edge_overlay(self.image, self.sparse) if self.has_depth else self.image)
        ax[0].set_title("input (blue: pattern, red: depth edges)" if self.has_depth else "input", fontsize=9)
        ax[0].axis("off")
        # one scale for the explorer: the ground truth's range when there is one, else the first map's
        vmax = self.colour_max("map", self.gt if self.gt is not None else r["map"], 100 if self.gt is not None else 99.5)
        title = "dense map" + (f", MAE {r['mae']:.3f}" if "mae" in r else "")
        show_map(ax[1], r["map"], title, vmax=vmax)
        colorbar(fig, ax[1], vmax, self.label(self.sparse.units))
        if n == 3:
            emax = self.colour_max("error", r["error"], 99.5)
            show_map(ax[2], r["error"], "|map - ground truth|", vmax=emax, cmap="magma")
            colorbar(fig, ax[2], emax, self.label(self.sparse.units + " error"), cmap="magma")


class EdgeExplorer(ImageExplorer):
    """The whole method with its edge detector and B-NET's scales: Canny sigma and thresholds on
    the hue (or grey) channel, the branches fed to B-NET (a switched-off scale feeds zeros), psi.

    Both networks' branches run once over the whole image when the explorer is made
    (:class:`defocus_lab.models.karaali.DenseHeads`); a change of the edges or of the scales then
    costs Canny, the networks' heads at the new edge pixels and the propagation."""
    figsize = (11, 3.6)
    note = ("The networks' branches ran once, when the explorer was made (~2 s at 360x360); a change of the edges "
            "or the scales shows the new edges at once, then reruns the heads at the edge pixels and the "
            "propagation (about a second at 360x360 on 2 cores, benchmarks/bench_explorers.py); psi alone less.")
    side = None  # the image as given: the ground truth is of its size
    title = "karaali2022-edges"

    def __init__(self, image, gt=None, bnet="authors", enet="authors", side=None):
        """``image``: an array or a :class:`~defocus_lab.ui.base.PhotoPicker`; ``gt`` its ground
        truth (disk radius, of the image's size: then ``side`` must stay None); ``side``: work on
        a copy whose larger side is at most this (a photo of your own)."""
        if gt is not None and side is not None:
            raise ValueError("with a ground truth the explorer works on the image as given: leave side=None")
        self.gt = gt
        self.nets = K.load_network(bnet, "bnet", download=False), K.load_network(enet, "enet", download=False)
        super().__init__(image, side=side, controls={
            "detector": W.Dropdown(options=["hue", "grey"], description="Canny on", style=_LABEL,
                                   layout=W.Layout(width="auto")),
            "sigma": slider(float(np.sqrt(2)), 0.5, 4.0, 0.1, "Canny sigma"),
            "low": slider(0.05, 0.0, 0.3, 0.01, "low threshold"),
            "high": slider(0.06, 0.01, 0.4, 0.01, "high threshold"),
            "use41": W.Checkbox(value=True, description="41x41 branch"),
            "use27": W.Checkbox(value=True, description="27x27 branch"),
            "use15": W.Checkbox(value=True, description="15x15 branch"),
            "psi": slider(20.0, 0.0, 200.0, 5.0, "psi")})

    def full_factor(self):
        # a photo above 0.52 MP: the networks' copy of the default pipeline (estimate.karaali2022)
        return photo_factor(self.full.shape[:2], **PHOTO_SIZE)

    def prepare(self):
        self.guide = simplified_guide(self.image)
        self.heads = K.DenseHeads(self.image, self.nets)
        self._edges_key = self._edges = self._logits_key = self._logits = None

    def map_unit(self):
        return "disk radius (px)"

    def _edge_pixels(self, detector, sigma, low, high):
        if low >= high:
            raise ValueError(f"the low threshold ({low:.2f}) must be below the high one ({high:.2f})")
        ekey = (detector, sigma, low, high)
        if ekey != self._edges_key:
            e = edge_map(self.image, detector=detector, sigma=sigma, low=low, high=high)
            ys, xs = np.nonzero(e)
            if len(ys) == 0:
                raise ValueError("no edges at these thresholds: lower them")
            self._edges, self._edges_key = (e, ys, xs), ekey
        return ekey, self._edges

    @staticmethod
    def _zeroed(use41, use27, use15):
        return tuple(n for n, on in (("41", use41), ("27", use27), ("15", use15)) if not on)

    def preview(self, detector, sigma, low, high, use41, use27, use15, psi):
        """The new edges at once (Canny is quick); the networks' heads at them and the map follow."""
        ekey, (e, _, _) = self._edge_pixels(detector, sigma, low, high)
        if (ekey, self._zeroed(use41, use27, use15)) == self._logits_key:
            return None  # psi alone: the propagation only
        return {"edges": e, "zeroed": self._zeroed(use41, use27, use15),
                "preview": "the edges; the networks' answers at them and the map follow"}

    def compute(self, detector, sigma, low, high, use41, use27, use15, psi):
        ekey, (e, ys, xs) = self._edge_pixels(detector, sigma, low, high)
        zero = self._zeroed(use41, use27, use15)
        if (ekey, zero) != self._logits_key:  # psi alone reuses the networks' answers
            self._logits, self._logits_key = self.heads.logits(ys, xs, [zero, ()]), (ekey, zero)
        blogits, elogits = self._logits
        ec = EdgeClassification(ys, xs, blogits, elogits, self.image.shape[:2], e)
        sb = ec.sparse()
        if not sb.mask.any():
            raise ValueError("E-NET calls every edge a depth edge: nothing to propagate")
        d = domain_transform(self.image, sb, psi=psi, guide=self.guide)
        out = {"sparse": sb, "map": d, "zeroed": zero}
        if self.gt is not None:
            out["mae"] = metrics.mae(d, self.gt)
        return out

    def draw(self, fig, r):
        ax = fig.subplots(1, 3)
        if "sparse" not in r:  # a preview: the edges, not yet classified
            img = self.image if self.image.ndim == 3 else np.repeat(self.image[..., None], 3, 2)
            shown = 0.45 * img
            shown[r["edges"]] = 1.0
            ax[0].imshow(shown)
            ax[0].set_title(f"{int(r['edges'].sum())} edge pixels (white)", fontsize=9)
            for a, what in zip(ax, ("", "B-NET at pattern edges", "dense map")):
                a.axis("off")
                if what:
                    a.set_title(f"{what}: refining ...", fontsize=9)
            return
        sb = r["sparse"]
        ax[0].imshow(edge_overlay(self.image, sb))
        ax[0].set_title(f"{int(sb.mask.sum())} pattern, {int(sb.depth_edges.sum())} depth edges", fontsize=9)
        ax[0].axis("off")
        vmax = self.colour_max("map", self.gt if self.gt is not None else r["map"], 100 if self.gt is not None else 99.5)
        show_map(ax[1], np.ma.masked_where(~sb.mask, sb.values), "B-NET at pattern edges"
                 + (f" (zeroed: {', '.join(r['zeroed'])})" if r["zeroed"] else ""), vmax=vmax)
        show_map(ax[2], r["map"], "dense map" + (f", MAE {r['mae']:.3f}" if "mae" in r else ""), vmax=vmax)
        colorbar(fig, list(ax[1:]), vmax, self.label("disk radius"))


class PatchExplorer(Explorer):
    """A slider over the edge pixels: the three patches B-NET sees, its 23 class probabilities
    (ground truth marked when given), and E-NET's depth-edge probability."""
    title = "karaali2022-patch"
    figsize = (11, 3.0)

    def __init__(self, image, classification: EdgeClassification, gt=None):
        self.image, self.ec, self.gt = image, classification, gt
        self.order = np.lexsort((classification.xs, classification.ys))
        n = len(self.order)
        super().__init__({"index": W.IntSlider(value=n // 2, min=0, max=max(n - 1, 0), description="edge pixel",
                                               style=_LABEL)})

    @property
    def index(self):
        """The slider over the edge pixels (row-major order)."""
        return self.controls["index"]

    def compute(self, index):
        from ..estimate.karaali import extract_patches
        if not len(self.order):
            raise ValueError("this image has no edge pixel")
        k = int(self.order[index])
        y, x = int(self.ec.ys[k]), int(self.ec.xs[k])
        p = extract_patches(self.image, [y], [x])[0].transpose(1, 2, 0)
        return {"y": y, "x": x, "patch": p, "blur_probabilities": self.ec.blur_probabilities[k],
                "depth_probability": float(self.ec.depth_probability[k]), "blur": float(self.ec.blur[k]),
                "gt": None if self.gt is None else float(self.gt[y, x])}

    def draw(self, fig, r):
        gs = fig.add_gridspec(1, 6, width_ratios=[1.3, 1, 1, 1, 3.2, 0.6])
        a = fig.add_subplot(gs[0]); a.imshow(self.image); a.plot(r["x"], r["y"], "r+", ms=14, mew=2)
        a.set_title(f"pixel ({r['y']}, {r['x']})", fontsize=9); a.axis("off")
        for j, (s, size) in enumerate(((0, 41), (8, 27), (14, 15))):
            a = fig.add_subplot(gs[j + 1]); a.imshow(np.clip(r["patch"][s:s + size, s:s + size], 0, 1))
            a.set_title(f"{size}x{size}", fontsize=9); a.axis("off")
        a = fig.add_subplot(gs[4])
        a.bar(KARAALI_BLUR_LEVELS, r["blur_probabilities"], width=0.2)
        if r["gt"] is not None:
            a.axvline(r["gt"], color="k", ls="--", label=f"ground truth {r['gt']:.2f}")
            a.legend(fontsize=8)
        a.set_xlabel("B-NET class: disk radius (px)"); a.set_ylabel("probability")
        a.set_title(f"B-NET: {r['blur']:.2f} px", fontsize=9)
        a = fig.add_subplot(gs[5]); a.bar([0], [r["depth_probability"]], color=DEPTH_RGB); a.set_ylim(0, 1)
        a.set_xticks([]); a.set_title(f"E-NET depth\n{r['depth_probability']:.2f}", fontsize=9)


def network_summary() -> str:
    """One line per network: its branches, parameter count and classes (Sec. III)."""
    lines = []
    for kind in ("bnet", "enet"):
        net = K.MultiScaleNet(kind)
        n = sum(p.numel() for p in net.parameters())
        lines.append(f"{kind}: branches {list(net.branches)}, {n:,} parameters, {net.n_classes} classes")
    return "\n".join(lines)


def training_summary(*, compare: bool = True) -> str:
    """The self-trained networks' reports (``data/karaali2022/*_report.json``) and, when RTF images
    and weights are here and ``compare``, the raw MAE of each pair of networks on them."""
    from ..experiments import karaali as ex
    lines = []
    for kind, r in ex.training_reports().items():
        v = ", ".join(f"{k} {x:.3f}" for k, x in r["validation"].items())
        lines.append(f"{kind}: {r['samples']:,} samples in {r['minutes_total']:.0f} min on {r['data']}; "
                     f"validation {v}")
    if compare and ex.available_rtf()[0]:
        cmp = ex.network_comparison()
        for name, m in cmp["mae"].items():
            lines.append(f"{name:>40}: raw MAE " + ", ".join(f"RTF {k} {v:.3f}" for k, v in m.items()))
    return "\n".join(lines)

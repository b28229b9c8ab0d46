"""Figures and the explorer of notebook 03 (removing out-of-focus blur: blind deconvolution
with symmetric low-rank kernels)."""
from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from .._validate import to_gray
from ..apps import deblur as db
from ..kernels import psf
from ..kernels.psf import gaussian_kernel, rank_rule
from ..render import disk_kernel, pupil_kernel
from .base import Explorer, slider

_LABEL = {"description_width": "initial"}


def _off(ax, title=None):
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=8)


def deconvolve_patch(grey, k, lam: float, prior: str, iterations: int = 100) -> np.ndarray:
    """The non-blind u-step of a whole grey patch with the kernel ``k`` (mirrored borders: the
    patch's padded grid): Fig. 3 and its explorer."""
    return db.on_layer_grid(grey, np.ones(grey.shape, bool), k.shape[0],
                            lambda fp, mp, grid: db.u_step(fp, k, mp, lam=lam, prior=prior, iterations=iterations))


def fig3(patch, sigmas=(1, 2, 3, 4, 5, 5.5, 6, 6.5, 7), lam: float = 5e-3) -> Figure:
    """Fig. 3: a defocused patch deblurred (non-blind, TV prior) with Gaussians of each sigma;
    none is sharp without ringing, the paper's case for a non-parametric kernel."""
    grey = to_gray(patch) if patch.ndim == 3 else patch
    fig = Figure(figsize=(12, 2.8))
    ax = fig.subplots(2, 5)
    ax = ax.ravel()
    ax[0].imshow(grey, cmap="gray", vmin=0, vmax=1)
    _off(ax[0], "(a) input")
    for a, s in zip(ax[1:], sigmas):
        u = deconvolve_patch(grey, gaussian_kernel(s, 2 * int(np.ceil(3 * s)) + 1), lam, "tv")
        a.imshow(np.clip(u, 0, 1), cmap="gray", vmin=0, vmax=1)
        _off(a, f"sigma = {s:g}")
    fig.tight_layout()
    return fig


def fig4() -> Figure:
    """Fig. 4: the three parametric defocus kernels with tight boxes, their singular values and
    their ranks by the 1/30 rule (the paper: 1, 8, 7)."""
    kernels = {"Gaussian 27x27, sigma 9": gaussian_kernel(9.0, 27), "pillbox, diameter 23": disk_kernel(11.5),
               "Gaussian pupil 23, sigma 9": pupil_kernel(11.5, 9.0)}
    fig = Figure(figsize=(11, 2.8))
    ax = fig.subplots(1, 4, width_ratios=[1, 1, 1, 1.6])
    for a, (name, k) in zip(ax, kernels.items()):
        a.imshow(k, cmap="magma")
        _off(a, f"{name}\nrank {rank_rule(k)} (1/30 rule)")
        sv = np.linalg.svd(k, compute_uv=False)
        ax[3].semilogy(np.arange(1, len(sv) + 1), sv / sv[0], ".-", label=name)
    ax[3].axhline(1 / 30, color="k", lw=0.8, ls="--")
    ax[3].set_ylim(1e-6, 2)
    ax[3].set_xlabel("index")
    ax[3].set_ylabel("singular value / largest")
    ax[3].legend(fontsize=7)
    fig.tight_layout()
    return fig


def search_figure(curves: dict) -> Figure:
    """Tung & Hwang's disk search: the re-blur error per radius for each layer, and the knee."""
    fig = Figure(figsize=(6, 3))
    ax = fig.subplots()
    for name, (radii, errors, found, true) in curves.items():
        line, = ax.semilogy(radii, errors, ".-", label=f"{name}: found {found:g} px (true {true:g})")
        ax.axvline(found, color=line.get_color(), ls="--", lw=0.8)
    ax.set_xlabel("disk radius (px)")
    ax.set_ylabel("re-blur error (MSE)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def comparison_figure(sharp, panels: dict, kernels: dict | None = None, crop=None) -> Figure:
    """Restored images side by side (``panels``: title -> image), each with its PSNR against
    ``sharp`` and, where ``kernels`` has one, its kernel inset (scaled to its own maximum)."""
    from skimage.metrics import peak_signal_noise_ratio as psnr
    crop = crop or np.s_[:, :]
    n = len(panels)
    fig = Figure(figsize=(2.6 * n, 2.9))
    ax = fig.subplots(1, n, squeeze=False)[0]
    for a, (name, img) in zip(ax, panels.items()):
        shown = np.clip(img[crop], 0, 1)
        a.imshow(shown, cmap=None if shown.ndim == 3 else "gray", vmin=0, vmax=1)
        title = name if sharp is None else f"{name}\n{psnr(sharp, np.clip(img, 0, 1), data_range=1):.2f} dB"
        _off(a, title)
        if kernels and name in kernels:
            k = kernels[name]
            ins = a.inset_axes([0.0, 0.0, 0.3, 0.3])
            ins.imshow(k / k.max(), cmap="magma")
            ins.set_xticks([])
            ins.set_yticks([])
            ins.set_title(f"rank {rank_rule(k)}", fontsize=6, color="w", y=0.75)
    fig.tight_layout()
    return fig


def c_figure(image, wrong, labels, c) -> Figure:
    """Fig. 8: the wrong segmentation (the red piece belongs to the in-focus layer) and the
    estimated c (absolute value), which takes the pixels the layer's kernel cannot explain."""
    fig = Figure(figsize=(8, 2.8))
    ax = fig.subplots(1, 2)
    ax[0].imshow(image)
    over = np.zeros(image.shape[:2] + (4,))
    over[labels > 0] = [0.1, 0.8, 0.2, 0.35]
    over[wrong] = [0.9, 0.1, 0.1, 0.6]
    ax[0].imshow(over)
    _off(ax[0], "layer (green) with a wrong piece (red)")
    ax[1].imshow(np.abs(c), cmap="magma")
    _off(ax[1], f"|c|: {np.count_nonzero(c)} pixels taken by c")
    fig.tight_layout()
    return fig


def table_html(rows: dict, caption: str = "") -> str:
    """A method table (experiments.deblur.table): PSNR / SSIM overall and PSNR per true layer."""
    layers = sorted(int(k.split("_")[1]) for k in next(iter(rows.values())) if k.startswith("psnr_"))
    head = "".join(f"<th>layer {i} PSNR</th>" for i in layers)
    best = max(r["psnr"] for m, r in rows.items() if m != "true-kernel")
    body = ""
    for m, r in rows.items():
        cells = "".join(f"<td>{r[f'psnr_{i}']:.2f}</td>" for i in layers)
        ps = f"<b>{r['psnr']:.2f}</b>" if r["psnr"] == best else f"{r['psnr']:.2f}"
        body += (f"<tr><td>{html.escape(m)}</td><td>{ps}</td><td>{r['ssim']:.3f}</td>{cells}"
                 f"<td>{r['seconds']:.1f}</td></tr>")
    cap = f"<caption style='caption-side: top'>{html.escape(caption)}</caption>" if caption else ""
    return (f"<table>{cap}<tr><th>method</th><th>PSNR (dB)</th><th>SSIM</th>{head}<th>seconds</th></tr>"
            f"{body}</table>")


def layer_gains(scene, image) -> dict:
    """PSNR gain (dB) of ``image`` over the scene's blurred input inside each true layer."""
    from skimage.metrics import peak_signal_noise_ratio as psnr
    out = {}
    for lab in np.unique(scene.labels):
        m = scene.labels == lab
        out[int(lab)] = float(psnr(scene.sharp[m], np.clip(image[m], 0, 1), data_range=1)
                              - psnr(scene.sharp[m], scene.blurred[m], data_range=1))
    return out


def guarded_figure(scene, guarded, paper) -> Figure:
    """The photo deblurring on a half-sharp scene: the input, the map's layers, the weights with
    which the guarded scheme blended its restoration (black: the input kept), its result and the
    paper's scheme on the same map, each titled with its gain in the in-focus and blurred halves,
    and the truth."""
    fig = Figure(figsize=(15, 3.3))
    ax = fig.subplots(1, 6)
    ax[0].imshow(scene.blurred)
    _off(ax[0], "input: left half sharp,\nright half a disk of %g px" % scene.radii[1])
    ax[1].imshow(guarded.labels, cmap="gray", vmin=0, vmax=max(1, int(guarded.labels.max())))
    _off(ax[1], "the map's layers (white: blurred)")
    ax[2].imshow(guarded.weights, cmap="magma", vmin=0, vmax=1)
    _off(ax[2], "weights of the restoration\n(map x re-blur check x spectrum)")
    for a, img, name in ((ax[3], guarded.image, "guarded (default)"), (ax[4], paper.image, "paper's scheme")):
        g = layer_gains(scene, img)
        a.imshow(np.clip(img, 0, 1))
        _off(a, f"{name}\nin focus {g[0]:+.2f} dB, blurred {g[1]:+.2f} dB")
    ax[5].imshow(scene.sharp)
    _off(ax[5], "truth")
    fig.tight_layout()
    return fig


def photo_table_html(results: dict, caption: str = "") -> str:
    """The photo table (experiments.deblur.photo_table over several scenes): per row, the PSNR
    gain of the whole image (least and mean over the scenes), of the in-focus half (least) and
    of the blurred half (mean), the SSIM gain (mean), the seconds (mean) and the scenes counted."""
    names = []
    for rows in results.values():
        names += [m for m in rows if m not in names and m != "blurred"]
    body = ""
    for m in names:
        ok = [rows[m] for rows in results.values() if m in rows and "error" not in rows[m]]
        if not ok:
            why = next(rows[m]["error"] for rows in results.values() if m in rows)
            body += f"<tr><td>{html.escape(m)}</td><td colspan='6'>not run here: {html.escape(why[:120])}</td></tr>"
            continue
        whole = [r["gain_psnr"] for r in ok]
        body += (f"<tr><td>{html.escape(m)}</td><td>{min(whole):+.2f} / {np.mean(whole):+.2f}</td>"
                 f"<td>{min(r['gain_psnr_0'] for r in ok):+.2f}</td>"
                 f"<td>{np.mean([r['gain_psnr_1'] for r in ok]):+.2f}</td>"
                 f"<td>{np.mean([r['gain_ssim'] for r in ok]):+.3f}</td>"
                 f"<td>{np.mean([r['seconds'] for r in ok]):.1f}</td><td>{len(ok)}</td></tr>")
    cap = f"<caption style='caption-side: top'>{html.escape(caption)}</caption>" if caption else ""
    return (f"<table>{cap}<tr><th>map / method</th><th>PSNR gain, whole (least / mean)</th>"
            f"<th>in-focus half (least)</th><th>blurred half (mean)</th><th>SSIM gain (mean)</th>"
            f"<th>seconds</th><th>scenes</th></tr>{body}</table>")


class DeblurExplorer(Explorer):
    """The blind scheme live on a small ground-truth scene: lambdas, kernel size, iterations, the
    r0 rule, which constraints are on, where the layers come from and their threshold; the
    result beside the blurred input and the truth, the kernel found beside the true one.

    A change previews the grey layer after the first :attr:`PREVIEW_ITERATIONS` outer iterations
    (or, while the initial disk search of its settings has not run, only the input and the
    truth); the full answer (all iterations, the colour restored) replaces it."""
    title = "deblur"
    figsize = (11, 3.0)
    note = ("A 0.25-scale motorcycle (125x185 px: the photo is downsampled so that the full answer comes within "
            "about 2 s; the first iterations, in grey, are shown at once), one layer blurred by a 4 px kernel, "
            "noise 0.005.")

    def __init__(self, kind: str = "pupil", scale: float = 0.25, radius: float = 4.0):
        from ..synth.layers import layered_scene, motorcycle_layers
        sharp, labels = motorcycle_layers(scale=scale, bands=2)
        self.scene = layered_scene(sharp, labels, (0, radius), kind=kind, noise=0.005, name=f"explorer-{kind}")
        self.grey = to_gray(self.scene.blurred)
        self._map = None
        self._search = {}
        super().__init__({
            "lam1": slider(db.LAM1, -5, -1.5, 0.25, "lambda1 (image prior)", log=True),
            "lam3": slider(db.LAM3, -4, 0, 0.25, "lambda3 (c)", log=True),
            "kernel_size": W.Dropdown(options=[15, 21, 31], value=31, description="kernel box", style=_LABEL,
                                      layout=W.Layout(width="auto")),
            "iterations": W.IntSlider(value=10, min=1, max=20, description="iterations N", style=_LABEL),
            "rank_rule": W.IntSlider(value=30, min=3, max=300, description="r0: keep s >= s_max /", style=_LABEL),
            "symmetric": W.Checkbox(value=True, description="symmetry"),
            "low_rank": W.Checkbox(value=True, description="low rank"),
            "residual": W.Checkbox(value=True, description="c term"),
            "layers": W.Dropdown(options=["true masks", "zhuo2011 map"], value="true masks", description="layers",
                                 style=_LABEL, layout=W.Layout(width="auto")),
            "threshold": slider(1.0, 0.2, 4.0, 0.1, "map threshold (sigma px)"),
        })

    def applicable(self, values):
        return {"threshold": values["layers"] != "true masks", "lam3": values["residual"],
                "rank_rule": values["low_rank"]}

    def _labels(self, layers, threshold):
        if layers == "true masks":
            return self.scene.labels
        if self._map is None:
            from ..pipeline import estimate_defocus
            self._map, _ = estimate_defocus(self.scene.blurred, method="zhuo2011", units="sigma")
        return db.layers_from_map(self._map, thresholds=[threshold])

    PREVIEW_ITERATIONS = 3  # outer iterations of the preview

    def _layer(self, layers, threshold):
        labels = self._labels(layers, threshold)
        mask = labels > 0
        if not mask.any() or mask.all():
            raise ValueError("the threshold leaves no blurred layer (or no in-focus one): move it")
        return labels, mask

    def preview(self, lam1, lam3, kernel_size, iterations, rank_rule, symmetric, low_rank, residual, layers,
                threshold):
        """The grey layer after the first few outer iterations (no colour restoration), or, while
        the initial disk search of these settings is not kept, only the input and the truth."""
        labels, mask = self._layer(layers, threshold)
        key = (layers, round(threshold, 3), lam1, kernel_size)
        out = {"labels": labels, "iterations": 0}
        if key not in self._search:
            out["preview"] = "the initial disk search and the deconvolution follow"
            return out
        radius, k0, _ = self._search[key]
        n = min(iterations, self.PREVIEW_ITERATIONS)
        res = db.deblur_layer(self.grey, mask, k0=k0, kernel_size=kernel_size, iterations=n, lam1=lam1,
                              lam3=lam3, symmetric=symmetric, low_rank=low_rank, residual=residual,
                              ratio=1.0 / rank_rule)
        grey = np.where(mask, np.clip(res.u, 0, 1), self.grey)
        out.update(image=np.repeat(grey[..., None], 3, axis=2), k=res.k, radius=radius, c=res.c,
                   r0=res.history[-1]["r0"], iterations=n,
                   preview=f"{n} of {iterations} iterations, grey; the rest and the colour follow")
        return out

    def compute(self, lam1, lam3, kernel_size, iterations, rank_rule, symmetric, low_rank, residual, layers,
                threshold):
        labels, mask = self._layer(layers, threshold)
        key = (layers, round(threshold, 3), lam1, kernel_size)
        if key not in self._search:  # the disk search does not depend on the other controls
            self._search[key] = db.initial_disk(self.grey, mask, kernel_size=kernel_size, lam=lam1)
        radius, k0, errors = self._search[key]
        res = db.deblur_layer(self.grey, mask, k0=k0, kernel_size=kernel_size, iterations=iterations, lam1=lam1,
                              lam3=lam3, symmetric=symmetric, low_rank=low_rank, residual=residual,
                              ratio=1.0 / rank_rule)
        colour = db.restore_layer(self.scene.blurred, mask, res)
        out = db.compose(self.scene.blurred, labels, {1: colour})
        return {"image": out, "k": res.k, "radius": radius, "labels": labels, "c": res.c,
                "r0": res.history[-1]["r0"], "iterations": iterations}

    def draw(self, fig, r):
        from skimage.metrics import peak_signal_noise_ratio as psnr
        ax = fig.subplots(1, 5, width_ratios=[1.5, 1.5, 1.5, 0.8, 0.8])
        sharp = self.scene.sharp
        partial = f" (grey, {r['iterations']} it; refining ...)" if "preview" in r else ""
        for a, img, name in ((ax[0], self.scene.blurred, "blurred"), (ax[1], r.get("image"), "deblurred"),
                             (ax[2], sharp, "truth")):
            if img is None:  # a preview before the disk search
                _off(a, "deblurred: refining ...")
                continue
            a.imshow(np.clip(img, 0, 1))
            if img is sharp or (partial and a is ax[1]):  # a grey preview against the colour truth: no PSNR
                t = name
            else:
                t = f"{name}: {psnr(sharp, np.clip(img, 0, 1), data_range=1):.2f} dB"
            _off(a, t + (partial if a is ax[1] else ""))
        ax[1].contour(r["labels"] > 0, levels=[0.5], colors="w", linewidths=0.5)
        true = db.embed_kernel(self.scene.kernels[1], r["k"].shape[0] if "k" in r else self.controls["kernel_size"].value)
        if "k" not in r:
            _off(ax[3], "kernel found:\nrefining ...")
            ax[4].imshow(true, cmap="magma")
            _off(ax[4], f"true kernel\n({self.scene.kind} r {self.scene.radii[1]:g})")
            return
        vmax = max(r["k"].max(), true.max())
        ax[3].imshow(r["k"], cmap="magma", vmin=0, vmax=vmax)
        _off(ax[3], f"kernel found\n(rank {r['r0']}, from disk {r['radius']:g})")
        ax[4].imshow(true, cmap="magma", vmin=0, vmax=vmax)
        _off(ax[4], f"true kernel\n({self.scene.kind} r {self.scene.radii[1]:g})")

    def status_text(self, result) -> str:
        return (f"computed in {self.seconds:.1f} s; c holds {np.count_nonzero(result['c'])} pixels; "
                f"the outlined layer was deblurred")


class KernelExplorer(Explorer):
    """Fig. 4 live: a parametric defocus kernel, its singular values and the rank the 1/ratio rule
    keeps, and its projection onto the feasible set (kernels.psf.project_kernel) with noise
    added, as a gradient step would leave it."""
    title = "deblur-kernel"
    figsize = (11, 2.8)

    def __init__(self):
        super().__init__({
            "kind": W.Dropdown(options=["Gaussian", "pillbox", "Gaussian pupil"], value="pillbox",
                               description="kernel", style=_LABEL, layout=W.Layout(width="auto")),
            "radius": slider(11.5, 1.0, 15.0, 0.5, "radius / 3 sigma (px)"),
            "pupil_sigma": slider(9.0, 1.0, 20.0, 0.5, "pupil sigma (px)"),
            "rank_rule": W.IntSlider(value=30, min=3, max=300, description="r0: keep s >= s_max /", style=_LABEL),
            "noise": slider(0.02, -4, -0.5, 0.25, "noise of the step (x max)", log=True),
        })

    def applicable(self, values):
        return {"pupil_sigma": values["kind"] == "Gaussian pupil"}

    def compute(self, kind, radius, pupil_sigma, rank_rule, noise):
        if kind == "Gaussian":
            k = gaussian_kernel(radius / 3.0, 2 * int(np.ceil(radius)) + 1)
        elif kind == "pillbox":
            k = disk_kernel(radius)
        else:
            k = pupil_kernel(radius, pupil_sigma)
        rng = np.random.default_rng(0)
        stepped = k + noise * k.max() * rng.normal(size=k.shape)
        projected, info = psf.project_kernel(stepped, ratio=1.0 / rank_rule, info=True)
        return {"k": k, "stepped": stepped, "projected": projected, "info": info, "ratio": 1.0 / rank_rule,
                "rank": psf.rank_rule(k, 1.0 / rank_rule)}

    def draw(self, fig, r):
        ax = fig.subplots(1, 4, width_ratios=[1, 1, 1, 1.6])
        vmax = r["k"].max()
        for a, key, title in ((ax[0], "k", f"kernel: rank {r['rank']}"), (ax[1], "stepped", "after a noisy step"),
                              (ax[2], "projected", f"projected: rank {r['info']['r0']}")):
            a.imshow(r[key], cmap="magma", vmin=min(0, r[key].min()), vmax=vmax)
            _off(a, title)
        for key, lab in (("k", "kernel"), ("stepped", "noisy"), ("projected", "projected")):
            sv = np.linalg.svd(r[key], compute_uv=False)
            ax[3].semilogy(np.arange(1, len(sv) + 1), np.maximum(sv / sv[0], 1e-12), ".-", label=lab)
        ax[3].axhline(r["ratio"], color="k", ls="--", lw=0.8)
        ax[3].set_ylim(1e-6, 2)
        ax[3].set_xlabel("index")
        ax[3].set_ylabel("s / s_max")
        ax[3].legend(fontsize=7)

    def status_text(self, result) -> str:
        i = result["info"]
        return (f"drawn in {self.seconds * 1e3:.0f} ms; projection: {i['sweeps']} sweeps, last clip {i['clip']:.1e}, "
                f"rank gap <= {i['rank_gap']:.1e}")


class GaussianExplorer(Explorer):
    """Fig. 3 live: one blurred patch deconvolved non-blind by a Gaussian of any sigma (and TV or
    framelet prior, lambda), beside the deconvolution with the true kernel."""
    title = "deblur-gaussian"
    figsize = (10, 2.8)

    def __init__(self, patch, true_kernel, sharp=None):
        self.patch = to_gray(patch) if patch.ndim == 3 else patch
        self.sharp = None if sharp is None else (to_gray(sharp) if sharp.ndim == 3 else sharp)
        self.true = true_kernel
        self._true_u = {}
        super().__init__({
            "sigma": slider(3.0, 0.5, 8.0, 0.25, "Gaussian sigma (px)"),
            "lam": slider(5e-3, -4, -1, 0.25, "lambda", log=True),
            "prior": W.Dropdown(options=["tv", "framelet"], value="tv", description="prior", style=_LABEL,
                                layout=W.Layout(width="auto")),
        })

    def _solve(self, k, lam, prior):
        return deconvolve_patch(self.patch, k, lam, prior)

    def compute(self, sigma, lam, prior):
        k = gaussian_kernel(sigma, 2 * int(np.ceil(3 * sigma)) + 1)
        key = (lam, prior)
        if key not in self._true_u:
            self._true_u[key] = self._solve(self.true, lam, prior)
        return {"u": self._solve(k, lam, prior), "true": self._true_u[key], "sigma": sigma}

    def draw(self, fig, r):
        from skimage.metrics import peak_signal_noise_ratio as psnr
        panels = [(self.patch, "blurred"), (r["u"], f"Gaussian sigma {r['sigma']:g}"), (r["true"], "true kernel")]
        if self.sharp is not None:
            panels.append((self.sharp, "truth"))
        ax = fig.subplots(1, len(panels))
        for a, (img, title) in zip(ax, panels):
            a.imshow(np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1)
            if self.sharp is not None and img is not self.sharp:
                title += f": {psnr(self.sharp, np.clip(img, 0, 1), data_range=1):.2f} dB"
            _off(a, title)

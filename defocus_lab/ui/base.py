"""The explorer pattern shared by every notebook."""
from __future__ import annotations

import time

import ipywidgets as W
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from skimage.transform import rescale

WORKING_SIDE = 240  # px: the larger side of the copy the sliders work on


def working_copy(image: np.ndarray, side: int = WORKING_SIDE):
    """(copy, factor): ``image`` downsampled so that its larger side is at most ``side``."""
    big = max(image.shape[:2])
    if big <= side:
        return image, 1.0
    f = side / big
    ch = -1 if image.ndim == 3 else None
    return np.clip(rescale(image, f, channel_axis=ch, anti_aliasing=True), 0, 1), f


class Explorer:
    """Controls + one matplotlib figure redrawn into an Output on every change.

    Subclasses define ``compute(**values) -> dict`` (the numbers) and ``draw(fig, result)``.
    """

    figsize = (10, 3.2)
    note = ""

    def __init__(self, controls: dict, *, auto: bool = True):
        self.controls = controls
        self.output = W.Output()
        self.status = W.HTML()
        self.result = None
        self.figure = None
        self.seconds = None
        for c in controls.values():
            if hasattr(c, "continuous_update"):
                c.continuous_update = False
            c.observe(lambda change: self.update(), names="value")
        box = W.VBox([W.HBox(list(controls.values()), layout=W.Layout(flex_flow="row wrap")), self.status,
                      self.output])
        self.widget = box
        if auto:
            self.update()

    def values(self) -> dict:
        return {k: c.value for k, c in self.controls.items()}

    def compute(self, **values) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def draw(self, fig, result) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def update(self):
        t = time.perf_counter()
        try:
            self.result = self.compute(**self.values())
        except ValueError as exc:  # bad combination of parameters: say so, keep the kernel alive
            self.status.value = f"<b style='color:#b00'>Cannot compute: {exc}</b>"
            return
        self.seconds = time.perf_counter() - t
        self.status.value = f"<small>computed in {self.seconds:.2f} s. {self.note}</small>"
        self.figure = replace_figure(self.output, self.figure, self.figsize,
                                     lambda fig: self.draw(fig, self.result))

    def _ipython_display_(self):
        display(self.widget)


def replace_figure(output, old, figsize, draw):
    """Draw a new figure with ``draw(fig)`` and show it in ``output`` in place of ``old``
    (closed, so that redraws do not pile up figures); returns the new figure."""
    with plt.ioff():
        fig = plt.figure(figsize=figsize, layout="constrained")
        draw(fig)
    if old is not None:
        plt.close(old)
    output.clear_output(wait=True)
    with output:
        display(fig)
    return fig


def box_region(shape, x, y):
    """Boolean (H, W) mask of the box spanning the fractions ``x`` = (x0, x1) of the width and
    ``y`` = (y0, y1) of the height (what the range sliders give)."""
    H, W = shape
    m = np.zeros((H, W), bool)
    m[int(y[0] * H):int(np.ceil(y[1] * H)), int(x[0] * W):int(np.ceil(x[1] * W))] = True
    return m


def slider(value, lo, hi, step, description, log=False, readout_format=".3g"):
    cls = W.FloatLogSlider if log else W.FloatSlider
    if log:
        return cls(value=value, base=10, min=lo, max=hi, step=step, description=description,
                   readout_format=readout_format, style={"description_width": "initial"})
    return cls(value=value, min=lo, max=hi, step=step, description=description,
               readout_format=readout_format, style={"description_width": "initial"})


def show_map(ax, m, title, vmax=None, cmap="viridis"):
    im = ax.imshow(m, cmap=cmap, vmin=0, vmax=vmax)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    return im


def sparse_rgba(values, mask, vmax):
    """A sparse map as an RGBA image, transparent where there is no value."""
    cmap = matplotlib.colormaps["viridis"]
    rgba = cmap(np.clip(values / max(vmax, 1e-9), 0, 1))
    rgba[..., 3] = mask
    return rgba

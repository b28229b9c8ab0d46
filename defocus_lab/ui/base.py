"""The explorer pattern shared by every notebook."""
from __future__ import annotations

import time

import ipywidgets as W
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display
from skimage.transform import rescale

from .. import data

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
    With ``live = False`` a change of the controls does not recompute: the subclass's
    ``buttons`` (a dict of ipywidgets Buttons, shown under the controls) act on them instead
    (the scribble tool's "add box"). ``status_text(result)`` is the line under the controls.
    """

    figsize = (10, 3.2)
    note = ""
    live = True

    def __init__(self, controls: dict, *, auto: bool = True, buttons: dict | None = None):
        self.controls = controls
        self.buttons = dict(buttons or {})
        self.output = W.Output()
        self.status = W.HTML()
        self.result = None
        self.figure = None
        self.seconds = None
        for c in controls.values():
            if hasattr(c, "continuous_update"):
                c.continuous_update = False
            if self.live:
                c.observe(lambda change: self.update(), names="value")
        rows = [W.HBox(list(controls.values()), layout=W.Layout(flex_flow="row wrap"))]
        if self.buttons:
            rows.append(W.HBox(list(self.buttons.values())))
        self.widget = W.VBox(rows + [self.status, self.output])
        if auto:
            self.update()

    def values(self) -> dict:
        return {k: c.value for k, c in self.controls.items()}

    def compute(self, **values) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def draw(self, fig, result) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def status_text(self, result) -> str:
        return f"computed in {self.seconds:.2f} s. {self.note}"

    def update(self):
        t = time.perf_counter()
        try:
            self.result = self.compute(**self.values())
        except ValueError as exc:  # bad combination of parameters: say so, keep the kernel alive
            self.status.value = f"<b style='color:#b00'>Cannot compute: {exc}</b>"
            return
        self.seconds = time.perf_counter() - t
        self.status.value = f"<small>{self.status_text(self.result)}</small>"
        self.figure = replace_figure(self.output, self.figure, self.figsize,
                                     lambda fig: self.draw(fig, self.result))

    def _ipython_display_(self):
        display(self.widget)


_DOWN_NOTE = "Working on a {h}x{w} copy of the {H}x{W} image so that the sliders answer at once"
_PX_NOTE = " (blur shown in full-resolution pixels: the copy's sigma / {f:.3f})"
_FULL_NOTE = "; call <code>.full_resolution()</code> for the full-size result"


class ImageExplorer(Explorer):
    """An explorer of one photo, working on a downsampled copy so that the sliders answer at once.

    ``self.full`` is the photo, ``self.image`` the copy (larger side at most ``side``, default
    the class's ``side``; a class ``side`` of None works on the image as given, e.g. to compare
    with a ground truth of its size), ``self.factor`` the copy's scale; the note under the
    controls says so, in which pixels the blur is shown (``full_resolution_px``) and whether a
    ``full_resolution()`` method is offered.
    Subclasses set up what the controls do not change in ``prepare()`` (called on the copy,
    before the first computation) and give their controls as ``controls`` or by
    ``make_controls()`` (which may read ``self.image``).
    """

    side = WORKING_SIDE
    full_resolution_px = False  # True where draw() shows blur divided by ``factor``

    def __init__(self, image, controls: dict | None = None, *, side: int | None = None, **kwargs):
        self.full = image
        side = self.side if side is None else side
        self.image, self.factor = (image, 1.0) if side is None else working_copy(image, side)
        h, w = self.image.shape[:2]
        H, W_ = image.shape[:2]
        down = ""
        if self.factor < 1:
            down = _DOWN_NOTE.format(h=h, w=w, H=H, W=W_)
            down += _PX_NOTE.format(f=self.factor) if self.full_resolution_px else " (blur in the copy's pixels)"
            down += (_FULL_NOTE if hasattr(self, "full_resolution") else "") + "."
        self.note = " ".join(s for s in (self.note, down) if s)
        self.prepare()
        super().__init__(self.make_controls() if controls is None else controls, **kwargs)

    def prepare(self) -> None:
        """Work on ``self.image`` that no control changes (default: none)."""

    def make_controls(self) -> dict:  # pragma: no cover - abstract when controls are not given
        raise NotImplementedError


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


# ----------------------------------------------------------------------------- data banners

FETCH_HINT = "Set `DEFOCUS_LAB_DATA` or run `defocus-lab fetch` to get them."


def show_note(text: str) -> None:
    """An italic note in the notebook (what was skipped, what stands in for it)."""
    display(Markdown(f"*{text}*"))


def show_skipped(skipped, *, instead: str | None = None, what: str = "", hint: str = FETCH_HINT) -> None:
    """Say which data were not available here (nothing when ``skipped`` is empty): the one banner
    every notebook uses, e.g. "Not available here: pumpkin, flower; using **coffee** instead."."""
    if not skipped:
        return
    text = f"Not available here: {', '.join(skipped)}"
    if what:
        text += f" ({what})"
    if instead:
        text += f"; using **{instead}** instead"
    show_note(f"{text}. {hint}".strip())


def pick_image(names, fallback: str = "coffee"):
    """(name, image): the first of ``names`` available here, else ``fallback``, saying which were
    skipped (:func:`show_skipped`). Never downloads."""
    name, image, skipped = data.load_first_available(names, fallback=fallback)
    show_skipped(skipped, instead=name)
    return name, image

"""The explorer pattern shared by every notebook."""
from __future__ import annotations

import threading
import time

import ipywidgets as W
import matplotlib
import matplotlib.pyplot  # noqa: F401  (imsave in Explorer.save)
from matplotlib.figure import Figure
import numpy as np
from IPython.display import Markdown, display

from .. import data
from .._cancel import Cancelled, cancellable

from ..data import WORKING_SIDE, working_copy  # noqa: F401  (the notebooks import them from here)


def progress(*args, **kwargs):
    """tqdm's progress bar: the notebook widget in a notebook, text elsewhere (what the long cells
    pass as ``progress=`` to the experiments)."""
    from tqdm.auto import tqdm
    return tqdm(*args, **kwargs)


class Explorer:
    """Controls + one matplotlib figure redrawn into an Output on every change.

    Subclasses define ``compute(**values) -> dict`` (the numbers) and ``draw(fig, result)``.
    With ``live = False`` a change of the controls does not recompute: the subclass's
    ``buttons`` (a dict of ipywidgets Buttons, shown under the controls) act on them instead
    (the scribble tool's "add box"). ``status_text(result)`` is the line under the controls.

    What every explorer has, so that a user can trust what it shows:

    - while it computes, the status line says "computing ..." and the controls are disabled (a
      kernel busy with one change cannot take the next; the disabled controls say so), then
      the time the change took;
    - its figures belong to it: they are made with :class:`matplotlib.figure.Figure`, not
      pyplot, so the inline backend never shows them again at the end of a later cell;
    - a fixed colour range per map (:meth:`colour_max`), chosen from the first result and kept
      until **reset**, so that a map before and after a change can be compared;
    - **reset** (the controls back to their first values, the colour ranges chosen again) and
      **save** (:meth:`save`: the map as ``.npy`` and PNG, and the figure);
    - :meth:`applicable` greys out the controls that do nothing for the current choice;
    - a change answers within about a second (``benchmarks/bench_explorers.py``): where the full
      answer takes longer, :meth:`preview` returns a cheaper result (the cheaper half of a
      comparison, the first iterations, the new edges) that is drawn at once with "refining ..." in
      the status line, while :meth:`compute` runs in a worker thread and its figure replaces the
      preview in place. A new change cancels the refinement in progress (its loops stop at their
      next :func:`defocus_lab._cancel.checkpoint`) and its answer is never drawn. The first
      figure, drawn when the explorer is made (a notebook's static output), is always the full
      answer.
    """

    figsize = (10, 3.2)
    #: matplotlib's layout engine of the figure; None for a large grid that places its axes itself
    #: (the constrained layout measures every axis, the most of a 20-panel figure's drawing time)
    layout = "constrained"
    note = ""
    live = True
    title = "explorer"  # the file-name stem of saved maps and figures
    #: where a refinement runs: None = in a worker thread inside an IPython kernel (whose event
    #: loop then draws it), at once after the preview elsewhere (scripts, tests); True = always in a
    #: worker thread (outside a kernel its figure is drawn by :meth:`wait`); False = never
    background = None
    #: how long a new change waits for the cancelled refinement to reach its next checkpoint
    #: before it computes anyway (s)
    cancel_wait = 1.0
    #: what an iterative preview may spend on its own iterations (s): the rest of the second the
    #: first figure has goes to drawing it
    preview_seconds = 0.35

    def __init__(self, controls: dict, *, auto: bool = True, buttons: dict | None = None):
        self.controls = controls
        self.buttons = dict(buttons or {})
        self.output = W.Output()
        self.status = W.HTML()
        self.result = None
        self.figure = None
        self.seconds = None
        self._ranges: dict = {}
        self._defaults = {k: c.value for k, c in controls.items()}
        self._quiet = False  # set while reset() moves several controls: one update, not one each
        self._disabled_by_choice: set = set()
        self.refining = False  # True while a preview is shown and its refinement runs
        self._generation = 0  # bumped by every change: a refinement of an older one is dropped
        self._worker: threading.Thread | None = None
        self._stop: threading.Event | None = None
        self._pending: list = []  # refined answers waiting to be drawn (see wait())
        self._lock = threading.Lock()
        for c in controls.values():
            if hasattr(c, "continuous_update"):
                c.continuous_update = False
            c.observe(self._on_change, names="value")
        reset, save = W.Button(description="reset", icon="undo"), W.Button(description="save", icon="save")
        reset.on_click(lambda _: self.reset())
        save.on_click(lambda _: self._save_clicked())
        self.tools = {"reset": reset, "save": save}
        self.tools.update(self.extra_tools())
        rows = [W.HBox(list(controls.values()), layout=W.Layout(flex_flow="row wrap"))]
        rows.append(W.HBox(list(self.buttons.values()) + list(self.tools.values()),
                           layout=W.Layout(flex_flow="row wrap")))
        self.widget = W.VBox(rows + [self.status, self.body()])
        # CSS classes for the browser test: the explorer, its status line, the control it moves
        self.widget.add_class("dl-explorer")
        self.status.add_class("dl-status")
        probe = self.probe_control()
        if probe is not None:
            probe.add_class("dl-probe")
        self._apply_choice()
        if auto:
            self.update(preview=False)

    # -- what subclasses fill in ---------------------------------------------------------------
    def values(self) -> dict:
        return {k: c.value for k, c in self.controls.items()}

    def compute(self, **values) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def draw(self, fig, result) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def preview(self, **values) -> dict | None:
        """A quick stand-in for ``compute(**values)``, drawn at once while the full answer is
        computed in the background; None (the default) when ``compute`` itself answers quickly
        for these values. A preview carries ``"preview": <what it leaves out>`` (``draw`` must
        accept it, and says so on the figure); a result without that key is the full answer
        itself (a preview whose work happened to finish in time) and is not refined."""
        return None

    def applicable(self, values: dict) -> dict:
        """{control name: False} for the controls that do nothing with these ``values`` (they
        are disabled); default: every control applies."""
        return {}

    def extra_tools(self) -> dict:
        """More buttons beside reset and save (name -> Button)."""
        return {}

    def probe_control(self):
        """The control the browser test moves (default: the first slider that applies to the
        first settings; explorers that recompute on a button name the button)."""
        off = {k for k, ok in self.applicable(self.values()).items() if not ok}
        for k, c in self.controls.items():
            if k not in off and isinstance(c, (W.FloatSlider, W.FloatLogSlider, W.IntSlider)):
                return c
        return None

    def body(self):
        """The widget under the status line (default: the figure's Output)."""
        return self.output

    def saved_map(self, result):
        """(array, unit) of the map :meth:`save` writes, or None (default: ``result["dense"]``
        or ``result["map"]`` when there is one)."""
        for k in ("dense", "map"):
            if isinstance(result, dict) and isinstance(result.get(k), np.ndarray):
                return result[k], self.map_unit()
        return None

    def map_unit(self) -> str:
        return "sigma (px)"

    def status_text(self, result) -> str:
        return f"computed in {self.seconds:.2f} s. {self.note}"

    # -- the machinery -------------------------------------------------------------------------
    def colour_max(self, key: str, values, percentile: float = 99.5) -> float:
        """The top of the colour scale of map ``key``: the ``percentile`` of ``values`` the first
        time it is asked for, then the same until :meth:`reset`, so that maps before and after
        a change share one scale (a colorbar drawn with ``extend="max"`` shows what exceeds it)."""
        if key not in self._ranges:
            v = np.asarray(values, float)
            v = v[np.isfinite(v)]
            top = float(np.percentile(v, percentile)) if v.size else 1.0
            self._ranges[key] = top if top > 0 else 1.0
        return self._ranges[key]

    def _on_change(self, change):
        self._apply_choice()
        if self.live and not self._quiet:
            self.update()

    def _apply_choice(self):
        off = {k for k, ok in self.applicable(self.values()).items() if not ok}
        for k, c in self.controls.items():
            c.disabled = k in off
        self._disabled_by_choice = off

    def _busy(self, busy: bool, what: str = "computing") -> None:
        for k, c in self.controls.items():
            c.disabled = busy or k in self._disabled_by_choice
        for b in list(self.buttons.values()) + list(self.tools.values()):
            b.disabled = busy
        if busy:
            self.status.value = f"<i>{what} ...</i>"

    def run(self, fn, what: str = "computing"):
        """``fn()`` with the explorer marked busy; (result, None) or (None, the ValueError's text):
        a bad combination of parameters is said in the status line, the kernel stays alive."""
        self._busy(True, what)
        t = time.perf_counter()
        try:
            out = fn()
        except ValueError as exc:
            self.status.value = f"<b style='color:#b00'>Cannot compute: {exc}</b>"
            return None, str(exc)
        finally:
            self.seconds = time.perf_counter() - t
            self._busy(False)
        return out, None

    def update(self, *, preview: bool = True):
        """Compute and draw the current settings: :meth:`preview` first when it gives one (and
        ``preview``), refined by :meth:`compute` in the background; else :meth:`compute` at once."""
        self.cancel()
        values = self.values()
        quick = None
        if preview:
            quick, err = self.run(lambda: self.preview(**values))
            if err is not None:
                return
        if quick is None or "preview" not in quick:
            result, err = (quick, None) if quick is not None else self.run(lambda: self.compute(**values))
            if err is not None:
                return
            self.result = result
            self.status.value = f"<small>{self.status_text(self.result)}</small>"
            self.show(self.draw, self.result)
            return
        self.result, self.refining = quick, True
        quick_seconds = self.seconds
        self.status.value = (f"<i>refining ...</i> <small>the preview above took {quick_seconds:.2f} s "
                             f"({quick.get('preview', 'a cheaper answer')}); the full answer replaces it; "
                             f"moving a control cancels it</small>")
        chosen = set(self._ranges)  # colour ranges a preview sets are chosen again by the full answer
        if self._in_background():  # the worker computes while this thread draws the preview
            self._refine(values, quick_seconds)
            self._show_preview(quick, chosen)
        else:
            self._show_preview(quick, chosen)
            self._refine(values, quick_seconds)

    def _show_preview(self, quick, chosen):
        self.show(self.draw, quick)
        for key in set(self._ranges) - chosen:
            del self._ranges[key]

    def cancel(self) -> None:
        """Stop the refinement in progress (its answer will not be drawn); what every change,
        reset, new photo and full-resolution run does first."""
        self._generation += 1
        self.refining = False
        if self._stop is not None:
            self._stop.set()
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(self.cancel_wait)  # until its next checkpoint; then it stops on its own
        self._worker = self._stop = None

    def _in_background(self) -> bool:
        if not _threads_are_safe():
            return False  # a second thread's parallel kernels would abort the process
        if self.background is not None:
            return bool(self.background)
        return _kernel_loop() is not None

    def _refine(self, values, quick_seconds):
        generation, stop = self._generation, threading.Event()
        start = time.perf_counter() - quick_seconds
        loop = _kernel_loop()

        def work():
            try:
                with cancellable(stop):
                    outcome = ("ok", self.compute(**values))
            except Cancelled:
                return
            except ValueError as exc:
                outcome = ("refused", str(exc))
            except Exception as exc:  # noqa: BLE001 - said in the status line, never lost in a thread
                outcome = ("failed", f"{type(exc).__name__}: {exc}")
            seconds = time.perf_counter() - start
            with self._lock:
                self._pending.append(lambda: self._refined(generation, outcome, seconds))
            if loop is not None and background:
                loop.add_callback(self._run_pending)  # thread-safe: the kernel's main thread draws

        background = self._in_background()
        if background:
            self._stop = stop
            self._worker = threading.Thread(target=work, name=f"{type(self).__name__} refinement", daemon=True)
            self._worker.start()
        else:
            work()
            self._run_pending()

    def _run_pending(self) -> bool:
        with self._lock:
            todo, self._pending = self._pending, []
        return any([fn() for fn in todo])

    def _refined(self, generation, outcome, seconds) -> bool:
        """Draw a refinement's answer if no change has come since; True when drawn."""
        if generation != self._generation:
            return False
        self.refining, self._worker, self._stop = False, None, None
        kind, value = outcome
        if kind != "ok":
            why = "Cannot compute" if kind == "refused" else "The full answer failed"
            self.status.value = f"<b style='color:#b00'>{why}: {value}</b> (the figure is the preview)"
            return False
        self.result, self.seconds = value, seconds
        self.show(self.draw, self.result)  # the figure first: "refining" goes once the figure is there
        self.status.value = f"<small>{self.status_text(self.result)}</small>"
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the refinement in progress and draw its answer here; True when one was drawn.
        (Inside a kernel the event loop draws it anyway; outside one, with ``background = True``,
        this is how a script gets the full answer.)"""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        return self._run_pending()

    def show(self, draw, result) -> None:
        """Draw ``result`` with ``draw(fig, result)`` into this explorer's Output."""
        self.figure = replace_figure(self.output, self.figsize, lambda fig: draw(fig, result), layout=self.layout)

    def reset(self) -> None:
        """The controls back to their first values, the colour ranges chosen again, recompute."""
        self._quiet = True
        try:
            for k, v in self._defaults.items():
                self.controls[k].value = v
        finally:
            self._quiet = False
        self._ranges.clear()
        self._apply_choice()
        self.update()

    def save(self, folder="exports") -> list:
        """Write the current map (``.npy``, and a PNG in the explorer's colour range), the current
        figure (PNG) and a ``.json`` beside them with the map's unit (:meth:`map_unit`), its shape
        and the explorer's settings, to ``folder`` (created; relative to the notebook's folder in
        the lab, ignored by git); returns the paths written."""
        import json
        from pathlib import Path
        if self.result is None or self.figure is None:
            raise ValueError("nothing to save yet: the explorer has not computed a result")
        if self.refining or (isinstance(self.result, dict) and "preview" in self.result):
            raise ValueError("the figure is a preview, not the full answer: save once the status line says "
                             "computed (move a control back and forth if its refinement failed)")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        stem = time.strftime(f"{self.title}-%Y%m%d-%H%M%S")
        written = []
        m = self.saved_map(self.result)
        if m is not None:
            arr, unit = m
            np.save(folder / f"{stem}.npy", arr)
            finite = np.nan_to_num(np.asarray(arr, float), nan=0.0)
            top = self._ranges.get("map") or float(np.percentile(finite, 99.5)) or 1.0
            matplotlib.pyplot.imsave(folder / f"{stem}-map.png", finite, vmin=0, vmax=top, cmap="viridis")
            about = {"explorer": type(self).__name__, "unit": unit, "shape": list(np.shape(arr)),
                     "png_colour_range": [0.0, float(top)],
                     "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.values().items()}}
            (folder / f"{stem}.json").write_text(json.dumps(about, indent=1, default=str))
            written += [folder / f"{stem}.npy", folder / f"{stem}-map.png", folder / f"{stem}.json"]
        self.figure.savefig(folder / f"{stem}-figure.png", dpi=120)
        written.append(folder / f"{stem}-figure.png")
        return written

    def _save_clicked(self):
        try:
            paths = self.save()
        except (ValueError, OSError) as exc:
            self.status.value = f"<b style='color:#b00'>Cannot save: {exc}</b>"
            return
        self.status.value = "<small>saved " + ", ".join(str(p) for p in paths) + "</small>"

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The explorer's widget, with its current figure as a PNG beside it.

        JupyterLab draws the widget (its view ranks first). A renderer without a kernel or the
        widgets' JavaScript (the built site, ``make site``; nbconvert; GitHub) draws the PNG:
        the figure the explorer shows at its current settings, instead of a blank widget."""
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        png = [o["data"]["image/png"] for o in self.output.outputs if "image/png" in o.get("data", {})]
        if png:
            bundle["image/png"] = png[-1]
        bundle["text/plain"] = f"<{type(self).__name__}: {self.title}>"
        return bundle


def copy_label(shape, factor: float, unit: str = "sigma") -> str:
    """The colorbar label of a map computed on an image of ``shape`` that is a copy at scale
    ``factor`` of the photo: the copy's own pixels, said so, since blur below about one pixel of
    the copy cannot be measured there and a plain rescale to full resolution is wrong."""
    h, w = shape[:2]
    if factor < 1:
        return f"{unit} (px of the {w}x{h} copy)"
    return f"{unit} (px, full resolution {w}x{h})"


_DOWN_NOTE = "Working on a {w}x{h} copy of the {W}x{H} photo so that the sliders answer at once"
_PX_NOTE = ("; blur is in the copy's pixels (blur under ~1 px of the copy cannot be measured there, so "
            "it is not rescaled); <b>full resolution</b> runs the same settings on the photo")


class ImageExplorer(Explorer):
    """An explorer of one photo, working on a downsampled copy so that the sliders answer at once.

    ``self.full`` is the photo, ``self.image`` the copy (larger side at most ``side``, default
    the class's ``side``; a class ``side`` of None works on the image as given, e.g. to compare
    with a ground truth of its size), ``self.factor`` the copy's scale. Blur is shown in the
    copy's own pixels and labelled so (:func:`copy_label`): an estimate on a copy is not the
    full-resolution estimate divided by the scale (blur under about one pixel of the copy is not
    measurable there). Where the copy is smaller than the photo, the **full resolution** button
    (:meth:`full_resolution`) runs the same settings on the photo itself and shows that result.

    Subclasses set up what the controls do not change in ``prepare()`` (called for
    ``self.image``, before the first computation, and again on the photo for
    :meth:`full_resolution`: every cache belongs there) and give their controls as ``controls``
    or by ``make_controls()`` (which may read ``self.image``).
    """

    side = WORKING_SIDE

    def __init__(self, image, controls: dict | None = None, *, side: int | None = None, **kwargs):
        self.picker = image if isinstance(image, PhotoPicker) else None
        self._side = self.side if side is None else side
        self._base_note = self.note
        self.full_result = None
        self.from_copy = 1.0  # the scale from the copy's pixels to this explorer's image's (twins: 1 / factor)
        self._take(self.picker.image if self.picker else image)
        self.prepare()
        super().__init__(self.make_controls() if controls is None else controls, **kwargs)
        if self.picker is not None:
            self.picker.on_change(self.set_image)
            self.widget.add_class("dl-follows-picker")

    def _take(self, image) -> None:
        """Hold ``image`` as the photo and make its working copy and the note that says so."""
        self.full = image
        if self._side is None:
            self.image, self.factor = image, 1.0
        elif self.picker is not None:
            self.image, self.factor = self.picker.copy(self._side)
        else:
            self.image, self.factor = working_copy(image, self._side)
        h, w = self.image.shape[:2]
        H, W_ = image.shape[:2]
        down = _DOWN_NOTE.format(h=h, w=w, H=H, W=W_) + _PX_NOTE + "." if self.factor < 1 else ""
        self.note = " ".join(s for s in (self._base_note, down) if s)

    def set_image(self, image) -> None:
        """Work on another photo (what the notebook's :class:`PhotoPicker` calls): new working
        copy, ``prepare()`` again, colour ranges chosen again, recompute."""
        self.cancel()  # the refinement of the old photo
        self._take(image)
        self.full_result = None

        def work():
            self.prepare()
            return True
        _, err = self.run(work, what=f"preparing the new photo ({image.shape[1]}x{image.shape[0]})")
        if err is not None:
            return
        self._ranges.clear()
        self._show_full_button(self.tools["full"])
        self.widget.children = (*self.widget.children[:-1], self.body())
        self.update()

    def prepare(self) -> None:
        """Work on ``self.image`` that no control changes (default: none)."""

    def make_controls(self) -> dict:  # pragma: no cover - abstract when controls are not given
        raise NotImplementedError

    def extra_tools(self) -> dict:
        """The **full resolution** button, shown while the explorer works on a smaller copy."""
        b = W.Button(description="full resolution", icon="expand",
                     tooltip="the same settings on the photo itself (slower)")
        b.on_click(lambda _: self.show_full_resolution())
        self._show_full_button(b)
        return {"full": b}

    def _show_full_button(self, button) -> None:
        button.layout.display = None if self.factor < 1 else "none"

    def label(self, unit: str = "sigma") -> str:
        """The colorbar label of this explorer's maps (:func:`copy_label`)."""
        return copy_label(self.image.shape, self.factor, unit)

    def map_unit(self) -> str:
        return self.label()

    def full_resolution(self) -> dict:
        """The current settings on the full-size photo: ``compute`` of a twin of this explorer
        whose image is the photo (its caches made again by ``prepare``); returns its result."""
        return self._full_run()[1]

    def full_factor(self) -> int:
        """1/scale at which "full resolution" runs: 1 (the photo itself) unless the explorer's
        method works on a photo-size copy at that size, as the default pipeline does (Karaali's
        networks: :data:`defocus_lab.conventions.PHOTO_SIZE`)."""
        return 1

    def _full_run(self):
        """(twin, its result): a shallow copy of this explorer on the photo (or on the copy of
        :meth:`full_factor`), prepared again."""
        import copy
        from ..kernels.pyramid import shrink
        f = self.full_factor()
        twin = copy.copy(self)
        twin.image = self.full if f == 1 else shrink(self.full, f)
        twin.factor, twin._ranges, twin.from_copy = 1.0 / f, {}, 1.0 / (f * self.factor)
        twin.prepare()
        return twin, twin.compute(**self.values())

    def show_full_resolution(self) -> None:
        """:meth:`full_resolution`, drawn in place of the working copy's figure (in full-resolution
        pixels, labelled so); the next change of a control goes back to the copy."""
        H, W_ = self.full.shape[:2]
        f = self.full_factor()
        where = f"full resolution ({W_}x{H})" if f == 1 else f"1/{f} of the {W_}x{H} photo, as the default pipeline"
        self.cancel()
        out, err = self.run(self._full_run, what=f"computing at {where}")
        if err is not None:
            return
        twin, self.full_result = out
        unit = "full-resolution pixels" if f == 1 else "pixels of that copy"
        self.status.value = (f"<small>{where} in {self.seconds:.1f} s; blur in {unit}. Move a control to go "
                             f"back to the copy.</small>")
        self.show(twin.draw, self.full_result)


def _threads_are_safe() -> bool:
    """Whether numba's threading layer takes parallel kernels from two threads at once: TBB and
    OpenMP do; the workqueue layer aborts the whole process ("Concurrent access has been
    detected"), so with it (NUMBA_THREADING_LAYER=workqueue, or no TBB nor OpenMP here) an
    explorer refines on the main thread, after drawing its preview."""
    import numba
    try:
        numba.get_num_threads()  # starts numba's threads, which fixes the layer, if nothing parallel ran yet
        return numba.threading_layer() in ("tbb", "omp")
    except Exception:  # noqa: BLE001 - no layer loads here: no second thread either
        return False


def _kernel_loop():
    """The running IPython kernel's main event loop (tornado's IOLoop), or None outside a kernel."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return None
    kernel = getattr(get_ipython(), "kernel", None)
    return getattr(kernel, "io_loop", None)


def figure_output(fig) -> dict:
    """``fig`` as one display_data output: a PNG at the figure's own size and dpi.

    The inline backend would crop it to a tight box, which costs a second layout pass; an
    explorer's figure is laid out to fill its canvas (the constrained layout, or its own
    placement), so it is drawn as it is."""
    import base64
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(buf.getvalue()).decode("ascii"), "text/plain": repr(fig)}}


def replace_figure(output, figsize, draw, layout="constrained"):
    """Draw a new figure with ``draw(fig)`` and show it in ``output`` in place of the one there;
    returns the new figure.

    The figure is a plain :class:`matplotlib.figure.Figure`, unknown to pyplot: the inline
    backend shows every figure pyplot holds at the end of each cell, so an explorer's figure
    made by ``plt.figure`` would appear again under whichever later cell touched ``plt``. The
    old figure is simply dropped (nothing else holds it).

    The PNG is set as the Output's state (:func:`figure_output`), not printed inside ``with
    output``: a refinement is drawn from an event-loop callback, where no message is being
    answered for the Output to capture the print by."""
    fig = Figure(figsize=figsize, layout=layout)
    draw(fig)
    output.outputs = (figure_output(fig),)
    return fig


def box_region(shape, x, y):
    """Boolean (H, W) mask of the box spanning the fractions ``x`` = (x0, x1) of the width and
    ``y`` = (y0, y1) of the height (what the range sliders give)."""
    H, W = shape
    m = np.zeros((H, W), bool)
    m[int(y[0] * H):int(np.ceil(y[1] * H)), int(x[0] * W):int(np.ceil(x[1] * W))] = True
    return m


def slider(value, lo, hi, step, description, log=False, readout_format=".3g", width="340px"):
    """A float slider with its description in full; ``log=True`` makes a FloatLogSlider over
    10**lo .. 10**hi (for parameters that span decades), ``step`` then in decades."""
    cls = W.FloatLogSlider if log else W.FloatSlider
    common = dict(value=value, min=lo, max=hi, step=step, description=description, readout_format=readout_format,
                  style={"description_width": "initial"}, layout=W.Layout(width=width))
    if log:
        common["base"] = 10
    return cls(**common)


def show_map(ax, m, title, vmax=None, cmap="viridis"):
    im = ax.imshow(m, cmap=cmap, vmin=0, vmax=vmax)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    return im


def colorbar(fig, axes, vmax: float, label: str, cmap: str = "viridis", cax=None):
    """One colorbar for ``axes`` sharing the scale 0..``vmax`` (values above it marked by the
    arrow), labelled with the unit and the resolution (:func:`copy_label`); in ``cax`` when
    given (a figure that places its axes itself)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    sm = ScalarMappable(norm=Normalize(0, vmax), cmap=cmap)
    cb = fig.colorbar(sm, ax=axes, shrink=0.8, extend="max") if cax is None else \
        fig.colorbar(sm, cax=cax, extend="max")
    cb.set_label(label, fontsize=8)
    return cb


class BoxDrawer:
    """The image on an interactive canvas (ipympl) on which a box is drawn with the mouse.

    Dragging shows the box as it is drawn; on release ``on_box(x, y)`` is called with the box
    as fractions of the width, ``x = (x0, x1)``, and height, ``y = (y0, y1)`` (what the range
    sliders hold, so that mouse and keyboard set the same thing). :meth:`set_boxes` draws the
    boxes the explorer holds. ``widget`` is the canvas to place in a layout.
    """

    def __init__(self, image, on_box, *, title: str = "", side_px: int = 340):
        """``side_px``: the larger side of the drawn image on the page."""
        backend = matplotlib.get_backend()
        from ipympl.backend_nbagg import Canvas, FigureManager
        if matplotlib.get_backend() != backend:
            # importing ipympl's backend makes it pyplot's: every later plt figure of the notebook
            # would become an interactive canvas (and lose its static PNG). Only this canvas is one.
            import matplotlib.pyplot as plt
            plt.switch_backend(backend)
        from matplotlib.widgets import RectangleSelector
        self.shape = image.shape[:2]
        h, w = self.shape
        width_px = side_px if w >= h else side_px * w / h
        dpi = 100
        self.figure = Figure(figsize=(width_px / dpi, width_px / dpi * h / w + 0.25), dpi=dpi, layout="constrained")
        self.canvas = Canvas(self.figure)
        self.manager = FigureManager(self.canvas, 0)  # the canvas needs a manager (its toolbar)
        self.canvas.toolbar_visible = False
        self.canvas.header_visible = False
        self.canvas.footer_visible = False
        self.canvas.resizable = False
        self.ax = self.figure.add_subplot()
        self.ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
        self.ax.set_axis_off()
        self.ax.set_title(title, fontsize=8)
        self.on_box = on_box
        self._patches = []
        self.selector = RectangleSelector(self.ax, self._released, useblit=False, button=[1], minspanx=3,
                                          minspany=3, spancoords="pixels", interactive=False,
                                          props=dict(edgecolor="yellow", facecolor="none", linewidth=1.5))
        self.widget = self.canvas

    def _released(self, press, release):
        h, w = self.shape
        xs = sorted((press.xdata, release.xdata))
        ys = sorted((press.ydata, release.ydata))
        # imshow puts pixel centres at integers: the image spans -0.5 .. w - 0.5
        x = tuple(float(np.clip((v + 0.5) / w, 0, 1)) for v in xs)
        y = tuple(float(np.clip((v + 0.5) / h, 0, 1)) for v in ys)
        self.on_box(x, y)

    def set_boxes(self, boxes) -> None:
        """Draw ``boxes``: (x, y, colour) with x, y fractions as in ``on_box``."""
        from matplotlib.patches import Rectangle
        for p in self._patches:
            p.remove()
        h, w = self.shape
        self._patches = [self.ax.add_patch(Rectangle((x[0] * w - 0.5, y[0] * h - 0.5), (x[1] - x[0]) * w,
                                                     (y[1] - y[0]) * h, fill=False, edgecolor=c, linewidth=1.5))
                         for x, y, c in boxes]
        self.canvas.draw_idle()


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


class PhotoPicker:
    """The notebook's photo, chosen once at the top: a menu of the photos here (the papers'
    photos when ``DEFOCUS_LAB_DATA`` has them, scikit-image's always) and an upload of your own
    JPEG, PNG or TIFF (read by :func:`defocus_lab.data.read_image`: EXIF orientation applied,
    bad files refused with the reason under the picker).

    ``image`` is the photo at full resolution; the explorers made from the picker (pass the
    picker instead of an array) follow it: on a new photo each makes its working copy
    (:meth:`copy`, made once per size and shared), prepares and recomputes, and keeps the
    **full resolution** button for the photo itself. ``on_change(fn)`` registers ``fn(image)``.
    """

    ACCEPT = ".jpg,.jpeg,.png,.tif,.tiff,.bmp"

    def __init__(self, names, fallback: str = "coffee"):
        name, image, skipped = data.load_first_available(names, fallback=fallback)
        show_skipped(skipped, instead=name)
        here = [n for n in data.PHOTOS if n not in names and data.available(data.PHOTOS[n])]
        options = list(dict.fromkeys([n for n in names if n not in skipped] + here + list(data.BUNDLED)))
        self.menu = W.Dropdown(options=options, value=name, description="photo", style={"description_width": "initial"})
        self.upload = W.FileUpload(accept=self.ACCEPT, multiple=False, description="your own photo")
        self.info = W.HTML()
        self._listeners: list = []
        self._copies: dict = {}
        self.name, self.image = name, image
        self._say()
        self.menu.observe(self._picked, names="value")
        self.upload.observe(self._uploaded, names="value")
        self.widget = W.VBox([W.HBox([self.menu, self.upload]), self.info])
        self.widget.add_class("dl-picker")

    def on_change(self, fn) -> None:
        self._listeners.append(fn)

    def copy(self, side: int):
        """(copy, factor): the photo downsampled to a larger side of at most ``side`` px
        (:func:`working_copy`), made once per size."""
        if side not in self._copies:
            self._copies[side] = working_copy(self.image, side)
        return self._copies[side]

    def set(self, name: str, image) -> None:
        """Use ``image`` (float RGB or grey in [0, 1]) as the photo, named ``name``."""
        from .._validate import as_image
        image = as_image(image, name="image", copy=False)
        self.name, self.image, self._copies = name, image, {}
        self._say()
        failed = []
        for fn in self._listeners:
            try:  # one explorer's failure must not keep the others on the old photo
                fn(image)
            except Exception as exc:  # noqa: BLE001 - said under the picker, with its type
                failed.append(f"{getattr(fn, '__self__', fn).__class__.__name__}: {type(exc).__name__}: {exc}")
        if failed:
            self.info.value += "<br><b style='color:#b00'>Could not follow: " + "; ".join(failed) + "</b>"

    def _say(self, error: str = "") -> None:
        h, w = self.image.shape[:2]
        text = f"<b>{self.name}</b>: {w}x{h} px ({w * h / 1e6:.1f} MP)"
        if error:
            text = f"<b style='color:#b00'>{error}</b> Still using {text}."
        self.info.value = text

    def _picked(self, change) -> None:
        self.set(change["new"], data.load_image(change["new"], download=False))

    def _uploaded(self, change) -> None:
        import tempfile
        from pathlib import Path
        files = change["new"]
        if not files:
            return
        f = files[0]
        suffix = Path(f["name"]).suffix.lower()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(bytes(f["content"]))
            try:
                image = data.read_image(path)
            except ValueError as exc:
                self._say(f"Cannot use {f['name']}: {str(exc).replace(str(path), f['name'])}")
                return
        self.set(f["name"], image)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The picker's widget, with a line saying which photo it holds beside it: what a page
        without a kernel or the widgets' JavaScript (the built site) shows instead of the
        widget's Python repr."""
        import html
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        h, w = self.image.shape[:2]
        bundle["text/plain"] = f"photo picker: {self.name}, {w}x{h} px"
        bundle["text/html"] = (f"<p class='dl-picker-static'>Photo: <b>{html.escape(str(self.name))}</b>, {w}x{h} px. "
                               "In the lab, pick another photo or upload your own here; the explorers below "
                               "follow it.</p>")
        return bundle


def pick_image(names, fallback: str = "coffee"):
    """(name, image): the first of ``names`` available here, else ``fallback``, saying which were
    skipped (:func:`show_skipped`). Never downloads."""
    name, image, skipped = data.load_first_available(names, fallback=fallback)
    show_skipped(skipped, instead=name)
    return name, image

"""What a user waits for: every control of every notebook explorer, moved one step.

Each explorer is made as its notebook makes it (the notebook's photo when DEFOCUS_LAB_DATA has
it, else scikit-image's), then each control is moved one step (sliders by one step, toggles and
menus to their next option, check boxes flipped) and the change is timed from the new value to
the figure rendered as the inline backend renders it (PNG), then put back. The browser adds its
round trip (~0.1-0.3 s; `tests/browser` writes its own measurement of one control per explorer to
`test-artifacts/latency-*.json`).

Side by side for the edge explorer (Karaali 2022): the networks' heads on the kept branch maps
(`DenseHeads.logits`, what a change of the edges or scales costs now) against running both
networks again (`edge_logits`, what it cost before), same edges, as a ratio.

With ``--full-resolution MP``: the **full resolution** button of every explorer that has one,
on a photo of MP megapixels (the bird photo enlarged, as ``bench_photo_size.py``'s ``real``
photo), timed from the click to the result (``full_resolution()``: the twin's preparation
and compute, not the drawing); each explorer first works on its working copy, which compiles
what it needs.

    python benchmarks/bench_explorers.py [--notebook 01 02 04]
    python benchmarks/bench_explorers.py --full-resolution 12
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import record  # noqa: E402


def _quiet():
    """Outside a notebook, an explorer's display() prints its figure's repr and clear_output
    prints terminal codes: kept out of the results."""
    import contextlib
    return contextlib.redirect_stdout(io.StringIO())


def _render(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")  # what the inline backend does


def _step(c):
    """The control's value one step on (and back is the original)."""
    import ipywidgets as W
    v = c.value
    if isinstance(c, W.FloatLogSlider):
        new = v * 10 ** c.step if np.log10(v) + c.step <= c.max else v / 10 ** c.step
    elif isinstance(c, (W.FloatSlider, W.IntSlider)):
        new = v + c.step if v + c.step <= c.max else v - c.step
    elif isinstance(c, (W.FloatRangeSlider,)):
        new = (min(v[0] + c.step, v[1]), v[1])
    elif isinstance(c, W.Checkbox):
        new = not v
    elif isinstance(c, (W.ToggleButtons, W.Dropdown)):
        opts = list(c.options)
        opts = [o[1] if isinstance(o, tuple) else o for o in opts]
        new = opts[(opts.index(v) + 1) % len(opts)]
    else:
        return None
    return new


def time_controls(name, explorer):
    rows = []
    for key, c in explorer.controls.items():
        if c.disabled or not explorer.live:
            continue
        new = _step(c)
        if new is None or new == c.value:
            continue
        old = c.value
        with _quiet():
            t = time.perf_counter()
            c.value = new
            if explorer.figure is not None:
                _render(explorer.figure)
            dt = time.perf_counter() - t
            failed = "Cannot compute" in explorer.status.value
            rows.append((name, key, f"{old!r} -> {new!r}", dt, failed))
            c.value = old
    return rows


def explorers(which):
    from defocus_lab import data
    from defocus_lab.ui import PhotoPicker, kriener, karaali, zhuo_sim
    from defocus_lab.experiments import karaali as kex
    if "01" in which:
        p = PhotoPicker(["pumpkin", "flower", "building"])
        _, bird, _ = data.load_first_available(["bird"], fallback="chelsea")
        yield "01 CoC (Fig. 2b)", zhuo_sim.CocExplorer()
        yield "01 edge profile (Fig. 3)", zhuo_sim.EdgeProfileExplorer()
        yield "01 bars (Fig. 5d-f)", zhuo_sim.BarErrorExplorer()
        yield "01 bilateral (Fig. 4)", zhuo_sim.BilateralExplorer(p)
        yield "01 defocus map (Fig. 6)", zhuo_sim.DefocusMapExplorer(p)
        yield "01 focus (Fig. 9)", zhuo_sim.FocusExplorer(bird)
        yield "01 markup (Fig. 10)", zhuo_sim.MarkupExplorer(p, region=(0.0, 0.35, 0.0, 0.35))
    if "02" in which:
        yield "02 composite (Fig. 4)", karaali.CompositeExplorer()
        from defocus_lab.models import karaali as K
        ids, _ = kex.available_rtf()
        if K.available() and ids:
            r = kex.rtf_maps(ids[0])
            yield "02 propagation", karaali.PropagationExplorer(r["image"], r["sparse"], r["gt"])
            yield "02 edges", karaali.EdgeExplorer(r["image"], r["gt"])
    if "04" in which:
        p = PhotoPicker(["flower", "pumpkin", "building"])
        yield "04 acceleration (Fig. 5)", kriener.AccelerationExplorer(p, side=320)
        yield "04 convergence (Fig. 6)", kriener.ConvergenceExplorer(p, side=240)
        yield "04 smooth surface (Fig. 7)", kriener.SmoothSurfaceExplorer(size=192)


def edge_heads_ratio():
    from defocus_lab.estimate.karaali import edge_map
    from defocus_lab.experiments import karaali as kex
    from defocus_lab.models import karaali as K
    from defocus_lab import data
    ids, _ = kex.available_rtf()
    if not (K.available() and ids):
        print("edge heads: skipped (needs the Karaali 2022 weights and an RTF image)")
        return
    img = data.load_rtf(ids[0], download=False)["image"]
    nets = [K.load_network("authors", k, download=False) for k in ("bnet", "enet")]
    t = time.perf_counter()
    heads = K.DenseHeads(img, nets)
    setup = time.perf_counter() - t
    print(f"\nEdge explorer, RTF {ids[0]} ({img.shape[1]}x{img.shape[0]}); DenseHeads set-up once: {setup:.2f} s")
    print("| change | edge px | both networks again (s) | heads on kept maps (s) | ratio |")
    print("|---|---|---|---|---|")
    for label, kw, zero in (("Canny sigma 1.4", dict(sigma=1.4), ()), ("Canny sigma 2.0", dict(sigma=2.0), ()),
                            ("grey detector", dict(detector="grey"), ()), ("27x27 branch off", dict(sigma=1.4), ("27",))):
        e = edge_map(img, **kw)
        ys, xs = np.nonzero(e)
        t = time.perf_counter()
        K.edge_logits(img, ys, xs, nets, zero_branches=[zero, ()])
        full = time.perf_counter() - t
        t = time.perf_counter()
        heads.logits(ys, xs, [zero, ()])
        fast = time.perf_counter() - t
        print(f"| {label} | {len(ys)} | {full:.2f} | {fast:.3f} | {full / fast:.0f}x |")


def full_resolution(mp: float):
    """Seconds of each explorer's full-resolution action on a photo of ``mp`` MP."""
    from bench_photo_size import photo
    from defocus_lab.ui import kriener, zhuo_sim
    img = photo("real", mp)
    H, W = img.shape[:2]
    makers = [("01 bilateral (Fig. 4)", lambda: zhuo_sim.BilateralExplorer(img)),
              ("01 defocus map (Fig. 6)", lambda: zhuo_sim.DefocusMapExplorer(img)),
              ("01 focus (Fig. 9)", lambda: zhuo_sim.FocusExplorer(img)),
              ("01 markup (Fig. 10)", lambda: zhuo_sim.MarkupExplorer(img, region=(0.0, 0.35, 0.0, 0.35))),
              ("04 acceleration (Fig. 5)", lambda: kriener.AccelerationExplorer(img, side=320)),
              ("04 convergence (Fig. 6)", lambda: kriener.ConvergenceExplorer(img, side=240)),
              ("04 scribble", lambda: kriener.ScribbleExplorer(img))]
    from defocus_lab.models import karaali as K
    if K.available():
        from defocus_lab.ui import karaali
        makers.append(("02 edges", lambda: karaali.EdgeExplorer(img, side=320)))
    print(f"Full-resolution button of each explorer on a {W}x{H} photo ({H * W / 1e6:.1f} MP, the bird photo enlarged)")
    print("| explorer | full resolution runs at | seconds |")
    print("|---|---|---|")
    for name, make in makers:
        with _quiet():
            e = make()
        if e.tools["full"].layout.display == "none":
            print(f"| {name} | (no full-resolution button at this size) | - |", flush=True)
            continue
        f = e.full_factor()
        with _quiet():
            t = time.perf_counter()
            e.full_resolution()
            dt = time.perf_counter() - t
        print(f"| {name} | {'the photo' if f == 1 else f'1/{f} of the photo'} | {dt:.1f} |", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notebook", nargs="+", default=["01", "02", "04"])
    ap.add_argument("--full-resolution", type=float, metavar="MP", help="time the full-resolution buttons instead")
    args = ap.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    if args.full_resolution:
        return full_resolution(args.full_resolution)
    print("| explorer | control | change | seconds (change to rendered figure) |")
    print("|---|---|---|---|")
    made = explorers(args.notebook)
    while True:
        with _quiet():
            name, e = next(made, (None, None))
        if e is None:
            break
        for _, key, change, dt, failed in time_controls(name, e):
            print(f"| {name} | {key} | {change} | {dt:.2f}{' (refused)' if failed else ''} |")
    if "02" in args.notebook:
        edge_heads_ratio()


if __name__ == "__main__":
    with record(__file__, "bench_explorers_full_resolution" if "--full-resolution" in sys.argv else None):
        main()

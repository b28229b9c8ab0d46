"""What a user waits for: every control of every notebook explorer, moved one step.

Each explorer of notebooks 00-05 is made as its notebook makes it (the notebook's photo when
DEFOCUS_LAB_DATA has it, else the photo the notebook falls back to), then each control is moved
``--moves`` times (default 3), each to a new value (a slider steps on, a menu takes its next
option; a check box or a two-way toggle has one new value, so one move), so that no move hits an
answer the explorer kept from an earlier one; then it is put back. Each move is timed from the
new value to the figure rendered as the inline backend renders it (PNG). The table gives the
median over the moves of two times:

- **first figure**: what the user sees first. For an explorer that previews (``Explorer.preview``)
  that is the preview, drawn with "refining ..." while the full answer is computed in a worker
  thread, as in the lab; for the others it is the answer itself.
- **full answer**: until the refined figure is drawn (the same as the first figure where there is
  no preview).

Run against an older commit of the package (e.g. from a ``git worktree``), the same script
measures "before": explorers without previews report the same time twice. The browser adds its
round trip (~0.1-0.3 s; ``tests/browser`` writes its own measurement of one control per explorer
to ``test-artifacts/latency-*.json``).

Side by side for the edge explorer (Karaali 2022): the networks' heads on the kept branch maps
(``DenseHeads.logits``, what a change of the edges or scales costs now) against running both
networks again (``edge_logits``, what it cost before), same edges, as a ratio.

With ``--full-resolution MP``: the **full resolution** button of every explorer that has one,
on a photo of MP megapixels (the bird photo enlarged, as ``bench_photo_size.py``'s ``real``
photo), timed from the click to the result (``full_resolution()``: the twin's preparation
and compute, not the drawing); each explorer first works on its working copy, which compiles
what it needs.

    python benchmarks/bench_explorers.py [--notebook 00 01 02 03 04 05] [--moves 3]
    python benchmarks/bench_explorers.py --full-resolution 12
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import record  # noqa: E402

NOTEBOOKS = ["00", "01", "02", "03", "04", "05"]


def _quiet():
    """Outside a notebook, an explorer's display() prints its figure's repr and clear_output
    prints terminal codes: kept out of the results."""
    import contextlib
    return contextlib.redirect_stdout(io.StringIO())


def _render(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")  # what the inline backend does


def _next_values(c, n):
    """Up to ``n`` successive new values of control ``c``, each one step on from the last (sliders
    step up, or down from the top; menus and toggles take their next options; a check box has one
    new value), none of them the current value: every move of the bench is a fresh setting, not
    one an explorer may have kept from an earlier move."""
    import ipywidgets as W
    v = c.value
    out = []
    if isinstance(c, (W.FloatLogSlider, W.FloatSlider, W.IntSlider)):
        log = isinstance(c, W.FloatLogSlider)
        at = np.log10(v) if log else v
        ups = [at + c.step * i for i in range(1, n + 1) if at + c.step * i <= c.max + 1e-9]
        downs = [at - c.step * i for i in range(1, n + 1) if at - c.step * i >= c.min - 1e-9]
        out = [10 ** x if log else x for x in (ups + downs)[:n]]
    elif isinstance(c, W.FloatRangeSlider):
        out = [(min(v[0] + c.step * (i + 1), v[1]), v[1]) for i in range(n)]
    elif isinstance(c, W.Checkbox):
        out = [not v]
    elif isinstance(c, (W.ToggleButtons, W.Dropdown)):
        opts = [o[1] if isinstance(o, tuple) else o for o in c.options]
        k = opts.index(v)
        out = [opts[(k + i + 1) % len(opts)] for i in range(min(n, len(opts) - 1))]
    return list(dict.fromkeys(x for x in out if x != v))


def _move(explorer, control, value):
    """(seconds to the first figure, seconds to the full answer, refused?) of one change."""
    previews = hasattr(explorer, "wait")
    if previews:
        explorer.background = True  # as in the lab: the refinement in a worker thread
    shown = explorer.figure
    t = time.perf_counter()
    control.value = value
    if not previews and explorer.figure is not None and explorer.figure is not shown:
        _render(explorer.figure)  # the lab before previews drew with display(): rendered here
    first = time.perf_counter() - t
    if previews:
        explorer.wait()  # the explorer renders its own PNG (ui.base.figure_output)
    full = time.perf_counter() - t
    return first, full, "Cannot compute" in explorer.status.value


def time_controls(name, explorer, moves=3):
    """One row per control: (name, control, changes, median first figure, median full answer,
    refused); the control is moved ``moves`` times (fewer when it has fewer other values), each
    to a new value, then put back (not timed)."""
    rows = []
    for key, c in explorer.controls.items():
        if c.disabled or not explorer.live:
            continue
        values = _next_values(c, moves)
        if not values:
            continue
        old = c.value
        firsts, fulls, refused = [], [], False
        with _quiet():
            for v in values:
                first, full, failed = _move(explorer, c, v)
                firsts.append(first)
                fulls.append(full)
                refused |= failed
            _move(explorer, c, old)
        shown = ", ".join(f"{v:.3g}" if isinstance(v, float) else repr(v) for v in values)
        rows.append((name, key, f"{old:.3g} -> {shown}" if isinstance(old, float) else f"{old!r} -> {shown}",
                     statistics.median(firsts), statistics.median(fulls), refused))
    if not explorer.live and hasattr(explorer, "add_box"):  # the scribble tool: its button adds a box
        firsts, fulls = [], []
        with _quiet():
            for i in range(moves):
                x0 = 0.1 + 0.25 * i
                t = time.perf_counter()
                explorer.add_box((x0, x0 + 0.15), (0.4, 0.6), "sharp")
                first = time.perf_counter() - t
                if hasattr(explorer, "wait"):
                    explorer.wait()
                firsts.append(first)
                fulls.append(time.perf_counter() - t)
        rows.append((name, "add box", f"{moves} sharp boxes, one at a time", statistics.median(firsts),
                     statistics.median(fulls), False))
    return rows


def explorers(which):
    """(name, explorer) of every explorer of the notebooks in ``which``, made as there."""
    from defocus_lab import data
    from defocus_lab.ui import PhotoPicker
    if "00" in which:
        from defocus_lab.ui import tour
        p = PhotoPicker(["flower", "pumpkin", "coffee"])
        reg = tour.RegistryExplorer(p)
        yield "00 registry", reg
        yield "00 applications", tour.ApplicationExplorer(reg)
        yield "00 truth", tour.TruthExplorer()
    if "01" in which:
        from defocus_lab.ui import zhuo_sim
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
        from defocus_lab import estimate
        from defocus_lab.experiments import karaali as kex
        from defocus_lab.models import karaali as K
        from defocus_lab.ui import karaali
        p = PhotoPicker(["cuhk08", "flower", "pumpkin"])
        yield "02 composite (Fig. 4)", karaali.CompositeExplorer()
        ids, _ = kex.available_rtf()
        have = K.available()
        have_self = all(K.self_trained_path(k).is_file() for k in ("bnet", "enet"))
        nets = "authors" if have else ("self-trained" if have_self else None)
        if have and ids:
            r = kex.rtf_maps(ids[0])
            yield "02 propagation", karaali.PropagationExplorer(r["image"], r["sparse"], r["gt"])
            yield "02 edges (RTF)", karaali.EdgeExplorer(r["image"], r["gt"])
            yield "02 patches (RTF)", karaali.PatchExplorer(r["image"], r["classification"], r["gt"])
        else:
            img = data.load_image("coffee")[::2, ::2]
            yield "02 propagation", karaali.PropagationExplorer(img, estimate.zhuo2011(img))
            if nets is not None:
                yield "02 edges (coffee)", karaali.EdgeExplorer(img, bnet=nets, enet=nets)
                yield "02 patches (coffee)", karaali.PatchExplorer(
                    img, estimate.classify_edges(img, bnet=nets, enet=nets, download=False))
        if nets is not None:
            yield "02 edges (picker)", karaali.EdgeExplorer(p, bnet=nets, enet=nets, side=360)
    if "03" in which:
        from scipy import ndimage as ndi
        from defocus_lab._validate import to_gray
        from defocus_lab.render import pupil_kernel
        from defocus_lab.synth.layers import motorcycle_layers
        from defocus_lab.ui import deblur
        sharp, _ = motorcycle_layers(scale=0.3)
        patch = ndi.convolve(to_gray(sharp), pupil_kernel(9.0, 7.0), mode="reflect")[10:120, 10:150]
        patch = np.clip(patch + 0.005 * np.random.default_rng(0).normal(size=patch.shape), 0, 1)
        yield "03 Gaussians", deblur.GaussianExplorer(patch, pupil_kernel(9.0, 7.0), sharp=to_gray(sharp)[10:120, 10:150])
        yield "03 kernels", deblur.KernelExplorer()
        yield "03 deblur", deblur.DeblurExplorer()
    if "04" in which:
        from defocus_lab.ui import kriener
        p = PhotoPicker(["flower", "pumpkin", "building"])
        yield "04 acceleration (Fig. 5)", kriener.AccelerationExplorer(p, side=320)
        yield "04 convergence (Fig. 6)", kriener.ConvergenceExplorer(p, side=240)
        yield "04 smooth surface (Fig. 7)", kriener.SmoothSurfaceExplorer(size=192)
        yield "04 scribble", kriener.ScribbleExplorer(p)
    if "05" in which:
        from defocus_lab.ui import galetto
        p = PhotoPicker(["galetto_bird", "flower", "pumpkin"])
        yield "05 levels", galetto.LevelsExplorer()
        yield "05 map", galetto.MapExplorer(p)
        yield "05 sharpening", galetto.SharpeningExplorer(p)
        yield "05 depth of field", galetto.DepthOfFieldExplorer(p)


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
    ap.add_argument("--notebook", nargs="+", default=NOTEBOOKS, choices=NOTEBOOKS)
    ap.add_argument("--moves", type=int, default=3, help="moves per control, each to a new value")
    ap.add_argument("--full-resolution", type=float, metavar="MP", help="time the full-resolution buttons instead")
    args = ap.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    if args.full_resolution:
        return full_resolution(args.full_resolution)
    data = os.environ.get("DEFOCUS_LAB_DATA")
    print(f"DEFOCUS_LAB_DATA: {data or '(not set: the bundled photos)'}; median of up to {args.moves} moves per control")
    print("| explorer | control | change | first figure (s) | full answer (s) |")
    print("|---|---|---|---|---|")
    made = explorers(args.notebook)
    while True:
        with _quiet():
            name, e = next(made, (None, None))
        if e is None:
            break
        if hasattr(e, "wait"):
            with _quiet():
                e.wait()
        for _, key, change, first, full, failed in time_controls(name, e, args.moves):
            print(f"| {name} | {key} | {change} | {first:.2f} | {full:.2f}{' (refused)' if failed else ''} |", flush=True)
    if "02" in args.notebook:
        edge_heads_ratio()


if __name__ == "__main__":
    # one results file per kind of run: the full-resolution buttons; the explorers with the data and without
    name = "bench_explorers_full_resolution" if "--full-resolution" in sys.argv else \
        "bench_explorers" if os.environ.get("DEFOCUS_LAB_DATA") else "bench_explorers_without_data"
    with record(__file__, name):
        main()

"""Build the lab's static site: ``make site`` (``python docs/build_site.py``) -> ``build/site/``.

Steps, all offline:

1. **Stage** the sources in ``build/site-src/``: the pages of ``docs/`` (landing page, API
   reference), one page per notebook, and a page per measured table of ``benchmarks/results/``.
2. **Executed notebooks.** A notebook page shows the notebook as it ran, every figure as an image.
   The notebook is taken from ``build/executed/`` when one there is the same notebook run with
   the package's current code and the same data setting (``make test`` leaves nbval's run
   there, see ``tests/executed_notebooks.py``), and is executed here otherwise (nbclient, in
   ``notebooks/``, with ``DEFOCUS_LAB_DATA`` when set, the shipped photos otherwise) and kept
   there for the next build.
3. **Sphinx** (myst-nb, sphinx-book-theme, sphinx-design, numpydoc) with warnings as errors: a
   broken cross-reference, a missing image or a malformed docstring fails the build.

The landing page shows a figure of each notebook (:data:`THUMBS`, ``_static/thumbs/``), taken
from the executed notebooks. Options: ``--out``, ``--src`` (the staging folder), ``--executed``,
``--force`` (execute every notebook again), ``--only 03,05`` (a partial site, while writing pages).
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
sys.path.insert(0, str(REPO / "tests"))
from executed_notebooks import META, current, execute, figure_count, stamp  # noqa: E402

#: the notebook pages in order, with the paper each reproduces (the landing page's list)
PAPERS = {
    "00_tour": ("A tour of the lab", "every estimator with every propagator, the applications of a defocus "
                "map, the methods against ground truth, parameter sweeps on Dask"),
    "01_zhuo_sim_2011": ("Zhuo & Sim 2011, defocus map estimation from a single image",
                         "the gradient ratio at edges and matting propagation: Figs. 2(b), 3, 4, 5(d)-(f), 6, 9, "
                         "10 and the Table I row"),
    "02_karaali_2022": ("Karaali, Harte & Jung 2022, deep multi-scale feature learning for defocus blur "
                        "estimation", "B-NET / E-NET with the authors' weights, the domain transform with the "
                        "depth-edge penalty: Figs. 4, 6, 7/10, 9, Table I and the ablation"),
    "03_blind_defocus_deblurring": ("Removing out-of-focus blur from a single image",
                                    "blind deconvolution with symmetric low-rank kernels: Figs. 3, 4, 6, 7, 8, "
                                    "10-11 and PSNR / SSIM on layered ground truth"),
    "04_kriener_2013": ("Kriener, Binder & Wille 2013, accelerating defocus blur magnification",
                        "the half-resolution matting solve: Figs. 5, 6, 7, the timing table, scribbles"),
    "05_galetto_deng_2022": ("Galetto & Deng 2022, single image defocus map estimation through patch "
                             "blurriness classification", "MobileNetV2 patch classes and the weighted guided "
                             "filter: Figs. 3-14, Tables 2, 3, 5, 6"),
}

#: which figure of each notebook the landing page shows (its index among the notebook's figures)
THUMBS = {"00_tour": 1, "01_zhuo_sim_2011": 5, "02_karaali_2022": 0, "03_blind_defocus_deblurring": 10,
          "04_kriener_2013": 0, "05_galetto_deng_2022": 4}


def thumbnail(png: bytes, aspect: float = 2.0) -> bytes:
    """A figure cut to at most ``aspect`` (width / height) from its left, so that a wide figure of
    several panels shows its first panels at a readable size on a card."""
    import io
    from PIL import Image
    im = Image.open(io.BytesIO(png))
    if im.width > aspect * im.height:
        im = im.crop((0, 0, int(aspect * im.height), im.height))
    out = io.BytesIO()
    im.save(out, format="PNG")
    return out.getvalue()


def figure_png(nb: dict, index: int = 0) -> bytes | None:
    """The PNG of the notebook's figure number ``index`` (0: the first; the last one there is
    when it has fewer), or None when it shows none."""
    pngs = [out["data"]["image/png"] for cell in nb["cells"] if cell["cell_type"] == "code"
            for out in cell.get("outputs", []) if "image/png" in out.get("data", {})]
    if not pngs:
        return None
    png = pngs[min(index, len(pngs) - 1)]
    return base64.b64decode("".join(png) if isinstance(png, list) else png)


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def for_the_page(nb: dict) -> dict:
    """``nb`` without the outputs that have no static form: a widget view whose only other
    representation is its Python repr (``text/plain``), i.e. the notebooks' progress bars, whose
    state at the end of the run the kernel keeps and the executed notebook does not. The lab's
    explorers and photo picker carry a PNG or HTML of themselves and stay. The widgets' saved
    state (``metadata.widgets``, which nbclient records: 1.6 MB of a page's HTML for notebook 00)
    goes too: no page loads the widgets' JavaScript that would read it."""
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = [o for o in cell.get("outputs", [])
                               if not (WIDGET_VIEW in o.get("data", {}) and set(o["data"]) <= {WIDGET_VIEW, "text/plain"})]
    return nb


def executed(path: Path, store: Path, *, force: bool = False, log=print) -> dict:
    """The notebook at ``path`` executed: the copy in ``store`` when it is current (the same
    cells, package code and data setting: ``executed_notebooks.current``), else executed now
    with nbclient (and stored in its place)."""
    import nbformat
    nb = json.loads(path.read_text())
    kept = store / path.name
    if kept.exists() and not force:
        old = json.loads(kept.read_text())
        if current(old, nb):
            log(f"  {path.name}: executed by {old['metadata'][META].get('executed_by', '?')} (same cells, code, data)")
            return old
    log(f"  {path.name}: executing ...")
    t = time.perf_counter()
    node = execute(nbformat.reads(path.read_text(), as_version=4), path.parent, timeout=3600)
    out = json.loads(nbformat.writes(node))
    stamp(out, "nbclient (make site)")
    store.mkdir(parents=True, exist_ok=True)
    kept.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    log(f"  {path.name}: executed in {time.perf_counter() - t:.0f} s")
    return out


def benchmark_pages(src: Path) -> list[str]:
    """Copy each table of ``benchmarks/results/`` to a page; returns the page names."""
    scripts = sorted((p.stem for p in (REPO / "benchmarks").glob("*.py") if not p.stem.startswith("_")),
                     key=len, reverse=True)
    (src / "benchmarks").mkdir(parents=True)
    names = []
    for table in sorted((REPO / "benchmarks" / "results").glob("*.md")):
        text = table.read_text()
        script = next((s for s in scripts if table.stem.startswith(s)), None)
        made_by = f"*Written by `benchmarks/{script}.py`.*\n\n" if script else ""
        lines = text.splitlines(keepends=True)
        head, rest = (lines[0], "".join(lines[1:])) if lines and lines[0].startswith("# ") else (f"# {table.stem}\n", text)
        (src / "benchmarks" / table.name).write_text(head + "\n" + made_by + rest)
        names.append(table.stem)
    toc = "\n".join(f"{n}" for n in names)
    (src / "benchmarks" / "index.md").write_text(
        "# Benchmarks\n\nThe lab's speed and memory measurements: each table is written by the benchmark "
        "script named under its title (`benchmarks/`), which runs the lab's method side by side with the "
        "alternative in one run. Rerun one with `.venv/bin/python benchmarks/<script>.py`; each table "
        "says when and on what machine it was measured, and with which command.\n\n"
        f"```{{toctree}}\n:maxdepth: 1\n\n{toc}\n```\n")
    return names


def notebook_pages(src: Path, store: Path, *, force: bool, only=None, log=print) -> dict:
    """The executed notebooks under ``src/notebooks`` and their thumbnails; {stem: figures}.
    ``only``: the notebooks' number prefixes to include (a quick build while writing pages)."""
    (src / "notebooks").mkdir(parents=True)
    thumbs = src / "_static" / "thumbs"
    thumbs.mkdir(parents=True)
    counts = {}
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        if only and path.stem[:2] not in only:
            continue
        nb = executed(path, store, force=force, log=log)
        nb = for_the_page(nb)
        (src / "notebooks" / path.name).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        png = figure_png(nb, THUMBS.get(path.stem, 0))
        if png:
            (thumbs / f"{path.stem}.png").write_bytes(thumbnail(png))
        counts[path.stem] = figure_count(nb)
    return counts


def landing_cards(counts: dict, src: Path) -> str:
    """The landing page's cards (sphinx-design): per notebook its paper, what it reproduces,
    how many figures the page shows, and a figure of it (``_static/thumbs/``)."""
    cards = []
    for stem, n in counts.items():
        title, what = PAPERS.get(stem, (stem, ""))[:2]
        thumb = src / "_static" / "thumbs" / f"{stem}.png"
        img = f":img-top: _static/thumbs/{stem}.png\n:class-img-top: dl-thumb\n" if thumb.exists() else ""
        cards.append(f":::{{grid-item-card}} {stem[:2]} · {title}\n:link: notebooks/{stem}\n:link-type: doc\n{img}\n"
                     f"{what}. **{n} figures.**\n:::\n")
    return "::::{grid} 1 1 2 2\n:gutter: 3\n\n" + "\n".join(cards) + "::::\n"


def stage(src: Path, store: Path, *, force: bool = False, only=None, log=print) -> dict:
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(DOCS, src, ignore=shutil.ignore_patterns("build_site.py", "__pycache__"))
    counts = notebook_pages(src, store, force=force, only=only, log=log)
    benchmark_pages(src)
    index = src / "index.md"
    index.write_text(index.read_text().replace("{{ notebooks }}", landing_cards(counts, src)))
    return counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "build" / "site"))
    ap.add_argument("--src", default=str(REPO / "build" / "site-src"))
    ap.add_argument("--executed", default=os.environ.get("DEFOCUS_LAB_EXECUTED_DIR", str(REPO / "build" / "executed")))
    ap.add_argument("--force", action="store_true", help="execute every notebook again")
    ap.add_argument("--only", default="", help="comma-separated notebook numbers (e.g. 03,05): a partial site")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    print("staging the sources in", args.src)
    only = [x.strip() for x in args.only.split(",") if x.strip()]
    counts = stage(Path(args.src), Path(args.executed), force=args.force, only=only)
    t1 = time.perf_counter()
    from sphinx.cmd.build import build_main
    os.environ["DEFOCUS_LAB_SITE_REPO"] = str(REPO)  # docs/conf.py, wherever the sources are staged
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    rc = build_main(["-W", "--keep-going", "-q", "-b", "html", "-d", str(Path(args.src).parent / "site-doctrees"),
                     args.src, str(out)])
    t2 = time.perf_counter()
    if rc:
        print(f"the site did not build (Sphinx exit {rc}): see the warnings above", file=sys.stderr)
        return rc
    print(f"built {out / 'index.html'}: staging {t1 - t0:.0f} s, Sphinx {t2 - t1:.0f} s; figures per notebook:",
          ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

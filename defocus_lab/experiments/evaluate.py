"""Every method against ground truth, one image at a time: the unit of work of the tour's table,
of ``defocus-lab evaluate`` and of the parameter sweeps (:mod:`defocus_lab.sweep`).

Datasets (``dataset=``):

- ``"motorcycle"``: scikit-image's motorcycle rendered with thin-lens defocus from its real
  disparity (:func:`defocus_lab.synth.defocused_motorcycle`, scale 0.5, largest sigma 3 px), at
  three focus planes (disparity quantiles 0.25, 0.5, 0.75: images ``focus25``, ``focus50``,
  ``focus75``). Truth: the Gaussian sigma map (px). Always available (bundled data).
- ``"rtf"``: the RTF images under ``DEFOCUS_LAB_DATA`` (2 of the 22 here). Truth: disk radius
  (px), scored over the whole 360x360 map as in notebook 02's Table I; ``karaali2022`` reads the
  authors' precomputed RTF edges there (the paper's protocol), the others their own detectors.
- ``"cuhk"``, ``"dut"``: the defocus-detection samples with their masks (True = out of focus).
- a folder in the CUHK layout: ``FOLDER/image/NAME.{jpg,png,...}`` and ``FOLDER/gt/NAME.*``
  with matching names. A ``gt`` image is a mask (> 0.5 of its range = out of focus); a ``gt``
  ``.npy`` is a blur map in Gaussian sigma (px).

Scores (decisions, written here because the papers' protocols differ):

- maps (RTF, motorcycle, ``.npy`` truth): ``mae`` (raw, in the truth's units; the method's map is
  converted through the RTF table when its unit differs) and ``relative_mae`` (both maps
  rescaled to [0, 1]: :func:`~defocus_lab.metrics.relative_mae`).
- masks: ``accuracy``, the best over 101 thresholds tau = a vmax + (1 - a) vmin of the
  pixels ``map > tau`` called out of focus (Karaali 2022 Fig. 9, Galetto & Deng Table 5);
  ``f_measure``, the largest F_beta over the same thresholds with beta^2 = 0.3 (the weighting of
  the defocus-detection literature, which favours precision); ``ap``, the area under the
  image's precision-recall curve (:func:`~defocus_lab.metrics.pr_curve`). Accuracy alone
  rewards the majority class: a map that calls every pixel blurred scores the blurred share.
- ``seconds``: the estimate and the propagation only (loading and scoring are left out).

A dataset summary is the mean of the per-image scores (every image weighs the same).
"""
from __future__ import annotations

import json
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .._cache import cached
from .. import data, metrics

DATASETS = ("motorcycle", "rtf", "cuhk", "dut")
MAP_METRICS = ("mae", "relative_mae")
MASK_METRICS = ("accuracy", "f_measure", "ap")
BETA2 = 0.3  # F_beta weighting of precision over recall (defocus-detection literature)
MOTORCYCLE_FOCUS = {"focus25": 0.25, "focus50": 0.5, "focus75": 0.75}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".ppm")

# Published figures beside ours: (dataset, method) -> {metric: value}, with where they come from.
# The papers score other image sets (22 RTF images, 200 CUHK images); the lab has a sample.
PUBLISHED = {
    ("rtf", "zhuo2011"): ({"mae": 0.629, "relative_mae": 0.098}, "Karaali 2022 Table I, 22 RTF images"),
    ("rtf", "karaali2022"): ({"mae": 0.169, "relative_mae": 0.028}, "Karaali 2022 Table I, 22 RTF images"),
    ("cuhk", "zhuo2011"): ({"accuracy": 0.7296}, "Galetto & Deng 2022 Table 5, 200 CUHK images"),
    ("cuhk", "karaali2022"): ({"accuracy": 0.7996}, "Karaali 2022 Fig. 9, 200 CUHK images"),
    ("cuhk", "galetto2022"): ({"accuracy": 0.8771}, "Galetto & Deng 2022 Table 5, 200 CUHK images"),
}


@dataclass(frozen=True)
class SampleRef:
    """What names one image of a dataset: small and picklable, so that a sweep sends it to a
    Dask worker, which loads the image there (:func:`load_sample`). ``folder`` is set for a
    folder dataset and must be reachable from the worker at the same path."""
    dataset: str
    name: str
    folder: str | None = None

    def __str__(self) -> str:
        return self.name


@dataclass
class Sample:
    """A loaded image and its truth: ``kind`` "map" (``truth`` in ``units``, px) or "mask"."""
    ref: SampleRef
    image: np.ndarray
    truth: np.ndarray
    kind: str
    units: str | None = None
    edges: np.ndarray | None = None


def dataset_kind(dataset: str) -> str:
    """"map" or "mask": what the dataset's truth is (a folder: what its first gt file is)."""
    if dataset in ("motorcycle", "rtf"):
        return "map"
    if dataset in ("cuhk", "dut"):
        return "mask"
    refs, _ = samples(dataset)
    if not refs:
        raise ValueError(f"the folder {dataset} holds no image/gt pair")
    return "map" if _folder_gt(Path(dataset), refs[0].name).suffix == ".npy" else "mask"


def metric_names(dataset: str) -> tuple[str, ...]:
    return MAP_METRICS if dataset_kind(dataset) == "map" else MASK_METRICS


def _folder_gt(folder: Path, name: str) -> Path:
    hits = sorted(p for p in (folder / "gt").glob(f"{name}.*") if p.suffix.lower() in IMAGE_SUFFIXES + (".npy",))
    if not hits:
        raise FileNotFoundError(f"{folder}/gt has no ground truth named {name}.* for image/{name}")
    return hits[0]


def samples(dataset: str, *, limit: int | None = None) -> tuple[list[SampleRef], list[str]]:
    """(the images of ``dataset`` available here, the names skipped as missing).

    ``dataset`` is one of :data:`DATASETS` or a folder in the CUHK layout (module docstring).
    ``limit`` keeps the first images (sorted names)."""
    if limit is not None and (isinstance(limit, bool) or int(limit) < 1):
        raise ValueError(f"limit must be a positive number of images or None; got {limit!r}")
    refs, skipped = [], []
    if dataset == "motorcycle":
        refs = [SampleRef("motorcycle", n) for n in MOTORCYCLE_FOCUS]
    elif dataset == "rtf":
        for nn in data.rtf_ids():
            files = (f"rtf/image_{nn}.png", f"rtf/map_{nn}.mat", f"rtf/edges/edge_{nn}.png")
            if all(data.available(p) for p in files):
                refs.append(SampleRef("rtf", nn))
            else:
                skipped.append(f"rtf{nn}")
    elif dataset in ("cuhk", "dut"):
        for n in data.detection_names(dataset):
            if data.available(data.PHOTOS[n]):
                refs.append(SampleRef(dataset, n))
            else:
                skipped.append(n)
    else:
        folder = Path(dataset).expanduser()
        if not (folder / "image").is_dir() or not (folder / "gt").is_dir():
            raise ValueError(f"dataset {dataset!r} is neither one of {DATASETS} nor a folder with image/ and gt/ "
                             f"subfolders (the CUHK layout: image/NAME.jpg and gt/NAME.png)")
        gts = {p.stem for p in (folder / "gt").iterdir()}
        where = str(folder.resolve())
        for p in sorted((folder / "image").iterdir()):
            if p.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            if p.stem in gts:
                refs.append(SampleRef(where, p.stem, where))
            else:
                skipped.append(p.stem)
    if limit is not None:
        refs = refs[:int(limit)]
    return refs, skipped


@lru_cache(maxsize=8)
def _motorcycle(name: str):
    from ..synth import defocused_motorcycle
    return defocused_motorcycle(scale=0.5, focus=MOTORCYCLE_FOCUS[name], max_sigma=3.0)


def load_sample(ref: SampleRef) -> Sample:
    """Load the image and the truth that ``ref`` names (on the machine that runs it)."""
    if ref.dataset == "motorcycle":
        scene = _motorcycle(ref.name)
        return Sample(ref, scene.image, scene.sigma, "map", "sigma")
    if ref.dataset == "rtf":
        r = data.load_rtf(ref.name, download=False)
        return Sample(ref, r["image"], r["blur_disk"], "map", "disk", edges=r["edges"])
    if ref.dataset in ("cuhk", "dut"):
        return Sample(ref, data.load_image(ref.name, download=False), data.load_mask(ref.name, download=False), "mask")
    folder = Path(ref.folder)
    image_path = next((p for p in sorted((folder / "image").glob(f"{ref.name}.*"))
                       if p.suffix.lower() in IMAGE_SUFFIXES), None)
    if image_path is None:
        raise FileNotFoundError(f"{folder}/image has no image named {ref.name}")
    image = data.read_image(image_path)
    gt_path = _folder_gt(folder, ref.name)
    if gt_path.suffix == ".npy":
        truth = np.load(gt_path, allow_pickle=False).astype(np.float64)
        kind, units = "map", "sigma"
    else:
        g = data.read_image(gt_path)
        truth, kind, units = (g[..., 0] if g.ndim == 3 else g) > 0.5, "mask", None
    if truth.shape != image.shape[:2]:
        raise ValueError(f"{gt_path.name}: ground truth {truth.shape} and image {image.shape[:2]} differ in size")
    return Sample(ref, image, truth, kind, units)


def f_measure(counts: dict, beta2: float = BETA2) -> float:
    """The largest F_beta over the thresholds of :func:`~defocus_lab.metrics.precision_recall`'s
    ``counts`` (0 where a threshold has no true positive)."""
    tp, fp, fn = (counts[k].astype(np.float64) for k in ("tp", "fp", "fn"))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        r = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f = np.where(p + r > 0, (1 + beta2) * p * r / (beta2 * p + r), 0.0)
    return float(f.max())


def score(dense: np.ndarray, sample: Sample) -> dict:
    """The scores of ``dense`` (already in ``sample.units`` for a map) against the truth."""
    if sample.kind == "map":
        return {"mae": metrics.mae(dense, sample.truth), "relative_mae": metrics.relative_mae(dense, sample.truth)}
    counts = metrics.precision_recall(dense, sample.truth)
    return {"accuracy": metrics.best_threshold_accuracy(dense, sample.truth)[0], "f_measure": f_measure(counts),
            "ap": metrics.pr_curve([counts])["ap"]}


def run_one(ref: SampleRef, method: str, *, propagation: str | None = None, estimator_options: dict | None = None,
            propagator_options: dict | None = None, device: str = "auto", return_map: bool = False) -> dict:
    """One row: ``method`` (with these options) on the image ``ref`` names, scored.

    Never raises for a failing image: the row then holds ``error`` ("TypeName: message") and NaN
    scores, so that a sweep records it and goes on. Warnings raised meanwhile (a solver that did
    not converge) are kept in ``warnings``: its scores are then to be read with care. ``device`` reaches the estimators that run
    torch (karaali2022, galetto2022); the numba methods run on the CPU.
    """
    row = {"dataset": ref.dataset, "image": ref.name, "method": method, "propagation": propagation or "", "seconds": np.nan,
           "error": "", "warnings": ""}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _run(row, ref, method, propagation, estimator_options, propagator_options, device, return_map)
    # a solver that did not converge is said in the row, not only on a worker's stderr
    row["warnings"] = "; ".join(dict.fromkeys(f"{w.category.__name__}: {w.message}".replace("\n", " ")
                                              for w in caught))
    return row


def _run(row, ref, method, propagation, estimator_options, propagator_options, device, return_map):
    from ..pipeline import METHODS, _resolve, estimate_defocus
    try:
        sample = load_sample(ref)
        for m in (MAP_METRICS if sample.kind == "map" else MASK_METRICS):
            row[m] = np.nan
        est = dict(estimator_options or {})
        name = _resolve(method, METHODS, "method")
        if "device" in getattr(METHODS[name].estimate, "option_names", ()):
            est.setdefault("device", device)
        edges = sample.edges if name == "karaali2022" else None
        sparse, t_est = _estimate_cached(ref, name, sample, edges, est)
        dense, _, info = estimate_defocus(sample.image, method=method, propagation=propagation, edges=edges,
                                          estimator_options=est, propagator_options=propagator_options,
                                          units=sample.units, progress=False, return_info=True, sparse=sparse)
        row["seconds"] = t_est + info["seconds"]["propagate"]
        row.update(score(dense, sample))
        if return_map:
            row["map"] = dense
    except Exception as exc:  # noqa: BLE001 - a sweep records every failure and goes on
        row["error"] = f"{type(exc).__name__}: {exc}".replace("\n", " ")


def options_key(options: dict) -> str:
    """Options as canonical JSON (sorted keys): the key of a cached estimate and of a sweep's row."""
    return json.dumps(options, sort_keys=True, default=str)


_SPARSE: "OrderedDict[tuple, tuple]" = OrderedDict()
SPARSE_CACHE_BYTES = 256 * 2**20  # per process: ~20 CUHK-size sparse estimates, none of a 12 MP photo


def _nbytes(sparse) -> int:
    return sum(v.nbytes for v in vars(sparse).values() if isinstance(v, np.ndarray))


def _estimate_cached(ref, method, sample, edges, est) -> tuple:
    """(the method's SparseBlur of ``sample``, the seconds it took when it was computed), from a
    small per-process LRU cache (:data:`SPARSE_CACHE_BYTES`) keyed by (image, method, estimator options): a sweep over
    propagator options (lambda, psi, eps) estimates each image once per worker, not once per
    setting. A row's seconds stay the method's cost (estimate + propagation) either way."""
    from ..pipeline import METHODS
    key = (ref, method, options_key(est))
    if key in _SPARSE:
        _SPARSE.move_to_end(key)
        return _SPARSE[key]
    t = time.perf_counter()
    sparse = METHODS[method].estimate(sample.image, edges=edges, **est)
    entry = (sparse, time.perf_counter() - t)
    if _nbytes(sparse) <= SPARSE_CACHE_BYTES // 4:  # a photo-size estimate is not kept
        _SPARSE[key] = entry
        while sum(_nbytes(v[0]) for v in _SPARSE.values()) > SPARSE_CACHE_BYTES:
            _SPARSE.popitem(last=False)
    return entry


@cached(ignore=("progress",))
def evaluate(dataset: str, methods=None, *, propagation: str | None = None, estimator_options: dict | None = None,
             propagator_options: dict | None = None, limit: int | None = None, device: str = "auto",
             progress=None) -> dict:
    """The ground-truth table of ``methods`` (default: every method that can run here) on
    ``dataset``: {"rows": one per (image, method), "summary": {method: {metric: mean, "seconds":
    mean, "images": n, "errors": n}}, "published": {method: (figures, source)}, "metrics",
    "skipped": names missing here}. ``progress``: a tqdm-like class for a bar over the images."""
    from ._measure import stepped
    from .galetto import lab_methods
    methods = list(methods or lab_methods())
    refs, skipped = samples(dataset, limit=limit)
    names = metric_names(dataset) if refs else ()
    rows = []
    for ref in stepped(refs, progress, f"{dataset}: images"):
        for m in methods:
            rows.append(run_one(ref, m, propagation=propagation, estimator_options=estimator_options,
                                propagator_options=propagator_options, device=device))
    summary = {}
    for m in methods:
        ok = [r for r in rows if r["method"] == m and not r["error"]]
        summary[m] = {k: float(np.mean([r[k] for r in ok])) if ok else np.nan for k in names + ("seconds",)}
        summary[m]["images"] = len(ok)
        summary[m]["errors"] = sum(1 for r in rows if r["method"] == m and r["error"])
        summary[m]["warned"] = sum(1 for r in ok if r["warnings"])
    key = dataset if dataset in DATASETS else None
    published = {m: PUBLISHED[(key, m)] for m in methods if (key, m) in PUBLISHED}
    return {"dataset": dataset, "rows": rows, "summary": summary, "published": published, "metrics": names,
            "skipped": skipped}


def format_table(result: dict) -> str:
    """The summary of :func:`evaluate` as aligned text: one line per method, the published
    figures in brackets beside ours."""
    names = list(result["metrics"])
    head = ["method"] + names + ["seconds", "images"]
    lines = []
    for m, s in result["summary"].items():
        pub = result["published"].get(m, ({}, ""))[0]
        cells = [m] + [f"{s[k]:.4f}" + (f" [{pub[k]:.4f}]" if k in pub else "") for k in names]
        cells += [f"{s['seconds']:.2f}", f"{s['images']}" + (f" ({s['errors']} failed)" if s["errors"] else "")
                  + (f" ({s['warned']} with warnings)" if s["warned"] else "")]
        lines.append(cells)
    widths = [max(len(r[i]) for r in [head] + lines) for i in range(len(head))]
    out = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in [head] + lines]
    sources = sorted({src for _, src in result["published"].values()})
    if sources:
        out.append("[published] " + "; ".join(sources) + " (other image sets than these)")
    if result["skipped"]:
        out.append(f"skipped (not available here): {', '.join(result['skipped'])}")
    return "\n".join(out)

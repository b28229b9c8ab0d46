"""Scores of a blur map against ground truth."""
from __future__ import annotations

__all__ = ["mae", "relative_mae", "rtf_scores", "best_threshold_accuracy", "precision_recall", "pr_curve",
           "classification_scores", "brisque"]

import numpy as np


def _pair(est, gt):
    est = np.asarray(est, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if est.shape != gt.shape:
        raise ValueError(f"estimate {est.shape} and ground truth {gt.shape} must share a shape")
    return est, gt


def mae(est, gt) -> float:
    """Mean absolute error.

    Parameters
    ----------
    est, gt : array_like
        The estimate and the ground truth, of one shape (any unit, the same for both).

    Returns
    -------
    float
        The mean of ``abs(est - gt)`` over every element.

    Raises
    ------
    ValueError
        When the shapes differ.

    Examples
    --------
    >>> mae([1.0, 2.0, 4.0], [1.0, 3.0, 2.0])
    1.0
    """
    est, gt = _pair(est, gt)
    return float(np.mean(np.abs(est - gt)))


def normalise(m) -> np.ndarray:
    """Rescale a map linearly to [0, 1] (min -> 0, max -> 1; a constant map -> 0)."""
    m = np.asarray(m, dtype=np.float64)
    lo, hi = float(m.min()), float(m.max())
    return np.zeros_like(m) if hi == lo else (m - lo) / (hi - lo)


def relative_mae(est, gt) -> float:
    """MAE after rescaling both maps to [0, 1] (the "relative" column of Karaali 2022, Table I).

    Parameters
    ----------
    est, gt : array_like
        The estimate and the ground truth, of one shape. Each is rescaled on its own, so the two
        need not share a unit: the score compares the maps' shapes, not their scales.

    Returns
    -------
    float
        :func:`mae` of the two rescaled maps, in [0, 1].

    Examples
    --------
    >>> relative_mae([0.0, 1.0, 2.0], [0.0, 10.0, 20.0])  # the same map in another unit
    0.0
    """
    est, gt = _pair(est, gt)
    return mae(normalise(est), normalise(gt))


def rtf_scores(est_disk, gt_disk, *, drop_right: int = 20) -> dict:
    """Karaali's RTF protocol: raw and relative MAE in disk-radius units, with the rightmost
    ``drop_right`` columns of both maps left out (as in Karaali & Jung's 2018 demo).

    Parameters
    ----------
    est_disk, gt_disk : ndarray (H, W)
        The estimated and the true blur, both as disk radius in pixels (convert a sigma map with
        :func:`defocus_lab.conventions.convert_units`).
    drop_right : int
        Columns left out at the right of both maps (0 keeps every column).

    Returns
    -------
    dict
        ``{"mae": raw MAE (px of disk radius), "relative_mae": MAE of the rescaled maps}``.

    Examples
    --------
    >>> import numpy as np
    >>> gt = np.tile(np.linspace(0, 4, 40), (30, 1))
    >>> scores = rtf_scores(gt + 0.5, gt)
    >>> round(scores["mae"], 6), round(scores["relative_mae"], 6)
    (0.5, 0.0)
    """
    est, gt = _pair(est_disk, gt_disk)
    if drop_right:
        est, gt = est[:, :-drop_right], gt[:, :-drop_right]
    return {"mae": mae(est, gt), "relative_mae": relative_mae(est, gt)}


def best_threshold_accuracy(blur_map, out_of_focus, *, n: int = 101) -> tuple[float, float]:
    """Best accuracy of ``blur_map > tau`` against a defocus mask over tau = a vmax + (1 - a) vmin,
    a in linspace(0, 1, n) (the CUHK protocol of Karaali 2022 Fig. 9). Returns (accuracy, a).

    Parameters
    ----------
    blur_map : ndarray (H, W)
        A defocus map (any unit: only its order matters).
    out_of_focus : ndarray (H, W) bool
        The true out-of-focus region (a CUHK or DUT mask, :func:`defocus_lab.data.load_mask`).
    n : int
        How many thresholds are tried between the map's minimum and maximum.

    Returns
    -------
    accuracy : float
        The best fraction of pixels classified right.
    a : float
        The threshold's position between the minimum (0) and the maximum (1) that gave it.

    Examples
    --------
    >>> import numpy as np
    >>> blur = np.array([[0.2, 0.4, 2.0, 3.0]])
    >>> best_threshold_accuracy(blur, blur > 1)  # the first threshold above 0.4
    (1.0, 0.08)
    """
    m, _ = _pair(blur_map, np.zeros(np.shape(blur_map)))
    gt = np.asarray(out_of_focus, dtype=bool)
    if gt.shape != m.shape:
        raise ValueError(f"mask {gt.shape} and map {m.shape} must share a shape")
    lo, hi = float(m.min()), float(m.max())
    best, best_a = -1.0, 0.0
    for a in np.linspace(0.0, 1.0, n):
        acc = float(np.mean((m > a * hi + (1 - a) * lo) == gt))
        if acc > best:
            best, best_a = acc, float(a)
    return best, best_a


def precision_recall(blur_map, out_of_focus, *, n: int = 101) -> dict:
    """Counts for Fig. 11's curves: for the thresholds tau = a vmax + (1 - a) vmin of
    :func:`best_threshold_accuracy` (a in linspace(0, 1, n)), the true
    positives, false positives and false negatives of ``blur_map > tau`` as the out-of-focus
    region. Summed over images, they give the dataset's curve (:func:`pr_curve`).

    Parameters
    ----------
    blur_map : ndarray (H, W)
        A defocus map (any unit).
    out_of_focus : ndarray (H, W) bool
        The true out-of-focus region.
    n : int
        The number of thresholds.

    Returns
    -------
    dict
        ``a`` (the n threshold positions) and the int64 arrays ``tp``, ``fp``, ``fn`` (one count
        per threshold).

    Examples
    --------
    >>> import numpy as np
    >>> c = precision_recall(np.array([[0.0, 1.0, 2.0, 3.0]]), np.array([[False, False, True, True]]), n=3)
    >>> c["tp"].tolist(), c["fp"].tolist(), c["fn"].tolist()
    ([2, 2, 0], [1, 0, 0], [0, 0, 2])
    """
    m = np.asarray(blur_map, dtype=np.float64)
    gt = np.asarray(out_of_focus, dtype=bool)
    if gt.shape != m.shape:
        raise ValueError(f"mask {gt.shape} and map {m.shape} must share a shape")
    lo, hi = float(m.min()), float(m.max())
    a = np.linspace(0.0, 1.0, n)
    # sort once: the pixels above each threshold are a suffix of the sorted map
    order = np.argsort(m, axis=None, kind="stable")
    sm, sg = m.ravel()[order], gt.ravel()[order]
    pos_after = np.concatenate([np.cumsum(sg[::-1])[::-1], [0]])  # positives at index >= i
    idx = np.searchsorted(sm, a * hi + (1 - a) * lo, side="right")  # first index with value > tau
    tp = pos_after[idx]
    fp = (sm.size - idx) - tp
    fn = int(sg.sum()) - tp
    return {"a": a, "tp": tp.astype(np.int64), "fp": fp.astype(np.int64), "fn": fn.astype(np.int64)}


def pr_curve(counts) -> dict:
    """(precision, recall, average precision) of summed :func:`precision_recall` counts; the
    precision is 1 where nothing is predicted positive, and AP is the area under the curve by
    the step rule over increasing recall.

    Parameters
    ----------
    counts : iterable of dict
        :func:`precision_recall` of each image, all with the same ``n``.

    Returns
    -------
    dict
        ``precision`` and ``recall`` (arrays, one value per threshold) and ``ap`` (float).

    Examples
    --------
    >>> import numpy as np
    >>> blur = np.array([[0.0, 1.0, 2.0, 3.0]])
    >>> curve = pr_curve([precision_recall(blur, blur > 1.5)])
    >>> curve["ap"]
    1.0
    """
    tp = sum(c["tp"] for c in counts).astype(np.float64)
    fp = sum(c["fp"] for c in counts).astype(np.float64)
    fn = sum(c["fn"] for c in counts).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 1.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
    r = np.concatenate([[0.0], recall[::-1]])
    p = precision[::-1]
    ap = float(np.sum(np.diff(r) * p))
    return {"precision": precision, "recall": recall, "ap": ap}


def classification_scores(pred, truth, classes: int) -> dict:
    """Scores of a classifier over ``classes`` ordered classes (Galetto & Deng's Tables 2-3):
    top-1 ``accuracy``, ``within_one`` (``abs(predicted - true) <= 1``), the ``confusion`` matrix
    (rows: true class, columns: predicted) and per-class ``precision``, ``recall`` and ``f1``
    (NaN where a class is never predicted / never present), as plain lists (JSON-ready).

    Parameters
    ----------
    pred, truth : array_like of int
        Predicted and true classes, in 0 .. ``classes - 1``, of one length.
    classes : int
        The number of classes.

    Returns
    -------
    dict
        ``accuracy``, ``within_one`` (floats), ``confusion`` (list of lists), ``precision``,
        ``recall``, ``f1`` (lists, one value per class) and ``n`` (the number of samples).

    Raises
    ------
    ValueError
        Lengths that differ, or a class outside 0 .. ``classes - 1``.

    Examples
    --------
    >>> s = classification_scores([0, 1, 2, 2], [0, 1, 1, 2], classes=3)
    >>> s["accuracy"], s["within_one"], s["confusion"]
    (0.75, 1.0, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])
    """
    pred = np.asarray(pred, dtype=np.int64).ravel()
    truth = np.asarray(truth, dtype=np.int64).ravel()
    if pred.shape != truth.shape:
        raise ValueError(f"pred and truth must have the same length; got {pred.size} and {truth.size}")
    if pred.size and (min(pred.min(), truth.min()) < 0 or max(pred.max(), truth.max()) >= classes):
        raise ValueError(f"classes must lie in 0..{classes - 1}")
    conf = np.zeros((classes, classes), np.int64)
    np.add.at(conf, (truth, pred), 1)
    tp = np.diag(conf).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = tp / conf.sum(axis=0)
        recall = tp / conf.sum(axis=1)
        f1 = 2 * precision * recall / (precision + recall)
    n = max(pred.size, 1)
    return {"accuracy": float(tp.sum() / n), "within_one": float(np.sum(np.abs(pred - truth) <= 1) / n),
            "confusion": conf.tolist(), "precision": precision.tolist(), "recall": recall.tolist(),
            "f1": f1.tolist(), "n": int(pred.size)}


def brisque(image) -> float:
    """BRISQUE (Mittal, Moorthy & Bovik 2012), the no-reference quality score of Galetto & Deng's
    Table 6 (lower: more natural), from the PyPI package ``brisque`` (its support-vector
    regressor trained on the LIVE database ships with it; an extra of the lab:
    ``pip install -e ".[bench]"``, which ``make install`` runs).

    ``image`` (H, W, 3) or (H, W), float in [0, 1] or uint8, is scored as the 8-bit image it
    would be saved as. ``brisque`` 0.2.0 keeps some features as one-element arrays, which NumPy 2
    refuses to turn into floats; the adapter here flattens them, the score is the package's.

    Raises ImportError, saying how to install it, when the package is missing.

    Parameters
    ----------
    image : ndarray (H, W, 3) or (H, W)
        Float in [0, 1] or uint8.

    Returns
    -------
    float
        The BRISQUE score (about 0-100 for natural photos; lower is better).

    Examples
    --------
    >>> from skimage import data as skdata
    >>> score = brisque(skdata.astronaut()[::4, ::4])
    >>> 0 < score < 100
    True
    """
    from ._validate import as_image
    try:
        from brisque import BRISQUE
    except ImportError as e:  # pragma: no cover - the bench extra is installed by make install
        raise ImportError("BRISQUE needs the PyPI package brisque and OpenCV: pip install -e \".[bench]\" "
                          "(or pip install brisque opencv-python-headless)") from e

    class _Flat(BRISQUE):
        def calculate_brisque_features(self, image, kernel_size=7, sigma=7 / 6):
            feats = super().calculate_brisque_features(image, kernel_size, sigma)
            return np.array([float(np.asarray(v, dtype=np.float64).reshape(-1)[0]) for v in feats])

    img = as_image(image, copy=False)
    u8 = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    if u8.ndim == 2:
        u8 = np.repeat(u8[..., None], 3, axis=-1)
    return float(_Flat(url=False).score(u8))

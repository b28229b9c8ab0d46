"""User corrections of a sparse estimate: boxes marked sharp, blurred (a value) or excluded.

What the notebooks' scribble tool does to the estimate before every solve, as a function: the
explorer and ``benchmarks/bench_scribble.py`` both call it.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_mask, check_positive
from ..types import SparseBlur

KINDS = ("sharp", "blurred", "exclude")
WEIGHT = 100.0  # confidence of a boxed pixel against 1 for an estimate: boxes hold firmly


def apply_boxes(sparse: SparseBlur, boxes, *, weight: float = WEIGHT) -> SparseBlur:
    """The sparse estimate after the user's boxes, applied in order (a later box wins).

    Parameters
    ----------
    sparse : SparseBlur
        The estimator's output.
    boxes : sequence of (region, kind) or (region, kind, value)
        ``region``: bool (H, W); ``kind``: "sharp" (blur 0 inside), "blurred" (blur ``value``
        inside, in the units of ``sparse``) or "exclude" (the estimates inside are dropped).
    weight : float
        The confidence of a boxed pixel, against the estimate's own (1 unless ``sparse`` has a
        ``confidence``): large, so that boxes hold like hard constraints in the matting
        propagator, which reads ``confidence`` as its per-pixel weights.

    Returns
    -------
    SparseBlur with ``confidence`` set (the other fields as in ``sparse``).

    Examples
    --------
    >>> import numpy as np
    >>> sb = SparseBlur(np.full((4, 4), 2.0), np.ones((4, 4), bool))
    >>> box = np.zeros((4, 4), bool); box[:2] = True
    >>> out = apply_boxes(sb, [(box, "sharp"), (~box, "exclude")])
    >>> float(out.values[0, 0]), float(out.confidence[0, 0]), bool(out.mask[3].any())
    (0.0, 100.0, False)
    """
    weight = check_positive(weight, "weight")
    vals, mask = sparse.values.copy(), sparse.mask.copy()
    conf = np.ones(mask.shape) if sparse.confidence is None else sparse.confidence.copy()
    for box in boxes:
        if len(box) not in (2, 3):
            raise ValueError(f"a box is (region, kind) or (region, kind, value); got {len(box)} items")
        region, kind = as_mask(box[0], mask.shape, name="region"), box[1]
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
        if kind == "exclude":
            mask[region] = False
            continue
        value = 0.0 if kind == "sharp" else check_positive(box[2] if len(box) == 3 else None, "value",
                                                           allow_zero=True)
        mask[region] = True
        vals[region] = value
        conf[region] = weight
    return sparse.replace(values=np.where(mask, vals, 0.0), mask=mask, confidence=conf)

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from defocus_lab import estimate_defocus
from defocus_lab._validate import as_image
from defocus_lab.estimate import zhuo2011
from defocus_lab.propagate import matting


@pytest.mark.parametrize("bad,match", [
    (np.zeros((20, 20, 4)), "alpha"),
    (np.zeros((20, 20, 2)), "shape"),
    (np.zeros((20,)), "shape"),
    (np.zeros((4, 4)), "too small"),
    (np.full((20, 20), np.nan), "NaN"),
    (np.full((20, 20), 255.0), "divide by 255"),
    (np.zeros((20, 20), dtype=np.int64), "dtype"),
    (np.zeros((20, 20), dtype=complex), "dtype"),
    ("image.png", "NumPy array"),
])
def test_bad_images_say_how_to_fix(bad, match):
    with pytest.raises(ValueError, match=match):
        zhuo2011(bad)


def test_uint_inputs_are_scaled():
    a = np.full((10, 10), 255, np.uint8)
    assert as_image(a).max() == 1.0
    b = np.full((10, 10), 65535, np.uint16)
    assert as_image(b).max() == 1.0


def test_bad_maps_for_propagation():
    img = np.random.default_rng(0).random((20, 20))
    with pytest.raises(ValueError, match="shape"):
        matting(img, np.zeros((19, 20)), np.ones((20, 20), bool))
    with pytest.raises(ValueError, match="NaN"):
        matting(img, np.full((20, 20), np.nan), np.ones((20, 20), bool))
    with pytest.raises(ValueError, match="boolean"):
        matting(img, np.zeros((20, 20)), np.full((20, 20), 3))


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), c=st.sampled_from([None, 1, 2, 3, 4]),
       dtype=st.sampled_from([np.uint8, np.uint16, np.float32, np.float64, np.int32, np.bool_]))
def test_any_shape_and_dtype_gives_a_result_or_a_value_error(h, w, c, dtype):
    shape = (h, w) if c is None else (h, w, c)
    img = (np.random.default_rng(h * 41 + w).random(shape) * (200 if dtype in (np.uint8, np.uint16, np.int32) else 1)).astype(dtype)
    try:
        dense, sparse = estimate_defocus(img)
    except ValueError as exc:
        assert str(exc)  # a message, never a crash of another kind
        return
    assert dense.shape == (h, w) and np.all(np.isfinite(dense))
    assert sparse.mask.shape == (h, w)

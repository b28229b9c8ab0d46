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


GB = 1 << 30


@pytest.fixture
def machine(monkeypatch):
    """The budget's own tests set the machine they assume: ``machine(total_gb, free_gb)``."""
    import defocus_lab._validate as v
    monkeypatch.delenv(v.MEMORY_ENV, raising=False)

    def set_(total, free):
        monkeypatch.setattr(v, "total_memory", lambda: int(total * GB))
        monkeypatch.setattr(v, "available_memory", lambda: int(free * GB))
    return set_


@pytest.mark.parametrize("total, free, want", [
    (24, 2.5, 3.0),    # a momentary dip: the floor, an eighth of the machine
    (24, 0.1, 3.0),
    (24, 10, 8.0),     # above the floor: 80 % of what is free now
    (24, 24, 19.2),    # never above 80 % of the machine
    (8, 0.5, 1.0),
])
def test_memory_budget_policy(machine, total, free, want):
    from defocus_lab._validate import memory_budget
    machine(total, free)
    assert memory_budget() == pytest.approx(want * GB, rel=1e-6)


def test_a_job_that_fits_the_machine_is_not_refused_in_a_dip(machine):
    """24 GB machine, 2.5 GB free at the moment: a 0.5 GB solve runs; 5 GB is refused with the
    budget in the message; on the idle machine 5 GB runs and 20 GB is still refused."""
    from defocus_lab._validate import TooLarge, check_memory
    machine(24, 2.5)
    check_memory(0.5 * GB, "a solve", "smaller")
    with pytest.raises(TooLarge, match=r"about 5.0 GB, more than the 3.0 GB .*DEFOCUS_LAB_MEMORY_GB.*: smaller"):
        check_memory(5 * GB, "a solve", "smaller")
    machine(24, 23)
    check_memory(5 * GB, "a solve", "smaller")
    with pytest.raises(TooLarge):
        check_memory(20 * GB, "a solve", "smaller")


def test_memory_env_overrides_and_is_checked(machine, monkeypatch):
    from defocus_lab._validate import MEMORY_ENV, memory_budget
    machine(24, 2.5)
    monkeypatch.setenv(MEMORY_ENV, "0.5")
    assert memory_budget() == GB // 2
    for bad in ("lots", "0", "-1"):
        monkeypatch.setenv(MEMORY_ENV, bad)
        with pytest.raises(ValueError, match=MEMORY_ENV):
            memory_budget()


def test_the_machine_figures_respect_a_container_limit(monkeypatch):
    import defocus_lab._validate as v
    monkeypatch.setattr(v, "_cgroup_limit", lambda: (2 * GB, GB // 2))
    assert v.total_memory() <= 2 * GB
    assert v.available_memory() <= 1.5 * GB
    monkeypatch.setattr(v, "_cgroup_limit", lambda: None)
    assert v.total_memory() >= v.available_memory() > 0


def test_the_suite_runs_under_a_pinned_budget():
    """conftest.py pins the budget, so that no other test depends on the free memory of the
    moment (a test that is about the budget sets its own)."""
    import os
    from defocus_lab._validate import MEMORY_ENV, memory_budget
    assert os.environ[MEMORY_ENV] == "4"
    assert memory_budget() == 4 * GB

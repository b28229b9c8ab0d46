import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent

# Every test runs under a pinned memory budget (4 GB), so that no outcome depends on the memory
# another program holds at that moment; set in os.environ, so that the CLI subprocesses, the
# notebook kernels and the lab server of the browser test inherit it. The budget's own tests
# (tests/test_validation.py) unset it and set the machine they assume.
os.environ["DEFOCUS_LAB_MEMORY_GB"] = "4"
# The results cache (defocus_lab._cache) is for the notebook stages of `make test`: the unit
# tests compute everything they check (a test may monkeypatch what a cached result hides), and
# the browser test hands the cache to the lab's kernels itself (tests/browser/conftest.py).
_NOTEBOOK_RESULTS_CACHE = os.environ.pop("DEFOCUS_LAB_RESULTS_CACHE", None)


@pytest.fixture(scope="session")
def notebook_results_cache():
    """The results cache ``make test`` gave this run for the notebooks (None: none)."""
    return _NOTEBOOK_RESULTS_CACHE


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def root():
    return ROOT


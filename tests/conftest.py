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


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def root():
    return ROOT


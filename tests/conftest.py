import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def root():
    return ROOT


def have_external(*paths):
    from defocus_lab.data import available
    return all(available(p) for p in paths)


requires_data = pytest.mark.skipif(
    not os.environ.get("DEFOCUS_LAB_DATA"), reason="needs DEFOCUS_LAB_DATA (the shared data folder)")

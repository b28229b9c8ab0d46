"""The opt-in results cache (defocus_lab._cache): off by default; with a folder, the same call
is read back, any change of what is computed (arguments, arrays' content, the package source,
the data folder) computes again, and what cannot be kept is computed as usual."""
import threading

import numpy as np
import pytest

from defocus_lab import _cache


@pytest.fixture
def counted(monkeypatch, tmp_path):
    calls = []

    @_cache.cached(ignore=("progress",), skip_if=lambda kw: kw.get("out") is not None)
    def work(x, *, scale=1.0, progress=None, out=None):
        calls.append(1)
        return {"sum": float(np.sum(x)) * scale}
    monkeypatch.setenv(_cache.CACHE_ENV, str(tmp_path / "cache"))
    return work, calls


def test_off_unless_a_folder_is_named(counted, monkeypatch):
    work, calls = counted
    monkeypatch.delenv(_cache.CACHE_ENV)
    work(np.ones(3))
    work(np.ones(3))
    assert len(calls) == 2


def test_the_same_call_is_read_back_and_any_change_recomputes(counted, monkeypatch):
    work, calls = counted
    assert work(np.ones(3)) == {"sum": 3.0}
    assert work(np.ones(3), progress=object) == {"sum": 3.0}  # how to run is not part of the key
    assert len(calls) == 1
    assert work(np.full(3, 2.0)) == {"sum": 6.0}  # the array's content
    assert work(np.ones(3), scale=2.0) == {"sum": 6.0}
    assert len(calls) == 3
    monkeypatch.setattr(_cache, "_SOURCE_HASH", ["an edited package"])
    work(np.ones(3))
    monkeypatch.setenv("DEFOCUS_LAB_DATA", "/elsewhere")
    work(np.ones(3))
    assert len(calls) == 5
    work(np.ones(3), out="rows.csv")  # skip_if: always runs
    assert len(calls) == 6


def test_what_cannot_be_pickled_is_computed_as_usual(counted):
    work, calls = counted
    lock = threading.Lock()
    with pytest.raises(TypeError):
        work(lock)  # np.sum of a lock: the function's own error, not the cache's
    assert len(calls) == 1

    @_cache.cached()
    def unpicklable_result():
        calls.append(1)
        return threading.Lock()
    unpicklable_result()
    unpicklable_result()
    assert len(calls) == 3


def test_the_package_source_hash_is_stable():
    assert _cache.source_hash() == _cache.source_hash() and len(_cache.source_hash()) == 64


def test_the_unit_tests_run_without_the_cache():
    import os
    assert _cache.CACHE_ENV not in os.environ

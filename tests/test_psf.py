"""The feasible set of the blind deblurring kernels (kernels/psf.py): NumPy references and
properties (hypothesis)."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import naive
from defocus_lab.kernels.psf import project_kernel, rank_rule, symmetrize, truncate_rank
from defocus_lab.render import disk_kernel

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)  # work-bounded, seeded


def kernels(sizes=(3, 5, 7, 9)):
    return st.sampled_from(sizes).flatmap(
        lambda d: arrays(np.float64, (d, d), elements=st.floats(-1.0, 1.0, allow_nan=False, width=64)))


def test_symmetrize_is_the_mean_over_the_group_of_the_papers_three_maps(rng):
    for d in (1, 2, 5, 8):
        k = rng.random((d, d))
        np.testing.assert_allclose(symmetrize(k), naive.symmetrize_kernel(k), atol=1e-14)


def test_truncate_rank_matches_the_eigenvector_form(rng):
    k = rng.random((9, 9))
    for r in (0, 1, 3, 9):
        np.testing.assert_allclose(truncate_rank(k, r), naive.truncate_rank(k, r), atol=1e-10)
    with pytest.raises(ValueError, match="square"):
        truncate_rank(np.ones((3, 4)), 1)


def test_the_papers_fig4_ranks():
    """Fig. 4 (tight boxes): a 27x27 Gaussian of sigma 9 has rank 1, a 23x23 pillbox 8 and a 23x23
    Gaussian pupil 7 in the paper. By the 1/30 rule the lab's anti-aliased disk has 7 (8 numerically)."""
    g = np.exp(-np.arange(-13, 14) ** 2 / (2 * 81.0))
    assert rank_rule(np.outer(g, g)) == 1
    disk = disk_kernel(11.5)
    assert disk.shape == (23, 23) and np.linalg.matrix_rank(disk) == 8 and rank_rule(disk) == 7
    y, x = np.mgrid[-11:12, -11:12]
    pupil = (x ** 2 + y ** 2 <= 11.5 ** 2) * np.exp(-(x ** 2 + y ** 2) / (2 * 81.0))
    assert rank_rule(pupil) == 7


@SETTINGS
@given(kernels())
def test_the_projection_lands_in_the_feasible_set(k):
    p, info = project_kernel(k, info=True)
    assert p.min() >= 0 and p.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(p, symmetrize(p), atol=1e-14)
    if not info["fallback"]:
        s = np.linalg.svd(p, compute_uv=False)
        r0 = info["r0"]
        assert r0 >= 1 and (r0 == len(s) or s[r0] <= info["rank_gap"] + 1e-12)


@SETTINGS
@given(kernels())
def test_the_projection_is_idempotent(k):
    p, info = project_kernel(k, info=True)
    assume(not info["fallback"] and info["sweeps"] < 200)  # converged: the last clip changed nothing
    np.testing.assert_allclose(project_kernel(p, r0=info["r0"]), p, atol=1e-10)


def test_a_kernel_in_the_set_comes_back_and_ablations_drop_their_constraint(rng):
    d = disk_kernel(5.5)
    d = project_kernel(d)  # into the set: rank 7 ... by the rule
    np.testing.assert_allclose(project_kernel(d, r0=rank_rule(d)), d, atol=1e-12)
    k = rng.random((7, 7))
    free = project_kernel(k, symmetric=False, low_rank=False)
    np.testing.assert_allclose(free, k / k.sum())  # only >= 0 and sum 1
    lopsided = project_kernel(k, symmetric=False)
    assert not np.allclose(lopsided, symmetrize(lopsided))
    _, info = project_kernel(-np.ones((5, 5)), info=True)
    assert info["fallback"]
    with pytest.raises(ValueError, match="NaN"):
        project_kernel(np.full((3, 3), np.nan))

"""The spline framelets of the deblurring paper's prior (kernels/framelet.py)."""
import numpy as np
import pytest

import naive
from defocus_lab.kernels.framelet import analysis, synthesis, transfer


def test_analysis_matches_explicit_periodic_convolution(rng):
    u = rng.random((7, 10))
    np.testing.assert_allclose(analysis(u), naive.framelet_analysis(u), atol=1e-12)


def test_synthesis_is_the_adjoint_and_the_frame_is_tight(rng):
    u = rng.random((12, 9))
    c = rng.random((9, 12, 9))
    assert np.sum(analysis(u) * c) == pytest.approx(np.sum(u * synthesis(c)), rel=1e-12)
    np.testing.assert_allclose(synthesis(analysis(u)), u, atol=1e-12)  # W^T W = I
    np.testing.assert_allclose(np.sum(np.abs(transfer((12, 9))) ** 2, axis=0), 1.0, atol=1e-12)
    # the low-pass keeps a constant, the 8 others give it 0
    flat = analysis(np.full((6, 6), 0.3))
    np.testing.assert_allclose(flat[0], 0.3, atol=1e-12)
    np.testing.assert_allclose(flat[1:], 0.0, atol=1e-12)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="grey"):
        analysis(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="at least 3x3"):
        analysis(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="9, H, W"):
        synthesis(np.zeros((8, 4, 4)))


def test_the_direct_passes_match_the_loops_and_the_fourier_form(rng):
    from defocus_lab.kernels.framelet import analysis_direct, synthesis_direct
    u = rng.random((9, 13))
    c = rng.random((9, 9, 13))
    np.testing.assert_allclose(analysis_direct(u), naive.framelet_analysis(u), atol=1e-12)
    np.testing.assert_allclose(synthesis_direct(c), naive.framelet_synthesis(c), atol=1e-12)
    np.testing.assert_allclose(synthesis_direct(c), synthesis(c), atol=1e-12)
    with pytest.raises(ValueError, match="at least 3x3"):
        analysis_direct(np.zeros((2, 8)))

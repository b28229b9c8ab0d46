"""The deblurring paper's u-step (apps/deblur.py): its proximal map, its convolution and its
ADMM against a dense least-squares solve."""
import numpy as np
import pytest
from scipy import ndimage as ndi

import naive
from defocus_lab.apps.deblur import kernel_transfer, prior_transfer, soft_threshold, u_step


def test_soft_threshold_matches_the_cases(rng):
    x = rng.normal(size=200)
    for t in (0.0, 0.3, 2.0):
        np.testing.assert_array_equal(soft_threshold(x, t), naive.soft_threshold(x, t))


def test_the_kernel_transfer_is_periodic_convolution_without_shift(rng):
    u = rng.random((11, 14))
    k = rng.random((5, 5))  # not symmetric: a shift or a flip would show
    got = np.real(np.fft.ifft2(kernel_transfer(k, u.shape) * np.fft.fft2(u)))
    np.testing.assert_allclose(got, ndi.convolve(u, k, mode="wrap"), atol=1e-12)
    with pytest.raises(ValueError, match="odd"):
        kernel_transfer(np.ones((4, 4)), (10, 10))
    with pytest.raises(ValueError, match="larger than the image"):
        kernel_transfer(np.ones((7, 7)), (5, 10))


@pytest.mark.parametrize("prior", ["framelet", "tv"])
def test_without_the_prior_admm_reaches_the_least_squares_solution(rng, prior):
    """lam = 0 and every pixel data: the minimiser is the dense solve of the normal equations
    (K^T M K) u = K^T M f with the periodic convolution matrix K; ADMM must land on it."""
    H = W = 8
    k = np.full((3, 3), 0.05)
    k[1, 1] = 0.6  # a mild blur, |K| >= 0.4 at every frequency: a well-posed least-squares problem
    f = rng.random((H, W))
    mask = np.ones((H, W))
    mask[:2, :3] = 0.5  # weights: the data term is || m (k * u - f) ||^2
    K = np.zeros((H * W, H * W))
    for i in range(H * W):
        e = np.zeros(H * W)
        e[i] = 1.0
        K[:, i] = ndi.convolve(e.reshape(H, W), k, mode="wrap").ravel()
    M = np.diag(mask.ravel() ** 2)
    want = np.linalg.solve(K.T @ M @ K, K.T @ M @ f.ravel()).reshape(H, W)
    got = u_step(f, k, mask, lam=0.0, prior=prior, iterations=500, rho_v=1.0, rho_z=0.05)
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_the_u_step_deblurs_a_textured_image(rng):
    """A texture blurred by a disk and a little noise: the u-step with the paper's lam gains
    PSNR over the blurred input, and the residuals of the splitting fall."""
    from defocus_lab.render import disk_kernel
    from skimage.metrics import peak_signal_noise_ratio as psnr
    sharp = ndi.gaussian_filter(rng.random((64, 64)), 1.0)
    sharp = (sharp - sharp.min()) / np.ptp(sharp)
    k = disk_kernel(3.0)
    blurred = ndi.convolve(sharp, k, mode="wrap") + 0.005 * rng.normal(size=sharp.shape)
    u, info = u_step(blurred, k, lam=0.0005, iterations=150, info=True)
    assert psnr(sharp, np.clip(u, 0, 1), data_range=1) > psnr(sharp, blurred, data_range=1) + 3.0
    first, last = info["residuals"][0], info["residuals"][-1]
    assert last[0] < 0.1 * first[0] + 1e-9
    with pytest.raises(ValueError, match="prior must be one of"):
        prior_transfer((8, 8), "wavelet")
    with pytest.raises(ValueError, match="share a shape"):
        u_step(blurred, k, np.ones((3, 3)))

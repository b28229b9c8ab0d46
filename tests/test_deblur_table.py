"""The deblurring paper measured on ground truth (synth/layers.py, experiments/deblur.py): the
rendered scenes, and the table of every method and ablation on a small fixed case, asserted
with tolerances (the closing note of issue 14 gives the full table)."""
import numpy as np
import pytest
from scipy import ndimage as ndi

from defocus_lab.experiments import deblur as xd
from defocus_lab.synth.layers import blob_layers, layer_kernel, layered_scene, motorcycle_layers, render_layers


def test_render_layers_is_the_convolution_inside_each_layer(rng):
    """Away from the seams, every layer of the rendering is its own kernel's convolution."""
    img = ndi.gaussian_filter(rng.random((60, 80)), 1.0)
    labels = np.zeros((60, 80), int)
    labels[:, 40:] = 1
    k = layer_kernel(4.0, "pupil")
    out = render_layers(img, labels, [np.ones((1, 1)), k])
    ref = ndi.convolve(img, k, mode="mirror")
    np.testing.assert_allclose(out[10:50, 50:70], ref[10:50, 50:70], atol=1e-10)
    np.testing.assert_allclose(out[:, :30], img[:, :30], atol=1e-10)  # the near layer is not blurred by the far one


def test_layered_scenes_keep_their_truth():
    sharp, labels = motorcycle_layers(scale=0.25)
    assert sharp.shape[:2] == labels.shape and set(np.unique(labels)) == {0, 1, 2}
    sc = layered_scene(sharp, labels, (0, 2, 4), kind="disk", noise=0.01, seed=3)
    assert sc.kernels[2].shape == (9, 9) and sc.radii == (0.0, 2.0, 4.0)
    again = layered_scene(sharp, labels, (0, 2, 4), kind="disk", noise=0.01, seed=3)
    np.testing.assert_array_equal(sc.blurred, again.blurred)  # seeded
    noise = sc.blurred[labels == 0] - sharp[labels == 0]
    assert np.std(noise) == pytest.approx(0.01, rel=0.15)
    blobs = blob_layers((50, 70), bands=3)
    assert set(np.unique(blobs)) == {0, 1, 2}
    with pytest.raises(ValueError, match="radii gives"):
        layered_scene(sharp, labels, (0, 2))
    with pytest.raises(ValueError, match="kind must be"):
        layer_kernel(3.0, "box")


@pytest.fixture(scope="module")
def pupil_table():
    sharp, labels = motorcycle_layers(scale=0.3)
    sc = layered_scene(sharp, labels, (0, 3, 5), kind="pupil", noise=0.005, seed=0)
    methods = ("blurred", "proposed", "no-symmetry", "no-low-rank", "no-c", "true-kernel", "rl-gaussian",
               "wiener-gaussian")
    return xd.table(sc, methods=methods)


def test_the_table_on_the_pupil_motorcycle(pupil_table):
    """The motorcycle at 0.3 scale, three disparity layers (in focus, 3 and 5 px Gaussian-pupil
    kernels), noise 0.005, the true masks. Measured: blurred 22.96 dB, proposed 24.60, true
    kernel 25.54, Richardson-Lucy 24.05, Wiener 20.54; without symmetry 24.48, low rank 24.33,
    c 24.13."""
    t = {name: row["psnr"] for name, row in pupil_table.items()}
    assert t["proposed"] == pytest.approx(24.60, abs=0.3)
    assert t["proposed"] > t["blurred"] + 1.3  # the goal is +2 dB: short here (closing note)
    assert t["true-kernel"] - t["proposed"] < 1.2  # the upper bound
    assert t["proposed"] > t["rl-gaussian"] + 0.3 and t["proposed"] > t["wiener-gaussian"] + 2.0
    for ablation in ("no-symmetry", "no-low-rank", "no-c"):  # the paper's claims: each constraint helps
        assert t["proposed"] > t[ablation] + 0.05, ablation
    assert pupil_table["proposed"]["ssim"] > pupil_table["blurred"]["ssim"] + 0.05
    assert pupil_table["proposed"]["psnr_0"] == pupil_table["blurred"]["psnr_0"]  # the in-focus layer untouched
    found = pupil_table["proposed"]["kernels"]
    assert [found[lab]["radius0"] for lab in (1, 2)] == [3.0, 5.0]  # the disk search

"""device="auto" for every torch path: resolution, bad devices refused, and (where a GPU exists)
the CUDA results equal to the CPU's."""
import math

import numpy as np
import pytest
import torch

from defocus_lab.cli import main
from defocus_lab.models import karaali as K
from defocus_lab.models.device import describe, on_device, resolve_device
from defocus_lab.models.mobilenet import MobileNetV2

HAVE_CUDA = torch.cuda.is_available()
cuda = pytest.mark.skipif(not HAVE_CUDA, reason="needs a CUDA GPU: torch.cuda.is_available() is False here")


def _nets():
    torch.manual_seed(0)
    b = K.MultiScaleNet("bnet").eval()
    torch.manual_seed(1)
    e = K.MultiScaleNet("enet").eval()
    return b, e


def _photo():
    from skimage import data
    return data.astronaut()[100:164, 150:230].astype(np.float64) / 255.0


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")).type == "cpu"
    assert resolve_device("auto").type == ("cuda" if HAVE_CUDA else "cpu")
    assert resolve_device(None) == resolve_device("auto")
    with pytest.raises(ValueError, match="device must be one of"):
        resolve_device("gpu")
    with pytest.raises(ValueError, match="device must be one of"):
        resolve_device(3)
    assert "threads" in describe("cpu")


@pytest.mark.skipif(HAVE_CUDA, reason="checks the refusal on a machine without a GPU")
def test_cuda_without_a_gpu_is_refused_not_silently_cpu(tmp_path, capsys):
    with pytest.raises(ValueError, match="no CUDA GPU"):
        resolve_device("cuda")
    from defocus_lab.estimate.galetto import galetto2022
    with pytest.raises(ValueError, match="no CUDA GPU"):
        galetto2022(np.zeros((40, 40)), device="cuda")
    import imageio.v3 as iio
    iio.imwrite(tmp_path / "a.png", (_photo() * 255).astype(np.uint8))
    assert main(["estimate", str(tmp_path / "a.png"), "--out", str(tmp_path / "m.npy"), "--method", "galetto2022",
                 "--device", "cuda"]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err
    assert main(["train", "galetto", "--out", str(tmp_path / "w.npz"), "--device", "cuda", "--quiet",
                 "--max-steps", "1"]) == 2


def test_on_device_keeps_the_cpu_network_itself():
    net = MobileNetV2(width=0.35)
    assert on_device(net, "cpu") is net


def test_explicit_cpu_equals_auto_on_this_machine():
    """The device argument reaches the networks: the same logits on "cpu" and on "auto"
    (which is the CPU here; on a GPU machine the CUDA test below compares the two)."""
    nets = _nets()
    img = _photo()
    ys, xs = np.nonzero(np.random.default_rng(0).random(img.shape[:2]) < 0.05)
    a = K.edge_logits(img, ys, xs, nets, tile=32, device="cpu")
    b = K.edge_logits(img, ys, xs, nets, tile=32, device=torch.device("cpu"))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@cuda
@pytest.mark.cuda
def test_cuda_inference_equals_cpu():
    from defocus_lab.estimate.galetto import classify_patches
    nets = _nets()
    img = _photo()
    ys, xs = np.nonzero(np.random.default_rng(0).random(img.shape[:2]) < 0.05)
    cpu = K.edge_logits(img, ys, xs, nets, tile=32, device="cpu")
    gpu = K.edge_logits(img, ys, xs, nets, tile=32, device="cuda")
    for x, y in zip(cpu, gpu):
        np.testing.assert_allclose(y, x, rtol=1e-3, atol=1e-3)
    heads = K.DenseHeads(img, nets, tile=32, device="cuda")
    np.testing.assert_allclose(heads.logits(ys, xs)[0], cpu[0], rtol=1e-3, atol=1e-3)
    torch.manual_seed(0)
    net = MobileNetV2(width=0.35).eval()
    grey = np.random.default_rng(1).random((40, 50))
    pc = classify_patches(grey, net, stride=16, device="cpu")[1]
    pg = classify_patches(grey, net, stride=16, device="cuda")[1]
    np.testing.assert_allclose(pg, pc, atol=1e-4)
    assert next(net.parameters()).device.type == "cpu"  # the caller's network stays on the CPU


@cuda
@pytest.mark.cuda
def test_training_steps_on_cuda(tmp_path):
    from defocus_lab.models.train_galetto import GalettoConfig, train_galetto
    from defocus_lab.synth.patches import patch_dataset
    data = {s: patch_dataset(s, per_image=2, seed=0, progress=False) for s in ("train", "validation", "test")}
    report = train_galetto(tmp_path / "w.npz", GalettoConfig(max_steps=3, batch=16, width=0.35, device="cuda"),
                           progress=False, log=lambda *a: None, datasets=data)
    assert report["steps"] == 3 and (tmp_path / "w.npz").exists()


@pytest.mark.skipif(HAVE_CUDA, reason="checks the refusal on a machine without a GPU")
@pytest.mark.parametrize("method", ["karaali2022", "galetto2022"])
def test_the_device_reaches_every_torch_estimator_from_evaluate(method):
    """evaluate.run_one (the unit of the table and the sweeps) hands its device to the torch
    estimators: "cuda" here is refused by the estimator, and recorded as the row's error."""
    from defocus_lab.experiments import evaluate as ev
    row = ev.run_one(ev.SampleRef("motorcycle", "focus50"), method, device="cuda")
    assert "no CUDA GPU" in row["error"] and math.isnan(row["mae"])
    ok = ev.run_one(ev.SampleRef("motorcycle", "focus50"), "zhuo2011", device="cuda")  # numba: the CPU
    assert ok["error"] == "" and ok["mae"] < 1.0

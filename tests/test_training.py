"""Training path of Karaali 2022: synthetic patches and the (tiny-budget) training loop."""
import numpy as np
import pytest
import torch

from defocus_lab.data import bundled_sharp_images, load_stereo_motorcycle
from defocus_lab.models import karaali as K
from defocus_lab.models.train import TrainConfig, evaluate, train
from defocus_lab.synth.karaali import SharpPool, blur_patches, edge_patches


@pytest.fixture(scope="module")
def pool():
    return SharpPool(bundled_sharp_images()[:2])


def _sharpness(p):
    g = np.diff(p.mean(axis=1), axis=-1)
    return np.abs(g).max(axis=(1, 2))


def test_blur_patches_are_seeded_balanced_and_blurred_by_their_class(pool):
    x, y = blur_patches(pool, 460, np.random.default_rng(1))
    x2, y2 = blur_patches(pool, 460, np.random.default_rng(1))
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert x.shape == (460, 3, 41, 41) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert len(np.unique(y)) == 23 and np.bincount(y).min() >= 8
    sharp = _sharpness(x)
    low, high = np.median(sharp[y <= 3]), np.median(sharp[y >= 19])
    assert low > 2 * high  # wider disks leave flatter edges


def test_edge_patches_labels_and_depth_contrast(pool):
    disp = load_stereo_motorcycle()[2]
    x, y = edge_patches(pool, 120, np.random.default_rng(2), disparity=disp)
    assert x.shape == (120, 3, 41, 41) and set(np.unique(y)) == {0, 1}
    assert 0.3 < y.mean() < 0.7
    checker = np.kron((np.indices((8, 8)).sum(0) % 2), np.ones((8, 8)))[..., None].repeat(3, 2)  # 64x64
    with pytest.raises(ValueError, match="at least 96x96"):
        edge_patches(SharpPool([checker]), 1, np.random.default_rng(0), size=96)
    with pytest.raises(ValueError, match="no usable edges"):
        blur_patches(SharpPool([np.full((80, 80, 3), 0.5)]), 1, np.random.default_rng(0))


def test_training_runs_resumes_and_saves_loadable_weights(tmp_path, monkeypatch):
    monkeypatch.delenv("DEFOCUS_LAB_DATA", raising=False)  # the bundled smoke set
    out = tmp_path / "b.npz"
    # bounded by steps, not by time: the same work on a loaded machine (60 minutes never binds)
    cfg = TrainConfig(kind="bnet", minutes=60, max_steps=3, chunk=64, batch=32, validation=64, seed=3)
    r1 = train(out, cfg, progress=False, log=lambda *_: None)
    assert out.is_file() and r1["steps"] == 3 and 0 <= r1["validation"]["accuracy"] <= 1
    r2 = train(out, cfg, progress=False, log=lambda *_: None)
    assert r2["steps"] == 6 and r2["chunks"] > r1["chunks"]  # resumed, not restarted
    net = K.load_network(str(out), "bnet")
    assert net.kind == "bnet"
    # E-NET: f1 copied from that B-NET and frozen
    e_out = tmp_path / "e.npz"
    train(e_out, TrainConfig(kind="enet", minutes=60, max_steps=2, chunk=32, batch=16, validation=32, bnet=str(out)),
          progress=False, log=lambda *_: None)
    e = K.load_network(str(e_out), "enet")
    assert K._shared_f1([net, e])
    with pytest.raises(ValueError, match="needs a B-NET"):
        train(tmp_path / "x.npz", TrainConfig(kind="enet", minutes=0.01), progress=False)
    with pytest.raises(ValueError, match="kind"):
        train(tmp_path / "x.npz", TrainConfig(kind="cnet"), progress=False)


def test_evaluate_counts_correct_classes():
    torch.manual_seed(0)
    net = K.MultiScaleNet("bnet").eval()
    x = np.random.default_rng(0).random((20, 3, 41, 41)).astype(np.float32)
    with torch.no_grad():
        pred = net(torch.from_numpy(x)).argmax(1).numpy()
    y = pred.copy()
    y[:5] = (y[:5] + 2) % 23
    r = evaluate(net, x, y)
    assert r["accuracy"] == pytest.approx(0.75) and r["within_one_class"] == pytest.approx(0.75)
    assert r["mae_px"] == pytest.approx(np.mean(np.abs(pred - y)) * 0.25)


SELF_TRAINED = all(K.self_trained_path(k).is_file() for k in ("bnet", "enet"))


@pytest.mark.skipif(not SELF_TRAINED, reason="the self-trained weights are not in data/karaali2022")
def test_self_trained_weights_reproduce_their_validation_report():
    """The committed weights score what their report says on the validation data regenerated
    from the seed (data and weights belong together)."""
    import os

    from defocus_lab.experiments.karaali import training_reports
    from defocus_lab.models.train import _pools, validation_set
    reports = training_reports()
    assert set(reports) == {"bnet", "enet"}
    if not os.environ.get("DEFOCUS_LAB_DATA"):
        pytest.skip("the validation photos are under DEFOCUS_LAB_DATA/sharp")
    for kind in ("bnet", "enet"):
        r = reports[kind]
        cfg = TrainConfig(**r["config"])
        _, val, source = _pools()
        assert source == r["data"]
        disp = load_stereo_motorcycle()[2] if kind == "enet" else None
        x, y = validation_set(cfg, val, disp)
        got = evaluate(K.load_network("self-trained", kind), x, y)
        # the run evaluated its channels-last copy: float rounding may flip a borderline patch
        assert got["accuracy"] == pytest.approx(r["validation"]["accuracy"], abs=2.5 / len(y))

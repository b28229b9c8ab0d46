"""Galetto & Deng 2022: the patch dataset and the MobileNetV2 classifier."""
import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

import naive
from defocus_lab.models.mobilenet import InvertedResidual, MobileNetV2, load_mobilenet, make_divisible
from defocus_lab.synth import patches as P


@pytest.mark.parametrize("cin,cout,stride,expand", [(8, 8, 1, 6), (8, 16, 2, 6), (16, 8, 1, 1), (6, 6, 2, 1)])
def test_inverted_residual_matches_numpy(rng, cin, cout, stride, expand):
    torch.manual_seed(0)
    block = InvertedResidual(cin, cout, stride, expand)
    bns = [m for m in block.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:  # statistics as after training, not the identity
        m.running_mean.uniform_(-0.5, 0.5); m.running_var.uniform_(0.5, 2.0)
        m.weight.data.uniform_(0.5, 1.5); m.bias.data.uniform_(-0.3, 0.3)
    block.eval()
    convs = [m for m in block.modules() if isinstance(m, torch.nn.Conv2d)]
    x = rng.random((cin, 11, 9))
    with torch.no_grad():
        got = block(torch.from_numpy(x[None]).float())[0].double().numpy()

    def p(m):
        return tuple(t.detach().double().numpy() for t in (m.weight, m.bias, m.running_mean, m.running_var))

    w = [c.weight.detach().double().numpy() for c in convs]
    if expand == 1:
        want = naive.inverted_residual(x, None, None, w[0][:, 0], p(bns[0]), w[1][:, :, 0, 0], p(bns[1]), stride)
    else:
        want = naive.inverted_residual(x, w[0][:, :, 0, 0], p(bns[0]), w[1][:, 0], p(bns[1]), w[2][:, :, 0, 0],
                                       p(bns[2]), stride)
    assert block.residual == (stride == 1 and cin == cout)
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_mobilenet_shape_parameters_and_weights_round_trip(tmp_path):
    torch.manual_seed(0)
    net = MobileNetV2(classes=20, width=1.0).eval()
    assert sum(p.numel() for p in net.parameters()) == 2_248_916  # Sandler et al.'s layout, 20 classes, 1 channel
    x = torch.rand(3, 1, 32, 32)
    assert net.features(x).shape == (3, 1280, 1, 1)  # five stride-2 stages: 32 -> 1
    path = tmp_path / "m.npz"
    net.save_npz(path)
    back = load_mobilenet(path)
    with torch.no_grad():
        np.testing.assert_allclose(back(x).numpy(), net(x).numpy(), atol=1e-5)
    half = MobileNetV2(width=0.5)
    assert make_divisible(16 * 0.5) == 8 and half.features[0].out_channels == 16
    with pytest.raises(FileNotFoundError, match="train galetto"):
        load_mobilenet(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="width"):
        MobileNetV2(width=0)


def test_sharpness_is_the_variance_of_the_laplacian_per_patch(rng):
    grey = rng.random((70, 100))
    s = P.sharpness(grey)
    assert s.shape == (2, 3)
    g = ndi.gaussian_filter(grey * 255, 0.5, truncate=2.0, mode="nearest")
    lap = ndi.convolve(g, np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float), mode="nearest")
    assert s[1, 2] == pytest.approx(lap[32:64, 64:96].var())
    flat = np.full((64, 64), 0.5)
    flat[:, 32:] = np.tile([0.0, 1.0], (64, 16))  # sharp stripes right, flat left
    np.testing.assert_array_equal(P.sharp_positions(flat), [[0, 32], [32, 32]])


def test_blurred_crops_equal_cropping_the_blurred_photo(rng):
    grey = ndi.gaussian_filter(rng.random((150, 170)), 1.0)
    pos = np.array([[0, 0], [64, 96], [118, 138], [40, 10]])
    crops = P.blurred_crops(grey, pos, sigmas=(0, 1, 5, 19))
    for j, s in enumerate((0, 1, 5, 19)):
        whole = grey if s == 0 else ndi.gaussian_filter(grey, s, truncate=P.TRUNCATE, mode="reflect")
        for i, (y, x) in enumerate(pos):
            np.testing.assert_allclose(crops[i, j], whole[y:y + 32, x:x + 32], atol=1e-6)


def test_patch_dataset_is_balanced_split_by_photo_and_cached(tmp_path, monkeypatch):
    """On two synthetic 'photos' per split kind, cached in a temporary folder."""
    rng = np.random.default_rng(3)
    photos = [ndi.zoom(rng.random((80, 100)), 2, order=1) for _ in range(6)]  # sharp texture, 160x200
    monkeypatch.setattr(P, "_sources", lambda: [(f"coco/{i}.jpg", lambda i=i: photos[i]) for i in range(6)])
    sets = {s: P.patch_dataset(s, per_image=3, seed=1, cache_root=tmp_path, progress=False) for s in P.SPLITS}
    assert sum(len(v) for v in sets.values()) == 6 * 3 * P.CLASSES
    for s in sets.values():
        np.testing.assert_array_equal(s.balance(), s.balance()[0])  # every patch in all 20 classes
    seen = [set(np.unique(s.source)) for s in sets.values()]
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])  # a photo in one split only
    assert len(list(tmp_path.glob("patches-*.npz"))) == 1
    again = P.patch_dataset("train", per_image=3, seed=1, cache_root=tmp_path, progress=False)
    np.testing.assert_array_equal(again.x, sets["train"].x)
    x = again.as_float([0, 1])
    assert x.shape == (2, 1, 32, 32) and x.dtype == np.float32 and x.max() <= 1.0
    np.testing.assert_array_equal(np.rint(x * 255) / 255, x)  # 8-bit by default, as a photo
    assert again.x.dtype == np.uint16  # stored finer than 8 bits
    # the paper's protocol: the same samples, shuffled and cut 80 / 10 / 10 whatever their photo
    by_patch = {s: P.patch_dataset(s, per_image=3, seed=1, protocol="patch", cache_root=tmp_path, progress=False)
                for s in P.SPLITS}
    assert [len(by_patch[s]) for s in P.SPLITS] == [288, 36, 36]
    assert set(np.unique(by_patch["test"].source)) & set(np.unique(by_patch["train"].source))
    assert len(list(tmp_path.glob("patches-*.npz"))) == 1  # both protocols read one cache
    with pytest.raises(ValueError, match="protocol"):
        P.patch_dataset("train", protocol="image", cache_root=tmp_path)
    # class k of a patch is blur sigma k: the variance of its Laplacian falls with k
    one = again.x[again.source == again.source[0]][:P.CLASSES].astype(float)
    lap = [ndi.laplace(p).var() for p in one]
    assert lap[0] > lap[1] > lap[5] > lap[19]
    with pytest.raises(ValueError, match="split"):
        P.patch_dataset("dev", cache_root=tmp_path)


def test_network_input_is_rounded_to_eight_bits_after_the_noise():
    x16 = np.full((400, 32, 32), round(0.5 * P.FIXED), np.uint16)
    x16[:, :, 16:] = round(0.3021 * P.FIXED)  # between two 8-bit levels
    clean = P.to_network(x16)
    assert clean.shape == (400, 1, 32, 32)
    np.testing.assert_allclose(clean[0, 0, 0, 20], round(0.3021 * 255) / 255, atol=1e-7)
    np.testing.assert_allclose(P.to_network(x16, bits=16)[0, 0, 0, 20], 0.3021, atol=1e-4)
    noisy = P.to_network(x16, noise=0.02, rng=np.random.default_rng(0))
    sd = (noisy[:, 0, :, :16] - 0.5).reshape(400, -1).std(1)
    assert 0.0 <= sd.min() < 0.004 and 0.018 < sd.max() < 0.022  # one level per patch in [0, noise]
    assert abs(sd.mean() - 0.01) < 0.0015
    np.testing.assert_array_equal(np.rint(noisy * 255) / 255, noisy)
    with pytest.raises(ValueError, match="rng"):
        P.to_network(x16, noise=0.01)
    with pytest.raises(ValueError, match="bits"):
        P.to_network(x16, bits=12)


def test_ordinal_targets_peak_at_the_label():
    from defocus_lab.models.train_galetto import soft_targets
    t = soft_targets(torch.tensor([0, 7, 19]), 20, 1.0).numpy()
    np.testing.assert_allclose(t.sum(1), 1.0, rtol=1e-6)
    assert t[1].argmax() == 7 and t[1, 6] == pytest.approx(t[1, 8]) and t[1, 6] == pytest.approx(t[1, 7] * np.exp(-0.5))
    assert t[0, 0] > t[0, 1] > t[0, 2] and t[2].argmax() == 19


def test_split_keeps_kodak_and_mcmaster_for_testing():
    names = [f"coco/{i}" for i in range(10)] + ["kodak24/a", "mcmaster/b"]
    split = P.split_sources(names, seed=0)
    assert split["kodak24/a"] == split["mcmaster/b"] == "test"
    assert sum(v == "train" for v in split.values()) == 9 and sum(v == "validation" for v in split.values()) == 1  # 8 : 1
    assert P.split_sources(names, seed=0) == split


def _tiny_sets(rng, n_photos=(3, 1, 1), per=2):
    """PatchSets made from random textures, for the training loop's mechanics."""
    from defocus_lab.synth.patches import PatchSet, photo_patches
    out = {}
    k = 0
    for split, n in zip(P.SPLITS, n_photos):
        xs, ys, src = [], [], []
        for _ in range(n):
            grey = ndi.zoom(rng.random((48, 48)), 2, order=1)
            p = photo_patches(grey, per, rng)
            xs.append(p.reshape(-1, 32, 32)); ys.append(np.tile(np.arange(20), len(p))); src.append(np.full(len(p) * 20, k))
            k += 1
        out[split] = PatchSet(np.concatenate(xs), np.concatenate(ys), np.concatenate(src), [])
    return out


def test_training_runs_resumes_and_reports(rng, tmp_path):
    from defocus_lab.models.train_galetto import GalettoConfig, train_galetto
    sets = _tiny_sets(rng)
    out = tmp_path / "g.npz"
    cfg = GalettoConfig(minutes=60, max_steps=3, batch=16, width=0.35, checkpoint_steps=2)
    r1 = train_galetto(out, cfg, progress=False, log=lambda *_: None, datasets=sets)
    assert r1["steps"] == 3 and out.is_file() and out.with_name("g.npz.ckpt.pt").is_file()
    r2 = train_galetto(out, cfg, progress=False, log=lambda *_: None, datasets=sets)
    assert r2["steps"] == 6 and r2["epochs"] == pytest.approx(6 * 16 / len(sets["train"]))
    t = r2["test"]
    assert t["n"] == len(sets["test"]) and np.sum(t["confusion"]) == t["n"] and 0 <= t["accuracy"] <= t["within_one"]
    assert len(r2["history"]) >= 2 and {"val_loss", "val_accuracy"} <= set(r2["history"][-1])
    net = load_mobilenet(out)
    assert net(torch.zeros(2, 1, 32, 32)).shape == (2, 20)
    with pytest.raises(ValueError, match="fewer than one batch"):
        train_galetto(tmp_path / "x.npz", GalettoConfig(batch=10_000), progress=False, datasets=sets)


def test_training_from_earlier_weights_and_the_new_recipe_options(rng, tmp_path):
    """init= starts from a run's weights (lr 0: the weights stay theirs after a step); the
    ordinal loss, the noise and the float patches run; a width mismatch is refused."""
    from defocus_lab.models.train_galetto import GalettoConfig, train_galetto
    sets = _tiny_sets(rng)
    first = tmp_path / "a.npz"
    train_galetto(first, GalettoConfig(max_steps=2, batch=16, width=0.35), progress=False, log=lambda *_: None,
                  datasets=sets)
    cfg = GalettoConfig(max_steps=1, batch=16, width=0.35, lr=0.0, init=str(first), loss="ordinal", noise=0.01,
                        bits=16)
    r = train_galetto(tmp_path / "b.npz", cfg, progress=False, log=lambda *_: None, datasets=sets)
    assert r["steps"] == 1 and r["config"]["init"] == str(first)
    a, b = load_mobilenet(first).state_dict(), load_mobilenet(tmp_path / "b.npz").state_dict()
    for k in a:
        if "running" not in k and "num_batches" not in k:  # batch-norm statistics move in train mode
            np.testing.assert_array_equal(a[k].numpy(), b[k].numpy())
    with pytest.raises(ValueError, match="match --width"):
        train_galetto(tmp_path / "c.npz", GalettoConfig(max_steps=1, batch=16, width=0.5, init=str(first)),
                      progress=False, datasets=sets)
    with pytest.raises(ValueError, match="loss"):
        train_galetto(tmp_path / "d.npz", GalettoConfig(loss="hinge"), progress=False, datasets=sets)


def test_symmetries_keep_each_patch_up_to_a_flip(rng):
    from defocus_lab.models.train_galetto import _symmetries
    x = torch.from_numpy(rng.random((64, 1, 8, 8)).astype(np.float32))
    y = _symmetries(x, np.random.default_rng(0))
    for a, b in zip(x[:, 0].numpy(), y[:, 0].numpy()):
        variants = [np.rot90(a, k) for k in range(4)] + [np.rot90(a.T, k) for k in range(4)]
        assert any(np.array_equal(b, v) for v in variants)
    assert not torch.equal(x, y)


def test_classification_scores():
    from defocus_lab.metrics import classification_scores
    s = classification_scores([0, 1, 2, 2, 3], [0, 1, 1, 2, 0], 4)
    assert s["accuracy"] == pytest.approx(3 / 5) and s["within_one"] == pytest.approx(4 / 5)
    assert s["confusion"][1] == [0, 1, 1, 0] and s["precision"][2] == pytest.approx(0.5)
    assert s["recall"][0] == pytest.approx(0.5)
    assert s["precision"][3] == 0.0 and np.isnan(s["recall"][3]) and np.isnan(s["f1"][3])  # class 3 never true
    with pytest.raises(ValueError, match="classes"):
        classification_scores([4], [0], 4)


def test_cli_trains_on_the_bundled_photos_without_data(tmp_path, monkeypatch):
    """`defocus-lab train galetto` without DEFOCUS_LAB_DATA: the bundled photos, a smoke run."""
    import json
    from defocus_lab.cli import main
    monkeypatch.delenv("DEFOCUS_LAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out, rep = tmp_path / "g.npz", tmp_path / "r.json"
    assert main(["train", "galetto", "--out", str(out), "--max-steps", "2", "--batch", "32", "--width", "0.35",
                 "--per-image", "2", "--report", str(rep), "--quiet"]) == 0
    r = json.loads(rep.read_text())
    assert r["steps"] == 2 and r["config"]["width"] == 0.35 and r["photos"]["train"] >= 1
    assert list((tmp_path / "cache" / "defocus_lab" / "galetto2022").glob("patches-*.npz"))


@pytest.mark.parametrize("stride", [4, 8, 16, 32, 12])
def test_patch_mean_matches_a_loop_over_patches(rng, stride):
    from defocus_lab.estimate.galetto import patch_grid, patch_mean
    shape = (70, 93)
    pad, ys, xs = patch_grid(shape, stride)
    classes = rng.integers(0, 20, (len(ys), len(xs)))
    got = patch_mean(classes, ys, xs, shape, pad)
    np.testing.assert_allclose(got, naive.patch_mean(classes, ys, xs, shape, pad), atol=1e-9)
    # every pixel is covered; under the same (32 / stride)^2 patches when the stride divides 32
    cover = np.zeros(shape)
    for y in ys:
        for x in xs:
            cover[max(y - pad, 0):max(y - pad + 32, 0), max(x - pad, 0):max(x - pad + 32, 0)] += 1
    assert cover.min() >= 1
    if 32 % stride == 0:
        np.testing.assert_array_equal(cover, (32 // stride) ** 2)


def test_classify_patches_is_the_network_on_each_patch(rng):
    from defocus_lab.estimate.galetto import classify_patches, patch_grid
    torch.manual_seed(0)
    net = MobileNetV2(width=0.35).eval()
    grey = rng.random((40, 50))
    classes, probs, pad, ys, xs = classify_patches(grey, net, stride=16, batch=7)
    padded = np.pad(grey, pad, mode="symmetric").astype(np.float32)
    i, j = len(ys) - 1, 1
    patch = torch.from_numpy(padded[ys[i]:ys[i] + 32, xs[j]:xs[j] + 32][None, None].copy())
    with torch.no_grad():
        want = torch.softmax(net(patch), 1)[0].numpy()
    np.testing.assert_allclose(probs[i, j], want, atol=1e-5)
    assert classes.shape == (len(ys), len(xs)) and classes[i, j] == want.argmax()
    with pytest.raises(ValueError, match="stride"):
        patch_grid((40, 50), 33)


def test_folded_batchnorm_is_the_same_network():
    from defocus_lab.models.mobilenet import fold_batchnorm
    torch.manual_seed(1)
    net = MobileNetV2(width=0.5)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2); m.running_var.uniform_(0.5, 2.0); m.weight.data.uniform_(0.5, 1.5)
    net.eval()
    fast = fold_batchnorm(net)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    x = torch.rand(5, 1, 32, 32)
    with torch.no_grad():
        np.testing.assert_allclose(fast(x).numpy(), net(x).numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("r,eps", [(1, 1e-3), (3, 0.005), (8, 1e-6)])
def test_weighted_guided_filter_matches_numpy(rng, r, eps):
    from defocus_lab.kernels.wgif import edge_aware_weights, weighted_guided_filter
    guide = ndi.gaussian_filter(rng.random((23, 31)), 1.0)
    guide[:, 15:] += 0.5  # an edge
    p = rng.random((23, 31))
    got = weighted_guided_filter(guide, p, r, eps)
    np.testing.assert_allclose(got, naive.weighted_guided_filter(guide, p, r, eps), atol=1e-9)
    # self-guided (the shortcut that sums G and G^2 only), and windows wider than the image
    np.testing.assert_allclose(weighted_guided_filter(guide, guide, r, eps),
                               naive.weighted_guided_filter(guide, guide.copy(), r, eps), atol=1e-9)
    np.testing.assert_allclose(weighted_guided_filter(guide, p, 40, eps),
                               naive.weighted_guided_filter(guide, p, 40, eps), atol=1e-9)
    gamma = edge_aware_weights(guide)
    assert np.mean(1 / gamma) == pytest.approx(1.0)
    assert gamma[:, 14:17].mean() > gamma[:, :10].mean()  # the edge weighs more than the flat part
    with pytest.raises(ValueError, match="grey"):
        weighted_guided_filter(np.zeros((5, 5, 3)), np.zeros((5, 5)), 1, 0.1)


def test_weighted_guided_filter_keeps_an_edge_better_than_the_guided_filter(rng):
    """Li et al.'s claim: the edge-aware ridge keeps edges a plain guided filter blurs (same eps)."""
    from defocus_lab.kernels.guided import guided_filter
    from defocus_lab.kernels.wgif import weighted_guided_filter
    step = np.full((40, 60), 0.2); step[:, 30:] = 0.8
    noisy = np.clip(step + 0.05 * rng.standard_normal(step.shape), 0, 1)
    w = weighted_guided_filter(noisy, noisy, 6, 0.05)
    g = guided_filter(noisy, noisy, 6, 0.05)
    edge = slice(27, 33)
    assert np.abs(w[:, edge] - step[:, edge]).mean() < np.abs(g[:, edge] - step[:, edge]).mean()


def test_refinement_makes_a_blocky_map_follow_the_silhouette(rng):
    """A blocky map of a disk-shaped object (the patch classifier's 16 px blocks) is refined
    toward the true silhouette; texture of the guide does not come through."""
    from defocus_lab.propagate.wgif import smoothed_guide, wgif
    from defocus_lab.types import SparseBlur
    H, W = 96, 128
    yy, xx = np.mgrid[:H, :W]
    inside = (yy - 48) ** 2 + (xx - 64) ** 2 < 30 ** 2
    img = np.where(inside, 0.7, 0.3) + 0.08 * (rng.random((H, W)) - 0.5)  # object + fine texture
    truth = np.where(inside, 0.0, 6.0)
    blocky = truth.reshape(6, 16, 8, 16).mean(axis=(1, 3)).repeat(16, 0).repeat(16, 1)
    sparse = SparseBlur(blocky, np.ones((H, W), bool))
    out = wgif(img, sparse, radius=8, eps=0.005, iterations=3)
    near = np.abs(ndi.distance_transform_edt(inside) - ndi.distance_transform_edt(~inside)) < 8
    assert np.abs(out - truth)[near].mean() < 0.8 * np.abs(blocky - truth)[near].mean()
    g = smoothed_guide(img, 8, 0.005, 3)
    assert np.std(g[20:30, 5:25]) < 0.5 * np.std(img[20:30, 5:25])  # texture smoothed away
    demo = wgif(img, sparse, radius=4, variant="demo")
    assert demo.shape == (H, W) and demo.min() >= 0
    # a sparse estimate is filled by the nearest value first (the lab's choice, module docstring)
    from defocus_lab.propagate.wgif import nearest_fill
    edge = inside & ~ndi.binary_erosion(inside)
    np.testing.assert_array_equal(wgif(img, SparseBlur(blocky, edge), radius=4, iterations=1),
                                  wgif(img, SparseBlur(nearest_fill(blocky, edge), np.ones((H, W), bool)),
                                       radius=4, iterations=1))


def test_nearest_fill_against_a_brute_force_search(rng):
    from defocus_lab.propagate.wgif import nearest_fill
    values = rng.random((23, 31))
    mask = rng.random((23, 31)) < 0.05
    out = nearest_fill(values, mask)
    ky, kx = np.nonzero(mask)
    yy, xx = np.mgrid[:23, :31]
    d2 = (yy[..., None] - ky) ** 2 + (xx[..., None] - kx) ** 2
    best = d2.min(-1)
    # every pixel holds the value of one of its nearest estimates (ties may go either way)
    hit = (d2 == best[..., None]) & np.isclose(values[ky, kx], out[..., None])
    assert hit.any(-1).all()
    np.testing.assert_array_equal(out[mask], values[mask])
    with pytest.raises(ValueError, match="no value"):
        nearest_fill(values, np.zeros((23, 31), bool))


def test_estimator_gives_a_dense_map_of_classes(rng, tmp_path):
    from defocus_lab.estimate.galetto import galetto2022
    torch.manual_seed(0)
    net = MobileNetV2(width=0.35).eval()
    path = tmp_path / "w.npz"
    net.save_npz(path)
    img = rng.random((50, 70, 3))
    sb = galetto2022(img, weights=path, stride=16)
    assert sb.mask.all() and sb.values.shape == (50, 70) and 0 <= sb.values.min() <= sb.values.max() <= 19
    demo = galetto2022(img, weights=path, stride=8, variant="demo")
    assert demo.values.max() <= 18  # max(class - 1, 0)
    with pytest.raises(ValueError, match="edge map"):
        galetto2022(img, weights=path, edges=np.ones((50, 70), bool))
    with pytest.raises(ValueError, match="variant"):
        galetto2022(img, weights=path, variant="keras")


def test_a_large_photo_is_classified_on_a_copy_with_its_classes_in_photo_px(tmp_path, monkeypatch):
    """The photo-size rule: above max_pixels the patches come from a scaled copy, and a class c
    on the copy is sqrt(c^2 - a^2) / f photo px (a the copy's anti-aliasing blur)."""
    from defocus_lab.estimate import galetto as G
    seen = {}

    def fake(grey, net, stride, **kw):  # every patch of the copy in class 4
        seen["shape"] = grey.shape
        pad, ys, xs = G.patch_grid(grey.shape, stride)
        return np.full((len(ys), len(xs)), 4), None, pad, ys, xs

    monkeypatch.setattr(G, "classify_patches", fake)
    monkeypatch.setattr("defocus_lab.models.mobilenet.load_classifier", lambda w: None)
    img = np.random.default_rng(0).random((400, 600))
    out = G.galetto2022(img, max_pixels=60_000)
    f = np.sqrt(60_000 / 240_000)
    assert seen["shape"] == (200, 300) and out.values.shape == (400, 600)
    np.testing.assert_allclose(out.values, np.sqrt(16 - ((1 - f) / 2) ** 2) / f, rtol=1e-9)
    G.galetto2022(img, max_pixels=None)
    assert seen["shape"] == (400, 600)
    assert G.copy_scale((400, 600), 240_000) == 1.0
    with pytest.raises(ValueError, match="max_pixels"):
        G.galetto2022(img, max_pixels=100)
    with pytest.raises(ValueError, match="scale"):
        G.class_sigma([1], 1.5)


def test_sharpening_gain_is_the_product_of_two_sigmoids():
    from defocus_lab.apps.enhance import sharpening_gain
    M = np.array([0.0, 0.1 * 19, 0.27 * 19, 19.0])
    g = sharpening_gain(M, alpha1=46, beta1=0.1, alpha2=183, beta2=0.27, lam_max=2)
    s = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    want = 2 * s(46 * (M / 19 - 0.1)) * (1 - s(183 * (M / 19 - 0.27)))
    np.testing.assert_allclose(g, want)
    assert g[0] < 0.02 and g[-1] < 1e-6 and g[1] == pytest.approx(1.0, rel=0.01)  # half of lam_max at beta1


def test_sdof_weights_hit_their_two_points_and_never_rise_again():
    from defocus_lab.apps.enhance import sdof_parameters, sdof_weights
    sigma, gamma = sdof_parameters(1, 7)
    w = sdof_weights(np.array([1.0, 7.0, 10.0, 19.0]), 1, 7)
    assert w[0] == pytest.approx(0.999) and w[1] == pytest.approx(0.001) and w[2] == 0 and w[3] == 0
    m = np.linspace(0, 19, 200)
    assert np.all(np.diff(sdof_weights(m)) <= 1e-12)  # monotone: more blur, less of the sharp image
    with pytest.raises(ValueError, match="c0"):
        sdof_parameters(7, 1)


def test_adaptive_sharpening_leaves_sharp_and_very_blurred_areas_alone(rng):
    from defocus_lab.apps.enhance import adaptive_unsharp_mask, unsharp_mask
    img = np.clip(0.5 + 0.2 * ndi.gaussian_filter(rng.standard_normal((40, 60, 3)), (1, 1, 0)), 0, 1)
    M = np.zeros((40, 60)); M[:, 20:40] = 0.18 * 19; M[:, 40:] = 19.0  # sharp | mid | very blurred
    out = adaptive_unsharp_mask(img, M)
    diff = np.abs(out - img).mean(axis=(0, 2))
    assert diff[:20].mean() < 0.1 * diff[20:40].mean() and diff[40:].mean() < 0.01 * diff[20:40].mean()
    np.testing.assert_allclose(unsharp_mask(img, 0.0), img)


def test_shallow_depth_of_field_keeps_the_subject_and_blurs_the_rest(rng):
    from defocus_lab.apps.enhance import shallow_depth_of_field
    img = np.clip(0.5 + 0.2 * rng.standard_normal((48, 64, 3)), 0, 1)
    M = np.full((48, 64), 9.0); M[:, :32] = 0.5
    out, w = shallow_depth_of_field(img, M, blurred=ndi.gaussian_filter(img, (4, 4, 0)))
    assert w[:, :32].min() > 0.99 and w[:, 32:].max() < 0.01
    assert out[:, 40:].std() < 0.5 * img[:, 40:].std()
    assert np.abs(out[:, :24] - img[:, :24]).mean() < 0.1


def test_guided_smoothing_removes_texture_and_keeps_a_strong_edge(rng):
    from defocus_lab.apps.enhance import guided_smoothing
    img = np.full((48, 64), 0.2); img[:, 32:] = 0.9
    tex = np.clip(img + 0.03 * rng.standard_normal(img.shape), 0, 1)
    out = guided_smoothing(tex, radius=8, iterations=3)
    assert out[:, 5:25].std() < 0.5 * tex[:, 5:25].std()
    assert out[:, 36:].mean() - out[:, :28].mean() > 0.6  # the edge's contrast kept


def test_fig3_levels_and_the_timing_model():
    from defocus_lab.experiments.galetto import fig3_levels, timing_model
    lv = fig3_levels()
    assert lv.shape == (20, 32, 32)
    lap = [ndi.laplace(p.astype(float)).var() for p in lv]
    assert all(a > b for a, b in zip(lap[:6], lap[1:7]))  # sharper to blurrier
    t = timing_model((700, 1000), (16, 4), 9.9e-3)
    assert t[16] == pytest.approx(9.9e-3 * 7e5 / 256) and t[4] == pytest.approx(16 * t[16])
    with pytest.raises(ValueError, match="sharp"):
        fig3_levels(np.full((64, 64), 0.5))


# ----------------------------------------------------------------------------- figures, tables, pipeline

def _half_blurred(rng, shape=(96, 160), sigma=6.0):
    """Texture, sharp on the left half and blurred by ``sigma`` (whole image, then cut) on the right."""
    tex = ndi.gaussian_filter(rng.random(shape), 1.0)
    tex = (tex - tex.min()) / np.ptp(tex)
    img = tex.copy()
    img[:, shape[1] // 2:] = ndi.gaussian_filter(tex, sigma)[:, shape[1] // 2:]
    return np.repeat(img[..., None], 3, axis=-1)


def test_precision_recall_counts_against_a_direct_count(rng):
    from defocus_lab.metrics import best_threshold_accuracy, pr_curve, precision_recall
    m = rng.random((40, 50))
    m[:5] = 0.5  # ties
    gt = rng.random((40, 50)) < 0.3
    c = precision_recall(m, gt, n=21)
    lo, hi = m.min(), m.max()
    for k, a in enumerate(c["a"]):
        p = m > a * hi + (1 - a) * lo
        assert (c["tp"][k], c["fp"][k], c["fn"][k]) == ((p & gt).sum(), (p & ~gt).sum(), (~p & gt).sum())
    # the best accuracy of the sweep is best_threshold_accuracy's
    acc = (c["tp"] + (gt.size - c["tp"] - c["fp"] - c["fn"])) / gt.size
    assert acc.max() == pytest.approx(best_threshold_accuracy(m, gt, n=21)[0])
    perfect = pr_curve([precision_recall(gt * 1.0 + 0.01 * rng.random(gt.shape), gt)])
    assert perfect["ap"] == pytest.approx(1.0)
    chance = pr_curve([precision_recall(rng.random((200, 200)), rng.random((200, 200)) < 0.3)])
    assert chance["ap"] == pytest.approx(0.3, abs=0.02)
    with pytest.raises(ValueError, match="share a shape"):
        precision_recall(m, gt[:-1])


def test_classical_measures_and_the_network_agree_on_which_half_is_blurred(rng):
    from defocus_lab.experiments.galetto import patch_measures
    img = _half_blurred(rng)
    maps = patch_measures(img, stride=16)
    left, right = np.s_[:, :48], np.s_[:, 112:]
    for k in ("entropy", "std", "laplacian variance"):
        assert maps[k][right].mean() < 0.8 * maps[k][left].mean(), k
    net = maps["network (sigma px)"]
    assert net[right].mean() > net[left].mean() + 2.0
    assert all(m.shape == img.shape[:2] for m in maps.values())


def test_the_pipeline_runs_galetto2022_converts_units_and_any_propagator_refines_it(rng):
    import defocus_lab as dl
    from defocus_lab.experiments.galetto import every_method
    img = _half_blurred(rng)
    sigma, sparse = dl.estimate_defocus(img, method="galetto2022")
    assert sparse.mask.all() and sparse.units == "sigma"
    disk, _ = dl.estimate_defocus(img, method="galetto2022", units="disk")
    from defocus_lab.conventions import convert_units
    np.testing.assert_allclose(disk, convert_units(sigma, "sigma", "disk"))
    for prop in ("matting", "domain_transform"):
        other, _ = dl.estimate_defocus(img, method="galetto2022", propagation=prop)
        assert other[:, 112:].mean() > other[:, :48].mean() + 2.0, prop
    with pytest.raises(ValueError, match="no edge map"):
        dl.estimate_defocus(img, method="galetto2022", edges=np.ones(img.shape[:2], bool))
    rows = every_method(img, ["zhuo2011", "galetto2022"])
    assert set(rows["maps"]) == {"zhuo2011", "galetto2022"} and not rows["skipped"]
    assert all(r["map"].shape == img.shape[:2] for r in rows["maps"].values())


# ----------------------------------------------------------------------------- explorers (headless)

@pytest.fixture(scope="module")
def scene():
    return _half_blurred(np.random.default_rng(5), shape=(200, 360))  # above the working size


def test_map_explorer_stride_threshold_and_guide(scene):
    import matplotlib
    matplotlib.use("Agg")
    from defocus_lab.ui import galetto as ui
    e = ui.MapExplorer(scene)
    first = e.result
    assert first["map"].shape == e.image.shape[:2] and e.factor < 1
    e.controls["threshold"].value = 19.0
    assert not e.result["blurred"].any() and first["blurred"].any()
    e.controls["stride"].value = 8
    assert not np.array_equal(e.result["blocky"], first["blocky"])
    e.controls["variant"].value = "demo"
    assert e.controls["iterations"].disabled  # the demo smooths its guide once
    e.reset()
    np.testing.assert_array_equal(e.result["map"], first["map"])
    # full resolution: the threshold keeps its meaning in the photo's pixels
    e.controls["threshold"].value = 2.0
    twin, full = e._full_run()
    assert full["map"].shape == scene.shape[:2]
    np.testing.assert_array_equal(full["blurred"], full["map"] > 2.0 / e.factor)


def test_sharpening_explorer_gain_and_depth_of_field_explorer(scene):
    import matplotlib
    matplotlib.use("Agg")
    from defocus_lab.ui import galetto as ui
    s = ui.SharpeningExplorer(scene)
    s.controls["lam_max"].value = 0.0
    np.testing.assert_allclose(s.result["adaptive"], s.image)  # no gain, no change
    s.controls["lam_max"].value = 2.0
    g = s.result["gain"]
    assert g.max() <= 2.0 and not np.allclose(s.result["adaptive"], s.image)
    d = ui.DepthOfFieldExplorer(scene)
    w = d.result["weights"]
    assert 0 <= w.min() and w.max() <= 1 and d.result["lens"].shape == scene.shape
    d.controls["c0"].value = 8.0  # above c1: refused in the status line, not raised
    assert "Cannot compute" in d.status.value and "c0 must lie below c1" in d.status.value
    lv = ui.LevelsExplorer()
    lv.controls["cls"].value = 0
    assert lv.result["probs"].shape == (20,) and lv.result["probs"].sum() == pytest.approx(1.0, abs=1e-4)


def test_the_plain_cnn_of_table_2_trains_with_the_same_loop(rng, tmp_path):
    from defocus_lab.models.mobilenet import MobileNetV2, PlainCNN
    from defocus_lab.models.train_galetto import GalettoConfig, train_galetto
    net = PlainCNN()
    assert net(torch.zeros(3, 1, 32, 32)).shape == (3, 20)
    n_plain = sum(p.numel() for p in net.parameters())
    n_mobile = sum(p.numel() for p in MobileNetV2(width=0.5).parameters())
    assert 2e5 < n_plain < 3e5 and n_mobile > 2.5 * n_plain
    sets = _tiny_sets(rng)
    r = train_galetto(tmp_path / "p.npz", GalettoConfig(max_steps=2, batch=16, arch="plain4"), progress=False,
                      log=lambda *_: None, datasets=sets)
    assert r["arch"] == "plain4" and r["parameters"] == n_plain and r["steps"] == 2
    with pytest.raises(ValueError, match="arch must be one of"):
        train_galetto(tmp_path / "q.npz", GalettoConfig(arch="resnet"), progress=False, datasets=sets)


# ----------------------------------------------------------------------------- the shipped classifier

requires_data = pytest.mark.skipif(
    not __import__("os").environ.get("DEFOCUS_LAB_DATA"), reason="needs DEFOCUS_LAB_DATA (the sharp photos)")


# the shipped run's test split (data/galetto2022/report.json): top-1 0.532, within one 0.825, with noise
# within one 0.770 (stage 1, without noise in training: 0.519, 0.811 and 0.390)
ACCURACY, WITHIN_ONE, NOISY_WITHIN_ONE = 0.52, 0.815, 0.74


@pytest.fixture(scope="module")
def test_split():
    from defocus_lab.experiments.galetto import training_report
    return P.split_patches("test", per_image=training_report()["config"]["per_image"], seed=0)


@requires_data
def test_the_shipped_report_is_what_the_shipped_weights_score_on_the_test_split(test_split):
    """Tables 2-3's numbers: the held-out test split (the Kodak24 and McMaster photos) re-scored
    with the shipped weights gives the report's top-1 and within-one accuracy, on clean 8-bit
    patches and on patches with noise after the blur. The paper's 0.9704 is not reached on our
    CPU budget: the bounds below are what the shipped run reaches, so that a worse retraining
    fails here."""
    from defocus_lab.experiments.galetto import training_report
    from defocus_lab.metrics import classification_scores
    from defocus_lab.models.mobilenet import SELF_TRAINED
    from defocus_lab.models.train_galetto import predict
    report = training_report()
    assert len(test_split) == report["patches"]["test"] and report["photos"]["test"] >= 30
    net = load_mobilenet(SELF_TRAINED)
    s = classification_scores(predict(net, test_split.as_float()).argmax(1), test_split.y, 20)
    assert s["accuracy"] == pytest.approx(report["test"]["accuracy"], abs=0.003)
    assert s["within_one"] == pytest.approx(report["test"]["within_one"], abs=0.003)
    assert s["accuracy"] > ACCURACY and s["within_one"] > WITHIN_ONE
    # the light blurs are told apart far better than the heavy ones (Table 3's pattern)
    assert np.mean(s["recall"][:4]) > 2 * np.mean(s["recall"][15:])
    # trained with noise after the blur, the network keeps its within-one on noisy patches
    noisy = test_split.as_float(noise=0.01, rng=np.random.default_rng(2022))
    n = classification_scores(predict(net, noisy).argmax(1), test_split.y, 20)
    assert n["within_one"] > NOISY_WITHIN_ONE


@requires_data
def test_split_patches_is_patch_datasets_split(tmp_path, monkeypatch):
    """The one-split maker gives the very patches of the whole set's split (on a few photos)."""
    every = P._sources()
    few = every[:8] + [s for s in every if "kodak" in s[0]][:3]
    monkeypatch.setattr(P, "_sources", lambda: few)
    for split in ("train", "test"):
        whole = P.patch_dataset(split, per_image=2, seed=1, progress=False, cache_root=tmp_path)
        one = P.split_patches(split, per_image=2, seed=1)
        np.testing.assert_array_equal(whole.x, one.x)
        np.testing.assert_array_equal(whole.y, one.y)
        np.testing.assert_array_equal(whole.source, one.source)
        assert len(one) > 0


CUHK_GALETTO_MEAN, CUHK_GALETTO_AP = 0.940, 0.975  # the shipped weights (issue 26; stage 1 gave 0.933 / 0.949)


@requires_data
def test_table5_cuhk_best_threshold_accuracy_of_galetto2022():
    """Table 5's protocol (best threshold per image) on the 6 CUHK images here, at full size, with
    the shipped classifier and the paper's refinement. The paper: 0.8771 over 200 images."""
    from defocus_lab.experiments.galetto import cuhk_table
    r = cuhk_table(methods=["galetto2022"])
    assert len(r["images"]) == 6 and not r["skipped"]
    assert r["mean"]["galetto2022"] == pytest.approx(CUHK_GALETTO_MEAN, abs=0.015)
    assert r["pr"]["galetto2022"]["ap"] == pytest.approx(CUHK_GALETTO_AP, abs=0.015)
    assert min(r["accuracy"]["galetto2022"].values()) > 0.7


def test_table5_shows_a_dash_where_a_method_gave_no_map():
    from defocus_lab.ui.galetto import table5_html
    r = {"accuracy": {"zhuo2011": {"a": 0.9}, "galetto2022": {"a": 0.8, "b": 0.7}},
         "mean": {"zhuo2011": 0.9, "galetto2022": 0.75}, "pr": {"zhuo2011": {"ap": 0.5}, "galetto2022": {"ap": 0.6}},
         "seconds": {"zhuo2011": 1.0, "galetto2022": 2.0}, "images": ["a", "b"]}
    html = table5_html(r)
    assert "<tr><td>b</td><td>-</td><td>0.700</td></tr>" in html and "0.877" in html  # the paper's column


def test_brisque_scores_a_blurred_photo_worse_and_reads_grey_and_float_alike():
    """Table 6's score through the adapter (the package's features flattened for NumPy 2)."""
    from skimage import data as skdata
    from defocus_lab.metrics import brisque
    img = skdata.astronaut()[::2, ::2] / 255.0
    sharp = brisque(img)
    soft = brisque(ndi.gaussian_filter(img, (1.5, 1.5, 0)))
    assert soft > sharp + 15
    assert brisque((img * 255).round().astype(np.uint8)) == pytest.approx(sharp)
    grey = img @ [0.2989, 0.587, 0.114]
    assert abs(brisque(grey) - sharp) < 2


@requires_data
def test_table6_brisque_of_the_birds_sharpenings():
    """Table 6's BRISQUE column on the paper's bird (721x660, its own size). Measured: original
    27.45, classical unsharp masking (gain 2) -7.16, adaptive (the shipped map, Fig. 13's
    setting) 3.68. The paper (Fig. 13, MATLAB): 20.83, 44.41, 20.61. Here BRISQUE scores both
    sharpenings as *more* natural than the photo, the fixed gain most: the paper's ranking of UM
    is not reproduced with this BRISQUE model (the note in notebook 05)."""
    from defocus_lab import data
    from defocus_lab.experiments.galetto import table6
    t = table6(data.load_image("galetto_bird", download=False))
    assert t["original"] == pytest.approx(27.45, abs=0.1)  # no map in it: the photo and the package alone
    assert t["UM"] == pytest.approx(-7.16, abs=0.1)
    assert t["proposed"] == pytest.approx(3.68, abs=3.0)  # through the map: a retrained network moves it
    assert t["UM"] < t["proposed"] < t["original"]

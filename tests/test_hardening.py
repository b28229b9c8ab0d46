"""Nothing a user does crashes, hangs, eats the machine or is silently wrong.

Each test here was written against a probe of the package with bad input that failed before the
fix (issue 10, section 6): silently wrong results, hangs and memory blow-ups from one value, the
CLI's paths and errors, and messages that misled.
"""
import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

import defocus_lab as dl
from defocus_lab import SparseBlur, data
from defocus_lab._validate import TooLarge
from defocus_lab.apps import magnify
from defocus_lab.cli import main
from defocus_lab.estimate import kriener2013, zhuo2011
from defocus_lab.kernels import bilateral
from defocus_lab.kernels.guided import guided_filter
from defocus_lab.propagate import MattingSolver, domain_transform, matting
from defocus_lab.render import lens_blur, varying_gaussian_blur
from defocus_lab.synth import step_edge_image


@pytest.fixture(scope="module")
def coffee():
    return data.load_image("coffee")


# ----------------------------------------------------------------------------- silently wrong

def test_default_pipeline_never_returns_negative_blur(coffee):
    crop = coffee[100:300, 150:400]  # the probe's crop: minimum -0.86 before
    dense, _ = dl.estimate_defocus(crop)
    assert dense.min() >= 0.0
    direct, _ = dl.estimate_defocus(crop, propagator_options={"solver": "direct"})
    assert direct.min() >= 0.0
    # the clip touches only the undershoot: the rest equals the unclipped solve
    ms = MattingSolver(crop)
    sb = zhuo2011(crop)
    d, _ = ms.solve(sb)
    np.testing.assert_array_equal(d, np.maximum(ms.last, 0.0))


def test_kriener_drops_negative_smoothed_estimates(coffee):
    raw = kriener2013(coffee, radius=0)
    sb = kriener2013(coffee)
    assert sb.values[sb.mask].min() >= 0.0
    # dropped, not clipped: every edge pixel kept is one the raw estimate had
    assert not (sb.mask & ~raw.mask).any()
    assert sb.mask.sum() <= raw.mask.sum()


def test_sparse_blur_refuses_negative_and_nan_values():
    m = np.ones((4, 4), bool)
    with pytest.raises(ValueError, match="never negative"):
        SparseBlur(np.full((4, 4), -0.5), m)
    with pytest.raises(ValueError, match="NaN"):
        SparseBlur(np.full((4, 4), np.nan), m)
    with pytest.raises(ValueError, match="confidence"):
        SparseBlur(np.ones((4, 4)), m, confidence=-np.ones((4, 4)))
    # off the mask anything goes and is zeroed
    sb = SparseBlur(np.full((4, 4), np.nan), np.zeros((4, 4), bool))
    assert (sb.values == 0).all()


@pytest.fixture
def image_files(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.random((24, 32, 3))
    paths = {}
    paths["float_tif"] = tmp_path / "f.tif"
    iio.imwrite(paths["float_tif"], rgb.astype(np.float32))
    bits = rng.random((24, 32)) > 0.5
    paths["1bit"] = tmp_path / "b.png"
    Image.fromarray(bits).save(paths["1bit"])
    paths["grey_alpha"] = tmp_path / "la.png"
    Image.fromarray((rng.random((24, 32, 2)) * 255).astype(np.uint8), mode="LA").save(paths["grey_alpha"])
    paths["gif"] = tmp_path / "a.gif"
    iio.imwrite(paths["gif"], (rng.random((3, 24, 32, 3)) * 255).astype(np.uint8))
    paths["text"] = tmp_path / "t.png"
    paths["text"].write_text("this is not a picture")
    paths["int16"] = tmp_path / "i.tif"
    iio.imwrite(paths["int16"], (rng.random((24, 32)) * 1000).astype(np.int16))
    paths["big_float"] = tmp_path / "g.tif"
    iio.imwrite(paths["big_float"], (rgb * 255).astype(np.float32))
    return paths, rgb, bits


def test_read_image_scales_by_the_files_type(image_files):
    paths, rgb, bits = image_files
    np.testing.assert_allclose(data.read_image(paths["float_tif"]), rgb.astype(np.float32), atol=0)
    b = data.read_image(paths["1bit"])
    assert b.dtype == np.float64 and set(np.unique(b)) <= {0.0, 1.0}
    np.testing.assert_array_equal(b, bits)
    assert data.read_image(paths["grey_alpha"]).shape == (24, 32)


@pytest.mark.parametrize("name, message", [
    ("gif", "3 frames"), ("text", "not a picture file"), ("int16", "int16 samples"),
    ("big_float", "must lie in"),
])
def test_read_image_refuses_what_is_not_a_photo(image_files, name, message):
    with pytest.raises(ValueError, match=message):
        data.read_image(image_files[0][name])


def test_matting_with_all_weights_zero_is_an_error():
    img = step_edge_image(24, sigma=1.0)
    m = np.zeros((24, 24), bool)
    m[12, 12] = True
    with pytest.raises(ValueError, match="weight 0"):
        matting(img, SparseBlur(np.ones((24, 24)), m), weights=np.zeros((24, 24)))
    with pytest.raises(ValueError, match="weight 0"):
        matting(img, SparseBlur(np.ones((24, 24)), m, confidence=np.zeros((24, 24))))


def test_guided_filter_validates_like_every_public_function():
    rng = np.random.default_rng(1)
    g8 = (rng.random((20, 20, 3)) * 255).astype(np.uint8)
    p = rng.random((20, 20))
    np.testing.assert_allclose(guided_filter(g8, p, 2, 1e-2), guided_filter(g8 / 255.0, p, 2, 1e-2), atol=1e-12)
    bad = p.copy()
    bad[5, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        guided_filter(g8, bad, 2, 1e-2)
    with pytest.raises(ValueError, match="NaN"):
        guided_filter(g8, p, 2, 1e-2, weights=bad)
    with pytest.raises(ValueError, match="non-negative"):
        guided_filter(g8, p, 2, 1e-2, weights=-np.ones((20, 20)))
    with pytest.raises(ValueError, match="radius"):
        guided_filter(g8, p, -1, 1e-2)


def test_karaali_takes_grey_images_with_the_grey_detector():
    from defocus_lab.estimate.karaali import classify_edges, edge_map
    rgb = data.load_image("coffee")[::4, ::4]
    grey = rgb.mean(axis=2)
    ec = classify_edges(grey, bnet="self-trained", enet="self-trained")
    assert ec.edges.any() and len(ec.ys) == int(ec.edges.sum())
    np.testing.assert_array_equal(ec.edges, edge_map(grey, detector="grey"))


# ----------------------------------------------------------------------------- hangs and blow-ups

def test_magnify_refuses_a_reblur_larger_than_the_image():
    img = np.full((40, 60, 3), 0.5)
    m = np.zeros((40, 60))
    m[20, 30] = 500.0
    with pytest.raises(ValueError, match="re-blur"):
        magnify(img, m)  # was 7.7 GB and 43 s
    with pytest.raises(ValueError, match="re-blur"):
        magnify(img, np.where(m > 0, 1e5, 0.0), renderer="gaussian")  # was still running at 120 s
    with pytest.raises(ValueError, match="lower factor"):
        magnify(img, np.full((40, 60), 1.0), factor=1e6)  # was a MemoryError for 14.7 PiB


def test_renderers_refuse_blur_beyond_the_image_and_bad_layer_counts():
    img = np.full((30, 30), 0.5)
    with pytest.raises(ValueError, match="larger side"):
        lens_blur(img, np.full((30, 30), 31.0))
    with pytest.raises(ValueError, match="larger side"):
        varying_gaussian_blur(img, np.full((30, 30), 16.0))
    for n in (1, 0, -3):
        with pytest.raises(ValueError, match="max_layers"):
            lens_blur(img, np.full((30, 30), 2.0), max_layers=n)  # ZeroDivisionError / unblurred before
    # the level cap bounds the work: 1000 levels asked, 64 computed, the same result as step=sigma/63
    big = varying_gaussian_blur(img, np.full((30, 30), 12.0), step=0.012)
    np.testing.assert_allclose(big, varying_gaussian_blur(img, np.full((30, 30), 12.0), step=12.0 / 63))


def test_gradient_ratio_refuses_scales_that_would_run_for_minutes():
    img = step_edge_image(32, sigma=1.0)
    for kw in ({"sigma0": 1e6}, {"variant": "code", "std2": 1e6}):
        with pytest.raises(ValueError, match="at most 20"):
            zhuo2011(img, **kw)


def test_matting_beyond_the_memory_budget_names_the_options_that_fit(monkeypatch):
    img = data.load_image("coffee")[:200, :300]
    sb = zhuo2011(img, bilateral=None)
    monkeypatch.setenv("DEFOCUS_LAB_MEMORY_GB", "0.05")  # 50 MB: the full-resolution AMG needs ~130
    with pytest.raises(TooLarge, match=r"downsample=2.*preconditioner='jacobi'"):
        matting(img, sb)
    d = matting(img, sb, downsample=2)  # what the message says fits
    assert d.shape == (200, 300)
    # estimate_defocus refuses before the estimator runs (it cost a minute at 12 MP before)
    import dataclasses
    import defocus_lab.pipeline as pl
    ran = []
    spy = dataclasses.replace(pl.METHODS["zhuo2011"], estimate=lambda *a, **k: ran.append(1))
    monkeypatch.setitem(pl.METHODS, "zhuo2011", spy)
    with pytest.raises(TooLarge, match="GB"):
        dl.estimate_defocus(img)
    assert not ran


def test_bilateral_beyond_its_work_limit_says_which_sigma_fits(monkeypatch):
    img = data.load_image("coffee")[:120, :160]
    monkeypatch.setattr(bilateral, "MAX_PAIRS", 1e5)
    with pytest.raises(TooLarge, match="Lower sigma_s to at most"):
        zhuo2011(img, bilateral_method="exact")  # sigma_s 16 px: ~1e6 pairs
    assert zhuo2011(img, sigma_s=1.0, bilateral_method="exact").mask.any()
    assert zhuo2011(img).mask.any()  # "auto" takes the grid above MAX_PAIRS


def test_bilateral_runs_in_chunks_that_ctrl_c_can_stop(monkeypatch):
    """The kernel is called once per chunk of work from Python, where KeyboardInterrupt lands
    (one call over every edge pixel held Ctrl-C for 37 s); the chunks change nothing."""
    img = data.load_image("coffee")[:120, :160]
    whole = zhuo2011(img)
    calls = []
    kernel = bilateral._sparse_bilateral

    def counting(*args):
        calls.append(len(args[4]))
        return kernel(*args)
    monkeypatch.setattr(bilateral, "_sparse_bilateral", counting)
    monkeypatch.setattr(bilateral, "CHUNK_PAIRS", 2e4)
    chunked = zhuo2011(img)
    assert len(calls) > 5 and sum(calls) == int(whole.mask.sum())
    np.testing.assert_array_equal(chunked.values, whole.values)

    def interrupted(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(bilateral, "_sparse_bilateral", interrupted)
    with pytest.raises(KeyboardInterrupt):
        zhuo2011(img)


# ----------------------------------------------------------------------------- the CLI

@pytest.fixture
def photo_png(tmp_path):
    p = tmp_path / "photo.png"
    iio.imwrite(p, (data.load_image("coffee")[:96, :128] * 255).astype(np.uint8))
    return p


def test_cli_adds_the_npy_suffix_and_says_so(tmp_path, photo_png, capsys):
    out = tmp_path / "noext"
    assert main(["estimate", str(photo_png), "--out", str(out)]) == 0
    assert (tmp_path / "noext.npy").is_file() and not out.exists()
    assert f"wrote {out}.npy" in capsys.readouterr().out


def test_cli_refuses_to_overwrite_the_input(tmp_path, photo_png, capsys):
    before = photo_png.read_bytes()
    assert main(["estimate", str(photo_png), "--out", str(tmp_path / "m.npy"), "--png", str(photo_png)]) == 2
    assert photo_png.read_bytes() == before
    assert "input file" in capsys.readouterr().err
    assert not (tmp_path / "m.npy").exists()


def test_cli_checks_every_output_before_computing(tmp_path, photo_png, capsys, monkeypatch):
    import defocus_lab.pipeline as pl
    ran = []
    monkeypatch.setattr(pl, "estimate_defocus", lambda *a, **k: ran.append(1))
    assert main(["estimate", str(photo_png), "--out", str(tmp_path / "m.npy"),
                 "--png", str(tmp_path / "nofolder" / "p.png")]) == 2
    assert not ran and not (tmp_path / "m.npy").exists()
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "link.png").symlink_to(tmp_path / "m.npy")  # two names, one file
    assert main(["estimate", str(photo_png), "--out", str(tmp_path / "m.npy"),
                 "--png", str(tmp_path / "link.png")]) == 2
    assert not ran and "same file" in capsys.readouterr().err
    assert main(["estimate", str(photo_png), "--out", str(tmp_path / "m.npy"),
                 "--png", str(tmp_path / "p.xyz")]) == 2
    assert not ran and "cannot write .xyz" in capsys.readouterr().err


def test_cli_out_of_memory_is_one_line(tmp_path, photo_png, capsys, monkeypatch):
    import defocus_lab.pipeline as pl

    def oom(*a, **k):
        raise MemoryError("Unable to allocate 14.7 PiB")
    monkeypatch.setattr(pl, "estimate_defocus", oom)
    assert main(["estimate", str(photo_png), "--out", str(tmp_path / "m.npy")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("defocus-lab: error: out of memory") and "\n" not in err


@pytest.mark.parametrize("name, message", [("text", "not a picture file"), ("gif", "frames")])
def test_cli_says_what_the_file_is(tmp_path, image_files, capsys, name, message):
    assert main(["estimate", str(image_files[0][name]), "--out", str(tmp_path / "m.npy")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "pyav" not in err and "\n" not in err


def test_cli_options_reach_the_estimator_and_the_propagator(tmp_path, photo_png, monkeypatch):
    import defocus_lab.pipeline as pl
    seen = {}
    real = pl.estimate_defocus

    def spy(image, **kw):
        seen.update(kw)
        return real(image, **kw)
    monkeypatch.setattr(pl, "estimate_defocus", spy)
    assert main(["estimate", str(photo_png), "--out", str(tmp_path / "m.npy"), "-E", "variant=code",
                 "-E", "canny_high=0.05", "-P", "downsample=2"]) == 0
    assert seen["estimator_options"] == {"variant": "code", "canny_high": 0.05}
    assert seen["propagator_options"] == {"downsample": 2}
    assert main(["estimate", str(photo_png), "--out", str(tmp_path / "m.npy"), "-E", "nope=1"]) == 2
    assert main(["estimate", str(photo_png), "--out", str(tmp_path / "m.npy"), "-E", "novalue"]) == 2


def test_cli_chooses_karaalis_detector(tmp_path, photo_png):
    sp = tmp_path / "s.npz"
    assert main(["estimate", str(photo_png), "--out", str(tmp_path / "m.npy"), "--method", "karaali2022",
                 "-E", "detector=grey", "-E", "bnet=self-trained", "-E", "enet=self-trained",
                 "--sparse-out", str(sp)]) == 0
    from defocus_lab.estimate.karaali import edge_map
    mask = np.load(sp)["mask"]
    grey_edges = edge_map(data.read_image(photo_png), detector="grey")
    assert mask.any() and not (mask & ~grey_edges).any()


# ----------------------------------------------------------------------------- messages

def test_small_images_are_told_about_downsample_not_radius():
    img = step_edge_image(12, sigma=1.0)
    sb = zhuo2011(img, bilateral=None)
    with pytest.raises(ValueError, match="smaller downsample"):
        matting(img, sb, radius=3, downsample=4)
    with pytest.raises(ValueError, match="smaller downsample"):
        MattingSolver(data.load_image("coffee"), downsample=256)


def test_missing_weights_say_how_to_fetch_them(monkeypatch, tmp_path):
    from defocus_lab.models import karaali as K
    monkeypatch.delenv("DEFOCUS_LAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    K.load_karaali2022.cache_clear()
    try:
        with pytest.raises(data.DataMissing, match="defocus-lab fetch weights/karaali2022`"):
            K.load_karaali2022("bnet", download=False)
    finally:
        K.load_karaali2022.cache_clear()


def test_cli_fetch_takes_a_folder(monkeypatch, capsys):
    import defocus_lab.data as D
    got = []
    monkeypatch.setattr(D, "fetch", lambda p, download=True: got.append(p) or p)
    assert main(["fetch", "weights/karaali2022/blur"]) == 0
    assert got and all(p.startswith("weights/karaali2022/blur/") for p in got)
    assert main(["fetch", "weights/nothing"]) == 2


def test_a_data_variable_that_is_not_a_folder_warns(monkeypatch, tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    monkeypatch.setenv("DEFOCUS_LAB_DATA", str(f))
    data._warn_not_a_folder.cache_clear()
    with pytest.warns(UserWarning, match="is not a folder"):
        assert data.data_dir() is None


def test_a_constant_image_is_said_to_have_no_edges():
    with pytest.raises(ValueError, match="no edges: it is constant"):
        dl.estimate_defocus(np.full((40, 40, 3), 0.3))
    with pytest.raises(ValueError, match="no edges: it is constant"):
        dl.estimate_defocus(np.full((40, 40, 3), 0.3), method="kriener2013")


def test_the_convergence_warning_recommends_what_helps():
    img = data.load_image("coffee")[:64, :64]
    sb = zhuo2011(img, bilateral=None)
    with pytest.warns(dl.propagate.ConvergenceWarning) as rec:
        matting(img, sb, preconditioner="jacobi", maxiter=3)
    text = str(rec[0].message)
    assert "'amg'" in text and "'multigrid'" not in text


# ----------------------------------------------------------------------------- the contract

def test_every_propagator_takes_a_sparse_blur_and_the_array_form():
    img = step_edge_image(32, sigma=1.5)
    sb = zhuo2011(img, bilateral=None)
    for name, prop in dl.PROPAGATORS.items():
        a = prop(img, sb)
        b = prop(img, sb.values, sb.mask)
        np.testing.assert_array_equal(a, b)
        with pytest.raises(ValueError, match="not both"):
            prop(img, sb, sb.mask)
        with pytest.raises(ValueError, match="SparseBlur"):
            prop(img, sb.values)


def test_confidence_becomes_the_matting_weights():
    img = step_edge_image(32, sigma=1.5)
    sb = zhuo2011(img, bilateral=None)
    w = np.where(np.arange(32) < 16, 1.0, 50.0)[None, :].repeat(32, 0)
    np.testing.assert_array_equal(matting(img, sb.replace(confidence=w), solver="direct"),
                                  matting(img, sb, weights=w, solver="direct"))
    # both set: they multiply
    np.testing.assert_allclose(matting(img, sb.replace(confidence=w), weights=w, solver="direct"),
                               matting(img, sb, weights=w * w, solver="direct"), atol=1e-10)


def test_domain_transform_reads_depth_edges_from_the_sparse_blur():
    img = np.zeros((30, 30, 3))
    img[:, 15:] = 1.0
    vals = np.zeros((30, 30))
    mask = np.zeros((30, 30), bool)
    mask[15, 3], vals[15, 3] = True, 1.0
    mask[15, 26], vals[15, 26] = True, 3.0
    depth = np.zeros((30, 30), bool)
    depth[:, 15] = True
    sb = SparseBlur(vals, mask, depth_edges=depth)
    np.testing.assert_array_equal(domain_transform(img, sb, sigma_s=20.0),
                                  domain_transform(img, vals, mask, depth_edges=depth, sigma_s=20.0))
    assert not np.array_equal(domain_transform(img, sb, sigma_s=20.0),
                              domain_transform(img, sb, depth_edges=np.zeros((30, 30), bool), sigma_s=20.0))


def test_method_names_follow_the_rule():
    """Registry key == estimator function name == <first author><year> (README, Architecture)."""
    import re
    for key, m in dl.METHODS.items():
        assert key == m.name == m.estimate.__name__
        assert re.fullmatch(r"[a-z]+\d{4}", key)
        assert m.propagator in dl.PROPAGATORS and m.citation.endswith(key[-4:])
        assert getattr(dl.estimate, key) is m.estimate
    for key, prop in dl.PROPAGATORS.items():
        assert key == prop.__name__


def test_old_names_still_work_with_a_future_warning():
    img = step_edge_image(32, sigma=1.5)
    with pytest.warns(FutureWarning, match="zhuo2011"):
        a, _ = dl.estimate_defocus(img, method="zhuo-sim", estimator_options={"bilateral": None})
    b, _ = dl.estimate_defocus(img, estimator_options={"bilateral": None})
    np.testing.assert_array_equal(a, b)


def test_presets_are_read_from_beside_the_estimators():
    from defocus_lab.estimate import kriener, zhuo_sim
    from defocus_lab.experiments import kriener as ex
    assert dl.METHODS["kriener2013"] is kriener.METHOD
    assert ex.PAPER_SETTING.items() <= kriener.METHOD.options.items()
    assert ex.EXACT_SETTING.items() <= zhuo_sim.METHOD.options.items()


def test_no_inspect_signature_probing():
    root = os.path.dirname(dl.__file__)
    for dirpath, _, files in os.walk(root):
        for f in files:
            if f.endswith(".py"):
                with open(os.path.join(dirpath, f)) as fh:
                    assert "inspect.signature" not in fh.read(), f


def test_unit_conversion_does_not_import_torch():
    code = ("import sys; import defocus_lab.conventions as c; import defocus_lab.synth; "
            "c.sigma_to_disk(1.0); print('torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"

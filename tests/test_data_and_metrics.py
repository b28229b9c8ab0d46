import os

import numpy as np
import pytest

from defocus_lab import data, metrics
from defocus_lab.synth import coc_diameter, defocused_motorcycle
from defocus_lab.data import fill_unknown

requires_data = pytest.mark.skipif(
    not os.environ.get("DEFOCUS_LAB_DATA"), reason="needs DEFOCUS_LAB_DATA (the shared data folder)")


def test_missing_data_names_the_variable_and_url(monkeypatch, tmp_path):
    monkeypatch.setenv("DEFOCUS_LAB_DATA", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(data.DataMissing, match="DEFOCUS_LAB_DATA.*https://raw.githubusercontent.com"):
        data.load_image("pumpkin", download=False)


def test_wrong_file_is_refused(monkeypatch, tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "bird.png").write_bytes(b"not the bird")
    monkeypatch.setenv("DEFOCUS_LAB_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="sha256"):
        data.fetch("photos/bird.png", download=False)


def test_bundled_images_always_load():
    for n in data.BUNDLED:
        img = data.load_image(n)
        assert img.ndim == 3 and 0 <= img.min() and img.max() <= 1


def test_fallback_reports_skipped(monkeypatch, tmp_path):
    monkeypatch.setenv("DEFOCUS_LAB_DATA", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    name, img, skipped = data.load_first_available(["pumpkin", "flower"])
    assert name == "coffee" and skipped == ["pumpkin", "flower"]


@requires_data
def test_rtf_ground_truth_and_table():
    r = data.load_rtf(1)
    assert r["image"].shape == (360, 360, 3) and r["blur_disk"].shape == (360, 360)
    assert 0.5 <= r["blur_disk"].min() and r["blur_disk"].max() <= 6.0
    s, d = data.rtf_table()
    assert s.shape == d.shape == (23,) and d[0] == 0.5 and d[-1] == 6.0


@requires_data
def test_unit_constants_equal_the_rtf_file():
    """The offline constants are the file's 23 pairs (to float rounding: the file stores
    0.9750000000000001 for 0.975)."""
    from defocus_lab import conventions
    s, d = data.rtf_table(download=False)
    np.testing.assert_allclose(conventions.RTF_SIGMA, s, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(conventions.RTF_DISK, d)
    np.testing.assert_array_equal(conventions.KARAALI_BLUR_LEVELS, d)


def test_unit_conversion_works_offline(monkeypatch, tmp_path):
    """No data folder, no cache, no network: sigma <-> disk still converts (it read
    convertion.mat before)."""
    from defocus_lab import conventions
    monkeypatch.delenv("DEFOCUS_LAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert conventions.sigma_to_disk(3.275, method="nearest") == 6.0
    assert conventions.sigma_to_disk(0.3) == 0.5 and conventions.disk_to_sigma(3.0) == 1.65
    np.testing.assert_allclose(conventions.disk_to_sigma(conventions.sigma_to_disk(1.7)), 1.7, atol=1e-12)
    np.testing.assert_array_equal(conventions.convert_units([1.0, 0.0], "sigma", "disk", mask=[True, False]),
                                  [conventions.sigma_to_disk(1.0), 0.0])
    with pytest.raises(ValueError, match="dst must be one of"):
        conventions.convert_units(1.0, "sigma", "mm")


@requires_data
def test_masks_are_boolean_out_of_focus():
    for n in data.detection_names("cuhk") + data.detection_names("dut"):
        m = data.load_mask(n)
        img = data.load_image(n)
        assert m.dtype == bool and m.shape == img.shape[:2] and 0 < m.mean() < 1


def test_coc_matches_equation_2():
    # d = 2 d_f: c = 1/2 f0^2 / (N (d_f - f0))
    assert coc_diameter(1000.0, d_f=500.0, f0=80.0, N=4.0) == pytest.approx(0.5 * 6400 / (4 * 420))
    assert coc_diameter(500.0) == 0.0


def test_stereo_pair_with_filled_disparity():
    left, right, disp = data.load_stereo_motorcycle()
    raw = data.load_stereo_motorcycle(fill=False)[2]
    assert left.shape == right.shape and disp.shape == left.shape[:2]
    assert np.isinf(raw).any() and np.all(np.isfinite(disp))
    known = np.isfinite(raw)
    np.testing.assert_array_equal(disp[known], raw[known])


def test_fill_unknown_disparity():
    d = np.array([[1.0, np.inf, 3.0], [np.inf, 2.0, 0.0]])
    f = fill_unknown(d)
    assert np.all(np.isfinite(f)) and np.all(f > 0) and f[0, 0] == 1.0


def test_defocused_motorcycle_has_known_blur():
    sc = defocused_motorcycle(scale=0.25, max_sigma=2.0)
    assert sc.image.shape[:2] == sc.sigma.shape and sc.sigma.max() == pytest.approx(2.0)
    assert sc.sigma.min() < 0.1
    # blurrier where sigma is large: less high-frequency energy than the sharp source
    hi = sc.sigma > 1.5
    g = lambda im: np.abs(np.diff(im.mean(axis=2), axis=1))[:, :][hi[:, 1:]].mean()
    assert g(sc.image) < 0.7 * g(sc.sharp)


def test_metrics():
    gt = np.array([[0.0, 1.0], [2.0, 3.0]])
    assert metrics.mae(gt + 0.5, gt) == 0.5
    assert metrics.relative_mae(2 * gt + 1, gt) == pytest.approx(0.0)
    m = np.array([[0.1, 0.2], [0.9, 1.0]])
    acc, a = metrics.best_threshold_accuracy(m, np.array([[False, False], [True, True]]))
    assert acc == 1.0
    s = metrics.rtf_scores(np.ones((5, 30)), np.zeros((5, 30)), drop_right=20)
    assert s["mae"] == 1.0


@pytest.mark.parametrize("orientation", range(1, 9))
def test_read_image_applies_exif_orientation_as_pillow_does(tmp_path, orientation):
    from PIL import Image, ImageOps
    stored = (np.random.default_rng(orientation).random((30, 50, 3)) * 255).astype(np.uint8)
    im = Image.fromarray(stored)
    exif = im.getexif()
    exif[0x0112] = orientation
    path = tmp_path / "phone.jpg"
    im.save(path, "JPEG", exif=exif.tobytes(), quality=100)
    with Image.open(path) as f:
        ref = np.asarray(ImageOps.exif_transpose(f), dtype=np.float64) / 255.0
    got = data.read_image(path)
    assert got.shape == ref.shape == ((30, 50, 3) if orientation <= 4 else (50, 30, 3))
    np.testing.assert_array_equal(got, ref)


def test_stepped_progress_counts_each_item():
    from defocus_lab.experiments._measure import stepped

    class Bar:
        def __init__(self, total, desc):
            self.total, self.desc, self.n, self.postfix, self.closed = total, desc, 0, [], False

        def update(self, k):
            self.n += k

        def set_postfix_str(self, s):
            self.postfix.append(s)

        def close(self):
            self.closed = True

    bars = []
    out = list(stepped(["a", ("rtf", "01")], lambda **kw: bars.append(Bar(**kw)) or bars[-1], "work"))
    assert out == ["a", ("rtf", "01")]
    b = bars[0]
    assert (b.total, b.desc, b.n, b.postfix, b.closed) == (2, "work", 2, ["a", "rtf 01"], True)
    assert list(stepped([1, 2])) == [1, 2]  # no bar

import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest

from defocus_lab.cli import main
from defocus_lab.synth import step_edge_image


@pytest.fixture
def edge_png(tmp_path):
    img = np.zeros((48, 64, 3))
    img[:, :] = step_edge_image(64, sigma=1.5)[:48, :, None]
    img[24:, :, 1] *= 0.5
    p = tmp_path / "edge.png"
    iio.imwrite(p, (img * 255).astype(np.uint8))
    return p


def test_estimate_writes_float32_map_and_sparse(tmp_path, edge_png):
    out = tmp_path / "map.npy"
    sparse = tmp_path / "sparse.npz"
    png = tmp_path / "map.png"
    assert main(["estimate", str(edge_png), "--out", str(out), "--sparse-out", str(sparse), "--png", str(png)]) == 0
    m = np.load(out)
    assert m.dtype == np.float32 and m.shape == (48, 64)
    z = np.load(sparse)
    assert z["values"].shape == (48, 64) and z["mask"].dtype == bool and z["mask"].any()
    assert np.all(z["values"][~z["mask"]] == 0)
    assert png.stat().st_size > 0


def test_precomputed_edges(tmp_path, edge_png):
    edges = np.zeros((48, 64), np.uint8)
    edges[:, 32] = 255
    ep = tmp_path / "edges.png"
    iio.imwrite(ep, edges)
    sparse = tmp_path / "s.npz"
    assert main(["estimate", str(edge_png), "--edges", str(ep), "--out", str(tmp_path / "m.npy"),
                 "--sparse-out", str(sparse)]) == 0
    mask = np.load(sparse)["mask"]
    assert mask.any() and not mask[:, :30].any()


def test_bad_input_exits_nonzero_with_one_line(tmp_path, capsys):
    assert main(["estimate", str(tmp_path / "missing.png"), "--out", str(tmp_path / "m.npy")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("defocus-lab: error:") and "\n" not in err


def test_console_script_is_installed(tmp_path, edge_png):
    r = subprocess.run([sys.executable, "-m", "defocus_lab.cli", "estimate", str(edge_png), "--out",
                        str(tmp_path / "m.npy"), "--method", "nope"], capture_output=True, text=True)
    assert r.returncode == 2 and "invalid choice" in r.stderr


@pytest.mark.skipif(not __import__("os").environ.get("DEFOCUS_LAB_DATA"), reason="needs DEFOCUS_LAB_DATA")
def test_units_disk_goes_through_the_rtf_table(tmp_path, edge_png):
    from defocus_lab.conventions import sigma_to_disk
    a, b = tmp_path / "sigma.npy", tmp_path / "disk.npy"
    assert main(["estimate", str(edge_png), "--out", str(a)]) == 0
    assert main(["estimate", str(edge_png), "--out", str(b), "--units", "disk"]) == 0
    np.testing.assert_allclose(np.load(b), sigma_to_disk(np.load(a).astype(np.float64)), atol=1e-5)
    assert np.load(b).min() >= 0.5  # the table's smallest disk radius


def test_warmup_compiles_and_reports(capsys):
    assert main(["warmup"]) == 0
    assert "cached in" in capsys.readouterr().out


@pytest.mark.skipif(not __import__("defocus_lab.models.karaali", fromlist=["available"]).available(),
                    reason="needs the Karaali 2022 weights under DEFOCUS_LAB_DATA")
def test_karaali2022_disk_units_and_sparse_arrays(tmp_path):
    from defocus_lab.data import fetch, load_rtf
    out, sparse = tmp_path / "m.npy", tmp_path / "s.npz"
    assert main(["estimate", str(fetch("rtf/image_05.png")), "--method", "karaali2022", "--edges",
                 str(fetch("rtf/edges/edge_05.png")), "--units", "disk", "--out", str(out),
                 "--sparse-out", str(sparse)]) == 0
    r = load_rtf(5)
    assert np.mean(np.abs(np.load(out) - r["blur_disk"])) == pytest.approx(0.124, abs=0.01)
    z = np.load(sparse)
    assert set(z.files) == {"values", "raw_values", "mask", "depth_edges"}
    assert all(z[k].shape == (360, 360) for k in z.files)
    np.testing.assert_array_equal(z["raw_values"] > 0, r["edges"])  # every edge pixel
    np.testing.assert_array_equal(z["mask"], r["edges"] & ~z["depth_edges"])
    assert z["depth_edges"].any() and (z["values"][~z["mask"]] == 0).all()


def test_galetto2022_from_the_command_line(tmp_path, capsys):
    """The patch classifier with the shipped weights: a textured scene, blurred (sigma 6) on its
    right half, gives a map larger there; --units disk converts it."""
    from scipy import ndimage as ndi
    rng = np.random.default_rng(3)
    tex = ndi.gaussian_filter(rng.random((96, 160)), 1.0)
    tex = (tex - tex.min()) / np.ptp(tex)
    img = tex.copy()
    img[:, 80:] = ndi.gaussian_filter(tex, 6.0)[:, 80:]
    p = tmp_path / "half.png"
    iio.imwrite(p, (img * 255).astype(np.uint8))
    out, disk = tmp_path / "g.npy", tmp_path / "d.npy"
    assert main(["estimate", str(p), "--method", "galetto2022", "--out", str(out)]) == 0
    assert "a dense first estimate" in capsys.readouterr().out
    m = np.load(out)
    assert m.shape == (96, 160)
    assert np.median(m[:, 112:]) > np.median(m[:, :48]) + 2.0
    assert main(["estimate", str(p), "--method", "galetto2022", "--units", "disk", "--out", str(disk)]) == 0
    assert np.median(np.load(disk)[:, 112:]) > np.median(m[:, 112:])


def test_deblur_from_layers_and_from_a_map(tmp_path, capsys):
    """`deblur` with --layers restores the blurred layer (PSNR up against the sharp photo) and
    keeps the in-focus one; with --map it cuts the layers itself; bad calls get one line."""
    from scipy import ndimage as ndi
    from skimage import data
    from skimage.metrics import peak_signal_noise_ratio as psnr
    from defocus_lab.render import disk_kernel
    sharp = data.camera()[::4, ::4] / 255.0
    labels = np.zeros(sharp.shape, np.int32)
    labels[:, 64:] = 1
    blurred = np.where(labels == 1, ndi.convolve(sharp, disk_kernel(3.0), mode="reflect"), sharp)
    photo, lab, bm = tmp_path / "photo.png", tmp_path / "labels.npy", tmp_path / "map.npy"
    iio.imwrite(photo, np.round(blurred * 255).astype(np.uint8))
    np.save(lab, labels)
    np.save(bm, np.where(labels == 1, 1.5, 0.1))
    out = tmp_path / "sharp.png"
    assert main(["deblur", str(photo), "--out", str(out), "--layers", str(lab), "--iterations", "6", "--quiet",
                 "--scheme", "paper"]) == 0
    assert "1 layer(s) deblurred" in capsys.readouterr().out
    got = iio.imread(out) / 255.0
    right = np.s_[8:-8, 72:-8]
    assert psnr(sharp[right], got[right], data_range=1) > psnr(sharp[right], blurred[right], data_range=1) + 1.0
    np.testing.assert_allclose(got[:, :64], np.round(blurred[:, :64] * 255) / 255, atol=1e-9)
    out2, lab2 = tmp_path / "b", tmp_path / "used"
    assert main(["deblur", str(photo), "--out", str(out2), "--map", str(bm), "--iterations", "2", "--quiet", "--n-layers", "2",
                 "--scheme", "paper",
                 "--labels-out", str(lab2)]) == 0
    np.testing.assert_array_equal(np.load(str(lab2) + ".npy"), labels)
    assert (tmp_path / "b.png").exists()
    capsys.readouterr()
    assert main(["deblur", str(photo), "--out", str(tmp_path / "x.txt")]) == 2
    assert main(["deblur", str(photo), "--out", str(photo)]) == 2
    np.save(tmp_path / "small.npy", np.zeros((3, 3)))
    assert main(["deblur", str(photo), "--out", str(out), "--map", str(tmp_path / "small.npy")]) == 2
    assert main(["deblur", str(photo), "--out", str(out), "--layers", str(bm)]) == 2  # floats are not labels
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("defocus-lab: error:") for line in err)
    assert "write one of" in err[0] and "input file" in err[1] and "has shape" in err[2] and "integers" in err[3]


@pytest.mark.parametrize("argv, field, new", [
    (["estimate", "a.png", "--out", "m.npy", "--method", "zhuo-sim"], "method", "zhuo2011"),
    (["estimate", "a.png", "--out", "m.npy", "--propagation", "domain-transform"], "propagation", "domain_transform"),
    (["deblur", "a.png", "--out", "s.png", "--method", "kriener"], "method", "kriener2013"),
    (["evaluate", "--dataset", "motorcycle", "--propagation", "domain-transform"], "propagation", "domain_transform"),
    (["sweep", "kriener", "--dataset", "motorcycle", "--out", "r.csv"], "method", "kriener2013"),
    (["sweep", "zhuo2011", "--dataset", "motorcycle", "--out", "r.csv", "--propagation", "domain-transform"],
     "propagation", "domain_transform"),
])
def test_old_names_are_accepted_with_a_one_line_notice(argv, field, new, capsys):
    from defocus_lab.cli import build_parser
    from defocus_lab.pipeline import RENAMED
    args = build_parser().parse_args(argv)
    assert getattr(args, field) == new
    err = capsys.readouterr().err.strip()
    old = next(k for k, v in RENAMED.items() if v == new)
    assert err == f"defocus-lab: deprecated: {old!r} is now called {new!r}; the old name will be removed"


def test_old_names_run_and_stay_refused_where_they_do_not_belong(tmp_path, edge_png, capsys):
    from defocus_lab.cli import _method_list
    assert main(["estimate", str(edge_png), "--out", str(tmp_path / "old.npy"), "--method", "zhuo-sim"]) == 0
    assert main(["estimate", str(edge_png), "--out", str(tmp_path / "new.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "old.npy"), np.load(tmp_path / "new.npy"))
    assert _method_list("zhuo-sim, kriener2013,kriener") == ["zhuo2011", "kriener2013", "kriener2013"]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("defocus-lab: deprecated:") for line in err)
    with pytest.raises(SystemExit):  # a propagation's old name is not a method
        main(["estimate", str(edge_png), "--out", str(tmp_path / "x.npy"), "--method", "domain-transform"])
    assert "invalid choice: 'domain-transform'" in capsys.readouterr().err

"""defocus_lab.sweep and experiments.evaluate: the tidy table, Dask against serial, resuming,
failures recorded, and the scores against plain NumPy references."""
import csv
import math

import imageio.v3 as iio
import numpy as np
import pytest

from defocus_lab import sweep
from defocus_lab.cli import main
from defocus_lab.experiments import evaluate as ev
from defocus_lab.synth import smooth_surface_scene

SETTINGS = sweep.grid(lam=[0.001, 0.02], sigma0=[1.0])


def _folder(root, n=4, size=64, broken=()):
    """A CUHK-layout folder of synthetic scenes (mask: the blurred background); the names in
    ``broken`` get an image file that is not an image."""
    (root / "image").mkdir(parents=True)
    (root / "gt").mkdir()
    for i in range(n):
        s = smooth_surface_scene(size, background_sigma=2.0 + (i % 3), seed=i)
        name = f"s{i:02d}"
        if name in broken:
            (root / "image" / f"{name}.png").write_bytes(b"not a png")
        else:
            iio.imwrite(root / "image" / f"{name}.png", (s.image * 255).round().astype(np.uint8))
        iio.imwrite(root / "gt" / f"{name}.png", ((s.sigma > 0) * 255).astype(np.uint8))
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return _folder(tmp_path_factory.mktemp("sweepdata") / "set")


# ----------------------------------------------------------------------------- settings

def test_grid_and_random_settings():
    g = sweep.grid(a=[1, 2, 3], b=["x", "y"])
    assert len(g) == 6 and g[0] == {"a": 1, "b": "x"} and g[-1] == {"a": 3, "b": "y"}
    r1 = sweep.random({"lam": ("log", 1e-4, 1e-1), "eps": (0.0, 1.0), "radius": [1, 2]}, 20, seed=3)
    r2 = sweep.random({"lam": ("log", 1e-4, 1e-1), "eps": (0.0, 1.0), "radius": [1, 2]}, 20, seed=3)
    assert r1 == r2  # seeded
    assert all(1e-4 <= s["lam"] <= 1e-1 and 0 <= s["eps"] <= 1 and s["radius"] in (1, 2) for s in r1)
    with pytest.raises(ValueError, match="list of values"):
        sweep.grid(lam=0.1)
    with pytest.raises(ValueError, match="lo < hi"):
        sweep.random({"lam": ("log", 0.0, 1.0)}, 2)


def test_split_names_each_parameter_to_its_stage():
    assert sweep.split("zhuo2011", {"sigma0": 2.0, "lam": 0.01}) == ({"sigma0": 2.0}, {"lam": 0.01})
    assert sweep.split("karaali2022", {"psi": 5.0, "canny_high": 0.1}) == ({"canny_high": 0.1}, {"psi": 5.0})
    assert sweep.split("zhuo2011", {"prop.eps": 1e-5}) == ({}, {"eps": 1e-5})
    with pytest.raises(ValueError, match="not an option"):
        sweep.split("zhuo2011", {"lamb": 1})
    with pytest.raises(ValueError, match="takes no"):
        sweep.split("zhuo2011", {"est.lam": 1})
    # kriener2013's estimator and the matting propagator both take eps and radius
    with pytest.raises(ValueError, match="write est.eps or prop.eps"):
        sweep.split("kriener2013", {"eps": 1e-3})
    assert sweep.split("kriener2013", {"est.eps": 1e-3, "prop.eps": 1e-4}) == ({"eps": 1e-3}, {"eps": 1e-4})


NOT_SWEPT = {"edges", "mask", "depth_edges", "x0", "callback", "weights", "guide", "progress", "return_info"}  # arrays, callables


def test_declared_option_names_match_the_signatures():
    """Each estimator and propagator declares the options a sweep may set (``option_names``; the
    package never probes signatures): every declared name is a keyword of the function, and
    every keyword is declared unless it takes an array or a callable."""
    import inspect

    from defocus_lab.estimate.karaali import classify_edges
    from defocus_lab.pipeline import METHODS, PROPAGATORS

    def keywords(fn):
        return {k for k, p in inspect.signature(fn).parameters.items()
                if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)} - {"image", "sparse"}
    for name, fn in [(m.name, m.estimate) for m in METHODS.values()] + list(PROPAGATORS.items()):
        have = keywords(fn) | (keywords(classify_edges) if name == "karaali2022" else set())
        declared = set(fn.option_names)
        assert declared <= have, (name, declared - have)
        assert have - declared <= NOT_SWEPT, (name, have - declared)


# ----------------------------------------------------------------------------- scores

def _f_beta_naive(m, gt, beta2=0.3, n=101):
    best = 0.0
    lo, hi = m.min(), m.max()
    for a in np.linspace(0, 1, n):
        pred = m > a * hi + (1 - a) * lo
        tp = np.sum(pred & gt)
        p = tp / pred.sum() if pred.sum() else 0.0
        r = tp / gt.sum() if gt.sum() else 0.0
        if p + r > 0:
            best = max(best, (1 + beta2) * p * r / (beta2 * p + r))
    return best


def test_f_measure_and_ap_against_explicit_loops(rng):
    from defocus_lab import metrics
    m = rng.random((40, 30))
    gt = m + 0.3 * rng.standard_normal(m.shape) > 0.6
    counts = metrics.precision_recall(m, gt)
    assert ev.f_measure(counts) == pytest.approx(_f_beta_naive(m, gt), rel=1e-12)
    # a perfect map: F = 1, AP = 1, accuracy = 1
    sample = ev.Sample(ev.SampleRef("x", "y"), np.zeros((40, 30, 3)), gt, "mask")
    s = ev.score(gt.astype(float), sample)
    assert s["accuracy"] == 1.0 and s["f_measure"] == pytest.approx(1.0) and s["ap"] == pytest.approx(1.0)
    # the map that calls everything blurred: accuracy is the blurred share, F and AP are low
    flat = ev.score(np.ones(gt.shape), sample)
    assert flat["accuracy"] == pytest.approx(max(gt.mean(), 1 - gt.mean()))


@pytest.mark.slow
def test_motorcycle_table_numbers():
    """The motorcycle rows of the tour's table (measured 2026-11-30: zhuo2011 MAE 0.460 px,
    kriener2013 0.652 px, Gaussian sigma over the three focus planes)."""
    r = ev.evaluate("motorcycle", ["zhuo2011", "kriener2013"])
    s = r["summary"]
    assert s["zhuo2011"]["images"] == 3 and s["kriener2013"]["errors"] == 0
    assert s["zhuo2011"]["mae"] == pytest.approx(0.460, abs=0.03)
    assert s["kriener2013"]["mae"] == pytest.approx(0.652, abs=0.03)
    assert s["zhuo2011"]["mae"] < s["kriener2013"]["mae"]
    text = ev.format_table(r)
    assert "zhuo2011" in text and "relative_mae" in text


def test_folder_dataset_and_bad_folders(tmp_path, folder):
    refs, skipped = ev.samples(str(folder))
    assert [r.name for r in refs] == ["s00", "s01", "s02", "s03"] and skipped == []
    assert ev.dataset_kind(str(folder)) == "mask"
    with pytest.raises(ValueError, match="image/ and gt/"):
        ev.samples(str(tmp_path))
    with pytest.raises(ValueError, match="limit"):
        ev.samples("motorcycle", limit=0)


# ----------------------------------------------------------------------------- the engine

def test_serial_sweep_writes_the_tidy_table(tmp_path, folder):
    out = tmp_path / "s.csv"
    rows = sweep.run("zhuo2011", SETTINGS, str(folder), out=out, workers=0, threads=1, progress=False)
    assert len(rows) == 8 and not any(r["error"] for r in rows)
    with open(out, newline="") as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == ["dataset", "image", "method", "propagation", "lam", "sigma0", "accuracy",
                              "f_measure", "ap", "seconds", "error", "warnings", "setting"]
    assert [(t["image"], float(t["lam"])) for t in table] == [(r["image"], r["lam"]) for r in rows]
    assert all(0.5 <= r["accuracy"] <= 1.0 and 0 < r["ap"] <= 1 and r["seconds"] > 0 for r in rows)
    # the two settings differ, and the summary and best agree with the rows
    acc = {s["lam"]: s["accuracy"] for s in sweep.summary(rows, "accuracy")}
    assert acc[0.001] != acc[0.02]
    assert sweep.best(rows, "accuracy")["lam"] == max(acc, key=acc.get)
    assert sweep.read_csv(out)[3]["accuracy"] == pytest.approx(rows[3]["accuracy"], rel=1e-15)


@pytest.mark.slow
def test_dask_local_cluster_equals_serial(tmp_path, folder):
    serial = sweep.run("zhuo2011", SETTINGS, str(folder), out=tmp_path / "a.csv", workers=0, threads=1,
                       progress=False)
    dask = sweep.run("zhuo2011", SETTINGS, str(folder), out=tmp_path / "b.csv", workers=2, threads=1,
                     progress=False)
    assert [(r["image"], r["setting"]) for r in dask] == [(r["image"], r["setting"]) for r in serial]
    for a, b in zip(serial, dask):
        for k in ("accuracy", "f_measure", "ap"):
            assert b[k] == pytest.approx(a[k], rel=1e-12), (a["image"], a["setting"], k)


def test_a_sweep_over_propagator_options_estimates_each_image_once(monkeypatch, folder):
    import dataclasses

    from defocus_lab import pipeline
    calls = []
    orig = pipeline.METHODS["zhuo2011"]

    def counting(image, **kw):
        calls.append(1)
        return orig.estimate(image, **kw)
    monkeypatch.setitem(pipeline.METHODS, "zhuo2011", dataclasses.replace(orig, estimate=counting))
    ev._SPARSE.clear()
    rows = sweep.run("zhuo2011", sweep.grid(lam=[0.001, 0.005, 0.02]), str(folder), workers=0, progress=False)
    assert len(calls) == 4 and len(rows) == 12  # one estimate per image, three propagations each
    ref = ev.samples(str(folder))[0][1]
    sample = ev.load_sample(ref)
    dense, _ = pipeline.estimate_defocus(sample.image, propagator_options={"lam": 0.005})  # no cache there
    assert (rows[4]["image"], rows[4]["lam"]) == (ref.name, 0.005)
    assert rows[4]["accuracy"] == ev.score(dense, sample)["accuracy"]
    assert rows[4]["seconds"] > 0  # the method's cost: the cached estimate's seconds are counted
    ev._SPARSE.clear()
    with pytest.raises(ValueError, match="SparseBlur of this"):
        pipeline.estimate_defocus(sample.image, sparse=np.zeros(sample.image.shape[:2]))


def test_resume_after_an_interrupted_run_recomputes_nothing_finished(tmp_path, folder):
    out = tmp_path / "r.csv"

    class Stop(Exception):
        pass

    seen = []

    def stop_after_three(row):
        seen.append(row)
        if len(seen) == 3:
            raise Stop

    with pytest.raises(Stop):
        sweep.run("zhuo2011", SETTINGS, str(folder), out=out, workers=0, threads=1, progress=False,
                  on_row=stop_after_three)
    assert len(sweep.read_csv(out)) == 3  # the finished rows were on disk when it stopped
    with open(out, "a") as f:  # a line cut short, as a kill in the middle of a write leaves it
        f.write(f'{folder},s03,zhuo2011,,0.02,1.0,0.7,0.8,0.9,1.5,,,"{{""lam"": 0.0')
    again = []
    rows = sweep.run("zhuo2011", SETTINGS, str(folder), out=out, workers=0, threads=1, progress=False,
                     on_row=again.append)
    assert len(again) == 5 and len(rows) == 8
    done = {(r["image"], r["setting"]) for r in seen}
    assert not done & {(r["image"], r["setting"]) for r in again}
    assert len(sweep.read_csv(out)) == 8  # rewritten: one row per (image, setting), the cut line gone
    full = sweep.run("zhuo2011", SETTINGS, str(folder), out=tmp_path / "full.csv", workers=0, threads=1,
                     progress=False)
    assert [r["accuracy"] for r in rows] == pytest.approx([r["accuracy"] for r in full], rel=1e-12)
    # a third run has nothing left to do
    third = []
    sweep.run("zhuo2011", SETTINGS, str(folder), out=out, workers=0, progress=False, on_row=third.append)
    assert third == []


def test_a_failing_image_is_recorded_and_retried(tmp_path):
    data = _folder(tmp_path / "set", n=3, broken=("s01",))
    out = tmp_path / "f.csv"
    rows = sweep.run("zhuo2011", [{"lam": 0.005}], str(data), out=out, workers=0, progress=False)
    bad = [r for r in rows if r["error"]]
    assert [r["image"] for r in bad] == ["s01"] and math.isnan(bad[0]["accuracy"])
    assert "s01" in bad[0]["error"] or "image" in bad[0]["error"].lower()
    assert all(not math.isnan(r["accuracy"]) for r in rows if not r["error"])
    retried = []
    sweep.run("zhuo2011", [{"lam": 0.005}], str(data), out=out, workers=0, progress=False, on_row=retried.append)
    assert [r["image"] for r in retried] == ["s01"]
    # a propagation that does not converge is a row with its warning, not a silent score
    warned = sweep.run("zhuo2011", [{"maxiter": 1}], str(data), workers=0, progress=False, limit=1)
    assert "ConvergenceWarning" in warned[0]["warnings"] and not warned[0]["error"]
    assert not rows[0]["warnings"]


def test_a_file_of_another_sweep_is_refused(tmp_path, folder):
    out = tmp_path / "x.csv"
    sweep.run("zhuo2011", [{"lam": 0.005}], str(folder), out=out, workers=0, progress=False, limit=1)
    with pytest.raises(ValueError, match="other columns"):
        sweep.run("zhuo2011", [{"sigma0": 2.0}], str(folder), out=out, workers=0, progress=False, limit=1)
    with pytest.raises(ValueError, match="not an option"):
        sweep.run("zhuo2011", [{"lamb": 2.0}], str(folder), out=out, workers=0, progress=False)
    with pytest.raises(ValueError, match="settings is empty"):
        sweep.run("zhuo2011", [], str(folder), workers=0)


# ----------------------------------------------------------------------------- the command line

def test_cli_sweep_and_evaluate(tmp_path, folder, capsys):
    out = tmp_path / "cli.csv"
    assert main(["sweep", "zhuo2011", "--param", "lam=0.001,0.02", "--dataset", str(folder), "--out", str(out),
                 "--workers", "0", "--quiet", "--limit", "2"]) == 0
    text = capsys.readouterr().out
    assert "4 rows" in text and "best mean accuracy" in text
    assert len(sweep.read_csv(out)) == 4
    assert main(["sweep", "zhuo2011", "--param", "lamb=1", "--dataset", str(folder), "--out", str(out)]) == 2
    assert "not an option" in capsys.readouterr().err
    assert main(["sweep", "zhuo2011", "--param", "lam", "--dataset", str(folder), "--out", str(out)]) == 2
    assert main(["evaluate", "--dataset", str(folder), "--method", "zhuo2011", "--limit", "1", "--quiet",
                 "--out", str(tmp_path / "e.csv")]) == 0
    text = capsys.readouterr().out
    assert "accuracy" in text and "f_measure" in text and (tmp_path / "e.csv").exists()
    assert main(["evaluate", "--dataset", "nowhere", "--method", "zhuo2011"]) == 2
    assert main(["evaluate", "--dataset", str(folder), "--method", "zhuo2011", "-P", "lamb=1"]) == 2
    assert "not an option of the matting propagator" in capsys.readouterr().err
    out2 = tmp_path / "random.csv"
    assert main(["sweep", "zhuo2011", "--param", "lam=0.001,0.02,0.1", "--random", "2", "--dataset", str(folder),
                 "--out", str(out2), "--workers", "0", "--quiet", "--limit", "1"]) == 0
    assert len(sweep.read_csv(out2)) == 2
    assert main(["evaluate", "--dataset", "motorcycle", "--method", "zhuo"]) == 2

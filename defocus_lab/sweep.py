"""Parameter sweeps over whole datasets, on this machine or a Dask cluster.

A sweep runs one method with each of a list of settings on each image of a dataset and
writes a tidy table: one row per (image, setting), with the setting's parameters, every score
of :mod:`defocus_lab.experiments.evaluate` (``accuracy``, ``f_measure``, ``ap`` against masks;
``mae``, ``relative_mae`` against maps), the seconds, the error (empty when it worked) and the
warnings raised meanwhile (a propagation that did not converge: read its scores with care).

>>> from defocus_lab import sweep
>>> settings = sweep.grid(lam=[0.001, 0.005], sigma0=[1.0, 2.0])
>>> len(settings), settings[0]
(4, {'lam': 0.001, 'sigma0': 1.0})

Then ``sweep.run("zhuo2011", settings, dataset="cuhk", out="zhuo.csv")`` (or
``defocus-lab sweep zhuo2011 --param lam=0.001,0.005 --param sigma0=1,2 --dataset cuhk
--out zhuo.csv``).

Decisions:

- **Which option a parameter is.** A name is looked up in the method's estimator and then in
  the propagator (their signatures); ``est.NAME`` / ``prop.NAME`` say it explicitly where both
  take it. An unknown name is refused before any work, with the names that exist.
- **The engine is Dask distributed.** ``workers=0`` runs in this process, one image after
  another (what the tests compare against); otherwise a :class:`distributed.LocalCluster` of
  ``workers`` processes (default: one per core), or the scheduler at ``scheduler=`` /
  ``DASK_SCHEDULER_ADDRESS`` (``tcp://host:8786``). Each task sets numba's and torch's threads to
  ``threads`` (default: cores / workers on a LocalCluster, 1 on a cluster you started), so that
  workers x threads fit the cores.
- **What a cluster worker needs:** this package installed (``pip install defocus-lab``, the same
  version), and the data reachable at the same place: the named datasets through its own
  ``DEFOCUS_LAB_DATA``, a folder dataset at the same path (a shared file system). A worker
  loads its image itself; only the image's name travels.
- **Resumable.** Rows are appended to ``out`` (CSV) as they finish, so a killed sweep keeps its
  finished rows; a rerun with the same ``out`` skips every (image, setting) whose row holds no
  error, and runs again those that failed (a failure may be a passing lack of memory). When
  the sweep ends, the file is rewritten in order with one row per (image, setting). A file
  written by a sweep of other columns (another dataset kind or other parameters) is refused.
- **Failures are rows.** An image that raises is recorded with its error and NaN scores; the
  sweep goes on (:func:`defocus_lab.experiments.evaluate.run_one`).
- **Randomness.** :func:`random` draws its settings from a seeded generator; the methods
  themselves are deterministic.
"""
from __future__ import annotations

import csv
import itertools
import json
import math
import os
import threading
from pathlib import Path

import numpy as np

from ._cache import cached
from .experiments import evaluate as ev

__all__ = ["grid", "random", "split", "run", "read_csv", "summary", "best", "plot", "task", "start_client"]

KEY_COLUMNS = ("dataset", "image", "method", "propagation", "setting")


# ----------------------------------------------------------------------------- settings

def grid(**space) -> list[dict]:
    """Every combination of the values in ``space`` (name -> list of values), the first name
    varying slowest. Names may carry ``est.`` / ``prop.`` (pass them as ``**{"prop.lam": [...]}``).

    Parameters
    ----------
    **space : list
        Each parameter's values, by name (an estimator's or a propagator's option, see
        :func:`split`).

    Returns
    -------
    list of dict
        One setting per combination.

    Raises
    ------
    ValueError
        A value that is not a list, or an empty one.

    Examples
    --------
    >>> grid(lam=[0.001, 0.005], sigma0=[1.0])
    [{'lam': 0.001, 'sigma0': 1.0}, {'lam': 0.005, 'sigma0': 1.0}]
    >>> len(grid(**{"est.sigma0": [1.0, 2.0], "prop.lam": [0.001, 0.005, 0.01]}))
    6
    """
    for k, v in space.items():
        if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
            raise ValueError(f"grid: {k} needs a list of values, e.g. {k}=[{v!r}]")
        if len(list(v)) == 0:
            raise ValueError(f"grid: {k} has no value")
    names = list(space)
    return [dict(zip(names, combo)) for combo in itertools.product(*(list(space[k]) for k in names))]


def random(space: dict, n: int, *, seed: int = 0) -> list[dict]:
    """``n`` settings drawn from ``space`` with a seeded generator: a list is drawn from
    uniformly; ``(lo, hi)`` is a uniform float; ``("log", lo, hi)`` is log-uniform.

    Parameters
    ----------
    space : dict
        Name -> a list of values, ``(lo, hi)`` or ``("log", lo, hi)``.
    n : int
        How many settings.
    seed : int
        The generator's seed: the same seed gives the same settings.

    Returns
    -------
    list of dict
        ``n`` settings.

    Raises
    ------
    ValueError
        ``n`` < 1, or a space entry of another form.

    Examples
    --------
    >>> settings = random({"lam": ("log", 1e-4, 1e-1), "radius": [1, 2]}, 3, seed=1)
    >>> len(settings), sorted(settings[0])
    (3, ['lam', 'radius'])
    >>> all(1e-4 <= s["lam"] <= 1e-1 for s in settings)
    True
    >>> random({"lam": ("log", 1e-4, 1e-1)}, 3, seed=1) == random({"lam": ("log", 1e-4, 1e-1)}, 3, seed=1)
    True
    """
    if isinstance(n, bool) or int(n) < 1:
        raise ValueError(f"n must be a positive number of settings; got {n!r}")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(int(n)):
        s = {}
        for k, v in space.items():
            if isinstance(v, tuple) and len(v) == 3 and v[0] == "log":
                lo, hi = float(v[1]), float(v[2])
                if not 0 < lo < hi:
                    raise ValueError(f"random: {k}=('log', lo, hi) needs 0 < lo < hi; got {v}")
                s[k] = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
            elif isinstance(v, tuple) and len(v) == 2:
                s[k] = float(rng.uniform(float(v[0]), float(v[1])))
            elif isinstance(v, list) and v:
                s[k] = v[int(rng.integers(len(v)))]
            else:
                raise ValueError(f"random: {k} must be a non-empty list, (lo, hi) or ('log', lo, hi); got {v!r}")
        out.append(s)
    return out


def _stage_names(method: str, propagation: str | None):
    """(method, propagator, the estimator's option names, the propagator's option names): the
    names each function declares in its ``option_names`` (no signature probing)."""
    from .pipeline import METHODS, PROPAGATORS, _resolve
    method = _resolve(method, METHODS, "method")
    prop = _resolve(propagation or METHODS[method].propagator, PROPAGATORS, "propagation")
    return (method, prop, set(getattr(METHODS[method].estimate, "option_names", ())),
            set(getattr(PROPAGATORS[prop], "option_names", ())))


def split(method: str, setting: dict, propagation: str | None = None) -> tuple[dict, dict]:
    """(estimator options, propagator options) of ``setting`` for ``method`` (module docstring).

    Parameters
    ----------
    method : str
        A registry key (:data:`defocus_lab.METHODS`).
    setting : dict
        Parameter name -> value; a name may carry ``est.`` or ``prop.``.
    propagation : str, optional
        The propagator (default: the method's own).

    Returns
    -------
    estimator_options : dict
    propagator_options : dict

    Raises
    ------
    ValueError
        A name neither stage takes (the message lists those they take), or one both take without
        a prefix.

    Examples
    --------
    >>> split("zhuo2011", {"sigma0": 2.0, "lam": 0.01})
    ({'sigma0': 2.0}, {'lam': 0.01})
    """
    method, prop, est_names, prop_names = _stage_names(method, propagation)
    est, pro = {}, {}
    for key, value in setting.items():
        stage, _, name = key.rpartition(".")
        if stage not in ("", "est", "prop"):
            raise ValueError(f"parameter {key!r}: the prefix must be 'est.' or 'prop.'")
        in_est, in_prop = name in est_names, name in prop_names
        if stage == "est" or (not stage and in_est and not in_prop):
            if not in_est:
                raise ValueError(f"{method}'s estimator takes no {name!r}; it takes {sorted(est_names)}")
            est[name] = value
        elif stage == "prop" or (not stage and in_prop and not in_est):
            if not in_prop:
                raise ValueError(f"the {prop} propagator takes no {name!r}; it takes {sorted(prop_names)}")
            pro[name] = value
        elif in_est and in_prop:
            raise ValueError(f"{name!r} is an option of both {method}'s estimator and the {prop} propagator: "
                             f"write est.{name} or prop.{name}")
        else:
            raise ValueError(f"{name!r} is not an option of {method}'s estimator ({sorted(est_names)}) nor of "
                             f"the {prop} propagator ({sorted(prop_names)})")
    return est, pro


def _job_key(ref, method: str, propagation: str | None, setting: dict) -> tuple:
    """The identity of a row: what a rerun skips when its row is in the CSV (:func:`_key`)."""
    return ref.dataset, ref.name, method, propagation or "", ev.options_key(setting)


# ----------------------------------------------------------------------------- one task

def task(ref, method: str, propagation: str | None, setting: dict, threads: int | None = None,
         device: str = "cpu") -> dict:
    """One row of a sweep, run where it is sent (this process or a Dask worker): sets this
    thread's numba threads and torch's to ``threads``, splits ``setting`` into the two stages'
    options and runs :func:`~defocus_lab.experiments.evaluate.run_one`.

    Parameters
    ----------
    ref : defocus_lab.experiments.evaluate.SampleRef
        The image (its dataset and name; the worker loads it).
    method : str
        A registry key.
    propagation : str or None
        The propagator (None: the method's own).
    setting : dict
        The parameters.
    threads : int, optional
        numba and torch threads for this task.
    device : str
        Where the torch methods run.

    Returns
    -------
    dict
        The row (as in :func:`run`).

    Examples
    --------
    >>> from defocus_lab.experiments import evaluate
    >>> refs, _ = evaluate.samples("motorcycle", limit=1)
    >>> row = task(refs[0], "zhuo2011", None, {"lam": 0.005}, threads=1)
    >>> row["image"], row["setting"], row["error"]
    ('focus25', '{"lam": 0.005}', '')
    """
    if threads:
        import numba
        import torch
        numba.set_num_threads(min(int(threads), numba.config.NUMBA_NUM_THREADS))
        torch.set_num_threads(int(threads))
    est, pro = split(method, setting, propagation)  # checked by run() before any task is sent
    row = ev.run_one(ref, method, propagation=propagation, estimator_options=est, propagator_options=pro,
                     device=device)
    return row | {"setting": ev.options_key(setting)}


# ----------------------------------------------------------------------------- the table on disk

def _columns(params, metrics) -> list[str]:
    return list(KEY_COLUMNS[:4]) + list(params) + list(metrics) + ["seconds", "error", "warnings", "setting"]


def _key(row) -> tuple:
    """:func:`_job_key` of a row (read back or just computed)."""
    return tuple(str(row[k]) for k in KEY_COLUMNS)


def _parse(row: dict, metrics) -> dict:
    out = dict(row)
    for k in tuple(metrics) + ("seconds",):
        v = out.get(k)
        out[k] = float(v) if v not in (None, "") else np.nan
    out.update(json.loads(row["setting"]) if row.get("setting") else {})
    return out


def read_csv(path) -> list[dict]:
    """The rows of a sweep's CSV, scores as floats and the parameters as the sweep gave them
    (read back from the ``setting`` column, JSON). Lines cut short by a killed run are left out.

    Parameters
    ----------
    path : str or pathlib.Path
        A CSV written by :func:`run` (``out=``).

    Returns
    -------
    list of dict
        The rows, as :func:`run` returns them.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = pathlib.Path(tmp) / "sweep.csv"
    ...     rows = run("zhuo2011", [{"lam": 0.005}], dataset="motorcycle", out=out, workers=0, limit=1,
    ...                progress=False)
    ...     back = read_csv(out)
    >>> back[0]["lam"], back[0]["mae"] == rows[0]["mae"]
    (0.005, True)
    """
    path = Path(path)
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        cols = reader.fieldnames or []
        metrics = [c for c in cols if c in ev.MAP_METRICS + ev.MASK_METRICS]
        return [_parse(r, metrics) for r in reader if _complete(r)]


def _complete(row: dict) -> bool:
    """False for a line a killed run cut short: a field missing, or the setting's JSON unfinished."""
    if None in row or row.get("error") is None or not row.get("setting"):
        return False
    try:
        json.loads(row["setting"])
    except json.JSONDecodeError:
        return False
    return True


def _check_header(path: Path, columns) -> None:
    with open(path, newline="") as f:
        have = next(csv.reader(f), None)
    if have != list(columns):
        raise ValueError(f"{path} holds a sweep with other columns ({have}); this sweep writes {list(columns)}. "
                         f"Choose another out file, or delete it to start over")


def _format(row: dict, columns) -> dict:
    out = {}
    params = json.loads(row["setting"])
    for c in columns:
        v = row.get(c, params.get(c, ""))
        out[c] = "" if isinstance(v, float) and math.isnan(v) else (repr(v) if isinstance(v, float) else v)
    return out


# ----------------------------------------------------------------------------- the engine

def start_client(workers: int | None = None, scheduler: str | None = None):
    """A Dask client: ``scheduler`` (or ``DASK_SCHEDULER_ADDRESS``) connects to a running
    cluster; otherwise a :class:`~distributed.LocalCluster` of ``workers`` single-threaded
    processes (default: one per core) is started, its dashboard on a free port (close both with
    ``client.close(); client.cluster.close()``).

    Parameters
    ----------
    workers : int, optional
        The LocalCluster's processes (default: one per core).
    scheduler : str, optional
        A running scheduler's address (``tcp://host:8786``).

    Returns
    -------
    distributed.Client

    Raises
    ------
    ValueError
        ``workers`` < 1.

    Examples
    --------
    >>> client = start_client(workers=1)
    >>> len(client.scheduler_info()["workers"])
    1
    >>> client.close(); client.cluster.close()
    """
    from distributed import Client, LocalCluster
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        return Client(address)
    n = workers or os.cpu_count() or 1
    if isinstance(n, bool) or int(n) < 1:
        raise ValueError(f"workers must be a positive number of processes (0: run in this process); got {workers!r}")
    cluster = LocalCluster(n_workers=int(n), threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=40)
    return Client(cluster)


def _task_threads(client) -> int:
    """numba/torch threads per task when not given: a LocalCluster's workers share this
    machine's cores (cores / workers); a cluster someone started gets 1 (its workers' own
    ``--nthreads`` say how many tasks a machine runs at once)."""
    from distributed import LocalCluster
    if not isinstance(getattr(client, "cluster", None), LocalCluster):
        return 1
    n = len(client.scheduler_info().get("workers", {})) or 1
    return max(1, (os.cpu_count() or 1) // n)


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
        return get_ipython() is not None and "IPKernelApp" in get_ipython().config
    except ImportError:
        return False


@cached(ignore=("workers", "scheduler", "client", "threads", "progress"),
        skip_if=lambda kw: kw.get("out") is not None or kw.get("on_row") is not None)
def run(method: str, settings, dataset: str = "cuhk", *, out=None, propagation: str | None = None,
        workers: int | None = None, scheduler: str | None = None, client=None, threads: int | None = None,
        limit: int | None = None, device: str = "cpu", progress: bool = True, on_row=None) -> list[dict]:
    """Run ``method`` with each of ``settings`` on each image of ``dataset``; returns the rows
    (this sweep's, finished before or now), in (image, setting) order.

    Parameters
    ----------
    method : str
        A registry key (``zhuo2011``, ``kriener2013``, ``karaali2022``, ``galetto2022``).
    settings : list of dict
        From :func:`grid` or :func:`random` (or written by hand); ``[{}]`` runs the defaults.
    dataset : str
        ``motorcycle``, ``rtf``, ``cuhk``, ``dut`` or a folder in the CUHK layout
        (:mod:`defocus_lab.experiments.evaluate`).
    out : path, optional
        The CSV (resumed when it exists: module docstring). Without it nothing is written.
    propagation : str, optional
        The propagator (default: the method's own, with its preset).
    workers : int, optional
        0: in this process. Otherwise the LocalCluster's processes (default: one per core).
    scheduler : str, optional
        A running scheduler's address (default: ``DASK_SCHEDULER_ADDRESS`` when set).
    client : distributed.Client, optional
        A client you made (a notebook keeps one across sweeps); left open.
    threads : int, optional
        numba and torch threads per task (default: cores / workers locally, 1 on a cluster).
    limit : int, optional
        Only the first ``limit`` images of the dataset.
    device : str
        For the torch methods (:func:`defocus_lab.models.device.resolve_device`). Default "cpu":
        several worker processes sharing one GPU is a choice to make explicitly.
    progress : bool
        Dask's progress bar (a widget in a notebook, text in a terminal); a text line per row
        in this process.
    on_row : callable(row), optional
        Called with each row as it is written (e.g. to plot rows as they come; the tests interrupt a
        run from it).

    Returns
    -------
    list of dict
        One row per (image, setting): ``dataset``, ``image``, ``method``, ``propagation``, the
        setting's parameters, the scores, ``seconds``, ``error`` (empty when it worked),
        ``warnings`` and ``setting`` (the parameters as JSON).

    Raises
    ------
    ValueError
        Empty ``settings``, an unknown parameter name, method or dataset, or an ``out`` file of
        another sweep; before any work is done.

    Examples
    --------
    The synthetic motorcycle (bundled, a known blur map), in this process:

    >>> rows = run("zhuo2011", grid(lam=[0.005]), dataset="motorcycle", workers=0, limit=1, progress=False)
    >>> [(r["image"], r["lam"], r["error"]) for r in rows]
    [('focus25', 0.005, '')]
    >>> 0 < rows[0]["mae"] < 1
    True
    """
    settings = [dict(s) for s in settings]
    if not settings:
        raise ValueError("settings is empty: give at least one setting ([{}] runs the defaults)")
    for s in settings:  # refuse unknown names before starting anything
        split(method, s, propagation)
    refs, skipped = ev.samples(dataset, limit=limit)
    if not refs:
        raise ValueError(f"dataset {dataset!r} has no image available here"
                         + (f" (missing: {', '.join(skipped)}; set DEFOCUS_LAB_DATA)" if skipped else ""))
    metrics = ev.metric_names(dataset)
    params = list(dict.fromkeys(k for s in settings for k in s))
    columns = _columns(params, metrics)
    out = Path(out).expanduser() if out is not None else None
    done: dict[tuple, dict] = {}
    if out is not None and out.exists() and out.stat().st_size:
        _check_header(out, columns)
        kept = read_csv(out)
        for r in kept:
            if not r["error"]:
                done[_key(r)] = r
        # rewritten before appending: a line a killed run cut short (an open quote) would swallow
        # the rows appended after it
        _rewrite(out, kept, columns)
    jobs = [(ref, s) for ref in refs for s in settings]
    todo = [(ref, s) for ref, s in jobs if _job_key(ref, method, propagation, s) not in done]
    lock = threading.Lock()
    new: list[dict] = []
    fh = writer = None
    if out is not None:
        fresh = not out.exists() or not out.stat().st_size
        fh = open(out, "a", newline="")
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        if fresh:
            writer.writeheader()
            fh.flush()

    def record(row):
        line = _format(row, columns)
        row = _parse(line, metrics)  # the row as a rerun reads it back from the CSV
        with lock:
            if writer is not None:
                writer.writerow(line)
                fh.flush()
            new.append(row)
        if on_row is not None:
            on_row(row)

    try:
        if todo and workers == 0 and client is None and scheduler is None:  # explicit: over DASK_SCHEDULER_ADDRESS
            _run_here(todo, method, propagation, threads, device, record, progress)
        elif todo:
            _run_dask(todo, method, propagation, threads, device, record, progress, workers, scheduler, client)
    finally:
        if fh is not None:
            fh.close()
    rows = dict(done)
    for r in new:
        rows[_key(r)] = r
    order = {_job_key(ref, method, propagation, s): i for i, (ref, s) in enumerate(jobs)}
    result = sorted((r for k, r in rows.items() if k in order), key=lambda r: order[_key(r)])
    if out is not None:
        _rewrite(out, result, columns)
    return result


def _run_here(todo, method, propagation, threads, device, record, progress):
    for i, (ref, s) in enumerate(todo):
        row = task(ref, method, propagation, s, threads, device)
        record(row)
        if progress:
            print(f"[{i + 1}/{len(todo)}] {ref.name} {s}: "
                  + (row["error"] or f"{row['seconds']:.2f} s"), flush=True)


def _run_dask(todo, method, propagation, threads, device, record, progress, workers, scheduler, client):
    from distributed import as_completed
    own = client is None
    if own:
        client = start_client(workers, scheduler)
    try:
        threads = threads or _task_threads(client)
        futures = [client.submit(task, ref, method, propagation, s, threads, device, pure=False) for ref, s in todo]
        notebook = _in_notebook()
        if progress and notebook:
            from IPython.display import HTML, display

            from distributed import progress as dask_progress
            display(HTML(f'<p>Dask dashboard: <a href="{client.dashboard_link}" target="_blank">'
                         f'{client.dashboard_link}</a> ({len(futures)} tasks)</p>'))
            dask_progress(futures, notebook=True)
        if progress and not notebook:
            # Dask's text bar blocks until every future is done, so the rows are written by a
            # thread meanwhile (each as soon as it finishes: a killed run keeps them).
            failure = []

            def drain():
                try:
                    for fut, row in as_completed(futures, with_results=True):
                        record(row)
                except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                    failure.append(exc)
            t = threading.Thread(target=drain, daemon=True)
            t.start()
            from distributed import progress as dask_progress
            dask_progress(futures, notebook=False)
            t.join()
            if failure:
                raise failure[0]
        else:
            for fut, row in as_completed(futures, with_results=True):
                record(row)
    finally:
        if own:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()


def _rewrite(out: Path, rows, columns) -> None:
    """The CSV in order, one row per (image, setting), replaced atomically."""
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(_format(r, columns))
    os.replace(tmp, out)


# ----------------------------------------------------------------------------- reading a sweep

def summary(rows, metric: str) -> list[dict]:
    """Per setting: its parameters, the mean of ``metric`` over the images that worked,
    ``images`` (how many) and ``errors``; in the sweep's order.

    Parameters
    ----------
    rows : list of dict
        A sweep's rows (:func:`run`, :func:`read_csv`).
    metric : str
        A score column (``mae``, ``relative_mae``, ``accuracy``, ``f_measure``, ``ap``).

    Returns
    -------
    list of dict
        One per setting: its parameters, the mean ``metric`` (NaN when no image worked),
        ``images``, ``errors`` and ``setting``.

    Examples
    --------
    >>> rows = [{"setting": '{"lam": 0.01}', "error": "", "mae": 0.5},
    ...         {"setting": '{"lam": 0.01}', "error": "", "mae": 0.3},
    ...         {"setting": '{"lam": 0.1}', "error": "MemoryError", "mae": float("nan")}]
    >>> [(s["lam"], s["mae"], s["images"], s["errors"]) for s in summary(rows, "mae")]
    [(0.01, 0.4, 2, 0), (0.1, nan, 0, 1)]
    """
    groups: dict[str, list] = {}
    for r in rows:
        groups.setdefault(r["setting"], []).append(r)
    out = []
    for setting, rs in groups.items():
        ok = [r[metric] for r in rs if not r["error"] and not math.isnan(r[metric])]
        out.append({**json.loads(setting), metric: float(np.mean(ok)) if ok else np.nan,
                    "images": len(ok), "errors": sum(1 for r in rs if r["error"]), "setting": setting})
    return out


def best(rows, metric: str, *, lower_is_better: bool | None = None) -> dict:
    """The setting of :func:`summary` with the best mean ``metric`` (lowest for ``mae`` and
    ``relative_mae``, highest for the others unless ``lower_is_better`` says otherwise).

    Parameters
    ----------
    rows : list of dict
        A sweep's rows.
    metric : str
        The score to rank by.
    lower_is_better : bool, optional
        The direction (default: lower for the map errors, higher for the mask scores).

    Returns
    -------
    dict
        The best row of :func:`summary`.

    Raises
    ------
    ValueError
        No row holds a ``metric`` score.

    Examples
    --------
    >>> rows = [{"setting": '{"lam": 0.01}', "error": "", "mae": 0.4},
    ...         {"setting": '{"lam": 0.1}', "error": "", "mae": 0.6}]
    >>> best(rows, "mae")["lam"]
    0.01
    """
    if lower_is_better is None:
        lower_is_better = metric in ev.MAP_METRICS
    s = [x for x in summary(rows, metric) if not math.isnan(x[metric])]
    if not s:
        raise ValueError(f"no row holds a {metric} score (every image failed, or the dataset scores other metrics)")
    return min(s, key=lambda x: x[metric]) if lower_is_better else max(s, key=lambda x: x[metric])


def plot(rows, param: str, metric: str, *, ax=None, by: str | None = None):
    """``metric`` (mean over images) against ``param``, one line per value of ``by`` (another
    parameter) when given; the best setting marked. Returns the axes.

    Parameters
    ----------
    rows : list of dict
        A sweep's rows.
    param : str
        The parameter on the x axis (log scale when it spans a decade or more).
    metric : str
        The score on the y axis.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).
    by : str, optional
        Another parameter: one line per value.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> rows = [{"setting": f'{{"lam": {v}}}', "error": "", "mae": e} for v, e in [(0.001, 0.5), (0.01, 0.4), (0.1, 0.6)]]
    >>> ax = plot(rows, "lam", "mae", ax=Figure().add_subplot())
    >>> ax.get_xscale(), len(ax.lines)
    ('log', 2)
    """
    import matplotlib.pyplot as plt
    s = summary(rows, metric)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    groups: dict = {}
    for x in s:
        groups.setdefault(x.get(by) if by else None, []).append(x)
    for g, xs in groups.items():
        xs = sorted(xs, key=lambda x: x[param])
        ax.plot([x[param] for x in xs], [x[metric] for x in xs], "o-", label=f"{by} = {g}" if by else None)
    b = best(rows, metric)
    ax.plot([b[param]], [b[metric]], "*", color="crimson", markersize=14, label=f"best: {param} = {b[param]:g}")
    values = [x[param] for x in s if isinstance(x[param], (int, float))]
    if values and min(values) > 0 and max(values) / min(values) >= 10:
        ax.set_xscale("log")
    ax.set_xlabel(param)
    ax.set_ylabel(f"mean {metric} ({s[0]['images'] + s[0]['errors']} images)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax

"""Where CI's time goes: ``bash .ci/run`` on a fresh clone, with pytest's ``--durations=0``.

    python benchmarks/ci_profile.py --name ci_profile_after           # clone, run, profile (~20 min)
    python benchmarks/ci_profile.py --log CI.log --name ci_profile_before  # profile a log already made

The run: ``git clone`` of this checkout into a temporary folder with ``../shared`` linked beside
it (as CI has it), then ``PYTEST_ADDOPTS=--durations=0 bash .ci/run`` timed as a whole, its
output kept in ``<name>.log`` beside the results. The profile: the wall time of the run, the
time of each of ``make test``'s pytest stages (unit, doctest, nbval, browser: pytest's own
``in N s`` line), and the slowest items of each stage and of the whole run. Written to
``benchmarks/results/<name>.md``.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import RESULTS, record  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["unit (pytest -m 'not browser' tests)", "doctest (--doctest-modules defocus_lab)",
          "nbval (notebooks)", "browser (tests/browser)"]
_ITEM = re.compile(r"^\s*([0-9.]+)s (call|setup|teardown)\s+(.+?)\s*$")
_DONE = re.compile(r"=+ .*?(\d+ passed|\d+ failed).* in ([0-9.]+)s")


def run_fresh_clone(log: Path) -> float:
    """Clone, run ``.ci/run`` with durations, write its output to ``log``; the wall seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["git", "clone", "-q", str(ROOT), f"{tmp}/main"], check=True)
        shared = ROOT.parent / "shared"
        if shared.is_dir():
            os.symlink(shared, f"{tmp}/shared")
        env = {k: v for k, v in os.environ.items() if k != "DEFOCUS_LAB_DATA"}
        env["PYTEST_ADDOPTS"] = "--durations=0"
        t = time.perf_counter()
        with open(log, "w") as f:
            rc = subprocess.run(["bash", ".ci/run"], cwd=f"{tmp}/main", stdout=f, stderr=subprocess.STDOUT,
                                env=env).returncode
        wall = time.perf_counter() - t
        with open(log, "a") as f:
            f.write(f"\nci_profile: exit status {rc}, wall {wall:.1f} s\n")
    return wall


def parse(text: str):
    """[(stage seconds, [(seconds, phase, item)])] per pytest session, in order."""
    sessions, items = [], []
    for line in text.splitlines():
        m = _ITEM.match(line)
        if m:
            items.append((float(m.group(1)), m.group(2), m.group(3)))
            continue
        m = _DONE.search(line)
        if m:
            sessions.append((float(m.group(2)), items))
            items = []
    return sessions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", help="profile this log of `PYTEST_ADDOPTS=--durations=0 time bash .ci/run` instead "
                                  "of running one")
    ap.add_argument("--wall", type=float, help="with --log: the run's wall seconds (`time`'s real)")
    ap.add_argument("--name", default="ci_profile")
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--note", help="a line printed first (e.g. which commit the log was made at)")
    args = ap.parse_args()
    with record(__file__, args.name):
        if args.note:
            print(args.note)
        if args.log:
            text = Path(args.log).read_text()
            wall = args.wall
            m = re.search(r"ci_profile: exit status \d+, wall ([0-9.]+) s", text) or \
                re.search(r"real\s+(\d+)m([0-9.]+)s", text)
            if wall is None and m:
                wall = float(m.group(1)) if len(m.groups()) == 1 else 60 * float(m.group(1)) + float(m.group(2))
            print(f"log: {args.log}")
        else:
            log = Path(RESULTS) / f"{args.name}.log"
            wall = run_fresh_clone(log)
            text = log.read_text()
            print(f"log: {log}")
        sessions = parse(text)
        tested = sum(s for s, _ in sessions)
        print(f"\nfresh clone `bash .ci/run`, wall: {wall:.0f} s ({wall / 60:.1f} min)" if wall else "")
        print(f"install, warmup and Chromium (wall - pytest stages): {wall - tested:.0f} s" if wall else "")
        print("\n| stage | seconds | items |\n|---|---:|---:|")
        for name, (secs, items) in zip(STAGES, sessions):
            print(f"| {name} | {secs:.0f} | {len({i for _, _, i in items})} |")
        every = [it for _, items in sessions for it in items]
        print(f"\nthe {args.top} slowest items of the run (setup and call separately, as pytest reports them)\n")
        print("| seconds | phase | item |\n|---:|---|---|")
        for secs, phase, item in sorted(every, reverse=True)[:args.top]:
            print(f"| {secs:.1f} | {phase} | `{item}` |")
        for name, (secs, items) in zip(STAGES, sessions):
            print(f"\n{name}: {secs:.0f} s; slowest\n")
            for s, phase, item in sorted(items, reverse=True)[:args.top]:
                print(f"- {s:.1f} s {phase} `{item}`")


if __name__ == "__main__":
    main()

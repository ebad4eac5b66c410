"""Class benchmark: one cold grade against a whole class of the bundled examples, in one run.

    python bench/class_speed.py [--runs N] [--jobs J] [--limit K] [--json FILE]

Measures, on this machine and in this one run (see bench/README.md):

  cold   `python -m grader grade submissions/correct --format json`, a fresh process (N runs).
  class  `python -m grader grade --each CLASS --jobs J --format json -o FILE --results FILE.jsonl`
         over a copy of every folder in submissions/ (the first K with --limit); J defaults to
         the usable cores. Per-submission cost = class wall / submissions, relative to the
         median cold grade; submissions per second.
  rerun  the same command again with the same results file and nothing changed (every
         submission taken from the file).
  hung   `python -m grader grade submissions/mlp_bce_infinite_loop`: a function that never
         returns.
  cold workers (with --compare-cold) the class again with --cold-workers: every worker a
         fresh Python that imports torch, instead of a fork of the part's template.

CPU seconds are those of each command's whole process tree, workers included (the benchmark
is a child subreaper and reaps every orphan; see bench/proctree.py); peak memory is the
largest single process (ru_maxrss) and the peak of the tree's summed resident memory (sampled
from /proc). Only measures and reports: no timing assertion. Exit 0, or 2 when a measured
command fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from grade_speed import machine_info
from proctree import Measured, become_subreaper, children_max_rss_mb, measure

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
SUBMISSIONS = REPO_ROOT / "submissions"
HUNG = SUBMISSIONS / "mlp_bce_infinite_loop"


class BenchError(Exception):
    """A measured command did not do its job; the numbers would mean nothing."""


def _grader(*args: str) -> list[str]:
    return [sys.executable, "-m", "grader", "grade", *args]


def _checked(result: Measured, what: str, allowed: tuple[int, ...] = (0, 1, 2)) -> Measured:
    if result.returncode not in allowed or "internal error" in result.stderr:
        raise BenchError("%s exited %d:\n%s" % (what, result.returncode, result.stderr[-3000:]))
    return result


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def make_class(folder: Path, limit: int | None) -> list[str]:
    """A class folder holding a copy of every bundled example submission (the first `limit`)."""
    names = sorted(p.name for p in SUBMISSIONS.iterdir() if p.is_dir() and not p.name.startswith("."))
    names = names[:limit] if limit else names
    for name in names:
        shutil.copytree(SUBMISSIONS / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    return names


def _stats(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "runs": [round(v, 3) for v in values]}


def run(args: argparse.Namespace) -> dict:
    cores = usable_cores()
    jobs = args.jobs or cores
    load_before = round(os.getloadavg()[0], 2)
    reaping = become_subreaper()
    cwd = str(REPO_ROOT)
    with tempfile.TemporaryDirectory(prefix="class-speed-") as scratch:
        klass = Path(scratch) / "class"
        names = make_class(klass, args.limit)
        _checked(measure(_grader(str(SUBMISSIONS / "correct"), "--format", "json"), cwd), "warm-up grade")
        cold = [_checked(measure(_grader(str(SUBMISSIONS / "correct"), "--format", "json"), cwd), "cold grade")
                for _ in range(args.runs)]
        for index, result in enumerate(cold):
            print("cold %d/%d: %.2f s" % (index + 1, args.runs, result.wall_s), file=sys.stderr)
        results = Path(scratch) / "class.jsonl"
        command = _grader("--each", str(klass), "--jobs", str(jobs), "--format", "json",
                          "-o", str(Path(scratch) / "class.json"), "--results", str(results))
        whole = _checked(measure(command, cwd), "class grade")
        print("class of %d with --jobs %d: %.1f s" % (len(names), jobs, whole.wall_s), file=sys.stderr)
        reports = json.loads((Path(scratch) / "class.json").read_text())
        rerun = _checked(measure(command, cwd), "rerun")
        print("rerun: %.1f s" % rerun.wall_s, file=sys.stderr)
        hung = _checked(measure(_grader(str(HUNG), "--format", "json"), cwd), "hung submission")
        print("hung: %.1f s" % hung.wall_s, file=sys.stderr)
        cold_class = None
        if args.compare_cold:
            cold_class = _checked(measure(_grader("--each", str(klass), "--jobs", str(jobs), "--format", "json",
                                                  "-o", str(Path(scratch) / "cold.json"), "--cold-workers"), cwd),
                                  "class grade with --cold-workers")
            print("class with --cold-workers: %.1f s" % cold_class.wall_s, file=sys.stderr)
    cold_wall = statistics.median(r.wall_s for r in cold)
    per_submission = whole.wall_s / len(names)
    return {
        "schema": 1,
        "machine": machine_info(),
        "jobs": jobs,
        "loadavg_before": load_before,
        "subreaper": reaping,
        "cold": {"wall_s": _stats([r.wall_s for r in cold]), "cpu_s": _stats([r.cpu_s for r in cold]),
                 "peak_tree_rss_mb": round(max(r.peak_tree_rss_mb for r in cold), 1)},
        "class": {
            "submissions": len(names), "graded": sum(1 for r in reports if "error" not in r),
            "wall_s": round(whole.wall_s, 2), "cpu_s": round(whole.cpu_s, 2),
            "per_submission_s": round(per_submission, 3),
            "per_submission_vs_cold": round(per_submission / cold_wall, 3),
            "submissions_per_s": round(len(names) / whole.wall_s, 3),
            "cpu_per_submission_s": round(whole.cpu_s / len(names), 3),
            "peak_tree_rss_mb": round(whole.peak_tree_rss_mb, 1),
        },
        "rerun": {"wall_s": round(rerun.wall_s, 2), "cpu_s": round(rerun.cpu_s, 2),
                  "vs_first_run": round(rerun.wall_s / whole.wall_s, 3)},
        "hung": {"wall_s": round(hung.wall_s, 2), "cpu_s": round(hung.cpu_s, 2)},
        "class_cold_workers": None if cold_class is None else {
            "wall_s": round(cold_class.wall_s, 2), "cpu_s": round(cold_class.cpu_s, 2),
            "warm_over_cold_wall": round(whole.wall_s / cold_class.wall_s, 3),
            "warm_over_cold_cpu": round(whole.cpu_s / cold_class.cpu_s, 3)},
        "max_single_process_rss_mb": round(children_max_rss_mb(), 1),
    }


def render(result: dict) -> str:
    m, cold, klass, rerun, hung = (result[k] for k in ("machine", "cold", "class", "rerun", "hung"))
    lines = [
        "class_speed: one cold grade vs a class of the bundled examples",
        "",
        "machine   %s; %s cores (%s usable)" % (m["cpu"], m["cores"], m["cores_usable"]),
        "          Python %s, torch %s, %s" % (m["python"], m["torch"], m["platform"]),
        "          repo %s, %s, load average (1 min) %s before, %s after"
        % (m["repo_commit"], m["date"], result.get("loadavg_before"), m["loadavg_1min"]),
        "",
        "cold grade of submissions/correct   median %.2f s (min %.2f, max %.2f; %d runs), CPU %.2f s"
        % (cold["wall_s"]["median"], cold["wall_s"]["min"], cold["wall_s"]["max"], len(cold["wall_s"]["runs"]),
           cold["cpu_s"]["median"]),
        "class of %d (--jobs %d)              %.1f s wall, %.1f CPU-s (%d graded, %d could not be)"
        % (klass["submissions"], result["jobs"], klass["wall_s"], klass["cpu_s"], klass["graded"],
           klass["submissions"] - klass["graded"]),
        "  per submission                    %.2f s = %.2fx the cold grade; %.2f CPU-s = %.2fx its CPU"
        % (klass["per_submission_s"], klass["per_submission_vs_cold"], klass["cpu_per_submission_s"],
           klass["cpu_per_submission_s"] / cold["cpu_s"]["median"]),
        "  throughput                        %.2f submissions/s" % klass["submissions_per_s"],
        "rerun, nothing changed              %.1f s = %.2fx the first run" % (rerun["wall_s"], rerun["vs_first_run"]),
        "hung submission (infinite loop)     %.1f s wall (%+.1f s on the cold grade), %.1f CPU-s"
        % (hung["wall_s"], hung["wall_s"] - cold["wall_s"]["median"], hung["cpu_s"]),
        "peak memory                         largest process %.0f MB; whole tree at once: cold %.0f MB, class %.0f MB"
        % (result["max_single_process_rss_mb"], cold["peak_tree_rss_mb"], klass["peak_tree_rss_mb"]),
        "   (CPU: user+system seconds of each command's whole process tree, workers included%s)"
        % ("" if result["subreaper"] else "; NOT a subreaper here: orphaned workers are missing"),
    ]
    cold_workers = result.get("class_cold_workers")
    if cold_workers:
        lines.insert(-3, "same class with --cold-workers        %.1f s wall, %.1f CPU-s: warm workers take %.2fx "
                         "the wall time, %.2fx the CPU" % (cold_workers["wall_s"], cold_workers["cpu_s"],
                                                          cold_workers["warm_over_cold_wall"],
                                                          cold_workers["warm_over_cold_cpu"]))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, metavar="N", help="cold grades (default 3)")
    parser.add_argument("--jobs", type=int, default=0, metavar="J", help="--jobs of the class (default: cores)")
    parser.add_argument("--limit", type=int, default=0, metavar="K",
                        help="only the first K example folders (default: all)")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON to FILE")
    parser.add_argument("--compare-cold", action="store_true",
                        help="grade the class once more with --cold-workers (every worker a fresh Python) and "
                             "report the warm workers' share of its time")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    try:
        result = run(args)
    except BenchError as exc:
        print("class_speed: error: %s" % exc, file=sys.stderr)
        return 2
    sys.stdout.write(render(result))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

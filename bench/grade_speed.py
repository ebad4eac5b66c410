"""Speed benchmark: the grader against the course's own kind of test scripts, in one run.

    python bench/grade_speed.py [--runs N] [--submission DIR] [--json FILE]

Measures, on this machine and in this one run (see bench/README.md):

  A  `python -m grader grade DIR --format json`, a fresh process: every question, every
     check, the default example counts (cold start included: imports, workers, sandbox).
  B  the naive baseline: bench/course_tests/test1.py, test2.py, test3.py run one after
     another, each a fresh Python process checking ONE fixed network against autograd.
  C  (reference only) `python -c "import torch"`: the floor any fresh process pays.

The measured commands keep their .pyc files in a temporary folder of the benchmark's
(PYTHONPYCACHEPREFIX, with PYTHONDONTWRITEBYTECODE unset for them), as an installed grader
has its bytecode: a checkout run under PYTHONDONTWRITEBYTECODE=1 would compile every grader
module at every start. After one untimed warm-up of each, the runs are interleaved (A, B, C,
A, B, C, ...) so that machine noise hits every measure alike. Reports the median/min/max wall time of each, the
ratio median(A)/median(B), the scenarios each exercises (A: the sum of "examples" over all
checks of its JSON report; B: 3), A's cost per example (its wall time, and the grading alone,
divided by its examples; then one more grading, in a process of its own, with its parts
timed by bench/example_cost.py) and the peak memory of grading one submission.

Only measures and reports: no timing assertion. Exit 0 normally; 2 when a measured command
fails (the grader crashes or a baseline script errors), since then there is nothing to compare.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from example_cost import render as render_cost
from grader.sandbox.jail import process_parents, process_tree
from proctree import become_subreaper, reap_orphans

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
COURSE_TESTS = [BENCH_DIR / "course_tests" / ("test%d.py" % i) for i in (1, 2, 3)]
BASELINE_SCENARIOS = len(COURSE_TESTS)  # one fixed network per script
COMMAND_TIMEOUT_S = 900


class BenchError(Exception):
    """A measured command did not do its job; the numbers would mean nothing."""


# -- the measured commands -----------------------------------------------------------------

def grader_argv(submission: str) -> list[str]:
    return [sys.executable, "-m", "grader", "grade", submission, "--format", "json"]


def baseline_argvs(submission: str) -> list[list[str]]:
    # -B: never write __pycache__ into the submission folder (the scripts also set it).
    return [[sys.executable, "-B", str(script), submission] for script in COURSE_TESTS]


def floor_argv() -> list[str]:
    return [sys.executable, "-c", "import torch"]


BYTECODE_ENV: dict[str, str] = {}
"""Set by `main`: the measured commands keep their .pyc files in a folder of the benchmark's own."""


def measured_env() -> dict[str, str]:
    """The environment of a measured command: this one, but with Python's bytecode cache on and
    kept in the benchmark's own folder (PYTHONPYCACHEPREFIX), as an installed grader has its
    .pyc files. Under PYTHONDONTWRITEBYTECODE=1 a grader run from a checkout would otherwise
    compile every one of its modules at every start; nothing is written into the repository
    or the submission. The course's scripts run with -B and import torch's installed .pyc."""
    env = dict(os.environ)
    if BYTECODE_ENV:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(BYTECODE_ENV)
    return env


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=REPO_ROOT, env=measured_env(), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=COMMAND_TIMEOUT_S)


def run_grader(submission: str) -> tuple[float, dict]:
    """One cold grading; returns (wall seconds, parsed JSON report)."""
    start = time.perf_counter()
    done = _run(grader_argv(submission))
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 0 all passed, 1 graded below threshold, 2 error
        raise BenchError("the grader exited %d:\n%s" % (done.returncode, done.stderr[-3000:]))
    try:
        report = json.loads(done.stdout)
    except ValueError as exc:
        raise BenchError("the grader's output is not JSON (%s):\n%s" % (exc, done.stdout[:2000])) from None
    return wall, report


def run_baseline(submission: str) -> tuple[float, list[bool]]:
    """The three course-style scripts one after another; returns (wall seconds, booleans)."""
    verdicts: list[bool] = []
    start = time.perf_counter()
    outputs = [_run(argv) for argv in baseline_argvs(submission)]
    wall = time.perf_counter() - start
    for argv, done in zip(baseline_argvs(submission), outputs):
        if done.returncode != 0:
            raise BenchError("%s exited %d:\n%s" % (Path(argv[2]).name, done.returncode,
                                                    done.stderr[-3000:]))
        verdicts += [line.split()[-1] == "True" for line in done.stdout.splitlines() if line.strip()]
    return wall, verdicts


def run_floor() -> float:
    start = time.perf_counter()
    done = _run(floor_argv())
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise BenchError("python -c 'import torch' exited %d:\n%s" % (done.returncode, done.stderr))
    return wall


def run_example_cost(submission: str) -> dict:
    """One more grading, in a fresh process, with its parts timed (bench/example_cost.py)."""
    done = _run([sys.executable, str(BENCH_DIR / "example_cost.py"), submission])
    if done.returncode != 0:
        raise BenchError("example_cost.py exited %d:\n%s" % (done.returncode, done.stderr[-3000:]))
    return json.loads(done.stdout)


def count_scenarios(report: dict, prefix: str = "") -> tuple[int, int]:
    """(sum of "examples" over the checks, number of checks) of one JSON report, counting
    only the questions whose id starts with `prefix` (all by default)."""
    checks = [c for q in report.get("questions", []) if str(q.get("id", "")).startswith(prefix)
              for c in q.get("checks", [])]
    return sum(int(c.get("examples") or 0) for c in checks), len(checks)


# -- peak memory ---------------------------------------------------------------------------

_RUSAGE_WRAPPER = """\
import resource, subprocess, sys
code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("maxrss_kb %d" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(code)
"""


def _tree_sampler(root_pid: int, stop: threading.Event, peaks: dict) -> None:
    """Poll /proc: the VmHWM (peak RSS so far) of every process descending from root_pid.

    VmHWM is a high-water mark, so a late sample still holds a process's peak; a process
    that lives less than one polling interval can be missed (the kernel figure is not)."""
    while not stop.is_set():
        parents = process_parents()
        for pid in process_tree(root_pid, parents):
            try:
                with open("/proc/%d/status" % pid) as handle:
                    status = handle.read()
                with open("/proc/%d/cmdline" % pid, "rb") as handle:
                    cmdline = handle.read().split(b"\0")
            except OSError:
                continue
            found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
            if found:
                argv = [part.decode(errors="replace") for part in cmdline if part]
                previous = peaks.get(pid, (0, argv, parents.get(pid)))
                peaks[pid] = (max(previous[0], int(found.group(1))), argv, parents.get(pid))
        stop.wait(0.02)


def _classify(peaks: dict) -> dict:
    """Split sampled peaks into the grader process, its workers, and helpers (bwrap...)."""
    grader_kb, workers, helpers = 0, [], []
    for _pid, (kb, argv, _parent) in sorted(peaks.items()):
        text = " ".join(argv)
        if "-m grader grade" in text:
            grader_kb = max(grader_kb, kb)
        elif argv and Path(argv[0]).name.startswith("python"):
            workers.append(kb)
        elif argv and Path(argv[0]).name != "time":
            helpers.append(kb)
    return {
        "grader_process_mb": round(grader_kb / 1024, 1),
        "worker_processes": len(workers),
        "worker_max_mb": round(max(workers, default=0) / 1024, 1),
        "sum_of_peaks_mb": round((grader_kb + sum(workers) + sum(helpers)) / 1024, 1),
    }


def peak_memory(argv: list[str], sample_tree: bool) -> dict:
    """Maximum RSS of the command and all its descendants, as the kernel accounts it.

    Linux's ru_maxrss of a reaped child is the largest RSS of any ONE process in that
    child's waited-for subtree (the child itself, or a descendant reaped below it), not the
    sum. Measured with `/usr/bin/time -v` when it is there, else in a small Python wrapper
    process through getrusage(RUSAGE_CHILDREN). With sample_tree, /proc is also polled for
    a per-process breakdown."""
    attempts = []
    if os.access("/usr/bin/time", os.X_OK):
        attempts.append(("/usr/bin/time -v (Maximum resident set size)", ["/usr/bin/time", "-v"],
                         "stderr", r"Maximum resident set size \(kbytes\):\s*(\d+)"))
    attempts.append(("getrusage(RUSAGE_CHILDREN).ru_maxrss in a wrapper process",
                     [sys.executable, "-c", _RUSAGE_WRAPPER], "stdout", r"maxrss_kb (\d+)"))
    for method, prefix, stream, pattern in attempts:
        # The measured command's own stdout goes nowhere (the wrapper discards it itself).
        process = subprocess.Popen(
            prefix + argv, cwd=REPO_ROOT, env=measured_env(), stdin=subprocess.DEVNULL, text=True,
            stdout=subprocess.PIPE if stream == "stdout" else subprocess.DEVNULL,
            stderr=subprocess.PIPE if stream == "stderr" else subprocess.DEVNULL)
        peaks: dict = {}
        stop = threading.Event()
        sampler = None
        if sample_tree and os.path.isdir("/proc"):
            sampler = threading.Thread(target=_tree_sampler, args=(process.pid, stop, peaks), daemon=True)
            sampler.start()
        try:
            out, err = process.communicate(timeout=COMMAND_TIMEOUT_S)
        finally:
            stop.set()
            if sampler:
                sampler.join()
        found = re.search(pattern, (out if stream == "stdout" else err) or "")
        if found:  # else e.g. a BusyBox `time` without -v: try the wrapper
            result = {"max_rss_mb": round(int(found.group(1)) / 1024, 1), "method": method,
                      "exit_code": process.returncode}
            if peaks:
                result["sampled"] = _classify(peaks)
            return result
    return {"max_rss_mb": None, "method": "unavailable", "exit_code": None}


# -- machine and report --------------------------------------------------------------------

def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        from importlib.metadata import version

        torch_version = version("torch")
    except Exception:  # noqa: BLE001 - report, never fail, on a missing distribution
        torch_version = "unknown"
    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO_ROOT,
                                capture_output=True, text=True).stdout.strip() or "unknown"
    except OSError:
        commit = "unknown"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "python": platform.python_version(),
        "torch": torch_version,
        "platform": platform.platform(),
        "repo_commit": commit,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "loadavg_1min": _loadavg(),
    }


def _loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def children_cpu_s() -> float:
    """User + system CPU seconds of all reaped descendants so far. The benchmark is a child
    subreaper (see proctree.py): workers the grader killed rather than waited for are
    re-parented to it and reaped here first, so that their CPU seconds count too."""
    import resource

    reap_orphans()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def summarize(samples: list[float], cpu: list[float]) -> dict:
    return {"median_s": round(statistics.median(samples), 3), "min_s": round(min(samples), 3),
            "max_s": round(max(samples), 3), "runs_s": [round(s, 3) for s in samples],
            "cpu_median_s": round(statistics.median(cpu), 3)}


def render(result: dict) -> str:
    m, a, b = result["machine"], result["A"], result["B"]
    lines = [
        "grade_speed: grader vs. course-style test scripts (%d interleaved runs after 1 warm-up)"
        % result["runs"],
        "",
        "machine   %s; %s cores (%s usable)" % (m["cpu"], m["cores"], m["cores_usable"]),
        "          Python %s, torch %s, %s" % (m["python"], m["torch"], m["platform"]),
        "          repo %s, %s" % (m["repo_commit"], m["date"]),
        "          load average (1 min) %s before the runs, %s after (other work on the machine adds noise)"
        % (result["loadavg_before"], m["loadavg_1min"]),
        "          .pyc files: %s" % result["bytecode_cache"],
        "submission %s" % result["submission"],
        "",
        "%-48s %9s %9s %9s %9s" % ("wall time (s)", "median", "min", "max", "CPU med"),
    ]
    for key, label in (("A", "A  grader, all checks, cold process"),
                       ("B", "B  course baseline, 3 scripts in sequence"),
                       ("C", "C  (reference) python -c 'import torch'")):
        s = result[key]
        lines.append("%-48s %9.3f %9.3f %9.3f %9.3f"
                     % (label, s["median_s"], s["min_s"], s["max_s"], s["cpu_median_s"]))
    lines += [
        "   (CPU med: median user+system CPU seconds of the process tree, workers included)",
        "   A inside the grader (its duration_s; rest is startup/imports/exit): median %.3f s"
        % a["internal_median_s"],
        "",
        "ratio median(A)/median(B)          %.2f   (below 1: the grader is faster)" % result["time_ratio"],
        "  same ratio of CPU seconds        %.2f   (less sensitive to other load on the machine)"
        % result["cpu_ratio"],
        "scenarios  A %d (%d checks; mlp.py alone %d in %d checks)  B %d (%d gradient booleans, %d true)"
        % (a["scenarios"], a["checks"], a["mlp_scenarios"], a["mlp_checks"], b["scenarios"],
           b["booleans"], b["booleans_true"]),
        "ratio of scenarios A/B             %.1f" % result["scenario_ratio"],
        "seconds per scenario               A %.4f   B %.3f"
        % (a["median_s"] / max(a["scenarios"], 1), b["median_s"] / b["scenarios"]),
        "",
        "cost per example of A (%d examples)" % a["scenarios"],
        "  cold process, everything included   %.2f ms  (median wall / examples)" % (
            1000 * a["median_s"] / max(a["scenarios"], 1)),
        "  the grading alone (duration_s)      %.2f ms  (median duration_s / examples)" % (
            1000 * a["internal_median_s"] / max(a["scenarios"], 1)),
        *example_cost_lines(result.get("example_cost")),
        "grader result                      score %s/%s, sandbox %s"
        % (a["score"], a["max_score"], a["sandbox"]),
        "",
    ]
    mem_a, mem_b = result["memory"]["A"], result["memory"]["B"]
    lines.append("peak memory, %s:" % mem_a["method"])
    lines.append("  A grading one submission: max RSS %s MB  = the largest single process among the"
                 % mem_a["max_rss_mb"])
    lines.append("    grader and its reaped workers (kernel ru_maxrss: a maximum, not a sum)")
    sampled = mem_a.get("sampled")
    if sampled:
        lines.append("    /proc sample: grader process %.1f MB, %d worker(s) up to %.1f MB each;"
                     % (sampled["grader_process_mb"], sampled["worker_processes"], sampled["worker_max_mb"]))
        lines.append("    sum of all the tree's per-process peaks %.1f MB (an upper bound on the total)"
                     % sampled["sum_of_peaks_mb"])
    lines.append("  B one course script (the largest of the three): max RSS %s MB" % mem_b["max_rss_mb"])
    if result["runs"] < 5:
        lines += ["", "note: fewer than 5 runs; the documented measure is the median of 5 or more."]
    return "\n".join(lines) + "\n"


def example_cost_lines(cost: dict | None) -> list[str]:
    return render_cost(cost) if cost else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, metavar="N",
                        help="timed runs of each measure, interleaved (default 5; use 5 or more)")
    parser.add_argument("--submission", default="submissions/correct", metavar="DIR",
                        help="submission folder to grade (default: submissions/correct)")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON to FILE")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    submission = Path(args.submission)
    if not submission.is_absolute() and not submission.exists():
        submission = REPO_ROOT / submission
    if not (submission / "mlp.py").is_file():
        parser.error("%s has no mlp.py (the baseline scripts need it)" % submission)
    submission_arg = str(submission.resolve())

    loadavg_before = _loadavg()
    become_subreaper()
    bytecode = tempfile.TemporaryDirectory(prefix="grade_speed_pyc_")
    BYTECODE_ENV["PYTHONPYCACHEPREFIX"] = bytecode.name
    try:
        # Untimed warm-up of each (OS file cache, .pyc files of the grader and of torch).
        _, report = run_grader(submission_arg)
        run_baseline(submission_arg)
        run_floor()

        walls: dict = {"A": [], "B": [], "C": []}
        cpu: dict = {"A": [], "B": [], "C": []}
        internal = []
        verdicts: list[bool] = []
        for i in range(args.runs):
            before = children_cpu_s()
            wall, report = run_grader(submission_arg)
            walls["A"].append(wall)
            cpu["A"].append(children_cpu_s() - before)
            internal.append(float(report.get("duration_s") or 0.0))
            before = children_cpu_s()
            wall, verdicts = run_baseline(submission_arg)
            walls["B"].append(wall)
            cpu["B"].append(children_cpu_s() - before)
            before = children_cpu_s()
            walls["C"].append(run_floor())
            cpu["C"].append(children_cpu_s() - before)
            print("run %d/%d: A %.3f s  B %.3f s  C %.3f s"
                  % (i + 1, args.runs, walls["A"][-1], walls["B"][-1], walls["C"][-1]), file=sys.stderr)

        scenarios, checks = count_scenarios(report)
        mlp_scenarios, mlp_checks = count_scenarios(report, "mlp.")
        example_cost = run_example_cost(submission_arg)
        memory_a = peak_memory(grader_argv(submission_arg), sample_tree=True)
        memory_b = max((peak_memory(a, sample_tree=False) for a in baseline_argvs(submission_arg)),
                       key=lambda m: m["max_rss_mb"] or 0)
    except (BenchError, subprocess.TimeoutExpired) as exc:
        print("grade_speed: error: %s" % exc, file=sys.stderr)
        return 2
    finally:
        bytecode.cleanup()

    a, b, c = (summarize(walls[key], cpu[key]) for key in ("A", "B", "C"))
    a.update(scenarios=scenarios, checks=checks, mlp_scenarios=mlp_scenarios, mlp_checks=mlp_checks,
             internal_median_s=round(statistics.median(internal), 3), score=report.get("score"),
             max_score=report.get("max_score"), sandbox=report.get("sandbox"))
    b.update(scenarios=BASELINE_SCENARIOS, booleans=len(verdicts), booleans_true=sum(verdicts))
    result = {
        "schema": 1,
        "machine": machine_info(),
        "submission": os.path.relpath(submission_arg, REPO_ROOT) if submission_arg.startswith(str(REPO_ROOT))
        else submission_arg,
        "runs": args.runs,
        "loadavg_before": loadavg_before,
        "A": a, "B": b, "C": c,
        "time_ratio": round(a["median_s"] / b["median_s"], 3),
        "cpu_ratio": round(a["cpu_median_s"] / b["cpu_median_s"], 3) if b["cpu_median_s"] else None,
        "scenario_ratio": round(scenarios / BASELINE_SCENARIOS, 2),
        "memory": {"A": memory_a, "B": memory_b},
        "bytecode_cache": "kept in a temporary PYTHONPYCACHEPREFIX folder (written by the warm-up)",
        "example_cost": example_cost,
    }
    sys.stdout.write(render(result))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Neighbour benchmark: how much a hostile submission slows an honest one graded beside it.

    python bench/neighbour_slowdown.py [--runs N] [--sandbox TIER] [--children N] [--json FILE]

Grades the honest reference key (A) alone, beside another honest submission, then in one
`grader grade --jobs 2` batch beside
  B  a CPU-starving submission: at import it forks --children busy-looping processes (58 by
     default, as in the attack that slowed its neighbours 7 s -> 131 s), then answers honestly;
  C  a memory-hogging submission: at import it fills memory files (memfd, 15 MiB each, up to
     6 GiB) and forks children that hold 1 GiB each, then answers honestly.
The measure is A's own grading time (`duration_s` of its JSON report, measured by its own
grader process), so the hog's grading time does not count. Reports the median of --runs of
each and the slowdown beside a hog relative to beside an honest neighbour (what a batch on
this machine costs anyway); the target is at most 2x. Prints which resources
bound a worker here (the cgroup controllers found), since that decides the outcome.

Only measures and reports: no assertion. Exit 2 when a grading fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from grader.sandbox.jail import ProcessJail, resolve_mode

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE = REPO_ROOT / "reference" / "hw1"
SELECTION = ["--only", "mlp.forward", "--only", "mlp.backward", "--only", "theory.backward", "--max-examples", "3"]

CPU_HOG = '''
import os
import time

for _ in range(%(children)d):
    if os.fork() == 0:
        end = time.time() + 300
        while time.time() < end:
            pass
        os._exit(0)

from _key import *  # noqa: E402,F401,F403 - then the honest answers
'''

MEMORY_HOG = '''
import os
import time

HELD = []
block = b"\\1" * (15 << 20)
for number in range(400):
    try:
        fd = os.memfd_create("hog%%d" %% number)
        os.write(fd, block)
        HELD.append(fd)
    except OSError:
        break
for _ in range(6):
    if os.fork() == 0:
        try:
            hold = bytearray(1 << 30)
            for i in range(0, len(hold), 4096):
                hold[i] = 1
        except MemoryError:
            pass
        time.sleep(300)
        os._exit(0)

from _key import *  # noqa: E402,F401,F403 - then the honest answers
'''


def make_class(folder: Path, hog: str | None, children: int) -> None:
    """folder/a_honest (the reference key) and, with `hog`, folder/b_hog (that hog + the key)."""
    honest = folder / "a_honest"
    honest.mkdir(parents=True)
    for name in ("mlp.py", "theory.py"):
        shutil.copy(REFERENCE / name, honest / name)
    if hog is not None:
        attacker = folder / "b_hog"
        attacker.mkdir()
        shutil.copy(REFERENCE / "mlp.py", attacker / "_key.py")
        shutil.copy(REFERENCE / "theory.py", attacker / "theory.py")
        source = {"cpu": CPU_HOG, "memory": MEMORY_HOG, "honest": "from _key import *  # noqa: F401,F403\n"}[hog]
        (attacker / "mlp.py").write_text(source % {"children": children})


def honest_duration(folder: Path, sandbox: str) -> float:
    """Grade every sub-folder of `folder` with --jobs 2; a_honest's own grading time."""
    out = folder.parent / (folder.name + ".json")
    argv = [sys.executable, "-m", "grader", "grade", "--each", str(folder), "--jobs", "2", "--format", "json",
            "-o", str(out), "--sandbox", sandbox, *SELECTION]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=folder.parent, timeout=1800)
    if not out.exists():
        print(done.stderr, file=sys.stderr)
        raise SystemExit(2)
    data = json.loads(out.read_text())
    reports = data if isinstance(data, list) else [data]
    honest = next(r for r in reports if r["submission"].endswith("a_honest"))
    if honest.get("error"):
        print("the honest submission was not graded: %s" % honest["error"], file=sys.stderr)
        raise SystemExit(2)
    return float(honest["duration_s"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--sandbox", default="auto")
    parser.add_argument("--children", type=int, default=58)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    tier = resolve_mode(args.sandbox)
    bounded = sorted(ProcessJail.bounded())
    print("tier %s; cgroup controllers bounding each worker: %s; %d CPU cores"
          % (tier, ", ".join(bounded) or "none (per-process limits only)", len(os.sched_getaffinity(0))))
    results: dict[str, list[float]] = {"alone": [], "honest": [], "cpu": [], "memory": []}
    work = Path(tempfile.mkdtemp(prefix="neighbour-slowdown-"))
    try:
        for run in range(args.runs):
            for name in results:
                folder = work / ("%s-%d" % (name, run))
                make_class(folder, None if name == "alone" else name, args.children)
                results[name].append(honest_duration(folder, tier))
                print("  run %d %-6s honest grading %.1f s" % (run + 1, name, results[name][-1]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    alone = statistics.median(results["alone"])
    summary = {"tier": tier, "bounded": bounded, "alone_s": alone}
    honest = statistics.median(results["honest"])
    summary["honest_s"] = honest
    print("beside an honest submission: %.1f s (%.2fx alone)" % (honest, honest / alone))
    for name in ("cpu", "memory"):
        beside = statistics.median(results[name])
        summary["%s_s" % name] = beside
        summary["%s_slowdown" % name] = beside / honest
        print("beside a %s hog: %.1f s: %.2fx beside an honest one (target <= 2x), %.2fx alone"
              % (name, beside, beside / honest, beside / alone))
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Worker start benchmark: a warm worker (forked from a preloaded template) against a cold one
(a fresh Python that imports torch), in each isolation tier that works here, in one run.

    python bench/worker_start.py [--runs N] [--json FILE]

For each tier, the time from asking for a worker to its first answered call: the worker
starts (fork, or interpreter and imports), imports a one-line submission and runs one
function. The runs are interleaved (warm, cold, warm, cold, ...) after one untimed warm-up
of each, which also starts the template, so that noise hits both alike. Reports the median,
min and max of each and the ratio cold/warm, with the machine. Only measures and reports: no
timing assertion. Exit 0, or 2 when a worker fails to answer.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from grade_speed import machine_info

from grader.sandbox.jail import bwrap_problem
from grader.sandbox.process import SandboxConfig, WorkerFailure, WorkerSession, WorkerSpec
from grader.sandbox.snapshot import take_snapshot
from grader.sandbox.template import close_templates
from grader.sandbox.tiers import user_problem

SUBMISSION = "def ping():\n    return 1.0\n"


def available_tiers() -> list[str]:
    return [tier for tier, problem in (("bwrap", bwrap_problem()), ("user", user_problem()), ("none", None))
            if problem is None]


def first_answer_s(root: Path, tier: str, warm: bool) -> float:
    """Seconds from a new worker session to the first answered call."""
    started = time.perf_counter()
    session = WorkerSession(root, WorkerSpec(module="mlp", preload=("torch",)), SandboxConfig(mode=tier, warm=warm))
    try:
        reply, _ = session.call("call", {"function": "ping", "kwargs": {}}, [])
        if reply.get("status") != "ok":
            raise WorkerFailure("crash", "the worker answered %s" % reply.get("status"))
        return time.perf_counter() - started
    finally:
        session.close()


def measure(runs: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "mlp.py").write_text(SUBMISSION)
        snapshot = take_snapshot(folder, ["mlp.py"])
        results: dict[str, dict] = {}
        try:
            for tier in available_tiers():
                times: dict[str, list[float]] = {"warm": [], "cold": []}
                first_answer_s(snapshot.root, tier, True)
                first_answer_s(snapshot.root, tier, False)
                for _ in range(runs):
                    for kind in ("warm", "cold"):
                        times[kind].append(first_answer_s(snapshot.root, tier, kind == "warm"))
                summary = {kind: {"median_s": statistics.median(v), "min_s": min(v), "max_s": max(v)}
                           for kind, v in times.items()}
                summary["cold_over_warm"] = summary["cold"]["median_s"] / summary["warm"]["median_s"]
                results[tier] = summary
        finally:
            close_templates()
            snapshot.cleanup()
    return {"runs": runs, "tiers": results, "machine": machine_info()}


def report(result: dict) -> str:
    m = result["machine"]
    lines = ["Worker start: first answered call of a new worker, medians of %d interleaved runs" % result["runs"],
             "machine: %s, %s cores, Python %s, torch %s" % (m["cpu"], m["cores"], m["python"], m["torch"]),
             "%-6s %16s %16s %10s" % ("tier", "warm (fork)", "cold (fresh)", "cold/warm")]
    for tier, summary in result["tiers"].items():
        lines.append("%-6s %13.1f ms %13.1f ms %9.1fx" % (
            tier, 1000 * summary["warm"]["median_s"], 1000 * summary["cold"]["median_s"], summary["cold_over_warm"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    try:
        result = measure(args.runs)
    except WorkerFailure as failure:
        print("worker_start: a worker failed: %s" % failure.message, file=sys.stderr)
        return 2
    print(report(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Grade several submissions: one after another in this process, or `jobs` at a time in child
grader processes. A submission that cannot be graded, crashes its grader or hangs becomes a
report with `error` set; it never stops or spoils the others.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable

from . import __version__
from .assignment import ASSIGNMENT
from .results import GradeReport

CHILD_MARGIN_S = 120.0


def error_report(path: str, seed: int, message: str) -> GradeReport:
    return GradeReport(grader_version=__version__, assignment=ASSIGNMENT, submission=str(path), seed=seed,
                       questions=[], sandbox="not started", error=message)


def grade_in_process(path: str, grade_one: Callable[[str], GradeReport], seed: int) -> GradeReport:
    """Grade one submission here; any failure of the grader becomes an error report."""
    from .submission import SubmissionError

    try:
        return grade_one(path)
    except SubmissionError as exc:
        return error_report(path, seed, str(exc))
    except Exception as exc:  # noqa: BLE001 - one submission's grader failure must not stop the rest
        return error_report(path, seed, "internal grader error: %s: %s" % (type(exc).__name__, exc))


def grade_in_child(path: str, child_args: list[str], seed: int, timeout_s: float) -> GradeReport:
    """Grade one submission in a fresh `python -m grader grade` process with a hard deadline."""
    with tempfile.TemporaryDirectory(prefix="backprop-grader-batch-") as folder:
        out = Path(folder) / "report.json"
        argv = [sys.executable, "-m", "grader", "grade", path, "--format", "json", "-o", str(out)] + child_args
        try:
            done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                  timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return error_report(path, seed, "grading did not finish within %.0f s" % timeout_s)
        if out.exists():
            try:
                return GradeReport.from_json(json.loads(out.read_text(encoding="utf-8")))
            except (ValueError, KeyError, TypeError) as exc:
                return error_report(path, seed, "unreadable report from the child grader (%s)" % exc)
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else "exit status %d" % done.returncode
        return error_report(path, seed, reason.removeprefix("grader: error: "))


def grade_many(paths: list[str], grade_one: Callable[[str], GradeReport], child_args: list[str], jobs: int,
               seed: int, timeout_s: float, progress: bool) -> list[GradeReport]:
    """Reports in the order of `paths`, with a progress bar on stderr when `progress`."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    reports: list[GradeReport | None] = [None] * len(paths)
    bar = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.description}"), console=Console(file=sys.stderr), disable=not progress,
                   transient=True)
    with bar:
        task = bar.add_task("", total=len(paths))

        def finish(index: int, report: GradeReport) -> None:
            reports[index] = report
            bar.update(task, advance=1, description=Path(paths[index]).name)

        if jobs <= 1:
            for index, path in enumerate(paths):
                finish(index, grade_in_process(path, grade_one, seed))
        else:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                futures = {pool.submit(grade_in_child, path, child_args, seed, timeout_s): i
                           for i, path in enumerate(paths)}
                for future in as_completed(futures):
                    finish(futures[future], future.result())
    return [r for r in reports if r is not None]

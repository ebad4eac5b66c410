"""Grade several submissions: one after another in this process, or `jobs` at a time in child
grader processes. A submission that cannot be graded, crashes its grader or hangs becomes a
report with `error` set; it never stops or spoils the others.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from collections.abc import Callable

from .. import __version__
from ..errors import RubricError, SubmissionError
from ..model.results import GradeReport
from ..model.text import clean_name, clean_report

CHILD_MARGIN_S = 120.0
"""How much longer than the rubric's submission_timeout_s a child grader may take: start-up,
Hypothesis and the report, on top of the time the submission itself may use."""


def error_report(path: str, seed: int, message: str, assignment: str = "") -> GradeReport:
    """The report of a submission that was not graded (its name and the message made safe)."""
    return clean_report(GradeReport(grader_version=__version__, assignment=assignment, submission=clean_name(path),
                                    seed=seed, questions=[], sandbox="not started", error=message))


def grade_in_process(path: str, grade_one: Callable[[str], GradeReport], seed: int,
                     assignment: str = "") -> GradeReport:
    """Grade one submission here; any failure of the grader becomes an error report."""
    try:
        return grade_one(path)
    except SubmissionError as exc:
        return error_report(path, seed, str(exc), assignment)
    except RubricError:
        raise  # the rubric is wrong for every submission: a usage error, not this submission's
    except Exception as exc:  # noqa: BLE001 - one submission's grader failure must not stop the rest
        return error_report(path, seed, "internal grader error: %s: %s" % (type(exc).__name__, exc), assignment)


def _child_python() -> tuple[list[str], dict[str, str]]:
    """The interpreter command and environment for a child grader that imports this same grader
    package and nothing from the current folder (`-P`): a class folder may hold a sub-folder
    named `grader`, and `python -m` would otherwise import it, unsandboxed."""
    env = dict(os.environ)
    root = Path(__file__).resolve().parent.parent.parent
    elsewhere = {Path(entry).resolve() for entry in sys.path[1:] if entry}
    if root not in elsewhere:  # e.g. `python -m grader` run from a source checkout
        env["PYTHONPATH"] = str(root) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return [sys.executable, "-P"], env


def grade_in_child(path: str, child_args: list[str], seed: int, timeout_s: float, assignment: str = "") -> GradeReport:
    """Grade one submission in a fresh grader process with a hard deadline. Its JSON keeps every
    point exact, so a batch graded with --jobs scores and passes --fail-under exactly as one
    graded in this process."""
    with tempfile.TemporaryDirectory(prefix="backprop-grader-batch-") as folder:
        out = Path(folder) / "report.json"
        # The folder goes after "--": a sub-folder named like an option ("-x") is still a folder.
        python, env = _child_python()
        argv = python + ["-m", "grader", "grade", "--format", "json", "-o", str(out)]
        argv += child_args + ["--", path]
        try:
            done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                  timeout=timeout_s, env=env)
        except subprocess.TimeoutExpired:
            return error_report(path, seed, "grading did not finish within %g s" % timeout_s, assignment)
        if out.exists():
            try:
                return clean_report(GradeReport.from_json(json.loads(out.read_text(encoding="utf-8"))))
            except (ValueError, KeyError, TypeError) as exc:
                return error_report(path, seed, "unreadable report from the child grader (%s)" % exc, assignment)
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else "exit status %d" % done.returncode
        return error_report(path, seed, reason.removeprefix("grader: error: "), assignment)


def grade_many(paths: list[str], grade_one: Callable[[str], GradeReport], child_args: list[str], jobs: int,
               seed: int, timeout_s: float, progress: bool, assignment: str = "") -> list[GradeReport]:
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
            bar.update(task, advance=1, description=clean_name(Path(paths[index]).name))

        if jobs <= 1:
            for index, path in enumerate(paths):
                finish(index, grade_in_process(path, grade_one, seed, assignment))
        else:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                futures = {pool.submit(grade_in_child, path, child_args, seed, timeout_s, assignment): i
                           for i, path in enumerate(paths)}
                for future in as_completed(futures):
                    finish(futures[future], future.result())
    return [r for r in reports if r is not None]

"""Grade several submissions: one after another in this process, or `jobs` at a time in child
grader processes. A submission that cannot be graded, crashes its grader or hangs becomes a
report with `error` set; it never stops or spoils the others.

Every finished report goes to a results store at once (`--results`), and a submission already
graded under the same key is taken from it instead. Ctrl-C or SIGTERM (raised here as
KeyboardInterrupt) cancels the queued submissions at once, stops the running child graders
(in-process grading stops its own workers), and returns what had finished.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import RubricError, SubmissionError
from ..model.results import GradeReport
from ..model.text import clean_name, clean_report
from . import stop

if TYPE_CHECKING:
    from .results import ResultsStore

CHILD_MARGIN_S = 120.0
"""How much longer than the rubric's submission_timeout_s a child grader may take: start-up,
Hypothesis and the report, on top of the time the submission itself may use."""
STOP_GRACE_S = 5.0
"""How long a child grader told to stop (SIGTERM) may take to stop its workers before it is killed."""


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


def _stop_if_requested() -> None:
    """Raise KeyboardInterrupt when a stop was asked for (its own KeyboardInterrupt may have been
    swallowed where it landed)."""
    if stop.requested.is_set():
        raise KeyboardInterrupt


def ignore_interrupts() -> None:
    """After the first Ctrl-C or SIGTERM, further ones are ignored while the batch stops its
    children and writes what had finished (a process about to exit either way)."""
    for number in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread
            signal.signal(number, signal.SIG_IGN)


class Cancelled(Exception):
    """A child grader was stopped because the batch was interrupted: it has no result."""


class Children:
    """The running child graders of a batch; `stop` ends them and refuses new ones."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: set[subprocess.Popen[Any]] = set()
        self.stopping = False

    def start(self, argv: list[str], env: dict[str, str], **popen: Any) -> subprocess.Popen[Any]:
        """Start a child grader (by default: no stdin, no stdout, stderr piped)."""
        options: dict[str, Any] = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                       text=True)
        options.update(popen)
        with self.lock:
            if self.stopping:
                raise Cancelled()
            child: subprocess.Popen[Any] = subprocess.Popen(argv, env=env, **options)
            self.running.add(child)
            return child

    def done(self, child: subprocess.Popen[Any]) -> None:
        with self.lock:
            self.running.discard(child)

    def stop(self) -> None:
        """SIGTERM every running child grader (each stops its workers), SIGKILL any still running
        after STOP_GRACE_S."""
        with self.lock:
            self.stopping = True
            children = list(self.running)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
        until = time.monotonic() + STOP_GRACE_S
        for child in children:
            try:
                child.wait(timeout=max(0.0, until - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    child.kill()


@dataclass
class BatchOutcome:
    """What a batch produced: the finished reports in the order of its paths (those taken from
    the results store included), how many were `cached`, and whether it was `interrupted`."""

    reports: list[GradeReport]
    total: int
    cached: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    cached_paths: set[str] = field(default_factory=set)


def grade_many(paths: list[str], grade_one: Callable[[str], GradeReport], child_args: list[str], jobs: int,
               seed: int, timeout_s: float, progress: bool, assignment: str = "") -> list[GradeReport]:
    """Reports in the order of `paths`, with a progress bar on stderr when `progress`."""
    return grade_class(paths, grade_one, child_args, jobs, seed, timeout_s, progress, assignment).reports


def grade_class(paths: list[str], grade_one: Callable[[str], GradeReport], child_args: list[str], jobs: int,
                seed: int, timeout_s: float, progress: bool, assignment: str = "",
                store: ResultsStore | None = None, keys: dict[str, str] | None = None) -> BatchOutcome:
    """Grade `paths` (`keys`: each path's results key, with `store`), a progress bar with its ETA
    on stderr when `progress`. Never raises KeyboardInterrupt: an interrupted batch returns
    what had finished, with `interrupted` set."""
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    started = time.monotonic()
    keys = keys or {}
    reports: list[GradeReport | None] = [None] * len(paths)
    cached: set[str] = set()
    todo: list[int] = []
    for index, path in enumerate(paths):
        found = store.cached(path, keys[path]) if store is not None and path in keys else None
        if found is not None:
            reports[index] = found
            cached.add(path)
        else:
            todo.append(index)
    bar = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.description}"),
                   console=Console(file=sys.stderr), disable=not progress, transient=True)
    interrupted = False

    def finish(index: int, report: GradeReport) -> None:
        reports[index] = report
        if store is not None and paths[index] in keys:
            store.append(paths[index], keys[paths[index]], report)
        bar.update(task, advance=1, description=clean_name(Path(paths[index]).name))

    with bar:
        task = bar.add_task("", total=len(todo))
        try:
            if jobs <= 1:
                for index in todo:
                    _stop_if_requested()
                    finish(index, grade_in_process(paths[index], grade_one, seed, assignment))
            else:
                interrupted = _grade_in_children(paths, todo, child_args, jobs, seed, timeout_s, assignment, finish)
        except KeyboardInterrupt:
            ignore_interrupts()
            interrupted = True
    return BatchOutcome([r for r in reports if r is not None], len(paths), len(cached), interrupted,
                        time.monotonic() - started, cached)


def _grade_in_children(paths: list[str], todo: list[int], child_args: list[str], jobs: int, seed: int,
                       timeout_s: float, assignment: str, finish: Callable[[int, GradeReport], None]) -> bool:
    """`jobs` long-lived child graders, each grading one submission after another; on
    KeyboardInterrupt the queue is cancelled, the children stopped, and every result that had
    finished kept. Returns whether interrupted."""
    children = Children()
    idle: queue.Queue[LongLivedGrader | None] = queue.Queue()
    for _ in range(jobs):
        idle.put(None)

    def grade(path: str) -> GradeReport:
        grader = idle.get()
        try:
            if grader is None or not grader.alive():
                grader = LongLivedGrader(children, child_args)
            return grader.grade(path, seed, timeout_s, assignment)
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - one submission's grader failure must not stop the rest
            if children.stopping:  # the failure is the stop's doing (a child killed under a reader)
                raise Cancelled() from None
            return error_report(path, seed, "internal grader error: %s: %s" % (type(exc).__name__, exc), assignment)
        finally:
            idle.put(grader)

    pool = ThreadPoolExecutor(max_workers=jobs)
    futures: dict[Future[GradeReport], int] = {}
    finished: set[int] = set()
    try:
        for index in todo:
            futures[pool.submit(grade, paths[index])] = index
        pending = set(futures)
        while pending:
            _stop_if_requested()
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=futures.__getitem__):
                if future.exception() is not None:  # Cancelled: the child got the Ctrl-C first
                    raise KeyboardInterrupt
                finished.add(futures[future])
                finish(futures[future], future.result())
        pool.shutdown()
        _close_idle(idle)
        return False
    except KeyboardInterrupt:
        ignore_interrupts()
        for future in futures:
            future.cancel()
        children.stop()
        pool.shutdown(wait=True, cancel_futures=True)
        for future, index in futures.items():
            if index not in finished and future.done() and not future.cancelled() and future.exception() is None \
                    and future.result().error is None:  # an error report made while stopping is not a result
                finish(index, future.result())
        _close_idle(idle)
        return True


def _close_idle(idle: queue.Queue[LongLivedGrader | None]) -> None:
    while not idle.empty():
        grader = idle.get_nowait()
        if grader is not None:
            grader.close()


class LongLivedGrader:
    """A child grader process (`grader grade --batch-child`) that grades one submission after
    another: it imports the grader, torch and Hypothesis and plans the rubric once, not per
    submission. It never runs student code itself (each submission gets fresh sandboxed
    workers), so submissions stay as isolated as with a process each. One folder per line on
    its stdin (JSON), one JSON report per line back."""

    def __init__(self, children: Children, child_args: list[str]) -> None:
        python, env = _child_python()
        self.children = children
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        argv = python + ["-m", "grader", "grade", "--batch-child", "--format", "json"] + child_args
        self.process = children.start(argv, env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self.errors, text=False)
        self.buffer = b""
        self.said = ""  # the end of what the child wrote to stderr, once it has ended

    def alive(self) -> bool:
        return self.process.poll() is None

    def grade(self, path: str, seed: int, timeout_s: float, assignment: str) -> GradeReport:
        """The child's report on `path`; an error report when it dies or passes `timeout_s`
        (then it is killed); Cancelled when the batch was stopped meanwhile."""
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write((json.dumps(path) + "\n").encode("utf-8"))
            self.process.stdin.flush()
        except OSError:
            return self._died(path, seed, assignment)
        line = self._read_line(time.monotonic() + timeout_s)
        if line is None:
            if self.alive():
                self.close(kill=True)
                if self.children.stopping:
                    raise Cancelled()
                return error_report(path, seed, "grading did not finish within %g s" % timeout_s, assignment)
            return self._died(path, seed, assignment)
        try:
            return clean_report(GradeReport.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            self.close(kill=True)
            return error_report(path, seed, "unreadable report from the child grader (%s)" % exc, assignment)

    def _read_line(self, deadline: float) -> bytes | None:
        """One line from the child, or None at end of file or past `deadline`."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], min(remaining, 1.0))
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def _died(self, path: str, seed: int, assignment: str) -> GradeReport:
        self.close(kill=True)
        if self.children.stopping or "grader: interrupted" in self.said:  # a Ctrl-C reaches the children too
            raise Cancelled()
        lines = [line for line in self.said.splitlines() if line.strip()]
        reason = lines[-1] if lines else "the child grader exited with status %s" % self.process.returncode
        return error_report(path, seed, reason.removeprefix("grader: error: "), assignment)

    def close(self, kill: bool = False) -> None:
        """End the child: at the end of its input (it finishes and exits), or killed."""
        if kill:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            self.process.wait()
        self.children.done(self.process)
        if self.process.stdout is not None:
            self.process.stdout.close()
        if not self.errors.closed:
            self.errors.seek(0)
            self.said = self.errors.read()[-4000:].decode("utf-8", "replace")
            self.errors.close()


def serve_batch_child(grade_one: Callable[[str], GradeReport], seed: int, assignment: str = "") -> int:
    """The child side of `LongLivedGrader`: grade each folder read from stdin (a JSON string a
    line) and write its JSON report as one line to the original stdout. Everything else the
    process writes to its stdout goes to stderr instead, so the channel holds reports only."""
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    for line in sys.stdin:
        path = json.loads(line)
        if not isinstance(path, str):
            continue
        report = grade_in_process(path, grade_one, seed, assignment)
        channel.write(json.dumps(report.to_json(), separators=(",", ":")) + "\n")
        channel.flush()
        _stop_if_requested()
    return 0

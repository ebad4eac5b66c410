"""Where a grade's time goes, per example: one grading in this process, its parts timed.

    python bench/example_cost.py [DIR] [grade options...]      # prints JSON

Grades DIR (default submissions/correct) once with `faces.cli.main` in this process, with
the grader's own functions wrapped in timers, and reports the wall time of each part of the
work, exclusive (a part called inside another counts for itself only):

  hypothesis    runner.run_check minus what it calls below: Hypothesis generating (and
                shrinking) examples, the runner's own bookkeeping
  check code    the checks' own code in runner.evaluate: values drawn from the seed, the
                comparisons (compare.judge), hints
  oracle        the oracle's expected values (hw1/oracle.py: float64, and float32 where a
                check asks how far float32 can land), as the checks call it
  float32       the float32 spread (hw1/float32_spread.py): equivalent float32 formulations,
                and PyTorch's own float32 values, which a check needs on every example
  worker        round trips to the worker (engine.calls.PartContext.call): encoding, the
                student's code running in the worker, decoding
  rest          the rest of Grading.run: waiting for the workers to start, loading the
                submission, document parts, finalize and scoring

and the counts that go with them: examples (the sum of "examples" over the report's checks),
worker calls, oracle calls and how many the oracle's memory answered. The grader's imports
before the grade are reported apart (`imports_s`); torch is not among them: the grader imports
it once the workers are started, inside the grade (outside every part above). Wrapping adds a little time of
its own to every call; the figures say where the time goes, the cold wall time of
grade_speed.py says how much there is.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
PARTS = ("hypothesis", "check code", "oracle", "float32", "worker", "rest")


class _Timer:
    """Exclusive wall time per part: the innermost running wrapped function's part is charged."""

    def __init__(self) -> None:
        self.seconds = {part: 0.0 for part in PARTS}
        self.calls = {part: 0 for part in PARTS}
        self._stack: list[list[Any]] = []
        self._originals: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, name: str, part: str) -> None:
        function = getattr(owner, name)
        self._originals.append((owner, name, function))
        setattr(owner, name, self.timed(function, part))

    def wrap_module(self, owner: Any, name: str, part: str) -> None:
        """Time every function the module `owner.name` hands out through that name (HW1's
        checks reach the oracle so, as a deferred module: wrapping it here imports nothing,
        so torch comes in when the grader imports it, once the workers are started)."""
        module = getattr(owner, name)
        self._originals.append((owner, name, module))
        setattr(owner, name, _TimedModule(module, self, part))

    def timed(self, function: Callable[..., Any], part: str) -> Callable[..., Any]:
        timer = self

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            now = time.perf_counter()
            if timer._stack:
                timer.seconds[timer._stack[-1][0]] += now - timer._stack[-1][1]
            timer._stack.append([part, now])
            timer.calls[part] += 1
            try:
                return function(*args, **kwargs)
            finally:
                end = time.perf_counter()
                done, started = timer._stack.pop()
                timer.seconds[done] += end - started
                if timer._stack:
                    timer._stack[-1][1] = end

        return timed

    def unwrap(self) -> None:
        """Put every wrapped function back."""
        for owner, name, function in reversed(self._originals):
            setattr(owner, name, function)
        self._originals.clear()


class _TimedModule:
    """A module whose functions are handed out timed (as `part`)."""

    def __init__(self, module: Any, timer: _Timer, part: str) -> None:
        self._module, self._timer, self._part = module, timer, part

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self._module, attribute)
        return self._timer.timed(value, self._part) if callable(value) and not isinstance(value, type) else value


def _wrap_grader(timer: _Timer) -> Callable[[], dict[str, Any]]:
    """Wrap the grader's functions; returns a function giving the oracle's memory counts."""
    from grader.assignments.hw1 import memo, mlp_checks, theory_checks
    from grader.engine import calls, grading, runner

    timer.wrap(grading.Grading, "run", "rest")
    timer.wrap(runner, "run_check", "hypothesis")
    timer.wrap(runner, "evaluate", "check code")
    timer.wrap(calls.PartContext, "call", "worker")
    timer.wrap_module(mlp_checks, "oracle", "oracle")
    timer.wrap_module(theory_checks, "oracle", "oracle")
    timer.wrap_module(mlp_checks, "float32_spread", "float32")
    before = {name: (s.hits, s.misses) for name, s in memo.STATS.items()}

    def memory() -> dict[str, Any]:
        hits = sum(s.hits - before.get(n, (0, 0))[0] for n, s in memo.STATS.items() if n.startswith("oracle."))
        misses = sum(s.misses - before.get(n, (0, 0))[1] for n, s in memo.STATS.items() if n.startswith("oracle."))
        return {"oracle_calls": hits + misses, "oracle_remembered": hits}

    return memory


def measure(argv: list[str]) -> dict[str, Any]:
    """Grade `argv` (DIR and grade options) once in this process; the parts' seconds, the
    counts, and the same per example."""
    started = time.perf_counter()
    from grader.assignments.hw1 import mlp_checks, theory_checks  # noqa: F401 - imported before timing
    from grader.faces import cli

    imports_s = time.perf_counter() - started
    timer = _Timer()
    try:
        memory = _wrap_grader(timer)
        output = io.StringIO()
        started = time.perf_counter()
        with contextlib.redirect_stdout(output):
            code = cli.main(["grade", *argv, "--format", "json"])
        wall = time.perf_counter() - started
    finally:
        timer.unwrap()
    if code not in (0, 1):
        raise RuntimeError("the grader exited %d" % code)
    report = json.loads(output.getvalue())
    examples = sum(int(c.get("examples") or 0) for q in report.get("questions", []) for c in q.get("checks", []))
    seconds = {part: round(s, 4) for part, s in timer.seconds.items()}
    return {
        "schema": 1,
        "argv": argv,
        "imports_s": round(imports_s, 3),
        "grade_wall_s": round(wall, 3),
        "examples": examples,
        "checks": sum(len(q.get("checks", [])) for q in report.get("questions", [])),
        "worker_calls": timer.calls["worker"],
        **memory(),
        "seconds": seconds,
        "ms_per_example": {part: round(1000 * s / max(examples, 1), 3) for part, s in seconds.items()},
        "ms_per_example_total": round(1000 * wall / max(examples, 1), 3),
        "outside_parts_s": round(wall - sum(timer.seconds.values()), 3),
        "score": report.get("score"),
        "max_score": report.get("max_score"),
    }


def render(cost: dict[str, Any]) -> list[str]:
    """The breakdown as report lines (grade_speed.py prints them)."""
    lines = ["  one in-process grade, its parts timed (bench/example_cost.py; wall ms per example, exclusive):"]
    notes = {
        "hypothesis": "Hypothesis generating and shrinking, the runner",
        "check code": "values drawn, comparisons, hints",
        "oracle": "%d calls, %d answered from the oracle's memory" % (cost["oracle_calls"], cost["oracle_remembered"]),
        "float32": "PyTorch's own float32 values; the spread where a value is wrong",
        "worker": "%d round trips, the student's code included" % cost["worker_calls"],
        "rest": "waiting for the workers, import of the submission, scoring",
    }
    for part in PARTS:
        lines.append("    %-12s %7.3f ms  %s" % (part, cost["ms_per_example"][part], notes[part]))
    lines.append("    %-12s %7.3f ms  (%d examples, %.3f s in-process grade; imports before it %.3f s)"
                 % ("total", cost["ms_per_example_total"], cost["examples"], cost["grade_wall_s"], cost["imports_s"]))
    lines.append("    outside the parts %.3f s: the grader's torch import (once the workers are started),"
                 " planning, the report" % cost["outside_parts_s"])
    return lines


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0].startswith("-"):
        args.insert(0, str(REPO_ROOT / "submissions" / "correct"))
    print(json.dumps(measure(args), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

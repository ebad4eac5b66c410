"""Shared fixtures: grade a folder in-process (each grading still runs its own workers), run the
command line in process (`cli`) or in a fresh process (`run_cli`), and the `bwrap` marker."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.engine.grading import GradeOptions, Grading
from grader.faces.cli import main
from grader.model.results import GradeReport
from grader.sandbox.jail import bwrap_problem
from grader.sandbox.tiers import user_problem

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
REFERENCE = ROOT / "reference" / "hw1"
DEFAULT_RUBRIC = ROOT / "grader" / "assignments" / "hw1" / "rubric.toml"

# The bubblewrap tests run where bwrap can really create a sandbox (installed is not enough:
# user namespaces may be off); test_bwrap_works_where_it_is_installed says so loudly otherwise.
BWRAP_PROBLEM = bwrap_problem()
HAVE_BWRAP = BWRAP_PROBLEM is None
NO_BWRAP_REASON = BWRAP_PROBLEM or ""
# The user tier needs a grader running as root and a Python an unprivileged user can start.
USER_PROBLEM = user_problem()
HAVE_USER_TIER = USER_PROBLEM is None
NO_USER_TIER_REASON = "the user tier is not available here: %s" % USER_PROBLEM

class GradeCache:
    """Gradings shared by the whole test session: identical requests grade once."""

    def __init__(self) -> None:
        self._reports: dict[tuple, GradeReport] = {}

    def __call__(self, path: Path | str, **options) -> GradeReport:
        """Grade `path` with GradeOptions(**options), or return the earlier identical grading."""
        key = (str(path), tuple(sorted((k, str(v)) for k, v in options.items())))
        if key not in self._reports:
            self._reports[key] = Grading(path, GradeOptions(**options)).run()
        return self._reports[key]


@pytest.fixture(scope="session")
def grade() -> GradeCache:
    """`grade(path, **options)`: a GradeReport, shared by every test of the session."""
    return GradeCache()


@dataclass(frozen=True)
class CliRun:
    """What one in-process `grader` command did: its exit code and what it printed."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliRun]:
    """`cli(*args)`: run `grader ARGS` in this process (`cli.main`), for usage and exit-code
    tests that grade nothing or little; end-to-end tests use `run_cli` (a fresh process)."""

    def run(*args: str) -> CliRun:
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as stop:  # argparse's usage errors and --help
            code = stop.code if isinstance(stop.code, int) else 2
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    return run


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `bwrap` are skipped, saying why, where bubblewrap cannot create a sandbox."""
    for item in items:
        if not HAVE_BWRAP and item.get_closest_marker("bwrap") is not None:
            item.add_marker(pytest.mark.skip(reason=NO_BWRAP_REASON))


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300, env: dict | None = None
            ) -> subprocess.CompletedProcess:
    """Run `python -m grader ARGS` in a fresh process; returns the completed process."""
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=timeout, env=env)


def lost(report: GradeReport) -> dict[str, set[str]]:
    """{question id: {codes of its failed checks that cost points}} for questions that lost points."""
    found: dict[str, set[str]] = {}
    for question in report.questions:
        for check in question.checks:
            if check.status != "pass" and check.max_score > 0:
                found.setdefault(question.id, set()).add(check.code)
    return found


def failing(report: GradeReport, prefix: str) -> list:
    """The checks whose id starts with `prefix` and that did not pass."""
    return [c for c in report.checks if c.id.startswith(prefix) and c.status != "pass"]


def assert_messages(report: GradeReport, expectations: list[tuple[str, tuple[str, ...]]]) -> None:
    """Each (check id prefix, words): some failing check with that prefix says every word."""
    for prefix, needles in expectations:
        found = failing(report, prefix)
        assert found, "no failing check %s*" % prefix
        for needle in needles:
            assert any(needle in c.to_json()["message"] for c in found), (
                prefix, needle, [c.to_json()["message"] for c in found])

"""pytest plugin: every check of the grader becomes a test item.

`pytest --grader-submission DIR`, or `[tool.grader] submission = "."` in the pyproject.toml
at pytest's rootdir, collects one item per check, named by its id (`-k mlp.backward`
selects a question). The submission is graded once, for the selected items only, when the
first of them runs; each item passes or fails exactly as `grader grade` decides, and a
failure shows the diagnosis and the replay command instead of a traceback.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

_REPORT = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("backprop-grader", "grade a HW1 submission (backprop-grader)")
    group.addoption("--grader-submission", metavar="DIR", default=None,
                    help="grade DIR: one test item per check (or set [tool.grader] submission in pyproject.toml)")
    group.addoption("--grader-seed", type=int, default=None, metavar="N", help="grading seed (default: the rubric's)")
    group.addoption("--grader-rubric", default=None, metavar="FILE", help="rubric TOML (default: the packaged one)")
    group.addoption("--grader-public", action="store_true", default=False,
                    help="collect only the checks the rubric marks visible")
    group.addoption("--grader-sandbox", default="auto", choices=("auto", "bwrap", "none"),
                    help="where student code runs (default: auto)")


def _tool_settings(config: pytest.Config) -> dict:
    pyproject = Path(config.rootpath) / "pyproject.toml"
    if not pyproject.is_file():
        return {}
    try:
        return tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("grader", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        return {}


def _submission(config: pytest.Config) -> Path | None:
    given = config.getoption("grader_submission")
    if given:
        return Path(given)
    configured = _tool_settings(config).get("submission")
    return Path(config.rootpath) / configured if configured else None


class CheckFailed(Exception):
    """Raised by an item whose check did not pass; carries the check's result."""

    def __init__(self, check) -> None:
        super().__init__(check.full_message)
        self.check = check


class GraderCollector(pytest.Collector):
    """The submission folder, whose children are the grader's checks."""

    def __init__(self, *, checks: list, **kwargs) -> None:
        super().__init__(**kwargs)
        self.checks = checks

    def collect(self):
        for check in self.checks:
            yield CheckItem.from_parent(self, name=check.id, check_id=check.id, question=check.question,
                                        title=check.title)


class CheckItem(pytest.Item):
    """One grader check."""

    def __init__(self, *, check_id: str, question: str, title: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.check_id = check_id
        self.question = question
        self.title = title

    def _report(self) -> dict:
        stash = self.config.stash
        if _REPORT not in stash:
            selected = [item.check_id for item in self.session.items if isinstance(item, CheckItem)]
            stash[_REPORT] = _grade(self.config, selected)
        return stash[_REPORT]

    def runtest(self) -> None:
        results = self._report()
        if "error" in results:
            raise CheckFailed(_ErrorCheck(results["error"]))
        check = results[self.check_id]
        if check.status != "pass":
            raise CheckFailed(check)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CheckFailed):
            from .formats import failure_text

            return failure_text(excinfo.value.check)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, "%s: %s" % (self.check_id, self.title)


class _ErrorCheck:
    """Stands in for a check result when the submission could not be graded at all."""

    def __init__(self, error: str) -> None:
        self.code = "error"
        self.full_message = "the submission could not be graded: %s" % error
        self.replay = None
        self.output = ""


def _grade(config: pytest.Config, selected: list[str]) -> dict:
    from .engine import GradeOptions, Grading
    from .scoring import load_rubric
    from .submission import SubmissionError

    rubric_path = config.getoption("grader_rubric")
    options = GradeOptions(seed=config.getoption("grader_seed"), only=selected, sandbox=config.getoption("grader_sandbox"),
                           public_only=config.getoption("grader_public"),
                           rubric_path=Path(rubric_path) if rubric_path else None)
    try:
        report = Grading(_submission(config), options, load_rubric(options.rubric_path)).run()
    except SubmissionError as exc:
        return {"error": str(exc)}
    return {check.id: check for check in report.checks}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    submission = _submission(config)
    if submission is None:
        return
    from .engine import all_planned_checks
    from .scoring import load_rubric

    rubric_path = config.getoption("grader_rubric")
    checks = all_planned_checks(load_rubric(Path(rubric_path) if rubric_path else None))
    if config.getoption("grader_public"):
        checks = [c for c in checks if c.visibility == "visible"]
    collector = GraderCollector.from_parent(session, name=str(submission), nodeid=str(submission),
                                            path=submission.resolve(), checks=checks)
    items.extend(session.genitems(collector))

"""pytest plugin: every check of the grader becomes a test item.

`pytest --grader-submission DIR`, or `[tool.grader] submission = "."` in the pyproject.toml
at pytest's rootdir, collects one item per check, named by its id (`-k mlp.backward`
selects a question). The submission is graded once, for the selected items only, when the
first of them runs; each item passes or fails exactly as `grader grade` decides, and a
failure shows the diagnosis and the replay command instead of a traceback.

[tool.grader] may also set `seed`, `max_examples`, `rubric`, `sandbox`, `timeout`, `public`
and `variant`; the command-line options win over it. Paths in it are relative to the folder of
the pyproject.toml.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

_REPORT = pytest.StashKey[dict]()
_NOT_RUN = pytest.StashKey[str]()
_SANDBOXES = ("auto", "bwrap", "user", "none")
TOOL_KEYS: dict[str, type | tuple[type, ...]] = {
    "submission": str, "seed": int, "max_examples": int, "rubric": str, "sandbox": str,
    "timeout": (int, float), "public": bool, "variant": str}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("backprop-grader", "grade a HW1 submission (backprop-grader)")
    group.addoption("--grader-submission", metavar="DIR", default=None,
                    help="grade DIR: one test item per check (or set [tool.grader] submission in pyproject.toml)")
    group.addoption("--grader-seed", type=int, default=None, metavar="N", help="grading seed (default: the rubric's)")
    group.addoption("--grader-max-examples", type=int, default=None, metavar="N",
                    help="Hypothesis examples per check (default: each check's own)")
    group.addoption("--grader-timeout", type=float, default=None, metavar="SECONDS",
                    help="deadline for one call into the submission (default: the rubric's)")
    group.addoption("--grader-rubric", default=None, metavar="FILE", help="rubric TOML (default: the packaged one)")
    group.addoption("--grader-public", action="store_true", default=None,
                    help="collect only the checks the rubric marks visible")
    group.addoption("--grader-sandbox", default=None, choices=_SANDBOXES,
                    help="where student code runs (default: auto)")
    group.addoption("--grader-variant", default=None, metavar="NAME",
                    help="the semester's text the submission answers (default: the rubric's)")


def _pyproject(config: pytest.Config) -> Path | None:
    candidates = [Path(config.rootpath) / "pyproject.toml"]
    if config.inipath is not None and config.inipath.name == "pyproject.toml":
        candidates.insert(0, Path(config.inipath))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def _tool_settings(config: pytest.Config) -> tuple[dict, Path]:
    """[tool.grader] from the pyproject.toml (validated), and the folder its paths are relative to."""
    pyproject = _pyproject(config)
    if pyproject is None:
        return {}, Path(config.rootpath)
    try:
        table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("grader", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        return {}, pyproject.parent
    if not isinstance(table, dict):
        raise pytest.UsageError("%s: [tool.grader] must be a table" % pyproject)
    for key, value in table.items():
        kind = TOOL_KEYS.get(key)
        if kind is None:
            raise pytest.UsageError("%s: [tool.grader] has an unknown key %r (known: %s)"
                                    % (pyproject, key, ", ".join(TOOL_KEYS)))
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise pytest.UsageError("%s: [tool.grader] %s = %r has the wrong type" % (pyproject, key, value))
    if table.get("sandbox", "auto") not in _SANDBOXES:
        raise pytest.UsageError("%s: [tool.grader] sandbox must be one of %s" % (pyproject, ", ".join(_SANDBOXES)))
    return table, pyproject.parent


def _settings(config: pytest.Config) -> dict | None:
    """Everything the plugin needs, command line over [tool.grader]; None when not asked to grade."""
    tool, base = _tool_settings(config)
    given = config.getoption("grader_submission")
    if given:
        submission = Path(given)
        if not submission.is_absolute():
            submission = Path(config.invocation_params.dir) / submission
    elif tool.get("submission"):
        submission = base / tool["submission"]
        if not _asked_for(config, Path(os.path.normpath(submission))):
            return None
    else:
        return None
    rubric = config.getoption("grader_rubric")
    if rubric:
        rubric = Path(config.invocation_params.dir) / rubric
    elif tool.get("rubric"):
        rubric = base / tool["rubric"]

    def option(name: str, key: str, default=None):
        value = config.getoption(name)
        return value if value is not None else tool.get(key, default)

    settings = {
        "submission": Path(os.path.normpath(submission)),
        "rubric": Path(rubric) if rubric else None,
        "seed": option("grader_seed", "seed"),
        "max_examples": option("grader_max_examples", "max_examples"),
        "timeout": option("grader_timeout", "timeout"),
        "sandbox": option("grader_sandbox", "sandbox", "auto"),
        "public": bool(option("grader_public", "public", False)),
        "variant": option("grader_variant", "variant"),
    }
    if settings["max_examples"] is not None and settings["max_examples"] < 1:
        raise pytest.UsageError("grader: max_examples must be at least 1")
    if settings["timeout"] is not None and settings["timeout"] <= 0:
        raise pytest.UsageError("grader: timeout must be positive")
    return settings


def _asked_for(config: pytest.Config, submission: Path) -> bool:
    """Whether a run configured by [tool.grader] covers the submission: always, unless the
    command line names test paths none of which holds it (`pytest test_mine.py` runs just that)."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return True
    for arg in config.args:
        path = Path(os.path.normpath(Path(config.invocation_params.dir) / arg.split("::", 1)[0]))
        if submission == path or path in submission.parents:
            return True
    return False


def _label(config: pytest.Config, submission: Path) -> str:
    """The submission as a path relative to where pytest was started (used in replay commands)."""
    try:
        return os.path.relpath(submission, config.invocation_params.dir)
    except ValueError:
        return str(submission)


class CheckFailed(Exception):
    """Raised by an item whose check did not pass; carries the check's result."""

    def __init__(self, check) -> None:
        super().__init__(check.full_message)
        self.check = check


class NotGradable(Exception):
    """The submission folder cannot be graded at all (collection error, no traceback)."""


class GraderCollector(pytest.Collector):
    """The submission folder, whose children are the grader's checks."""

    def __init__(self, *, checks: list, problem: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.checks = checks
        self.problem = problem

    def collect(self):
        if self.problem:
            raise NotGradable(self.problem)
        for check in self.checks:
            yield CheckItem.from_parent(self, name=check.id, check_id=check.id, question=check.question,
                                        title=check.title)

    def repr_failure(self, excinfo: Any) -> Any:  # type: ignore[override]
        if isinstance(excinfo.value, NotGradable):
            return "grader: %s" % excinfo.value
        return super().repr_failure(excinfo)


class CheckItem(pytest.Item):
    """One grader check."""

    def __init__(self, *, check_id: str, question: str, title: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.check_id = check_id
        self.question = question
        self.title = title
        self.add_marker(pytest.mark.grader)

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
        check = results.get(self.check_id)
        if check is None:
            raise CheckFailed(_ErrorCheck("the grader's report has no result for %s" % self.check_id))
        if check.status == "review":
            from .formats.text import failure_text

            pytest.skip("pending review (a person decides): " + failure_text(check))
        if check.status != "pass":
            raise CheckFailed(check)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CheckFailed):
            from .formats.text import failure_text

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


def _grade(config: pytest.Config, selected: list[str]) -> dict[str, Any]:
    """{check id: CheckResult} for the selected checks, or {"error": why} when grading failed."""
    from ..engine.grading import GradeOptions, Grading
    from ..engine.rubric import load_rubric
    from ..errors import GraderError
    from .preload import preload_grader_modules

    settings = _settings(config)
    assert settings is not None
    options = GradeOptions(seed=settings["seed"], only=selected, max_examples=settings["max_examples"],
                           sandbox=settings["sandbox"], call_timeout_s=settings["timeout"],
                           public_only=settings["public"], rubric_path=settings["rubric"],
                           variant=settings["variant"], label=_label(config, settings["submission"]))
    try:
        grading = Grading(settings["submission"], options, load_rubric(options.rubric_path, options.variant))
        preload_grader_modules()  # before any student code runs (see faces.preload)
        report = grading.run()
    except GraderError as exc:
        return {"error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - the grader failed: every item says so, once
        return {"error": "internal grader error (please report it): %s: %s" % (type(exc).__name__, exc)}
    if report.error:
        return {"error": report.error}
    return {check.id: check for check in report.checks}


def _problem(submission: Path, rubric: Any) -> str | None:
    """Why `submission` cannot be graded at all, or None."""
    from ..engine.documents import document_patterns

    parts = rubric.assignment.parts
    filenames = [p.filename for p in parts if p.kind == "code"]
    patterns = [pattern for p in parts if p.kind == "document" for pattern in document_patterns(p, rubric.raw_settings)]
    if not submission.exists():
        return "the submission folder %s does not exist" % submission
    if not submission.is_dir():
        return "%s is not a folder; give the folder that holds %s" % (submission, " and ".join(filenames))
    from ..engine.intake import locate  # a nested folder or a notebook is graded as `grader grade` would
    from ..errors import SubmissionError

    try:
        locate(submission, filenames, documents=tuple(patterns))
    except SubmissionError as exc:
        return str(exc)
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "grader: a check of backprop-grader (added by its pytest plugin)")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    settings = _settings(config)
    if settings is None:
        return
    from ..engine.plan import plan
    from ..engine.rubric import load_rubric
    from ..errors import RubricError

    submission = settings["submission"]
    try:
        rubric = load_rubric(settings["rubric"], settings["variant"])
        problem = _problem(submission, rubric)
        planned = plan(rubric)
    except RubricError as exc:
        raise pytest.UsageError("grader: %s" % exc) from None
    checks = [] if problem else planned.checks
    if settings["public"]:
        hidden = [c for c in checks if c.visibility != "visible"]
        if hidden:
            points = sum(planned.points_of(c) for c in hidden)
            config.stash[_NOT_RUN] = ("backprop-grader --grader-public: %d hidden checks worth %.4g points were not"
                                      " run here; the final grade includes them" % (len(hidden), points))
        checks = [c for c in checks if c.visibility == "visible"]
    try:
        nodeid = Path(os.path.relpath(submission, config.rootpath)).as_posix()
    except ValueError:
        nodeid = submission.as_posix()
    collector = GraderCollector.from_parent(session, name=submission.name or nodeid, nodeid=nodeid,
                                            path=submission, checks=checks, problem=problem)
    items.extend(session.genitems(collector))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """With --grader-public, say how many points the hidden checks hold."""
    if _NOT_RUN in config.stash:
        terminalreporter.write_line(config.stash[_NOT_RUN], yellow=True, bold=True)

"""The pytest plugin (grader.pytest_plugin, loaded through the pytest11 entry point): one item per
check, `-k` selection, the [tool.grader] route, failures without grader tracebacks, and items
that pass or fail exactly as `grader grade --format json` decides for the same selection.

Each pytest run is a subprocess (pytester.runpytest_subprocess) in a fresh folder.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from .conftest import DEFAULT_RUBRIC, ROOT, SUBMISSIONS

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

pytest_plugins = ["pytester"]

SELECTION = ["mlp.backward", "mlp.forward"]
EXAMPLES = "2"


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    """`grader grade --format json` of a submission with a transposed dJdW1, for SELECTION."""
    folder = tmp_path_factory.mktemp("plugin") / "sub"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "mlp_dW1_no_transpose" / "mlp.py", folder / "mlp.py")
    shutil.copy(SUBMISSIONS / "correct" / "theory.py", folder / "theory.py")
    args = [sys.executable, "-m", "grader", "grade", str(folder), "--format", "json", "--max-examples", EXAMPLES]
    for selector in SELECTION:
        args += ["--only", selector]
    result = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    checks = {c["id"]: c for q in report["questions"] for c in q["checks"]}
    assert {c["status"] for c in checks.values()} >= {"pass", "fail"}, "the submission must pass some, fail some"
    return {"folder": folder, "checks": checks}


def _outcomes(junit_xml) -> dict[str, str]:
    """{test name: passed|failed|error|skipped} from pytest's own --junit-xml report."""
    outcomes = {}
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        tags = {child.tag for child in case}
        outcome = "failed" if "failure" in tags else "error" if "error" in tags else (
            "skipped" if "skipped" in tags else "passed")
        outcomes[case.get("name")] = outcome
    return outcomes


def _expected(checks: dict, question: str) -> dict[str, str]:
    return {cid: "passed" if c["status"] == "pass" else "failed" for cid, c in checks.items()
            if cid.startswith(question + "[")}


def test_items_pass_and_fail_as_grader_grade_decides(check_ids, pytester, graded):
    shutil.copytree(graded["folder"], pytester.path / "sub")
    result = pytester.runpytest_subprocess("--grader-submission", "sub", "--grader-max-examples", EXAMPLES,
                                           "-k", "mlp.backward", "--junit-xml", "report.xml", "-p",
                                           "no:cacheprovider")
    expected = _expected(graded["checks"], "mlp.backward")
    counts = {"passed": sum(v == "passed" for v in expected.values()),
              "failed": sum(v == "failed" for v in expected.values())}
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) == counts["passed"] and outcomes.get("failed", 0) == counts["failed"]
    assert outcomes["deselected"] == len(check_ids) - len(expected)
    assert _outcomes(pytester.path / "report.xml") == expected
    # The failure report: the diagnosis, the code, the replay command, and none of the grader's frames.
    text = result.stdout.str()
    failing = [c for cid, c in graded["checks"].items() if cid in expected and c["status"] != "pass"]
    for check in failing:
        assert "[%s] %s" % (check["code"], check["message"]) in text
        assert "replay: " + check["replay"].replace(str(graded["folder"]), "sub") in text
    assert "Traceback" not in text and "grader/" not in text and "pytest_plugin" not in text
    assert not re.search(r"^E\s", text, re.MULTILINE), "no assertion-rewrite lines"
    assert not re.search(r"^\S+\.py:\d+: ", text, re.MULTILINE), "no frame locations"


@pytest.fixture(scope="module")
def check_ids() -> list[str]:
    """Every check id of the default rubric, in plan order. Planned here, before any test's
    pytester fixture snapshots sys.modules: a test that imported torch would have it removed
    again afterwards, and torch cannot be imported twice in one process."""
    from grader.engine.plan import plan
    from grader.engine.rubric import load_rubric

    return [c.id for c in plan(load_rubric()).checks]


def test_k_selects_by_question_and_check_id(check_ids, pytester, graded):
    shutil.copytree(graded["folder"], pytester.path / "sub")
    collected = pytester.runpytest_subprocess("--grader-submission", "sub", "--collect-only", "-q",
                                              "-k", "mlp.backward and relu-identity", "-p", "no:cacheprovider")
    lines = [line for line in collected.stdout.lines if "::" in line]
    assert lines == ["sub::mlp.backward[relu-identity]"]
    everything = pytester.runpytest_subprocess("--grader-submission", "sub", "--collect-only", "-q",
                                               "-p", "no:cacheprovider")
    ids = ["sub::" + check_id for check_id in check_ids]
    assert [line for line in everything.stdout.lines if "::" in line] == ids


def test_tool_grader_in_pyproject_needs_no_option(pytester, graded):
    """A student's own folder: [tool.grader] submission = "." and pytest with no options."""
    for path in graded["folder"].iterdir():
        shutil.copy(path, pytester.path / path.name)
    pytester.makepyprojecttoml('[tool.grader]\nsubmission = "."\nmax_examples = %s\n' % EXAMPLES)
    pytester.makepyfile(test_own="def test_students_own_test():\n    assert True\n")
    result = pytester.runpytest_subprocess("-k", "mlp.forward or students_own", "--junit-xml", "report.xml",
                                           "-p", "no:cacheprovider")
    outcomes = _outcomes(pytester.path / "report.xml")
    assert outcomes.pop("test_students_own_test") == "passed"
    assert outcomes == _expected(graded["checks"], "mlp.forward")
    assert result.ret == (0 if all(v == "passed" for v in outcomes.values()) else 1)


def test_missing_submission_folder_is_a_clear_collection_error(pytester):
    result = pytester.runpytest_subprocess("--grader-submission", "no_such_folder", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    text = result.stdout.str()
    assert "grader: the submission folder" in text and "no_such_folder does not exist" in text
    assert "Traceback" not in text and "grader/" not in text
    empty = pytester.mkdir("empty")
    result = pytester.runpytest_subprocess("--grader-submission", str(empty), "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED and "nothing to grade" in result.stdout.str()


def test_without_a_submission_the_plugin_adds_nothing(pytester):
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    pytester.makepyprojecttoml("[tool.other]\nx = 1\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_bad_tool_grader_settings_are_usage_errors(pytester):
    pytester.makepyprojecttoml('[tool.grader]\nsubmision = "."\n')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown key 'submision'" in result.stderr.str()


def test_tool_grader_items_are_not_added_to_a_run_of_other_test_files(check_ids, pytester, graded):
    for path in graded["folder"].iterdir():
        shutil.copy(path, pytester.path / path.name)
    pytester.makepyprojecttoml('[tool.grader]\nsubmission = "."\n')
    pytester.makepyfile(test_own="def test_students_own_test():\n    assert True\n")
    only_mine = pytester.runpytest_subprocess("test_own.py", "--collect-only", "-q", "-p", "no:cacheprovider")
    assert [line for line in only_mine.stdout.lines if "::" in line] == ["test_own.py::test_students_own_test"]
    everything = pytester.runpytest_subprocess(".", "--collect-only", "-q", "-p", "no:cacheprovider")
    assert len([line for line in everything.stdout.lines if "::" in line]) == 1 + len(check_ids)


def test_public_says_how_many_hidden_points_were_not_run(pytester):
    shutil.copytree(SUBMISSIONS / "correct", pytester.path / "sub")
    rubric = DEFAULT_RUBRIC.read_text().replace(
        '[questions."theory.loss"]\n', '[questions."theory.loss".visibility]\nbce = "after_due_date"\n'
        '[questions."theory.loss"]\n')
    (pytester.path / "rubric.toml").write_text(rubric)
    result = pytester.runpytest_subprocess("--grader-submission", "sub", "--grader-rubric", "rubric.toml",
                                           "--grader-public", "--grader-max-examples", "2", "-k", "theory.loss",
                                           "-p", "no:cacheprovider")
    assert result.parseoutcomes().get("passed") == 1
    result.stdout.fnmatch_lines(["*--grader-public: 1 hidden checks worth 3 points were not run here*"])


def test_a_check_pending_review_is_skipped_saying_so(pytester):
    """A written sheet's 1.3(c) is for a person: the item is skipped, neither passed nor failed."""
    shutil.copytree(SUBMISSIONS / "answers_md_numerator", pytester.path / "sub")
    result = pytester.runpytest_subprocess("--grader-submission", "sub", "-k", "answers.q1_3c or forward_z1",
                                           "-rs", "--junit-xml", "report.xml", "-p", "no:cacheprovider")
    outcomes = _outcomes(pytester.path / "report.xml")
    assert outcomes == {"answers.q1_2[forward_z1]": "passed", "answers.q1_3c[concept_why_relu]": "skipped"}
    result.stdout.fnmatch_lines(["*pending review (a person decides)*"])
    assert result.ret == 0

"""Every example answer sheet (submissions/answers_*/) graded through the command line exactly
as `grader grade DIR --only answers --format json` grades it, item by item as its expected.toml
says: each check's status and diagnosis code, its location in the sheet, its points (the
rubric's share when it passes, none otherwise, pending when a person decides), and the report's
totals. The few sheets written for another rubric setting or variant get that setting.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from grader.assignments.hw1.answers.model import QUESTION_CHECKS
from grader.engine.plan import plan
from grader.engine.rubric import load_rubric

from .conftest import DEFAULT_RUBRIC, SUBMISSIONS, run_cli

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

FOLDERS = sorted(p for p in SUBMISSIONS.glob("answers_*") if p.is_dir())
# the answer layer's review reasons are one engine code (the reason is kept in details)
ENGINE_CODE = {"undefined_symbol": "unreadable", "incomplete": "unreadable", "mismatch": "unreadable",
               "invalid_text": "limit"}


def _expected(folder: Path) -> dict:
    return tomllib.loads((folder / "expected.toml").read_text(encoding="utf-8"))


def _rubric_text(settings: dict) -> str:
    """The default rubric under an example's [settings] (variant, layout, 1.3 policy)."""
    text = DEFAULT_RUBRIC.read_text(encoding="utf-8")
    for key, default in (("variant", "sp21"), ("layout", "numerator"), ("unmentioned_13", "unchanged")):
        old = '%s = "%s"' % (key, default)
        assert text.count(old) == 1, old
        text = text.replace(old, '%s = "%s"' % (key, settings.get(key, default)))
    return text


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, dict]:
    """{folder name: its JSON report}: one `grader grade` run per distinct rubric setting."""
    groups: dict[str, list[Path]] = {}
    for folder in FOLDERS:
        groups.setdefault(_rubric_text(_expected(folder)["settings"]), []).append(folder)
    found: dict[str, dict] = {}
    work = tmp_path_factory.mktemp("sheets")
    for number, (text, folders) in enumerate(groups.items()):
        rubric = work / ("rubric%d.toml" % number)
        rubric.write_text(text, encoding="utf-8")
        out = work / ("report%d.json" % number)
        result = run_cli("grade", *map(str, folders), "--only", "answers", "--format", "json", "-o", str(out),
                         "--rubric", str(rubric), "--sandbox", "none")
        assert result.returncode in (0, 1), result.stderr
        assert "Traceback" not in result.stderr
        data = json.loads(out.read_text(encoding="utf-8"))
        for report in data if isinstance(data, list) else [data]:
            found[Path(report["submission"]).name] = report
    return found


def test_every_format_and_at_least_fifteen_sheets():
    formats = {_expected(folder)["sheet"]["format"] for folder in FOLDERS}
    assert len(FOLDERS) >= 15 and formats == {"md", "tex", "ipynb", "txt", "pdf"}


@pytest.mark.cli
@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_each_sheet_is_graded_item_by_item_as_expected(folder: Path, reports: dict[str, dict]):
    report, expected = reports[folder.name], _expected(folder)
    assert report["schema"] == 2 and "error" not in report
    assert [q["id"] for q in report["questions"]] == ["answers." + q for q in QUESTION_CHECKS]
    checks = {c["id"]: c for q in report["questions"] for c in q["checks"]}
    wrong = []
    for item, want in expected["items"].items():
        question, check = item.split(".")
        got = checks["answers.%s[%s]" % (question, check)]
        code = want.get("code")
        if (got["status"], got["code"]) != (want["status"], ENGINE_CODE.get(code, code)):
            wrong.append("%s: %s/%s, expected %s/%s: %s" % (item, got["status"], got["code"], want["status"], code,
                                                              got["message"]))
        extract = expected["extract"][item]
        if "line" in extract and not expected["sheet"]["human_only"]:
            sheet = next(p.name for p in folder.iterdir() if p.name.startswith("theory."))
            if got["location"] != {"file": sheet, "line": extract["line"]}:
                wrong.append("%s: location %s, expected line %s" % (item, got["location"], extract["line"]))
    assert not wrong, "\n".join(wrong)
    assert len(checks) == sum(len(c) for c in QUESTION_CHECKS.values())


@pytest.mark.cli
@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_points_follow_the_rubric_and_review_points_are_pending(folder: Path, reports: dict[str, dict]):
    report = reports[folder.name]
    planned = plan(load_rubric(DEFAULT_RUBRIC))
    shares = {c.id: planned.points_of(c) for c in planned.checks if c.id.startswith("answers.")}
    checks = [c for q in report["questions"] for c in q["checks"]]
    for check in checks:
        assert check["max_score"] == pytest.approx(shares[check["id"]])
        assert check["score"] == (check["max_score"] if check["status"] == "pass" else 0.0)
    pending = sum(c["max_score"] for c in checks if c["status"] == "review")
    assert report["pending_review"] == pytest.approx(pending)
    assert report["score"] == pytest.approx(sum(c["score"] for c in checks))
    assert report["max_score"] == pytest.approx(sum(shares.values()))
    for check in checks:
        if check["status"] == "review":  # what a reviewer needs
            assert check["details"]["points"] == check["max_score"]
            assert check["details"]["question"] and check["details"]["document_sha256"]


@pytest.mark.cli
def test_the_worked_example_of_the_readme(reports: dict[str, dict]):
    """README "Written answers": the update without its transpose and the grader's words."""
    checks = {c["id"]: c for q in reports["answers_md_update_no_transpose"]["questions"] for c in q["checks"]}
    update = checks["answers.q1_2[sgd_update_W1]"]
    assert (update["status"], update["code"]) == ("fail", "transposed")
    assert update["message"].startswith("your update of W1 subtracts dl/dW1 as it is, but in numerator layout"
                                        " dl/dW1 is (n,d) while W1 is (d,n): the step needs the transpose")
    assert update["details"]["got_latex"] == r"W_1 - \eta \frac{\partial L}{\partial W_1}"
    assert update["details"]["expected_latex"] == r"W_1 - \eta \left(\frac{\partial L}{\partial W_1}\right)^T"
    assert update["location"] == {"file": "theory.md", "line": 8}
    readme = " ".join((SUBMISSIONS.parent / "README.md").read_text(encoding="utf-8").replace("\u2502", " ").split())
    assert update["message"] in readme
    assert "yours (line 8): %s" % update["details"]["got_latex"] in readme
    assert "expected: %s" % update["details"]["expected_latex"] in readme


@pytest.mark.cli
def test_a_pdf_goes_to_a_person_with_every_point_pending(reports: dict[str, dict]):
    report = reports["answers_pdf_only"]
    checks = [c for q in report["questions"] for c in q["checks"]]
    assert {(c["status"], c["code"]) for c in checks} == {("review", "human_only")}
    assert all("PDF" in c["message"] and "human" in c["message"] for c in checks)
    assert report["score"] == 0 and report["pending_review"] == pytest.approx(report["max_score"])


@pytest.mark.cli
def test_a_sheet_with_only_review_left_exits_0_and_a_mistake_exits_1():
    """Pending points are not failures: the run's verdict is on what was graded."""
    clean = run_cli("grade", str(SUBMISSIONS / "answers_md_numerator"), "--only", "answers", "--sandbox", "none")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "5 points pending review" in clean.stdout
    wrong = run_cli("grade", str(SUBMISSIONS / "answers_md_update_no_transpose"), "--only", "answers",
                    "--sandbox", "none")
    assert wrong.returncode == 1
    assert "yours (line 8): W_1 - \\eta \\frac{\\partial L}{\\partial W_1}" in wrong.stdout

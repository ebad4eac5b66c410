"""Every report format with written answers: a check pending review shows as pending (never as
passed or failed, its points counted neither way), a failed written answer shows the answer as
read against the expected one with both shapes, and the student's text stays inert in each
format. The report is built in-process; each format's output is parsed back where it can be.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema

from grader.faces.formats import render
from grader.faces.formats.text import failure_text
from grader.model.results import CheckResult, GradeReport, QuestionResult

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "gradescope_results.schema.json").read_text())
HOSTILE = "ReLU ::error::forged <img src=x> [click](http://x) `` | $x$"


def _report() -> GradeReport:
    concept = CheckResult(
        id="answers.q1_3c[concept_why_relu]", question="answers.q1_3c", title="1.3(c) why ReLU", status="review",
        score=0.0, max_score=5.0, code="concept", message="a human judges the explanation",
        location={"file": "theory.md", "line": 40},
        details={"snippet": {"text": HOSTILE, "line": 40, "form": "text"}, "points": 5.0, "document_sha256": "d"})
    update = CheckResult(
        id="answers.q1_2[grad_W1]", question="answers.q1_2", title="1.2(c) dl/dW1", status="fail", score=0.0,
        max_score=2.0, code="transposed", message="your dl/dW1 is (d,n); in numerator layout it is (n,d): it is the"
        " transpose", location={"file": "theory.md", "line": 12},
        details={"got_latex": r"\delta_1 x^T", "got_shape": "(d,n)", "expected_latex": r"x \delta_1",
                 "expected_shape": "(n,d)", "snippet": {"text": r"\delta_1 x^T", "line": 12, "form": "equation"}})
    right = CheckResult(id="answers.q1_2[forward_z1]", question="answers.q1_2", title="1.2(b) z1", status="pass",
                        score=3.0, max_score=3.0)
    return GradeReport(grader_version="t", assignment="hw1", submission="class/alice", seed=0,
                       questions=[QuestionResult("answers.q1_2", "Written 1.2", [update, right]),
                                  QuestionResult("answers.q1_3c", "Written 1.3(c)", [concept])])


def test_the_report_counts_pending_points_neither_way():
    report = _report()
    assert (report.score, report.max_score, report.pending_review) == (3.0, 10.0, 5.0)
    assert report.percent() == 60.0 and not report.all_passed
    data = report.to_json()
    assert data["schema"] == 2 and data["pending_review"] == 5.0
    assert GradeReport.from_json(json.loads(json.dumps(data))).to_json() == data


def test_failure_text_shows_the_answer_against_the_expected_one():
    update, _, concept = _report().checks
    text = failure_text(update)
    assert "yours (line 12): \\delta_1 x^T (d,n)" in text and "expected: x \\delta_1 (n,d)" in text
    pending = failure_text(concept)
    assert "answer (line 40): " + HOSTILE in pending and "5 points for a person to decide" in pending


def test_terminal_and_markdown_say_how_many_points_are_pending():
    table = render("table", [_report()])
    assert "5 points pending review (1 check a person decides" in table and "review" in table
    assert "yours (line 12):" in table and "expected: x \\delta_1 (n,d)" in table
    markdown = render("markdown", [_report()])
    assert "**5 points pending review" in markdown
    assert "1 failed checks" in markdown and "1 checks pending review" in markdown
    assert "<img" not in markdown and "](http" not in markdown.replace("\\](http", "")


def test_github_annotates_the_failed_answer_and_notes_the_pending_one():
    lines = render("github", [_report()]).splitlines()
    errors = [line for line in lines if line.startswith("::error")]
    assert len(errors) == 1 and "file=class/alice/theory.md,line=12" in errors[0]
    assert "%0Ayours (line 12): \\delta_1 x^T (d,n)" in errors[0]
    notices = [line for line in lines if "pending review" in line]
    assert len(notices) == 1 and notices[0].startswith("::notice ") and "concept_why_relu" in notices[0]
    assert not any(line.startswith("::error::forged") for line in lines)


def test_junit_skips_the_pending_check():
    root = ET.fromstring(render("junit", [_report()]).split("\n", 1)[1])
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    assert root.get("skipped") == "1"
    skipped = [case for case in suite.iter("testcase") if case.find("skipped") is not None]
    assert [case.get("name") for case in skipped] == ["answers.q1_3c[concept_why_relu]"]
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["pending_review"] == "5"


def test_csv_has_a_pending_column():
    rows = list(csv.DictReader(io.StringIO(render("csv", [_report()]))))
    assert rows[0]["pending_review"] == "5" and rows[0]["percent"] == "60.0"


def test_gradescope_leaves_the_pending_test_without_a_status():
    data = json.loads(render("gradescope", [_report()]))
    jsonschema.validate(data, SCHEMA)
    tests = {t["name"]: t for t in data["tests"]}
    pending = tests["answers.q1_3c[concept_why_relu]"]
    assert "status" not in pending and pending["output"].startswith("Pending review by the course staff.")
    assert pending["score"] == 0 and pending["max_score"] == 5 and "pending_review" in pending["tags"]
    assert tests["answers.q1_2[grad_W1]"]["status"] == "failed"
    assert data["score"] == 3 and data["extra_data"]["pending_review"] == 5
    assert "5 points pending review" in data["output"]

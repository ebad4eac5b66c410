"""Reviewers' decisions (engine/reviews.py, `grader review`, `grader grade --decisions`): a
pending check decided once, recorded in a TOML file, applied by the next grading run; an edited
answer asked again; a folder graded from elsewhere keeping its decisions; bad input refused.
"""

from __future__ import annotations

import io
import json
import shutil
import tomllib
from pathlib import Path

import pytest

from grader.engine.reviews import (Decision, apply_decisions, decide, find_decision, load_decisions, pending, record,
                                   save_decisions)
from grader.errors import UsageError
from grader.faces.review import run_review
from grader.model.results import CheckResult, GradeReport, QuestionResult

from .conftest import SUBMISSIONS, run_cli

CONCEPT = "answers.q1_3c[concept_why_relu]"


def _report(text: str = "ReLU keeps gradients alive.", submission: str = "class/alice",
            document: str = "d" * 64) -> GradeReport:
    check = CheckResult(id=CONCEPT, question="answers.q1_3c", title="1.3(c)", status="review", score=0.0,
                        max_score=5.0, code="concept", message="a human judges the explanation",
                        details={"snippet": {"text": text, "line": 3, "form": "text"}, "document_sha256": document,
                                 "points": 5.0, "question": "1.3(c) why ReLU helps deeper networks"})
    other = CheckResult(id="answers.q1_2[forward_z1]", question="answers.q1_2", title="z1", status="pass", score=1.0,
                        max_score=1.0)
    return GradeReport(grader_version="t", assignment="hw1", submission=submission, seed=0,
                       questions=[QuestionResult("answers.q1_2", "", [other]),
                                  QuestionResult("answers.q1_3c", "", [check])])


def test_decisions_settle_pending_checks_with_their_points():
    report = _report()
    assert report.pending_review == 5.0 and report.percent() == 100.0 and report.all_passed
    decision = decide(report, pending(report)[0], "3.5", "partly")
    applied = apply_decisions(report, [decision])
    check = report.checks[1]
    assert applied == 1 and (check.status, check.score, check.code) == ("fail", 3.5, "concept")
    assert "Decided by a reviewer (3.5 of 5 points" in check.full_message and "partly" in check.full_message
    assert report.pending_review == 0 and report.score == 4.5 and not report.all_passed
    full = _report()
    apply_decisions(full, [decide(full, pending(full)[0], "pass")])
    assert (full.checks[1].status, full.checks[1].score, full.checks[1].code) == ("pass", 5.0, None)
    assert full.all_passed and full.percent() == 100.0


def test_a_decision_holds_for_the_same_answer_only():
    decision = decide(_report(), pending(_report())[0], "fail")
    assert find_decision([decision], _report(), pending(_report())[0]) is decision
    edited = _report(text="ReLU is faster.")
    assert find_decision([decision], edited, pending(edited)[0]) is None, "an edited answer is asked again"
    moved = _report(submission="/elsewhere/alice/")
    assert find_decision([decision], moved, pending(moved)[0]) is decision, "same folder name"
    renamed = _report(submission="class/alice_v2")
    assert find_decision([decision], renamed, pending(renamed)[0]) is decision, "same sheet"
    stranger = _report(submission="class/bob", document="e" * 64)
    assert find_decision([decision], stranger, pending(stranger)[0]) is None, "another student's identical answer"


def test_decisions_round_trip_through_the_file_whatever_the_comment(tmp_path):
    path = tmp_path / "reviews.toml"
    comment = 'says "vanishing"\\ and\ttabs \x7f \u00e9\u2202 \n ]] = [[decision]]'
    first = decide(_report(), pending(_report())[0], "2", comment)
    second = decide(_report(submission="class/bob"), pending(_report())[0], "pass")
    save_decisions(path, record(record([], first), second))
    loaded = load_decisions(path)
    assert loaded == [first, second]
    assert tomllib.loads(path.read_text(encoding="utf-8"))["decision"][0]["comment"] == comment.strip()
    again = decide(_report(), pending(_report())[0], "4")
    assert load_decisions(path) and record(loaded, again) == [second, again], "a new decision replaces the old"


@pytest.mark.parametrize("value", ["maybe", "-1", "6", ""])
def test_a_bad_decision_is_refused(value):
    with pytest.raises(UsageError):
        decide(_report(), pending(_report())[0], value)


def test_a_malformed_decisions_file_is_a_usage_error(tmp_path):
    path = tmp_path / "reviews.toml"
    path.write_text("[[decision]]\ncheck = 1\n")
    with pytest.raises(UsageError, match="cannot be read"):
        load_decisions(path)
    path.write_text('[[decision]]\ncheck = "x"\nstatus = "maybe"\npoints = 1.0\nsnippet_sha256 = ""\n')
    with pytest.raises(UsageError, match="invalid decision"):
        load_decisions(path)


def test_interactive_review_asks_each_pending_check(tmp_path):
    answers = iter(["maybe", "2.5", "ok", "q"])
    out = io.StringIO()
    path = tmp_path / "reviews.toml"
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return next(answers)

    assert run_review([_report(), _report(submission="class/bob")], path, {}, "", True, out, ask) == 0
    (decision,) = load_decisions(path)
    assert (decision.points, decision.status, decision.comment, decision.submission) == (2.5, "fail", "ok", "alice")
    text = out.getvalue()
    assert "ReLU keeps gradients alive." in text and "(5 points)" in text and "recorded: fail, 2.5 points" in text
    assert "not a number" in asked[1] or "maybe" in asked[1], "a bad answer is asked again"
    assert len(asked) == 4, "quit stops before the next submission's check is decided"


@pytest.mark.cli
@pytest.mark.slow
def test_grader_review_then_grade_with_decisions(tmp_path):
    """The command line end to end: list, decide with --set, apply with --decisions, and ask
    again once the answer is edited."""
    folder = tmp_path / "class" / "alice"
    shutil.copytree(SUBMISSIONS / "answers_md_numerator", folder)
    listed = run_cli("review", str(folder))
    assert listed.returncode == 0, listed.stderr
    assert CONCEPT in listed.stdout and "1 check pending review (5 points)" in listed.stdout
    assert "--set" in listed.stdout and not (tmp_path / "reviews.toml").exists()
    decided = run_cli("review", str(folder), "--set", CONCEPT + "=pass", "--comment", "names the vanishing gradient")
    assert decided.returncode == 0, decided.stderr
    path = tmp_path / "reviews.toml"  # beside the class folder
    assert load_decisions(path)[0].status == "pass"
    graded = run_cli("grade", str(folder), "--only", "answers", "--decisions", str(path), "--format", "json",
                     "--sandbox", "none")
    report = json.loads(graded.stdout)
    check = next(c for q in report["questions"] for c in q["checks"] if c["id"] == CONCEPT)
    assert (check["status"], check["score"], check["max_score"]) == ("pass", 5.0, 5.0)
    assert "Decided by a reviewer" in check["message"] and report["pending_review"] == 0
    assert graded.returncode == 0
    sheet = folder / "theory.md"
    sheet.write_text(sheet.read_text().replace("cheap to compute", "quick to evaluate"))
    regraded = json.loads(run_cli("grade", str(folder), "--only", "answers", "--decisions", str(path),
                                  "--format", "json", "--sandbox", "none").stdout)
    assert regraded["pending_review"] == 5.0, "the edited answer is pending again"
    unknown = run_cli("review", str(folder), "--set", "answers.q1_2[grad_W1]=pass", "--decisions", str(path))
    assert unknown.returncode == 2 and "no check pending review named" in unknown.stderr
    bad = run_cli("grade", str(folder), "--decisions", str(tmp_path / "nope.toml"))
    assert bad.returncode == 2 and "no such file" in bad.stderr


def test_decision_keys_are_in_the_file(tmp_path):
    path = tmp_path / "r.toml"
    save_decisions(path, [decide(_report(), pending(_report())[0], "pass")])
    (entry,) = tomllib.loads(path.read_text())["decision"]
    assert set(entry) == {f for f in Decision.__dataclass_fields__}
    assert Path(path).read_text().startswith("# backprop-grader")


def test_child_graders_get_the_decisions_too(tmp_path):
    """--jobs N grades in child processes: each must apply the same decisions."""
    from grader.faces.cli import _child_args, build_parser

    args = build_parser().parse_args(["grade", "--each", str(tmp_path), "--jobs", "2", "--decisions", "r.toml"])
    child = _child_args(args)
    assert child[child.index("--decisions") + 1] == "r.toml"

"""Document parts in the engine (engine/documents.py), through HW1's written answer sheet: a
sheet found by its patterns and graded without running anything; hostile sheets that give
per-item errors, never a crash or a hang; a failure of the grader on a document; the rubric's
alternatives (theory.py or a sheet: exactly one counts); the format policy's alternatives;
and every new diagnosis code produced through the engine.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from grader.engine.documents import find_document, settle_alternatives
from grader.engine.grading import GradeOptions, Grading
from grader.engine.policies import FormatPolicy, format_penalty
from grader.engine.rubric import load_rubric
from grader.errors import SubmissionError
from grader.model.results import CheckResult, GradeReport, QuestionResult

from .conftest import DEFAULT_RUBRIC, REFERENCE, SUBMISSIONS

D = r"\frac{\partial \ell}{\partial \hat{y}} \frac{\partial \hat{y}}{\partial z_3}"
GOOD_12 = rf"""## 1.2

(b) $$z_1 = W^{{(1)}} x + b^{{(1)}}$$

(c) $$\frac{{\partial \ell}}{{\partial W^{{(2)}}}} = z_2 {D}$$

$$\frac{{\partial \ell}}{{\partial b^{{(2)}}}} = {D}$$
"""


def _answers(folder: Path, **options) -> GradeReport:
    return Grading(folder, GradeOptions(only=["answers"], sandbox="none", **options)).run()


def _sheet(tmp_path: Path, text: str | bytes, name: str = "theory.md") -> Path:
    folder = tmp_path / "sub"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return folder


def _checks(report: GradeReport) -> dict[str, CheckResult]:
    return {c.id: c for c in report.checks}


# -- codes produced through the engine (tests/test_mlp_submissions.py counts them) ---------------

ANSWER_CODES = {"not_a_gradient", "unreadable", "concept", "human_only", "limit", "grader_error"}
"""Each produced through the engine by a test below (tests/test_mlp_submissions.py counts them)."""


@pytest.mark.slow
def test_not_a_gradient_concept_and_human_only_come_from_the_example_sheets():
    forward = _checks(_answers(SUBMISSIONS / "answers_md_forward_as_grads"))
    assert forward["answers.q1_2[grad_W1]"].code == "not_a_gradient"
    assert forward["answers.q1_2[grad_W1]"].status == "fail"
    numerator = _checks(_answers(SUBMISSIONS / "answers_md_numerator"))
    concept = numerator["answers.q1_3c[concept_why_relu]"]
    assert (concept.status, concept.code) == ("review", "concept")
    assert concept.details["snippet"]["text"] and concept.details["points"] == concept.max_score > 0
    pdf = _answers(SUBMISSIONS / "answers_pdf_only")
    assert {(c.status, c.code) for c in pdf.checks} == {("review", "human_only")}
    assert pdf.pending_review == pdf.max_score and pdf.percent() == 100.0 and pdf.all_passed


@pytest.mark.slow
def test_an_undefined_symbol_goes_to_a_person_as_unreadable(tmp_path):
    folder = _sheet(tmp_path, GOOD_12 + "\n$$\\frac{\\partial \\ell}{\\partial b^{(1)}} = x \\Omega$$\n")
    check = _checks(_answers(folder))["answers.q1_2[grad_b1]"]
    assert (check.status, check.code, check.details["reason"]) == ("review", "unreadable", "undefined_symbol")
    assert "a human decides" in check.message and check.details["expected_latex"]
    assert check.location == {"file": "theory.md", "line": 9}


@pytest.mark.slow
def test_hostile_sheets_give_per_item_errors_and_never_crash_or_hang(tmp_path):
    bomb = "\n".join(r"\newcommand{\m%s}{%s}" % (chr(97 + i), ("\\m" + chr(98 + i)) * 4) for i in range(14))
    bomb += "\n\\newcommand{\\mo}{x}"
    cases = {
        "macro bomb": (f"$${bomb}$$\n\n" + GOOD_12 + "\n$$\\frac{\\partial \\ell}{\\partial b^{(1)}} = \\ma$$\n",
                       "answers.q1_2[grad_b1]"),
        "giant matrix": (GOOD_12 + "\n(d) $$\\frac{\\partial \\ell}{\\partial \\hat{y}} = \\begin{bmatrix} "
                         + " & ".join(["1"] * 8000) + " \\end{bmatrix}$$\n", "answers.q1_2[dl_dyhat]"),
        "10k-deep braces": (GOOD_12 + "\n$$\\frac{\\partial \\ell}{\\partial b^{(1)}} = " + "{" * 10000 + "x"
                            + "}" * 10000 + "$$\n", "answers.q1_2[grad_b1]"),
    }
    for name, (text, hit) in cases.items():
        folder = tmp_path / name.replace(" ", "_")
        folder.mkdir()
        (folder / "theory.md").write_text(text, encoding="utf-8")
        started = time.monotonic()
        report = _answers(folder)
        assert time.monotonic() - started < 120, name
        checks = _checks(report)
        assert len(checks) == 33 and report.error is None, name
        assert (checks[hit].status, checks[hit].code) == ("error", "limit"), (name, checks[hit].message)
        assert "not read" in checks[hit].message or "limit" in checks[hit].message, (name, checks[hit].message)
        if name != "10k-deep braces":  # the rest of the sheet is still graded
            assert checks["answers.q1_2[forward_z1]"].status == "pass", (name, checks["answers.q1_2[forward_z1]"])
    invalid = _sheet(tmp_path, GOOD_12.encode("utf-8") + b"\nnotes \xff\xfe\xfd end\n")
    checks = _checks(_answers(invalid))
    assert checks["answers.q1_2[grad_W2]"].status == "pass"
    missing = checks["answers.q1_2[grad_W1]"]
    assert missing.code == "missing" and any("not valid UTF-8" in n for n in missing.details["sheet_notes"])
    inside = tmp_path / "inside"
    inside.mkdir()
    (inside / "theory.md").write_bytes(b"## 1.2\n\n(b) $$z_1 = W^{(1)} x \xff + b^{(1)}$$\n")
    broken = _checks(_answers(inside))["answers.q1_2[forward_z1]"]
    assert (broken.status, broken.code, broken.details["reason"]) == ("error", "limit", "invalid_text")
    assert "not valid UTF-8" in broken.message


@pytest.mark.slow
def test_a_failure_of_the_grader_on_a_document_is_an_error_of_its_checks(tmp_path, monkeypatch):
    from grader.assignments.hw1.answers import extract

    def explode(path, limits=None):
        raise RuntimeError("boom")

    monkeypatch.setattr(extract, "read_sheet", explode)
    report = _answers(_sheet(tmp_path, GOOD_12))
    assert len(report.checks) == 33 and report.error is None
    assert {(c.status, c.code) for c in report.checks} == {("error", "grader_error")}
    assert "RuntimeError: boom" in report.checks[0].message and "please report it" in report.checks[0].message


# -- finding the document ----------------------------------------------------------------------

def test_a_sheet_is_found_by_its_patterns_letter_case_ignored(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "notes.md").write_text("x")
    (folder / "Theory.TEX").write_text("x")
    (folder / "theory.txt").write_text("x")
    assert find_document(folder, ("theory.md", "theory.tex", "theory.txt")).name == "Theory.TEX"
    assert find_document(folder, ("answers.*",)) is None
    (folder / "link.md").symlink_to(folder / "notes.md")
    assert find_document(folder, ("link.md",)) is None, "a symlink is never the document"


@pytest.mark.slow
def test_the_rubric_pattern_is_tried_first(tmp_path):
    folder = _sheet(tmp_path, GOOD_12, "answers.md")
    shutil.copy(SUBMISSIONS.parent / "grader/assignments/hw1/templates/theory.md.tmpl", folder / "theory.md")
    rubric = tmp_path / "rubric.toml"
    rubric.write_text(DEFAULT_RUBRIC.read_text().replace('# answers_pattern = "answers.*"',
                                                         'answers_pattern = "answers.*"'))
    picked = _answers(folder, rubric_path=rubric)
    assert _checks(picked)["answers.q1_2[forward_z1]"].status == "pass"
    assert _checks(picked)["answers.q1_2[forward_z1]"].location["file"] == "answers.md"
    default = _answers(folder)
    assert _checks(default)["answers.q1_2[forward_z1]"].code == "missing"  # the untouched template
    bad = tmp_path / "bad.toml"
    bad.write_text(DEFAULT_RUBRIC.read_text().replace('# answers_pattern = "answers.*"', "answers_pattern = 3"))
    with pytest.raises(Exception, match="answers_pattern"):
        load_rubric(bad)


@pytest.mark.slow
def test_a_folder_with_only_a_sheet_is_gradable_and_an_empty_one_is_not(tmp_path):
    folder = _sheet(tmp_path, "1.2.a: W1 <- W1 - lr * (dL/dW1)^T\n", "theory.txt")
    report = Grading(folder, GradeOptions(sandbox="none", only=["answers", "theory"])).run()
    assert _checks(report)["answers.q1_2[sgd_update_W1]"].status == "pass"
    assert not any(c.question.startswith("theory.") for c in report.checks)
    assert any("stands in for theory.py" in n for n in report.notices)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SubmissionError, match="theory.md"):
        Grading(empty, GradeOptions(sandbox="none"))


# -- alternatives ----------------------------------------------------------------------------

def _question(part: str, scores: list[tuple[str, float, float]]) -> QuestionResult:
    checks = [CheckResult(id="%s.q[%d]" % (part, k), question="%s.q" % part, title="", status=status,  # type: ignore
                          score=score, max_score=top) for k, (status, score, top) in enumerate(scores)]
    return QuestionResult("%s.q" % part, "", checks)


def test_settle_alternatives_in_every_case():
    names = {"theory": "theory.py", "answers": "theory.md", "mlp": "mlp.py"}
    group = (("theory", "answers"),)

    def settle(present, theory, answers):
        questions = [_question("mlp", [("pass", 1, 1)]), _question("theory", theory), _question("answers", answers)]
        kept, notices = settle_alternatives(questions, present, group, names)
        return {q.id: (q.score, q.max_score) for q in kept}, notices

    # one handed in: the other left out
    kept, notices = settle({"mlp", "answers"}, [("error", 0, 2)], [("pass", 2, 2)])
    assert kept == {"mlp.q": (1, 1), "answers.q": (2, 2)} and "theory.md stands in for theory.py" in notices[0]
    # both: the one that earned more counts, the other at 0 points
    kept, notices = settle({"theory", "answers"}, [("pass", 1, 2), ("fail", 0, 2)], [("pass", 2, 2), ("pass", 2, 2)])
    assert kept["answers.q"] == (4, 4) and kept["theory.q"] == (0, 0)
    assert "theory.md counts, with 4 points against 1" in notices[0]
    # points pending review count for the sheet; a tie goes to the first of the group
    kept, _ = settle({"theory", "answers"}, [("pass", 2, 2)], [("review", 0, 2)])
    assert kept["theory.q"] == (2, 2) and kept["answers.q"] == (0, 0)
    kept, _ = settle({"theory", "answers"}, [("pass", 1, 2)], [("review", 0, 2)])
    assert kept["answers.q"] == (0, 2) and kept["theory.q"] == (0, 0)
    # neither: the first is graded as missing, the other left out
    kept, notices = settle({"mlp"}, [("error", 0, 2)], [("error", 0, 2)])
    assert kept == {"mlp.q": (1, 1), "theory.q": (0, 2)} and "none of theory.py, theory.md" in notices[0]


@pytest.mark.slow
def test_both_forms_handed_in_the_better_one_counts(tmp_path):
    folder = tmp_path / "both"
    shutil.copytree(SUBMISSIONS / "answers_md_update_no_transpose", folder)
    shutil.copy(REFERENCE / "theory.py", folder / "theory.py")
    report = Grading(folder, GradeOptions(sandbox="none", only=["theory", "answers"], max_examples=2)).run()
    theory = [c for c in report.checks if c.question.startswith("theory.")]
    sheet = [c for c in report.checks if c.question.startswith("answers.")]
    assert theory and all(c.status == "pass" and c.max_score > 0 for c in theory)
    assert sheet and all(c.max_score == 0 for c in sheet) and report.pending_review == 0
    assert report.max_score == pytest.approx(50) and report.score == pytest.approx(50)
    assert any("theory.py counts" in n for n in report.notices)


def test_the_format_policy_takes_either_form_and_never_forbids_the_graded_sheet():
    policy = FormatPolicy(0.05, ("mlp.py", "theory.py|theory.md|theory.ipynb"), ("*.ipynb",))
    assert format_penalty(policy, ["mlp.py", "theory.ipynb"], 100.0, ("theory.ipynb",)) is None
    forbidden = format_penalty(policy, ["mlp.py", "theory.ipynb", "scratch.ipynb"], 100.0, ("theory.ipynb",))
    assert forbidden is not None and "scratch.ipynb should not be submitted" in forbidden.reason
    missing = format_penalty(policy, ["mlp.py", "notes.txt"], 100.0)
    assert missing is not None and "theory.py or theory.md or theory.ipynb is missing" in missing.reason

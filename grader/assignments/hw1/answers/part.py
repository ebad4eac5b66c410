"""The written answer sheet as HW1's third part, `answers`: a document part of the engine.

Questions answers.q1_2, answers.q1_3a, answers.q1_3b, answers.q1_3c; one check per item of
model.QUESTION_CHECKS, named by the item (answers.q1_2[grad_W1]). The engine finds the sheet
(theory.md, .tex, .ipynb, .txt, .pdf, or the rubric's `answers_pattern` first) and calls
`grade_document`, which reads it (extract.read_sheet), grades every item against the oracle
(grade.grade_sheet) and turns each ItemVerdict into the engine's DocumentVerdict: the status,
one diagnosis code of the engine's, the message, and the details a student or a reviewer needs
(the answer as read and as rendered back in LaTeX, the expected one, both shapes, the snippet
and its line). Building the part imports nothing heavy; grading imports the reader and parser.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from ....engine.checks import CheckSpec, PartSpec
from ....engine.documents import DocumentContext, DocumentVerdict
from ....errors import InternalSignal
from ..variants import Settings
from .model import QUESTION_CHECKS

PART = "answers"
PATTERNS = ("theory.md", "theory.tex", "theory.ipynb", "theory.txt", "theory.pdf")
QUESTIONS = {
    "answers.q1_2": "Written 1.2: regression (SGD step, forward pass, gradients, Jacobians)",
    "answers.q1_3a": "Written 1.3(a): classification with sigmoids and MSE (what changes)",
    "answers.q1_3b": "Written 1.3(b): binary cross-entropy (what changes)",
    "answers.q1_3c": "Written 1.3(c): why ReLU is better (read by a person)",
}
PART_OF = {"sgd_update_W1": "a", "sgd_update_W2": "a", "sgd_update_b": "a", "forward_z1": "b", "forward_z2": "b",
           "forward_z3": "b", "forward_yhat": "b", "forward_loss": "b", "grad_W1": "c", "grad_b1": "c",
           "grad_W2": "c", "grad_b2": "c", "jac_dz2_dz1": "d", "jac_dyhat_dz3": "d", "dl_dyhat": "d"}
ITEM_TITLES = {
    "sgd_update_W1": "SGD update of W1", "sgd_update_W2": "SGD update of W2", "sgd_update_b": "SGD update of b1, b2",
    "forward_z1": "forward: z1", "forward_z2": "forward: z2", "forward_z3": "forward: z3",
    "forward_yhat": "forward: y_hat", "forward_loss": "forward: the loss", "grad_W1": "dl/dW1", "grad_b1": "dl/db1",
    "grad_W2": "dl/dW2", "grad_b2": "dl/db2", "jac_dz2_dz1": "Jacobian dz2/dz1", "jac_dyhat_dz3": "Jacobian dy_hat/dz3",
    "dl_dyhat": "dl/dy_hat", "concept_why_relu": "why ReLU helps deeper networks",
}
# the answer layer's codes that the engine names otherwise (the answer layer's one is kept as details.reason)
ENGINE_CODE = {"undefined_symbol": "unreadable", "incomplete": "unreadable", "mismatch": "unreadable",
               "invalid_text": "limit"}


class NotAnExampleCheck(InternalSignal):
    """A document check is graded by the part's grade_document, never run on examples."""


def _no_examples(context: Any, scenario: Any) -> None:
    raise NotAnExampleCheck("answers checks are graded from the sheet, not on examples")


def _title(question: str, check: str) -> str:
    label = {"q1_2": "1.2(%s)" % PART_OF.get(check, ""), "q1_3a": "1.3(a)", "q1_3b": "1.3(b)", "q1_3c": "1.3(c)"}
    return "%s %s" % (label[question], ITEM_TITLES[check])


def check_id(question: str, check: str) -> str:
    """answers.q1_2[grad_W1] for ("q1_2", "grad_W1")."""
    return "%s.%s[%s]" % (PART, question, check)


def build_part(settings: Settings) -> PartSpec:
    """The written-answers part under `settings` (its variant, layout and 1.3 policy)."""
    checks = [CheckSpec(id=check_id(question, check), question="%s.%s" % (PART, question),
                        title=_title(question, check), strategy=st.just(None), run=_no_examples, max_examples=1)
              for question, items in QUESTION_CHECKS.items() for check in items]

    def grade(path: Path, context: DocumentContext) -> list[DocumentVerdict]:
        return grade_document(path, context, settings)

    return PartSpec(name=PART, module=PART, questions=dict(QUESTIONS), checks=checks, grade_document=grade)


def grade_document(path: Path, context: DocumentContext, settings: Settings) -> list[DocumentVerdict]:
    """Read the sheet at `path` and grade every item (one DocumentVerdict per check id)."""
    from .extract import read_sheet
    from .grade import AnswerSettings, grade_sheet

    answer_settings = AnswerSettings(
        variant=settings.variant.name, layout=settings.layout, unmentioned_13=settings.unmentioned_13,
        seeds=tuple(context.seed + k for k in range(3)), tolerance=context.tolerance)
    sheet = read_sheet(path)
    notes = [problem for problem in sheet.problems if not sheet.human_only]
    return [_document_verdict(verdict, sheet.items.get((verdict.question, verdict.check)), notes)
            for verdict in grade_sheet(sheet, answer_settings)]


def _document_verdict(verdict: Any, item: Any, notes: list[str]) -> DocumentVerdict:
    """The engine's verdict for one ItemVerdict (grade.ItemVerdict) on `item` (model.ItemAnswers):
    located at the item's own statement (a 1.3 carry-over claim, not the earlier answer it
    carries, which details.snippet holds), else at the answer graded."""
    code = None if verdict.status == "pass" else ENGINE_CODE.get(verdict.code, verdict.code)
    details: dict[str, Any] = {"item": ITEM_TITLES[verdict.check], "question": _title(verdict.question,
                                                                                         verdict.check)}
    if code is not None and code != verdict.code:
        details["reason"] = verdict.code
    for key in ("got_latex", "expected_latex", "got_shape", "expected_shape", "convention"):
        value = getattr(verdict, key)
        if value:
            details[key] = value
    snippet = verdict.snippet
    if snippet is not None:
        details["snippet"] = {"text": snippet.text, "line": snippet.line, "form": snippet.form}
        if verdict.status == "review":
            details["snippet"]["context"] = snippet.context
    evidence = verdict.evidence or {}
    for key in ("origin", "conflict", "candidates"):
        if key in evidence:
            details[key] = evidence[key]
    if notes and verdict.status != "pass":
        details["sheet_notes"] = notes[:5]
    own = item.chosen if item is not None else None
    if own is not None and snippet is not None and own != snippet:
        details["claim"] = {"text": own.text[:500], "line": own.line}
    line = own.line if own is not None else (snippet.line if snippet is not None else None)
    return DocumentVerdict(check_id(verdict.question, verdict.check), verdict.status, code, verdict.message, details,
                           line)

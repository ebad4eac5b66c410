"""grade_sheet on the forms the first example sheets disagreed on: a row vector written entry by
entry, a Unicode sum in plain text, "0 off the diagonal" in words, a 1.3 part that is absent
altogether, renamings declared by the reader, and a symbol redefined further down the sheet.
Every expected value behind a verdict comes from the float64 oracle."""

from __future__ import annotations

from grader.assignments.hw1.answers.grade import AnswerSettings, ItemVerdict, grade_sheet
from grader.assignments.hw1.answers.model import QUESTION_CHECKS

from .math_support import build_sheet, snippet

D = r"\frac{\partial \ell}{\partial \hat{y}}"
G = r"\frac{\partial \hat{y}}{\partial z_3}"
J = r"\frac{\partial z_2}{\partial z_1}"


def _grade(answers: dict, **options: object) -> dict[tuple[str, str], ItemVerdict]:
    settings = options.pop("settings", AnswerSettings())
    verdicts = grade_sheet(build_sheet(answers, **options), settings)  # type: ignore[arg-type]
    return {(v.question, v.check): v for v in verdicts}


def _status(verdict: ItemVerdict) -> tuple[str, str | None]:
    return verdict.status, verdict.code


def test_a_row_vector_written_entry_by_entry_is_read_as_a_row() -> None:
    row = rf"\left({D}\right)_{{1j}} = 2 (\hat{{y}}_j - y_j)"
    column = rf"\left({D}\right)_{{j1}} = 2 (\hat{{y}}_j - y_j)"
    assert _status(_grade({("q1_2", "dl_dyhat"): row})[("q1_2", "dl_dyhat")]) == ("pass", None)
    assert _status(_grade({("q1_2", "dl_dyhat"): column})[("q1_2", "dl_dyhat")]) == ("fail", "transposed")
    mixed = AnswerSettings(layout="mixed")
    assert _status(_grade({("q1_2", "dl_dyhat"): column}, settings=mixed)[("q1_2", "dl_dyhat")]) == ("pass", None)
    bias = r"\left(\frac{\partial \ell}{\partial b^{(2)}}\right)_{1k} = 2 (\hat{y}_k - y_k)"
    assert _status(_grade({("q1_2", "grad_b2"): bias})[("q1_2", "grad_b2")]) == ("pass", None)


def test_a_unicode_sum_in_plain_text_is_a_sum() -> None:
    mean = "-(1/K) · Σ_i [y_i log ŷ_i + (1 - y_i) log(1 - ŷ_i)]"
    total = "−Σ_i [y_i log ŷ_i + (1 − y_i) log(1 − ŷ_i)]"
    assert _status(_grade({("q1_3b", "forward_loss"): mean}, syntax="plain")[("q1_3b", "forward_loss")]) == (
        "pass", None)
    summed = _grade({("q1_3b", "forward_loss"): total}, syntax="plain")[("q1_3b", "forward_loss")]
    assert _status(summed) == ("fail", "scaled")
    assert "K" in summed.message


def test_zero_off_the_diagonal_in_words_completes_a_diagonal_formula() -> None:
    formula = rf"\left({J}\right)_{{ii}} = \mathbb{{1}}[z_{{1,i}} > 0]"
    said = snippet(formula, context=f"The Jacobian is diagonal: ${formula}$, and $0$ off the diagonal.")
    silent = snippet(formula, context=f"The Jacobian: ${formula}$.")
    assert _status(_grade({("q1_2", "jac_dz2_dz1"): said})[("q1_2", "jac_dz2_dz1")]) == ("pass", None)
    assert _status(_grade({("q1_2", "jac_dz2_dz1"): silent})[("q1_2", "jac_dz2_dz1")]) == ("review", "incomplete")


GRADIENTS_12 = {
    ("q1_2", "grad_W1"): rf"x {D} {G} W^{{(2)}} {J}",
    ("q1_2", "grad_b1"): rf"{D} {G} W^{{(2)}} {J}",
    ("q1_2", "grad_W2"): rf"z_2 {D} {G}",
    ("q1_2", "grad_b2"): rf"{D} {G}",
}


def test_a_1_3_part_absent_from_the_sheet_is_missing_as_a_whole() -> None:
    verdicts = _grade(GRADIENTS_12, answered={"q1_2"})
    for question in ("q1_3a", "q1_3b", "q1_3c"):
        for check in QUESTION_CHECKS[question]:  # type: ignore[index]
            verdict = verdicts[(question, check)]
            assert _status(verdict) == ("fail", "missing"), (question, check, verdict.message)
    assert "does not answer 1.3(a) at all" in verdicts[("q1_3a", "grad_W1")].message
    # the same sheet with the parts present: unmentioned items are unchanged (the formulas hold)
    present = _grade(GRADIENTS_12)
    assert _status(present[("q1_3a", "grad_W1")]) == ("pass", None)
    assert _status(present[("q1_3c", "concept_why_relu")]) == ("fail", "missing")


def test_1_3b_takes_unmentioned_items_from_1_2_when_1_3a_is_absent() -> None:
    loss = r"-\frac{1}{K}\sum_{i=1}^{K}\left[y_i\log\hat{y}_i + (1-y_i)\log(1-\hat{y}_i)\right]"
    verdicts = _grade({**GRADIENTS_12, ("q1_3b", "forward_loss"): loss}, answered={"q1_2", "q1_3b"})
    assert _status(verdicts[("q1_3a", "grad_W1")]) == ("fail", "missing")
    carried = verdicts[("q1_3b", "grad_W1")]
    assert _status(carried) == ("pass", None)
    assert "unchanged from 1.2" in carried.message


def test_renamings_the_reader_declared_are_honoured() -> None:
    # z^{(1)} is this sheet's hidden activation (the handout's z2), s^{(2)} its z3; the math
    # layer reads z^{(1)} like z_1, so the declared renaming must move it to z2.
    answers = {
        ("q1_2", "forward_z2"): r"z^{(1)} = \max(s^{(1)}, 0)",
        ("q1_2", "forward_z3"): r"s^{(2)} = W^{(2)} z^{(1)} + b^{(2)}",
        ("q1_2", "grad_W2"): rf"z^{{(1)}} {D} \frac{{\partial \hat{{y}}}}{{\partial s^{{(2)}}}}",
        ("q1_3a", "forward_z2"): r"z^{(1)} = \sigma(s^{(1)})",
    }
    definitions = [(r"s^{(1)}", r"W^{(1)} x + b^{(1)}"), (r"z^{(1)}", r"f(s^{(1)})"),
                   (r"s^{(2)}", r"W^{(2)} z^{(1)} + b^{(2)}"), (r"z^{(1)}", r"\sigma(s^{(1)})")]
    verdicts = _grade(answers, definitions=definitions, definition_lines=[1, 2, 3, 40],
                      renames={"s1": "z1", "zP1": "z2", "s2": "z3"})
    for item in answers:
        assert _status(verdicts[item]) == ("pass", None), (item, verdicts[item].message)


def test_a_symbol_redefined_further_down_keeps_its_first_meaning_above_the_redefinition() -> None:
    definitions = [(r"\delta", rf"{D} {G} W^{{(2)}} {J}"), (r"\delta", r"2 (\hat{y} - y)^\top")]
    early = _grade({("q1_2", "grad_W1"): snippet(r"x \delta", line=10)}, definitions=definitions,
                   definition_lines=[5, 50])
    late = _grade({("q1_2", "grad_W1"): snippet(r"x \delta", line=60)}, definitions=definitions,
                  definition_lines=[5, 50])
    above = _grade({("q1_2", "grad_W1"): snippet(r"x \delta", line=2)}, definitions=definitions,
                   definition_lines=[5, 50])
    assert _status(early[("q1_2", "grad_W1")]) == ("pass", None)
    assert _status(above[("q1_2", "grad_W1")]) == ("pass", None)  # defined below its first use
    assert _status(late[("q1_2", "grad_W1")]) == ("fail", "shape")


def test_an_update_written_for_the_other_layout_names_both_shapes() -> None:
    strict = r"W^{(2)} \leftarrow W^{(2)} - \eta \left(\frac{\partial \ell}{\partial W^{(2)}}\right)^\top"
    verdict = _grade({("q1_2", "sgd_update_W2"): strict}, settings=AnswerSettings(layout="mixed"))[
        ("q1_2", "sgd_update_W2")]
    assert _status(verdict) == ("fail", "transposed")
    assert verdict.message.startswith("your update of W2 subtracts (dl/dW2)^T, but in mixed layout")
    assert "already has W2's shape (K,d)" in verdict.message

"""grade_sheet on hand-built sheets: every real mistake of the survey, every convention, and
the carry-over rules of 1.3. Sheets are built directly (no dependence on the sheet reader);
every expected value behind a verdict comes from the float64 oracle.
"""

from __future__ import annotations

import pytest

from grader.assignments.hw1.answers.model import QUESTION_CHECKS, CarryOver, Macro
from grader.assignments.hw1.answers.grade import AnswerSettings, ItemVerdict, grade_sheet

from .math_support import Answer, build_sheet, snippet, unchanged

D = r"\frac{\partial \ell}{\partial \hat{y}}"
G = r"\frac{\partial \hat{y}}{\partial z_3}"
J = r"\frac{\partial z_2}{\partial z_1}"

# A right sheet in strict numerator layout (sp21), in its author's LaTeX.
NUMERATOR_12 = {
    ("q1_2", "sgd_update_W1"): r"W^{(1)} \leftarrow W^{(1)} - \eta (\frac{\partial \ell}{\partial W^{(1)}})^\top",
    ("q1_2", "sgd_update_W2"): r"W^{(2)} \leftarrow W^{(2)} - \eta (\frac{\partial \ell}{\partial W^{(2)}})^\top",
    ("q1_2", "sgd_update_b"): r"b^{(i)} \leftarrow b^{(i)} - \eta (\frac{\partial \ell}{\partial b^{(i)}})^\top",
    ("q1_2", "forward_z1"): r"\boldsymbol{z}_1 = W^{(1)}\boldsymbol{x} + b^{(1)}",
    ("q1_2", "forward_z2"): r"\boldsymbol{z}_2 = (\boldsymbol{z}_1)^+",
    ("q1_2", "forward_z3"): r"W^{(2)}\boldsymbol{z}_2 + b^{(2)}",
    ("q1_2", "forward_yhat"): r"\hat{\boldsymbol{y}} = \boldsymbol{z}_3",
    ("q1_2", "forward_loss"): r"\ell = \|\boldsymbol{y} - \hat{\boldsymbol{y}}\|^2",
    ("q1_2", "grad_W1"): rf"\frac{{\partial \ell}}{{\partial W^{{(1)}}}} = x {D} {G} W^{{(2)}} {J}",
    ("q1_2", "grad_b1"): rf"{D} {G} W^{{(2)}} {J}",
    ("q1_2", "grad_W2"): rf"z_2 {D} {G}",
    ("q1_2", "grad_b2"): rf"{D} {G}",
    ("q1_2", "jac_dz2_dz1"): rf"\left({J}\right)_{{ij}} = \begin{{cases}} 1 & i = j \text{{ and }} z_{{1,i}} > 0 \\ "
                             r"0 & \text{otherwise} \end{cases}",
    ("q1_2", "jac_dyhat_dz3"): rf"{G} = I_K",
    ("q1_2", "dl_dyhat"): rf"{D} = 2(\hat y - y)^\top",
}
NUMERATOR_13: dict[tuple[str, str], Answer] = {
    ("q1_3a", "forward_z2"): r"\sigma(z_1)",
    ("q1_3a", "forward_yhat"): r"\hat y = \sigma(z_3)",
    ("q1_3a", "jac_dz2_dz1"): r"\operatorname{diag}(\sigma(z_1)\odot(1-\sigma(z_1)))",
    ("q1_3a", "jac_dyhat_dz3"): r"\operatorname{diag}(\hat y \odot (1 - \hat y))",
    ("q1_3a", "dl_dyhat"): unchanged("q1_3a", "dl_dyhat", words="The loss is still MSE, so this is unchanged."),
    ("q1_3b", "forward_loss"): r"-\frac{1}{K}\sum_{i=1}^{K}\left[y_i\log\hat{y}_i + (1-y_i)\log(1-\hat{y}_i)\right]",
    ("q1_3b", "dl_dyhat"): r"\frac{1}{K}\left(\frac{1-y}{1-\hat{y}} - \frac{y}{\hat{y}}\right)^\top",
    ("q1_3c", "concept_why_relu"): snippet("ReLU does not saturate, so its gradient does not vanish.", "plain",
                                           "text"),
}


def _by_item(verdicts: list[ItemVerdict]) -> dict[tuple[str, str], ItemVerdict]:
    return {(v.question, v.check): v for v in verdicts}


def _statuses(verdicts: list[ItemVerdict]) -> dict[tuple[str, str], tuple[str, str | None]]:
    return {(v.question, v.check): (v.status, v.code) for v in verdicts}


def test_a_right_numerator_sheet_passes_every_item() -> None:
    verdicts = grade_sheet(build_sheet({**NUMERATOR_12, **NUMERATOR_13}), AnswerSettings())
    assert [(v.question, v.check) for v in verdicts] == [(q, c) for q, cs in QUESTION_CHECKS.items() for c in cs]
    for verdict in verdicts:
        expected = ("review", "concept") if verdict.check == "concept_why_relu" else ("pass", None)
        assert (verdict.status, verdict.code) == expected, (verdict.question, verdict.check, verdict.message)
    by_item = _by_item(verdicts)
    assert by_item[("q1_2", "grad_W1")].convention == "dl/dy_hat as a row"
    assert by_item[("q1_3a", "grad_W1")].status == "pass"  # unmentioned in 1.3: taken as unchanged
    assert "unchanged" in by_item[("q1_3a", "grad_W1")].message


MIXED = {
    ("q1_2", "sgd_update_W1"): r"W^{(1)} - \eta \frac{\partial l}{\partial W^{(1)}}",
    ("q1_2", "sgd_update_W2"): r"W^{(2)} - \eta \frac{\partial l}{\partial W^{(2)}}",
    ("q1_2", "sgd_update_b"): r"b^{(i)} - \eta \frac{\partial l}{\partial b^{(i)}}",
    ("q1_2", "grad_W1"): r"\delta_1 \boldsymbol{x}^\top",
    ("q1_2", "grad_b1"): r"\delta_1",
    ("q1_2", "grad_W2"): r"\delta_2 \boldsymbol{z}_2^\top",
    ("q1_2", "grad_b2"): r"\delta_2",
    ("q1_2", "dl_dyhat"): r"2(\hat{y} - y)",
}
MIXED_DEFINITIONS = [
    (r"\delta_2", r"\left(\frac{\partial \hat y}{\partial z_3}\right)^\top \frac{\partial l}{\partial \hat y}"),
    (r"\delta_1", r"\left(\frac{\partial z_2}{\partial z_1}\right)^\top W^{(2)\top} \delta_2"),
]


def test_a_right_mixed_sheet_passes_under_the_mixed_rubric() -> None:
    sheet = build_sheet({**NUMERATOR_12, **MIXED}, definitions=MIXED_DEFINITIONS)
    by_item = _by_item(grade_sheet(sheet, AnswerSettings(layout="mixed")))
    for key in MIXED:
        assert by_item[key].status == "pass", by_item[key].message
    assert by_item[("q1_2", "grad_W1")].convention == "dl/dy_hat as a column"
    assert by_item[("q1_3a", "grad_W1")].status == "pass"


def test_parameter_shaped_gradients_under_strict_numerator_are_transposed() -> None:
    sheet = build_sheet({**NUMERATOR_12, **MIXED}, definitions=MIXED_DEFINITIONS)
    by_item = _by_item(grade_sheet(sheet, AnswerSettings(layout="numerator")))
    for check in ("grad_W1", "grad_b1", "grad_W2", "grad_b2", "dl_dyhat"):
        assert (by_item[("q1_2", check)].status, by_item[("q1_2", check)].code) == ("fail", "transposed"), check
    grad_w1 = by_item[("q1_2", "grad_W1")]
    assert grad_w1.message.startswith("your dl/dW1 is (d,n); in numerator layout it is (n,d): it is the transpose")
    assert (grad_w1.got_shape, grad_w1.expected_shape) == ("(d,n)", "(n,d)")
    for check in ("sgd_update_W1", "sgd_update_W2", "sgd_update_b"):
        verdict = by_item[("q1_2", check)]
        assert (verdict.status, verdict.code) == ("fail", "transposed"), verdict.message
        assert "the step needs the transpose" in verdict.message and "yours is the mixed-layout step" in verdict.message
    # a carried-over transposed answer stays transposed
    assert by_item[("q1_3a", "grad_W2")].code == "transposed"


def test_missing_transpose_in_the_update() -> None:
    sheet = build_sheet({("q1_2", "sgd_update_W1"): r"W_1 \gets W_1 - \alpha \frac{\partial L}{\partial W_1}"})
    verdict = _by_item(grade_sheet(sheet))[("q1_2", "sgd_update_W1")]
    assert (verdict.status, verdict.code) == ("fail", "transposed")
    assert verdict.message.startswith("your update of W1 subtracts dl/dW1 as it is, but in numerator layout dl/dW1 is"
                                      " (n,d) while W1 is (d,n): the step needs the transpose")


def test_update_through_nabla_or_theta_is_right_in_both_layouts() -> None:
    answers = {("q1_2", "sgd_update_W1"): r"\theta \leftarrow \theta - \eta \nabla_{\theta} \ell",
               ("q1_2", "sgd_update_b"): r"b_2 - \eta \nabla_{b_2} L"}
    for layout in ("numerator", "mixed"):
        by_item = _by_item(grade_sheet(build_sheet(answers), AnswerSettings(layout=layout)))
        assert by_item[("q1_2", "sgd_update_W1")].status == "pass"
        assert by_item[("q1_2", "sgd_update_b")].status == "pass"


def test_jacobian_formula_without_delta_is_wrong_values() -> None:
    text = r"\frac{\partial z_{2,i}}{\partial z_{1,j}} = \mathbb{1}[z_{1,j} > 0]"
    sheet = build_sheet({("q1_2", "jac_dz2_dz1"): text})
    verdict = _by_item(grade_sheet(sheet))[("q1_2", "jac_dz2_dz1")]
    assert (verdict.status, verdict.code) == ("fail", "wrong_values")
    assert "diag" in (verdict.expected_latex or "")


def test_diagonal_entries_need_zero_elsewhere() -> None:
    text = r"\left(\frac{\partial z_2}{\partial z_1}\right)_{ii} = \mathbb{1}[z_{1,i} > 0]"
    said = snippet(text, context=text + r", and 0 elsewhere")
    by_item = _by_item(grade_sheet(build_sheet({("q1_2", "jac_dz2_dz1"): said})))
    assert by_item[("q1_2", "jac_dz2_dz1")].status == "pass"
    by_item = _by_item(grade_sheet(build_sheet({("q1_2", "jac_dz2_dz1"): text})))
    assert (by_item[("q1_2", "jac_dz2_dz1")].status, by_item[("q1_2", "jac_dz2_dz1")].code) == ("review", "incomplete")


def test_column_dl_dyhat_and_its_gradients() -> None:
    answers = {
        ("q1_2", "dl_dyhat"): r"\frac{\partial l}{\partial \hat{y}} = 2(\hat{y} - y)",
        ("q1_2", "grad_W2"): r"z_2 (\frac{\partial l}{\partial \hat{y}})^\top \frac{\partial \hat y}{\partial z_3}",
        ("q1_2", "grad_b2"): r"\left(\frac{\partial l}{\partial \hat{y}}\right)^T",
    }
    by_item = _by_item(grade_sheet(build_sheet(answers)))
    dl = by_item[("q1_2", "dl_dyhat")]
    assert (dl.status, dl.code) == ("fail", "transposed")
    assert dl.message.startswith("your dl/dy_hat is (K,1); in numerator layout it is (1,K)")
    for check in ("grad_W2", "grad_b2"):
        assert by_item[("q1_2", check)].status == "pass", by_item[("q1_2", check)].message
        assert by_item[("q1_2", check)].convention == "dl/dy_hat as a column"


def test_forward_table_repeated_as_the_gradients_is_not_a_gradient() -> None:
    answers = {
        ("q1_2", "grad_W1"): r"\boldsymbol{z}_1 = \boldsymbol{W^{(1)}}\boldsymbol{x} + \boldsymbol{b^{(1)}}",
        ("q1_2", "grad_b1"): r"\boldsymbol{z}_2 = \text{ReLU}(\boldsymbol{z}_1)",
        ("q1_2", "grad_W2"): r"\boldsymbol{W^{(2)}}\boldsymbol{z}_2 + \boldsymbol{b^{(2)}}",
        ("q1_2", "grad_b2"): r"\Vert \boldsymbol{y} - \boldsymbol{\hat{y}} \Vert^2",
    }
    by_item = _by_item(grade_sheet(build_sheet(answers)))
    for key in answers:
        assert (by_item[key].status, by_item[key].code) == ("fail", "not_a_gradient"), by_item[key].message


def test_mean_where_the_sum_is_due_is_scaled_by_one_over_k() -> None:
    answers = {("q1_2", "forward_loss"): r"\frac{1}{K}\sum_{i=1}^{K}(y_i - \hat y_i)^2",
               ("q1_2", "dl_dyhat"): r"\frac{2}{K}(\hat y - y)^\top"}
    by_item = _by_item(grade_sheet(build_sheet(answers)))
    for key in answers:
        verdict = by_item[key]
        assert (verdict.status, verdict.code) == ("fail", "scaled")
        assert "1/K times the expected value: divided by K where no 1/K belongs" in verdict.message


def test_norm_written_as_an_outer_product_is_a_shape_mistake() -> None:
    by_item = _by_item(grade_sheet(build_sheet({("q1_2", "forward_loss"): r"(y - \hat y)(y - \hat y)^T"})))
    verdict = by_item[("q1_2", "forward_loss")]
    assert (verdict.status, verdict.code, verdict.got_shape) == ("fail", "shape", "(K,K)")
    assert "v^T v" in verdict.message


def test_wrong_nothing_changes_in_13() -> None:
    answers: dict[tuple[str, str], Answer] = {
        **NUMERATOR_12,
        ("q1_3a", "forward_z2"): unchanged("q1_3a", "forward_z2"),
        ("q1_3a", "jac_dz2_dz1"): unchanged("q1_3a", "jac_dz2_dz1", words="The Jacobians do not change."),
        ("q1_3b", "forward_loss"): unchanged("q1_3b", "forward_loss", "q1_2", "Same loss as before."),
        ("q1_3b", "dl_dyhat"): unchanged("q1_3b", "dl_dyhat"),
    }
    by_item = _by_item(grade_sheet(build_sheet(answers)))
    for key in (("q1_3a", "forward_z2"), ("q1_3a", "jac_dz2_dz1"), ("q1_3b", "forward_loss"),
                ("q1_3b", "dl_dyhat")):
        verdict = by_item[key]
        assert verdict.status == "fail" and verdict.code in ("wrong_values", "scaled"), (key, verdict.code)
        assert "carried over from" in verdict.message and "does not hold" in verdict.message
    assert by_item[("q1_3a", "grad_W1")].status == "pass"  # the symbolic gradient does carry over


def test_same_as_a_labelled_formula() -> None:
    labels = {"eq:gw2": rf"\frac{{\partial l}}{{\partial W^{{(2)}}}} = z_2 {D} {G}"}
    answers: dict[tuple[str, str], Answer] = {("q1_3a", "grad_W2"): CarryOver("grad_W2", "same_as", "eq:gw2",
                                              snippet(r"same as \eqref{eq:gw2}", form="carry_over")),
               ("q1_3a", "grad_b2"): CarryOver("grad_b2", "same_as", None,
                                              snippet(r"same as (7)", form="carry_over"))}
    by_item = _by_item(grade_sheet(build_sheet(answers, labels=labels)))
    assert by_item[("q1_3a", "grad_W2")].status == "pass"
    assert (by_item[("q1_3a", "grad_b2")].status, by_item[("q1_3a", "grad_b2")].code) == ("review", "unreadable")


def test_unmentioned_13_items_can_count_as_missing() -> None:
    by_item = _by_item(grade_sheet(build_sheet(NUMERATOR_12), AnswerSettings(unmentioned_13="missing")))
    assert (by_item[("q1_3a", "grad_W1")].status, by_item[("q1_3a", "grad_W1")].code) == ("fail", "missing")
    assert by_item[("q1_2", "grad_W1")].status == "pass"
    by_item = _by_item(grade_sheet(build_sheet({})))
    assert (by_item[("q1_2", "grad_W1")].status, by_item[("q1_2", "grad_W1")].code) == ("fail", "missing")
    assert by_item[("q1_3a", "grad_W1")].code == "missing"


RENAMED_DEFINITIONS = [
    (r"s^{(1)}", r"W^{(1)}x + b^{(1)}"),
    (r"z^{(1)}", r"f(s^{(1)})"),
    (r"s^{(2)}", r"W^{(2)}z^{(1)} + b^{(2)}"),
]


def test_declared_renaming_is_honoured() -> None:
    answers = {
        ("q1_2", "forward_z2"): r"z^{(1)} = \text{ReLU}(s^{(1)})",
        ("q1_2", "grad_W2"): r"\frac{\partial l}{\partial W^{(2)}} = z^{(1)} \frac{\partial l}{\partial \hat y}"
                             r"\frac{\partial \hat y}{\partial s^{(2)}}",
        ("q1_2", "grad_W1"): r"x \frac{\partial l}{\partial \hat y}\frac{\partial \hat y}{\partial s^{(2)}} W^{(2)}"
                             r" \frac{\partial z^{(1)}}{\partial s^{(1)}}",
        ("q1_2", "jac_dz2_dz1"): r"\frac{\partial z^{(1)}}{\partial s^{(1)}} = \diag(\mathbb{1}[s^{(1)} > 0])",
        ("q1_3a", "forward_z2"): r"z^{(1)} = \sigma(s^{(1)})",
    }
    by_item = _by_item(grade_sheet(build_sheet(answers, definitions=RENAMED_DEFINITIONS)))
    for key in answers:
        assert by_item[key].status == "pass", (key, by_item[key].message)


def test_plain_text_and_unicode_sheets() -> None:
    ascii_answers = {
        ("q1_2", "grad_W1"): "dL/dW_1 = x * dL/dy_hat * dy_hat/dz_3 * W_2 * dz_2/dz_1",
        ("q1_2", "forward_z2"): "z_2 = max(z_1, 0)",
        ("q1_2", "dl_dyhat"): "dL/dy_hat = 2 * (y_hat - y)^T",
        ("q1_2", "forward_loss"): "L = ||y - y_hat||^2",
    }
    unicode_answers = {
        ("q1_2", "grad_W2"): "∂ℓ/∂W2 = z2 · (∂ℓ/∂ŷ) · (∂ŷ/∂z3)",
        ("q1_2", "grad_b1"): "δ1 = 2(ŷ − y)ᵀ · W2 · (∂z2/∂z1)",
        ("q1_2", "jac_dz2_dz1"): "∂z2/∂z1 = diag(1[z1 > 0])",
    }
    for answers in (ascii_answers, unicode_answers):
        by_item = _by_item(grade_sheet(build_sheet(answers, syntax="plain")))
        for key in answers:
            assert by_item[key].status == "pass", (key, by_item[key].message)


def test_sheet_macros_chains_and_local_definitions() -> None:
    macros = {"\\dly": Macro("\\dly", 0, None, r"\frac{\partial l}{\partial \hat{\boldsymbol{y}}}", "newcommand"),
              "\\pd": Macro("\\pd", 2, None, r"\frac{\partial #1}{\partial #2}", "newcommand")}
    answers = {
        ("q1_2", "grad_b2"): r"\pd{l}{b^{(2)}} = \dly \pd{\hat y}{z_3}",
        ("q1_2", "grad_W2"): r"\frac{\partial l}{\partial W^{(2)}} = \frac{\partial l}{\partial z_3}"
                             r"\frac{\partial z_3}{\partial W^{(2)}} = z_2 \cdot 2(\hat y - y)^\top",
        ("q1_2", "grad_b1"): r"\frac{\partial l}{\partial b^{(1)}} = \delta W^{(2)} \frac{\partial z_2}{\partial z_1},"
                             r" \quad \text{where } \delta = 2(\hat y - y)^\top",
    }
    by_item = _by_item(grade_sheet(build_sheet(answers, macros=macros)))
    for key in answers:
        assert by_item[key].status == "pass", (key, by_item[key].message)


def test_conflicting_answers_are_reported() -> None:
    answers = {("q1_2", "grad_b2"): [r"2(\hat y - y)", r"2(\hat y - y)^\top"]}
    verdict = _by_item(grade_sheet(build_sheet(answers)))[("q1_2", "grad_b2")]
    assert verdict.status == "pass"
    assert verdict.evidence is not None and verdict.evidence["conflict"] is True
    assert "2 different answers" in verdict.message


def test_undefined_and_unreadable_answers_go_to_review() -> None:
    answers = {
        ("q1_2", "grad_W2"): r"\frac{\partial l}{\partial W^{(2)}} = z_2 \frac{\partial l}{\partial z_3}",
        ("q1_2", "grad_b2"): r"\frac{\partial l}{\partial b^{(2)}} = \foo{z_3}",
        ("q1_2", "grad_W1"): r"\frac{\partial l}{\partial W^{(2)}} = z_2 \cdot 2(\hat y - y)^\top",
    }
    by_item = _by_item(grade_sheet(build_sheet(answers)))
    assert (by_item[("q1_2", "grad_W2")].status, by_item[("q1_2", "grad_W2")].code) == ("review", "undefined_symbol")
    assert (by_item[("q1_2", "grad_b2")].status, by_item[("q1_2", "grad_b2")].code) == ("review", "unreadable")
    assert (by_item[("q1_2", "grad_W1")].status, by_item[("q1_2", "grad_W1")].code) == ("review", "mismatch")
    for key in answers:
        verdict = by_item[key]
        assert verdict.snippet is not None and verdict.expected_latex and verdict.expected_latex in verdict.message
    defined = build_sheet(answers, definitions=[(r"\frac{\partial l}{\partial z_3}", r"2(\hat y - y)^\top")])
    assert _by_item(grade_sheet(defined))[("q1_2", "grad_W2")].status == "pass"


def test_pdf_only_sheet_goes_to_a_human() -> None:
    verdicts = grade_sheet(build_sheet({}, human_only=True))
    assert {(v.status, v.code) for v in verdicts} == {("review", "human_only")}


@pytest.mark.parametrize("variant,answers,expected", [
    ("fa22", {("q1_2", "forward_z2"): r"5(z_1)^+", ("q1_3a", "jac_dz2_dz1"): r"\diag(1 - z_2 \odot z_2)",
              ("q1_3a", "forward_z2"): r"\tanh(z_1)"}, ("pass", None)),
    ("fa22", {("q1_2", "forward_z2"): r"(z_1)^+"}, ("fail", "scaled")),
    ("fa20", {("q1_2", "forward_loss"): r"\frac{1}{2}\|y - \hat y\|^2", ("q1_2", "dl_dyhat"): r"(\hat y - y)^\top"},
     ("pass", None)),
    ("fa20", {("q1_2", "forward_loss"): r"\|y - \hat y\|^2"}, ("fail", "scaled")),
])
def test_variants_are_data(variant: str, answers: dict, expected: tuple[str, str | None]) -> None:
    by_item = _by_item(grade_sheet(build_sheet(answers), AnswerSettings(variant=variant)))
    for key in answers:
        assert (by_item[key].status, by_item[key].code) == expected, (key, by_item[key].message)


def test_expected_latex_follows_the_sheet_notation() -> None:
    answers = {("q1_2", "grad_W1"): r"W_2^T", ("q1_2", "forward_z1"): r"W_1 x + b_1",
               ("q1_2", "forward_z3"): r"W_2 z_2 + b_2"}
    verdict = _by_item(grade_sheet(build_sheet(answers)))[("q1_2", "grad_W1")]
    assert verdict.expected_latex is not None and "W_2" in verdict.expected_latex
    assert "W^{(2)}" not in verdict.expected_latex


def test_every_item_gets_exactly_one_verdict_with_a_known_status() -> None:
    verdicts = grade_sheet(build_sheet(NUMERATOR_12))
    assert len(verdicts) == sum(len(c) for c in QUESTION_CHECKS.values())
    assert {v.status for v in verdicts} <= {"pass", "fail", "error", "review"}


def test_generic_update_without_transpose_fails_for_every_parameter() -> None:
    rule = r"\boldsymbol{W^{(i)}} ← \boldsymbol{W^{(i)}} - \gamma\frac{\partial l_{MSE}}{\partial\boldsymbol{W^{(i)}}}"
    bias = r"\boldsymbol{b^{(i)}} ← \boldsymbol{b^{(i)}} - \gamma\frac{\partial l_{MSE}}{\partial\boldsymbol{b^{(i)}}}"
    answers = {("q1_2", "sgd_update_W1"): rule, ("q1_2", "sgd_update_W2"): rule, ("q1_2", "sgd_update_b"): bias}
    by_item = _by_item(grade_sheet(build_sheet(answers)))
    for key in answers:
        assert (by_item[key].status, by_item[key].code) == ("fail", "transposed"), by_item[key].message
    by_item = _by_item(grade_sheet(build_sheet(answers), AnswerSettings(layout="mixed")))
    for key in answers:
        assert by_item[key].status == "pass", by_item[key].message


def test_plain_update_and_element_wise_loss_gradient() -> None:
    answers = {("q1_2", "sgd_update_W2"): "W2 <- W2 - lr * (dL/dW2)^T",
               ("q1_2", "dl_dyhat"): "dL/dy_hat_i = 2 (y_hat_i - y_i)"}
    by_item = _by_item(grade_sheet(build_sheet(answers, syntax="plain")))
    for key in answers:
        assert by_item[key].status == "pass", by_item[key].message
    element = {("q1_2", "dl_dyhat"): r"\frac{\partial l}{\partial \hat{y}_i} = 2(y_i - \hat{y}_i)"}
    verdict = _by_item(grade_sheet(build_sheet(element)))[("q1_2", "dl_dyhat")]
    assert (verdict.status, verdict.code) == ("fail", "sign")


def test_plain_renaming_s1_a1_s2_and_a_named_jacobian() -> None:
    definitions = [("s1", "W1 x + b1"), ("a1", "f(s1)"), ("s2", "W2 a1 + b2"), ("D", "diag(1[s1 > 0])")]
    answers = {
        ("q1_2", "forward_z2"): "a1 = relu(s1)",
        ("q1_2", "forward_z3"): "s2 = W2 a1 + b2",
        ("q1_2", "jac_dz2_dz1"): "∂a1/∂s1 = D",
        ("q1_2", "grad_W2"): "∂ℓ/∂W2 = a1 · 2(ŷ − y)ᵀ",
        ("q1_2", "grad_W1"): "∂ℓ/∂W1 = x · 2(ŷ − y)ᵀ · W2 · D",
        ("q1_2", "sgd_update_W1"): "w <- w - lr * (dL/dw)^T",
    }
    by_item = _by_item(grade_sheet(build_sheet(answers, syntax="plain", definitions=definitions)))
    for key in answers:
        assert by_item[key].status == "pass", (key, by_item[key].message)
    assert by_item[("q1_3a", "jac_dz2_dz1")].status == "fail"  # D is written with ReLU's derivative


def test_cref_resolves_like_eqref() -> None:
    labels = {"eq:dl": r"2(\hat y - y)^\top"}
    answers = {("q1_2", "grad_b2"): r"\cref{eq:dl} \frac{\partial \hat y}{\partial z_3}"}
    assert _by_item(grade_sheet(build_sheet(answers, labels=labels)))[("q1_2", "grad_b2")].status == "pass"

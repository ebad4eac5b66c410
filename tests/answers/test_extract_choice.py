"""Which answer an item gets: the choice rule, update rules, 1.3 carry-over claims, definitions."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.assignments.hw1.answers.extract import read_sheet
from grader.assignments.hw1.answers.model import ItemAnswers, Sheet


def _sheet(tmp_path: Path, text: str, name: str = "theory.md") -> Sheet:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return read_sheet(tmp_path)


def _item(sheet: Sheet, question: str, check: str) -> ItemAnswers:
    return sheet.items[(question, check)]


def _chosen(sheet: Sheet, question: str, check: str) -> str | None:
    chosen = _item(sheet, question, check).chosen
    return None if chosen is None else chosen.text


GRADIENT_TABLE = ("| Parameter | Gradient |\n|---|---|\n"
                  "| $W^{(2)}$ | $z_2 \\frac{\\partial l}{\\partial \\hat{y}}$ |\n")


def test_an_answer_table_wins_over_a_later_derivation_and_the_conflict_is_flagged(tmp_path: Path):
    sheet = _sheet(tmp_path, "## 1.2\n### (c)\n" + GRADIENT_TABLE +
                   "\nDerivation: $\\frac{\\partial l}{\\partial W^{(2)}} = "
                   "\\frac{\\partial l}{\\partial \\hat{y}} z_2$\n")
    item = _item(sheet, "q1_2", "grad_W2")
    assert item.chosen is not None and item.chosen.form == "table"
    assert item.chosen.text == r"z_2 \frac{\partial l}{\partial \hat{y}}"
    assert item.conflict and len(item.candidates) == 2


def test_otherwise_the_last_statement_wins(tmp_path: Path):
    sheet = _sheet(tmp_path, "## 1.2\n### (b)\n$z_3 = W_2 z_1 + b_2$\n\nOops: $z_3 = W_2 z_2 + b_2$\n")
    item = _item(sheet, "q1_2", "forward_z3")
    assert item.chosen is not None and item.chosen.text == "W_2 z_2 + b_2" and item.conflict


def test_the_same_answer_twice_is_no_conflict(tmp_path: Path):
    sheet = _sheet(tmp_path, "## 1.2\n### (b)\n$z_1 = W_1 x + b_1$\n\nAgain: $z_1 = W_1x+b_1$\n")
    item = _item(sheet, "q1_2", "forward_z1")
    assert len(item.candidates) == 2 and not item.conflict


def test_an_answer_in_the_items_own_part_beats_one_elsewhere(tmp_path: Path):
    sheet = _sheet(tmp_path, "## 1.2\n### (c)\nwhere $\\frac{\\partial \\hat{y}}{\\partial z_3} = J$ here\n"
                   "### (d)\n$\\frac{\\partial \\hat{y}}{\\partial z_3} = I_K$\n")
    item = _item(sheet, "q1_2", "jac_dyhat_dz3")
    assert item.chosen is not None and item.chosen.text == "I_K" and not item.conflict
    assert len(item.candidates) == 2


def test_an_answer_outside_its_part_counts_when_the_part_has_none(tmp_path: Path):
    sheet = _sheet(tmp_path, "## 1.2\n### (a)\nStep 3: $l = \\|y - \\hat{y}\\|^2$\n")
    assert _chosen(sheet, "q1_2", "forward_loss") == r"\|y - \hat{y}\|^2"


def test_a_chain_rule_skeleton_is_not_the_answer_when_an_evaluable_one_exists(tmp_path: Path):
    sheet = _sheet(tmp_path, "## 1.2\n### (c)\n$\\frac{\\partial l}{\\partial b_2} = "
                   "\\frac{\\partial l}{\\partial \\hat{y}} "
                   "\\frac{\\partial \\hat{y}}{\\partial z_3}$\n\nIn general $\\frac{\\partial l}{\\partial b_2} = "
                   "\\frac{\\partial l}{\\partial z_3} \\frac{\\partial z_3}{\\partial b_2}$.\n")
    item = _item(sheet, "q1_2", "grad_b2")
    assert item.chosen is not None
    assert item.chosen.text == r"\frac{\partial l}{\partial \hat{y}} \frac{\partial \hat{y}}{\partial z_3}"
    assert not item.conflict


def test_a_defined_derivative_symbol_makes_an_answer_evaluable(tmp_path: Path):
    sheet = _sheet(tmp_path, "## 1.2\n### (c)\n$\\frac{\\partial l}{\\partial z_3} = 2(\\hat{y} - y)^T$\n\n"
                   "$\\frac{\\partial l}{\\partial b_2} = \\frac{\\partial l}{\\partial z_3}$\n")
    assert _chosen(sheet, "q1_2", "grad_b2") == r"\frac{\partial l}{\partial z_3}"
    assert [d.rhs for d in sheet.definitions] == [r"2(\hat{y} - y)^T"]


def test_an_element_wise_answer_keeps_its_indexed_left_hand_side(tmp_path: Path):
    sheet = _sheet(tmp_path, "## 1.2\n### (d)\n$\\left(\\frac{\\partial z_2}{\\partial z_1}\\right)_{ii} = "
                   "\\mathbb{1}[z_{1,i} > 0]$, and $0$ off the diagonal.\n")
    item = _item(sheet, "q1_2", "jac_dz2_dz1")
    assert item.chosen is not None
    assert item.chosen.text == r"\left(\frac{\partial z_2}{\partial z_1}\right)_{ii} = \mathbb{1}[z_{1,i} > 0]"
    assert "off the diagonal" in item.chosen.context


@pytest.mark.parametrize("rule, expected", [
    (r"$W^{(i)} \leftarrow W^{(i)} - \eta (\frac{\partial l}{\partial W^{(i)}})^T$",
     {"sgd_update_W1": r"W^{(1)} - \eta (\frac{\partial l}{\partial W^{(1)}})^T",
      "sgd_update_W2": r"W^{(2)} - \eta (\frac{\partial l}{\partial W^{(2)}})^T"}),
    (r"$\theta \leftarrow \theta - \eta (\frac{\partial l}{\partial \theta})^T$",
     {"sgd_update_W1": r"W^{(1)} - \eta (\frac{\partial l}{\partial W^{(1)}})^T",
      "sgd_update_b": r"b^{(1)} - \eta (\frac{\partial l}{\partial b^{(1)}})^T"}),
    (r"$W = W - \eta \frac{\partial l}{\partial W}^T$",
     {"sgd_update_W2": r"W^{(2)} - \eta \frac{\partial l}{\partial W^{(2)}}^T"}),
    (r"$W_1^{new} = W_1 - \eta g_1$", {"sgd_update_W1": r"W_1 - \eta g_1"}),
])
def test_update_rules_generic_or_not(tmp_path: Path, rule: str, expected: dict[str, str]):
    sheet = _sheet(tmp_path, "## 1.2\n### (a)\n" + rule + "\n")
    for check, text in expected.items():
        assert _chosen(sheet, "q1_2", check) == text


def test_b1_and_b2_updates_are_alike_not_in_conflict(tmp_path: Path):
    sheet = _sheet(tmp_path, "## 1.2\n### (a)\n$b_2 \\leftarrow b_2 - \\eta g_2^T$\n\n"
                   "$b_1 \\leftarrow b_1 - \\eta g_1^T$\n")
    item = _item(sheet, "q1_2", "sgd_update_b")
    assert item.chosen is not None and item.chosen.text == r"b_1 - \eta g_1^T" and not item.conflict


def test_zeroing_the_gradients_or_an_index_range_answers_nothing(tmp_path: Path):
    sheet = _sheet(tmp_path, "## 1.2\n### (a)\nSet $\\frac{\\partial l}{\\partial W^{(1)}} = 0$ for $l = 1, 2$.\n")
    assert not _item(sheet, "q1_2", "grad_W1").mentioned
    assert not _item(sheet, "q1_2", "forward_loss").mentioned


THIRTEEN = "## 1.2\n### (d)\n$\\frac{\\partial \\ell}{\\partial \\hat{y}} = 2(\\hat{y} - y)^T$\n## 1.3\n### (a)\n"


@pytest.mark.parametrize("claim, unchanged", [
    ("Nothing changes.", {"dl_dyhat", "grad_W1", "jac_dz2_dz1", "forward_z2"}),
    ("The gradients do not change.", {"grad_W1", "grad_b2"}),
    ("$\\frac{\\partial \\ell}{\\partial \\hat{y}}$ is the same as before.", {"dl_dyhat"}),
    ("The backward pass stays the same, and so do the Jacobians.", {"grad_W2", "jac_dyhat_dz3"}),
    ("Everything is unchanged except the Jacobians.", {"dl_dyhat", "grad_b1", "forward_yhat"}),
    ("The gradient table and $\\frac{\\partial \\ell}{\\partial \\hat{y}}$ carry over.", {"grad_W1", "dl_dyhat"}),
    ("dL/dy_hat does not change.", {"dl_dyhat"}),
])
def test_carry_over_claims(tmp_path: Path, claim: str, unchanged: set[str]):
    sheet = _sheet(tmp_path, THIRTEEN + claim + "\n")
    carried = {check for (question, check), item in sheet.items.items()
               if question == "q1_3a" and item.carry_over is not None}
    assert unchanged <= carried
    if "except" in claim:
        assert not carried & {"jac_dz2_dz1", "jac_dyhat_dz3"}
    if claim.startswith("$") or claim.startswith("dL"):
        assert carried == {"dl_dyhat"}
    for check in carried:
        carry = _item(sheet, "q1_3a", check).carry_over
        assert carry is not None and (carry.kind, carry.target) == ("unchanged", "q1_2")


@pytest.mark.parametrize("claim", [
    "The Jacobians change: both become diagonal matrices of sigmoid slopes.",
    "$\\frac{\\partial \\ell}{\\partial \\hat{y}}$ is not the same as before.",
    "The gradients become different.",
    "Here $\\frac{\\partial \\ell}{\\partial \\hat{y}} = 2(\\hat{y} - y)^T$ as before.",
])
def test_statements_that_are_not_carry_over_claims(tmp_path: Path, claim: str):
    sheet = _sheet(tmp_path, THIRTEEN + claim + "\n")
    assert all(item.carry_over is None for item in sheet.items.values())


def test_an_explicit_answer_overrides_a_blanket_claim(tmp_path: Path):
    sheet = _sheet(tmp_path, THIRTEEN + "$z_2 = \\sigma(z_1)$. Everything else stays the same.\n")
    assert _chosen(sheet, "q1_3a", "forward_z2") == r"\sigma(z_1)"
    assert _item(sheet, "q1_3a", "forward_z2").carry_over is None
    assert _item(sheet, "q1_3a", "forward_yhat").carry_over is not None


def test_carry_over_targets(tmp_path: Path):
    text = ("\\section{1.2}\\subsection{(c)}\n\\begin{equation}\\frac{\\partial l}{\\partial W^{(1)}} = x \\delta_1"
            " \\label{eq:gw1}\\end{equation}\n\\section{1.3}\\subsection{(a)}\n"
            "$\\frac{\\partial l}{\\partial W^{(1)}}$ is the same as \\eqref{eq:gw1}.\n"
            "\\subsection{(b)}\nThe Jacobians are the same as in (a). The gradients do not change.\n")
    sheet = _sheet(tmp_path, text, "theory.tex")
    assert sheet.labels == {"eq:gw1": r"x \delta_1"}
    carry = _item(sheet, "q1_3a", "grad_W1").carry_over
    assert carry is not None and (carry.kind, carry.target) == ("same_as", "eq:gw1")
    carry = _item(sheet, "q1_3b", "jac_dz2_dz1").carry_over
    assert carry is not None and (carry.kind, carry.target) == ("same_as", "q1_3a")
    carry = _item(sheet, "q1_3b", "grad_b1").carry_over
    assert carry is not None and (carry.kind, carry.target) == ("unchanged", "q1_3a")


def test_an_item_not_mentioned_in_13_stays_unmentioned(tmp_path: Path):
    sheet = _sheet(tmp_path, THIRTEEN + "$z_2 = \\sigma(z_1)$\n")
    item = _item(sheet, "q1_3a", "grad_W1")
    assert not item.mentioned and item.chosen is None and item.carry_over is None


def test_why_relu_is_the_prose_of_13c(tmp_path: Path):
    sheet = _sheet(tmp_path, "## 1.3\n### (c)\n> **(c)** Why is ReLU better here, do you think?\n\n"
                   "Because its slope is one.\n\nAnd it is cheap.\n")
    item = _item(sheet, "q1_3c", "concept_why_relu")
    assert item.chosen is not None and item.chosen.form == "text"
    assert item.chosen.text == "Because its slope is one.\n\nAnd it is cheap."


def test_declared_renamings_and_definitions(tmp_path: Path):
    sheet = _sheet(tmp_path, "Let $s^{(1)} = W^{(1)}x + b^{(1)}$, $z^{(1)} = f(s^{(1)})$ and "
                   "$s^{(2)} = W^{(2)} z^{(1)} + b^{(2)}$.\n\n## 1.2\n### (c)\n"
                   "$\\delta_2 = \\frac{\\partial l}{\\partial \\hat{y}}$\n\n"
                   "$\\frac{\\partial l}{\\partial W^{(2)}} = z^{(1)} \\delta_2$\n"
                   "### (d)\n$\\frac{\\partial z^{(1)}}{\\partial s^{(1)}} = "
                   "\\mathrm{diag}(\\mathbb{1}[s^{(1)} > 0])$\n")
    assert sheet.renames == {"s1": "z1", "zP1": "z2", "s2": "z3"}
    assert [d.lhs for d in sheet.definitions] == ["s^{(1)}", "z^{(1)}", "s^{(2)}", r"\delta_2"]
    assert _chosen(sheet, "q1_2", "grad_W2") == r"z^{(1)} \delta_2"
    assert _chosen(sheet, "q1_2", "jac_dz2_dz1") == r"\mathrm{diag}(\mathbb{1}[s^{(1)} > 0])"
    assert not _item(sheet, "q1_2", "forward_z1").mentioned  # the notation paragraph is not 1.2(b)

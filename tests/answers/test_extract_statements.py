"""Splitting math into statements (chains, rows, separators) and collecting a sheet's macros."""

from __future__ import annotations

from grader.assignments.hw1.answers.statements import (collect_macros, expand_macros, latex_statements,
                                                       plain_statements)


def _sides(math: str) -> list[tuple[str, list[str]]]:
    return [(s.lhs, s.rhs) for s in latex_statements(math, 1)]


def test_an_equality_chain_keeps_every_right_hand_side_in_order():
    [(lhs, rhs)] = _sides(r"\frac{\partial l}{\partial W_2} = \frac{\partial l}{\partial z_3}"
                          r" \frac{\partial z_3}{\partial W_2} = z_2 \delta^T")
    assert lhs == r"\frac{\partial l}{\partial W_2}"
    assert rhs[-1] == r"z_2 \delta^T"


def test_align_rows_starting_with_a_relation_or_an_operator_continue_the_statement():
    math = "A &= B \\\\\n  &= C \\label{eq:c} \\\\\nD &= E \\\\\n  &\\quad + F \\\\\nG &= H"
    statements = latex_statements(math, 10)
    assert [(s.lhs, s.rhs) for s in statements] == [("A", ["B", "C"]), ("D", ["E + F"]), ("G", ["H"])]
    assert statements[0].labels == ["eq:c"]
    assert [s.line for s in statements] == [10, 12, 14]


def test_top_level_separators_split_and_nested_ones_do_not():
    statements = _sides(r"z_2 = \max(z_1, 0), \quad z_3 = W_2 z_2 + b_2 \text{ where } \hat y = z_3;"
                        r" M = \begin{pmatrix} a & b \\ c & d \end{pmatrix}")
    assert statements == [("z_2", [r"\max(z_1, 0)"]), ("z_3", ["W_2 z_2 + b_2"]), (r"\hat y", ["z_3"]),
                          ("M", [r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}"])]


def test_cases_and_inner_relations_stay_in_the_right_hand_side():
    [(lhs, rhs)] = _sides(r"\left(\frac{\partial z_2}{\partial z_1}\right)_{ij} = \begin{cases} 1 & i = j, z_{1,i} > 0"
                          r" \\ 0 & \text{otherwise} \end{cases}")
    assert lhs.endswith("_{ij}") and rhs[0].startswith(r"\begin{cases}") and len(rhs) == 1


def test_shape_notes_and_remarks_end_the_answer():
    assert _sides(r"\frac{\partial l}{\partial W} = x \delta^T \in \mathbb{R}^{n \times d}.") == [
        (r"\frac{\partial l}{\partial W}", [r"x \delta^T"])]
    assert _sides(r"\text{Step 5: } W \leftarrow W - \eta g") == [("W", [r"W - \eta g"])]
    assert _sides(r"\text{Linear}_1(x) = W_1 x + b_1") == [(r"\text{Linear}_1(x)", ["W_1 x + b_1"])]


def test_update_relations_and_overset_equalities():
    statements = latex_statements(r"W \gets W - \eta g, \quad b := b - \eta h, \quad c \overset{def}{=} 2 d", 1)
    assert [(s.lhs, s.relations) for s in statements] == [("W", ["<-"]), ("b", [":="]), ("c", ["="])]


def test_typora_blank_lines_separate_equations():
    assert _sides("a = 1\n\nb = 2 \\\\\n\n\nc = 3") == [("a", ["1"]), ("b", ["2"]), ("c", ["3"])]


def test_plain_text_statements():
    statements = plain_statements("update W1 <- W1 - lr * (dL/dW1)^T; z2 = max(z1, 0) where z1 = W1 x + b1", 3)
    assert [(s.lhs, s.rhs, s.relations) for s in statements] == [
        ("update W1", ["W1 - lr * (dL/dW1)^T"], ["<-"]), ("z2", ["max(z1, 0)"], ["="]),
        ("z1", ["W1 x + b1"], ["="])]
    assert plain_statements("dL/dW_1 = x * (dL/dz_1)  (shape n x d)", 1)[0].rhs == ["x * (dL/dz_1)"]
    assert plain_statements("dL/dy_hat = 2 (y_hat - y)^T   (1 x K)", 1)[0].rhs == ["2 (y_hat - y)^T"]
    assert plain_statements("x <= 3 and y >= 2", 1) == []
    assert plain_statements("Steps: dL/ds2 = (y_hat - y)^T / K, so", 1)[0].lhs == "dL/ds2"


def test_a_statement_over_the_limit_is_not_split():
    assert latex_statements("a = " + "b + " * 10_000 + "c", 1, max_chars=1_000) == []


def test_macros_of_every_kind_are_collected():
    macros, problems = collect_macros(
        r"\newcommand{\dldy}{\frac{\partial \ell}{\partial \hat{y}}} \newcommand\R[2][x]{#1^{#2}}"
        r" \def\bx#1{\mathbf{#1}} \DeclareMathOperator*{\diag}{diag} \renewcommand{\vec}[1]{\boldsymbol{#1}}"
        r" \providecommand{\sech}{\operatorname{sech}}")
    assert not problems
    assert {name: (m.nargs, m.default, m.kind) for name, m in macros.items()} == {
        r"\dldy": (0, None, "newcommand"), r"\R": (2, "x", "newcommand"), r"\bx": (1, None, "def"),
        r"\diag": (0, None, "operator"), r"\vec": (1, None, "renewcommand"), r"\sech": (0, None, "providecommand")}
    assert macros[r"\diag"].body == r"\operatorname{diag}"


def test_macro_expansion_substitutes_arguments_and_stops_at_the_limits():
    macros, _ = collect_macros(r"\newcommand{\pd}[2]{\frac{\partial #1}{\partial #2}} \newcommand\R[2][x]{#1^{#2}}"
                               r" \def\bomb{\bomb\bomb}")
    assert expand_macros(r"\pd{\ell}{W_1}", macros) == r"\frac{\partial \ell}{\partial W_1}"
    assert expand_macros(r"\R{2} + \R[y]{3}", macros) == "x^{2} + y^{3}"
    exploded = expand_macros(r"\bomb", macros, max_expansions=50)
    assert exploded.count(r"\bomb") <= 51
    assert len(expand_macros(r"\bomb", macros, max_expansions=10**6, max_chars=2_000)) < 4_000

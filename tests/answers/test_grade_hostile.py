"""Hostile answer sheets: every limit gives an explicit exception in the parser and a per-item
"error" verdict in grade_sheet; the rest of the sheet is still graded. (No timing assertions:
the limits are what keeps these fast.)"""

from __future__ import annotations

import pytest

from grader.assignments.hw1.answers.model import Macro
from grader.assignments.hw1.answers.grade import grade_sheet
from grader.assignments.hw1.answers.mathlex import InvalidText, LimitExceeded, ParseError, expand_macros
from grader.assignments.hw1.answers.mathparse import parse_statements

from .math_support import build_sheet

LETTERS = "abcdefghijklmnopqrstuvwxyz"
# \bomba expands to three \bombb, each to three \bombc, ...: 3^25 copies of x if unchecked.
BOMB = {"\\bomb" + a: Macro("\\bomb" + a, 0, None, ("\\bomb" + b) * 3, "newcommand")
        for a, b in zip(LETTERS, LETTERS[1:], strict=False)}
BOMB["\\bombz"] = Macro("\\bombz", 0, None, "x", "newcommand")

HOSTILE = {
    "macro bomb": ("\\bomba", "latex", BOMB, LimitExceeded),
    "self-recursive macro": ("\\loop", "latex", {"\\loop": Macro("\\loop", 0, None, "x\\loop", "def")}, LimitExceeded),
    "inline macro bomb": (r"\def\b{\c\c\c\c}\def\c{\d\d\d\d}\def\d{\e\e\e\e}\def\e{\f\f\f\f}\def\f{yy}"
                          r"\def\g{\b\b\b\b}\g\g\g\g", "latex", {}, LimitExceeded),
    "10k-deep braces": ("{" * 10_000 + "x" + "}" * 10_000, "latex", {}, LimitExceeded),
    "9k-deep brackets, plain": ("(" * 9_000 + "x" + ")" * 9_000, "plain", {}, LimitExceeded),
    "deep fractions": ("\\frac{" * 200 + "1" + "}{2}" * 200, "latex", {}, LimitExceeded),
    "500x500 bmatrix": ("\\begin{bmatrix}" + "\\\\".join(["&".join(["1"] * 500)] * 500) + "\\end{bmatrix}",
                        "latex", {}, LimitExceeded),
    "40x40 bmatrix": ("\\begin{bmatrix}" + "\\\\".join(["&".join(["1"] * 40)] * 40) + "\\end{bmatrix}",
                      "latex", {}, LimitExceeded),
    "3000-term sum": ("+".join(["x"] * 3_000), "plain", {}, LimitExceeded),
    "invalid UTF-8": (b"W^{(1)} x + \xff\xfe b^{(1)}".decode("utf-8", errors="replace"), "latex", {}, InvalidText),
    "control bytes": ("W_1 x\x00 + b_1", "plain", {}, InvalidText),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_parser_raises_an_explicit_limit_error(name: str) -> None:
    text, syntax, macros, error = HOSTILE[name]
    with pytest.raises(error) as raised:
        parse_statements(text, syntax, macros)
    assert raised.value.reason


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_answer_is_an_error_for_that_item_only(name: str) -> None:
    text, syntax, macros, _ = HOSTILE[name]
    sheet = build_sheet({("q1_2", "grad_W2"): text, ("q1_2", "forward_z1"): "W_1 x + b_1"}, syntax=syntax,
                        macros=macros)
    by_item = {(v.question, v.check): v for v in grade_sheet(sheet)}
    hostile = by_item[("q1_2", "grad_W2")]
    assert hostile.status == "error" and hostile.code in ("limit", "invalid_text"), hostile.message
    assert hostile.snippet is not None
    assert by_item[("q1_2", "forward_z1")].status == "pass"


def test_huge_sums_and_patterns_are_evaluation_limits() -> None:
    answers = {("q1_2", "forward_loss"): r"\sum_{i=1}^{10^{9}} (y_1 - \hat y_1)^2",
               ("q1_2", "dl_dyhat"): r"\begin{bmatrix} 2(\hat y_1 - y_1) & \cdots & 2(\hat y_{100000} - y_{100000})"
                                     r"\end{bmatrix}"}
    by_item = {(v.question, v.check): v for v in grade_sheet(build_sheet(answers))}
    for key in answers:
        assert by_item[key].status == "error", by_item[key].message


def test_macro_expansion_limit_counts_expansions() -> None:
    with pytest.raises(LimitExceeded, match="macro expansions"):
        expand_macros("\\bomba", BOMB)
    assert expand_macros(r"\norm{v}") == r"\left\|v\right\|"


def test_unknown_label_and_unknown_command_are_parse_errors() -> None:
    with pytest.raises(ParseError, match="eq:nowhere"):
        parse_statements(r"\eqref{eq:nowhere}", "latex")
    with pytest.raises(ParseError, match="unknown command"):
        parse_statements(r"\foo{x}", "latex")

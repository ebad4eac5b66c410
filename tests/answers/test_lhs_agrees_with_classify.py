"""The reader's left-hand-side recognition (lhs.classify_lhs, on raw or canonical text, before
any parse) and the grader's (classify.classify, on the parsed AST) must name the same item.

The reader keeps its own recognizer rather than deferring to classify(): it also reads table-row
keys and fragments that are not whole formulas ("Linear_1(x)", "f(z_1)", "dW1", "Loss"), keeps
z^{(1)} apart from z_1 for a sheet that renames its layers, and runs on every candidate without
a parse. This test holds the two to one meaning wherever both recognise a text, and checks that
the reader recognises every left-hand side the grader does (on both modules' own examples).
"""

from __future__ import annotations

import pytest

from grader.assignments.hw1.answers.classify import classify_text
from grader.assignments.hw1.answers.lhs import classify_lhs, update_checks

from .test_math_references import LHS as MATH_LHS

SHEET_LHS = [
    r"\frac{\partial \ell}{\partial W^{(1)}}", "\u2202\u2113/\u2202W\u2081", r"\partial \ell / \partial W^{(2)}",
    r"\nabla_{W^{(1)}} \ell", r"\frac{\partial \ell}{\partial \hat{\bm{y}}}", "\u2202\u2113/\u2202y_hat",
    "\u2202\u2113/\u2202\u0177", "dL/dy_hat", "dL/dW1", r"\frac{\partial \boldsymbol{z}_2}{\partial \boldsymbol{z}_1}",
    "dz2/dz1", "\u2202z\u2082/\u2202z\u2081", "dy_hat/dz3", "z3", "y_hat", "\u0177", "L",
    r"l_{MSE}(\boldsymbol{y}, \boldsymbol{\hat{y}})", r"\left[\frac{\partial \hat{y}}{\partial z_3}\right]_{ii}",
    r"\boldsymbol{W^{(1)}}", r"\mathbf{b}_2", "W1", r"\bm{b}^{(i)}", r"\frac{\partial l}{\partial z_3}",
]
TEXTS = sorted(set(MATH_LHS) | set(SHEET_LHS))


def _syntax(text: str) -> str:
    return "latex" if "\\" in text or "{" in text else "plain"


def _reader_checks(text: str) -> tuple[str, ...] | None:
    meaning = classify_lhs(text, _syntax(text))  # type: ignore[arg-type]
    if meaning is None:
        return None
    if meaning.check is not None:
        return (meaning.check,)
    if meaning.parameter is not None:
        return update_checks(meaning.parameter)
    return ()


@pytest.mark.parametrize("text", TEXTS)
def test_both_recognisers_name_the_same_item(text: str) -> None:
    quantity = classify_text(text, _syntax(text))
    reader = _reader_checks(text)
    if quantity is not None and quantity.checks:
        assert reader == quantity.checks, (text, reader, quantity)
    elif reader is not None and quantity is not None:
        assert reader == (), (text, reader, quantity)

"""Random formulas built from real fragments: the parser either reads them or raises one of
its own exceptions, and evaluation either gives a 2-D float64 array or one of its own errors
(never another exception, never a hang)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.assignments.hw1.answers.evaluate import EvalError, evaluate
from grader.assignments.hw1.answers.grade import grade_sheet
from grader.assignments.hw1.answers.mathlex import MathInputError
from grader.assignments.hw1.answers.mathparse import parse_statements

from .math_support import build_sheet, setting

LATEX = [r"\frac{\partial l}{\partial W^{(1)}}", r"\frac{", "}{", "}", "{", r"\hat{y}", "y", "x", "z_1", "z_2",
         r"z_{1,i}", r"W^{(2)}", r"b^{(1)}", "^T", r"^\top", "_i", "_{ij}", "(", ")", "[", "]", r"\left(", r"\right)",
         "+", "-", r"\cdot", r"\odot", "=", "&", r"\\", ",", r"\sigma", "f'", r"\text{ReLU}", r"\max(", "0", "1",
         "2", r"\sum_{i=1}^K", r"\delta_{ij}", r"\mathbb{1}[", ">", r"\diag(", r"\|", "|", r"\begin{bmatrix}",
         r"\end{bmatrix}", r"\begin{cases}", r"\end{cases}", r"\cdots", r"\vdots", r"\ddots", r"\text{if }",
         r"\text{otherwise}", "I_K", r"\log", r"\exp", "e^{-z}", r"\eta", r"\leftarrow", "'", "^+", r"\nabla_W",
         r"\mathbbm{1}_{[0,\infty)}", "K", "d", r"\boldsymbol{", r"\eqref{eq:a}", "/", "*", "%", "$", "ŷ", "ᵀ", "∂"]
PLAIN = ["dL/dW_1", "dl/dy_hat", "x", "y_hat", "W1", "b1", "z1", "*", "·", "⊙", "(", ")", "[", "]", "^T", "ᵀ", "+",
         "-", "=", "max(", ",", "0", "1[", ">", "]", "||", "|", "sum_i", "_i", "σ", "'", "δ2", "ℓ", "∂", "/", " ",
         "<-", "lr", "diag(", "relu", "...", "⋮", "²", "₁"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(st.sampled_from(LATEX), max_size=14), syntax=st.sampled_from(["latex", "plain"]))
def test_random_latex_never_escapes_the_parser_exceptions(pieces: list[str], syntax: str) -> None:
    _read_and_evaluate("".join(pieces), syntax)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(st.sampled_from(PLAIN), max_size=14))
def test_random_plain_math_never_escapes_the_parser_exceptions(pieces: list[str]) -> None:
    _read_and_evaluate(" ".join(pieces), "plain")


def _read_and_evaluate(text: str, syntax: str) -> None:
    try:
        statements = parse_statements(text, syntax, labels={"eq:a": "x"})
    except MathInputError as error:
        assert error.reason
        return
    env, _ = setting()
    for statement in statements:
        try:
            value = evaluate(statement.answer, env, (3, 3))
        except EvalError as error:
            assert error.reason
            continue
        assert isinstance(value, np.ndarray) and value.ndim == 2 and value.dtype == np.float64


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(st.sampled_from(LATEX), min_size=1, max_size=10))
def test_grade_sheet_gives_a_verdict_for_any_answer(pieces: list[str]) -> None:
    text = "".join(pieces)
    verdicts = grade_sheet(build_sheet({("q1_2", "grad_W1"): text, ("q1_2", "sgd_update_b"): text,
                                        ("q1_3a", "jac_dz2_dz1"): text}))
    for verdict in verdicts:
        assert verdict.status in ("pass", "fail", "error", "review")
        assert verdict.code != "grader_error", verdict.message

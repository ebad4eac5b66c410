"""The reference expressions (shown to students as the expected answer) against the oracle,
for every variant, question and layout, on Hypothesis-chosen sizes and seeds; the variants'
extra activation and loss against the oracle's own path; rendering round trips; classify."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.assignments.hw1.answers import expected as expected_module
from grader.assignments.hw1.answers.model import QUESTION_CHECKS
from grader.assignments.hw1.answers.classify import classify, classify_text
from grader.assignments.hw1.answers.evaluate import evaluate
from grader.assignments.hw1.answers.expected import draw, environment, oracle_values, raw_values
from grader.assignments.hw1.answers.mathparse import parse_expression
from grader.assignments.hw1.answers.render import PLAIN_STYLE, Style, detect_style, render
from grader.assignments.hw1.answers.variants import VARIANTS, Case, reference_latex

from .math_support import same

ITEMS = [c for c in QUESTION_CHECKS["q1_2"] if not c.startswith("sgd_")]


@st.composite
def distinct_dims(draw_: st.DrawFn) -> tuple[int, int, int]:
    """(n, d, K) all different, K != 2."""
    n = draw_(st.integers(1, 7))
    d = draw_(st.integers(1, 7).filter(lambda v: v != n))
    k = draw_(st.integers(1, 7).filter(lambda v: v not in (n, d, 2)))
    return n, d, k


def _value(text: str, case: Case, dims: tuple[int, int, int], seed: int, layout: str,
           style: Style | None = None) -> tuple[np.ndarray, dict[str, np.ndarray], str]:
    sample = draw(seed, dims, case)
    env = environment(case, sample, raw_values(case, sample), "row" if layout == "numerator" else "column",
                      parameter_gradients=layout)
    expr = parse_expression(text)
    if style is not None:
        expr = parse_expression(render(expr, style), style.syntax)
    shape = oracle_values(case, sample, layout)
    return evaluate(expr, env, jacobian=True), shape, render(expr)


@pytest.mark.parametrize("layout", ["numerator", "mixed"])
@pytest.mark.parametrize("variant,question", [(v, q) for v in VARIANTS for q in ("q1_2", "q1_3a", "q1_3b")])
@settings(max_examples=4, deadline=None)
@given(dims=distinct_dims(), seed=st.integers(0, 2**31 - 1))
def test_every_reference_equals_the_oracle(variant: str, question: str, layout: str, dims: tuple[int, int, int],
                                           seed: int) -> None:
    case = VARIANTS[variant].case(question)
    for check in ITEMS:
        got, expected, _ = _value(reference_latex(check, case, layout), case, dims, seed, layout)
        assert same(got, expected[check]), (variant, question, layout, check)
    for check, parameter in (("sgd_update_W1", "W1"), ("sgd_update_W2", "W2"), ("sgd_update_b", "b1")):
        got, expected, _ = _value(reference_latex(check, case, layout), case, dims, seed, layout)
        assert same(got, expected["update_" + parameter])
    got, expected, _ = _value(reference_latex("sgd_update_b", case, layout, "b^{(2)}"), case, dims, seed, layout)
    assert same(got, expected["update_b2"])


@pytest.mark.parametrize("style", [Style(), Style(layer="sub", transpose="T", bold="\\boldsymbol", loss="\\ell"),
                                   Style(layer="plain", hidden="plain"), PLAIN_STYLE], ids=str)
def test_rendered_references_read_back_to_the_same_value(style: Style) -> None:
    case = VARIANTS["sp21"].case("q1_3b")
    for check in ITEMS:
        text = reference_latex(check, case, "numerator")
        original, expected, _ = _value(text, case, (3, 4, 5), 7, "numerator")
        again, _, _ = _value(text, case, (3, 4, 5), 7, "numerator", style)
        assert same(again, original) and same(again, expected[check]), (check, style)


def test_variant_extension_agrees_with_the_oracle_path() -> None:
    """The torch path used for 5relu and mse_half, run on the oracle's own names, gives the
    oracle's values (so the extension computes what the oracle would)."""
    for case in (Case("relu", "identity", "mse"), Case("sigmoid", "sigmoid", "bce"), Case("tanh", "sigmoid", "mse")):
        sample = draw(3, (4, 3, 5), case)
        mine = expected_module._extended(case, sample.values)
        oracle = expected_module._oracle(case, sample.values)
        for key, value in oracle.items():
            assert same(mine[key], value), (case, key)


def test_detect_style_reads_the_sheet_habits() -> None:
    style = detect_style([r"\frac{\partial \ell}{\partial W_1} = x^T", r"W_2 z_1 + b_2", r"\boldsymbol{x}"])
    assert (style.layer, style.transpose, style.bold, style.loss) == ("sub", "T", "\\boldsymbol", "\\ell")
    assert detect_style([r"W^{(1)}x + b^{(1)}", r"(\hat y - y)^\top"]).layer == "paren"


LHS = {
    r"\frac{\partial l}{\partial W^{(1)}}": ("grad", "W1"),
    r"\frac{\partial \ell_{\text{MSE}}}{\partial \boldsymbol{W^{(1)}}}": ("grad", "W1"),
    r"\frac{\partial L}{\partial \mathbf{b}_2}": ("grad", "b2"),
    r"\frac{d l}{d W_2}": ("grad", "W2"),
    r"\nabla_{W_1} \ell": ("grad", "W1"),
    r"\frac{\partial l}{\partial \hat{y}}": ("jac", "dl_dyhat"),
    r"\frac{\partial \hat{\boldsymbol{y}}}{\partial \boldsymbol{z}_3}": ("jac", "dyhat_dz3"),
    r"\left(\frac{\partial z_2}{\partial z_1}\right)_{ij}": ("jac", "dz2_dz1"),
    r"\frac{\partial z_{2,i}}{\partial z_{1,j}}": ("jac", "dz2_dz1"),
    r"\frac{\partial l}{\partial z_3}": ("deriv", "dloss_dz3"),
    r"z_1": ("forward", "z1"), r"\boldsymbol{z}_2": ("forward", "z2"), r"\hat y": ("forward", "y_hat"),
    r"l_{MSE}(y, \hat y)": ("forward", "loss"), r"\ell": ("forward", "loss"),
    r"W^{(2)}": ("update", "W2"), r"W^{(i)}": ("update", "W_i"), r"\theta": ("update", "theta"),
    r"\delta_2": ("symbol", "delta2"),
}


@pytest.mark.parametrize("text", list(LHS))
def test_classify_names_the_quantity(text: str) -> None:
    quantity = classify(parse_expression(text))
    assert quantity is not None and (quantity.kind, quantity.name) == LHS[text]


def test_classify_plain_text_and_renamings() -> None:
    assert classify_text("dL/dW_1", "plain").check == "grad_W1"  # type: ignore[union-attr]
    assert classify_text("∂ℓ/∂y_hat", "plain").check == "dl_dyhat"  # type: ignore[union-attr]
    assert classify_text(r"W^{(i)} \leftarrow W^{(i)} - \eta g").checks == ("sgd_update_W1",  # type: ignore
                                                                              "sgd_update_W2")
    renamed = classify(parse_expression(r"\frac{\partial a_1}{\partial s_1}"), {"a1": "z2", "s1": "z1"})
    assert renamed is not None and renamed.check == "jac_dz2_dz1"
    indexed = classify(parse_expression(r"\frac{\partial l}{\partial \hat{y}_i}"))
    assert indexed is not None and indexed.check == "dl_dyhat" and len(indexed.indices) == 1
    assert classify_text(r"\foo") is None

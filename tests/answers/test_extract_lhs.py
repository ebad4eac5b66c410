"""Recognising which quantity a left-hand side names, in every notation of the sheets."""

from __future__ import annotations

import pytest

from grader.assignments.hw1.answers.lhs import classify_lhs, forward_role, parse_symbol, canonical


@pytest.mark.parametrize("text, check", [
    (r"\frac{\partial l}{\partial W^{(1)}}", "grad_W1"),
    (r"\frac{\partial l}{\partial \boldsymbol{W^{(1)}}}", "grad_W1"),
    (r"\frac{\partial \ell}{\partial \mathbf{W}^{(2)}}", "grad_W2"),
    (r"\frac{\partial l_{MSE}}{\partial \bm{b}^{(1)}}", "grad_b1"),
    (r"\dfrac{\partial \ell_{\text{MSE}}}{\partial b_2}", "grad_b2"),
    (r"\frac{d L}{d W_1}", "grad_W1"),
    (r"\frac{\mathrm{d} \ell}{\mathrm{d} \mathbf{W}_1}", "grad_W1"),
    ("dL/dW_1", "grad_W1"),
    ("dl/dW1", "grad_W1"),
    ("\u2202\u2113/\u2202W\u2081", "grad_W1"),
    ("\u2202\u2113/\u2202b2", "grad_b2"),
    (r"\partial \ell / \partial W^{(2)}", "grad_W2"),
    (r"\nabla_{W^{(1)}} \ell", "grad_W1"),
    ("dW1", "grad_W1"),
    (r"\frac{\partial l}{\partial \hat{y}}", "dl_dyhat"),
    (r"\frac{\partial \ell}{\partial \hat{\bm{y}}}", "dl_dyhat"),
    (r"\frac{\partial l}{\partial \boldsymbol{\hat{y}}}", "dl_dyhat"),
    ("\u2202\u2113/\u2202y_hat", "dl_dyhat"),
    ("\u2202\u2113/\u2202\u0177", "dl_dyhat"),
    ("dL/dy_hat", "dl_dyhat"),
    (r"\frac{\partial z_2}{\partial z_1}", "jac_dz2_dz1"),
    (r"\frac{\partial \boldsymbol{z}_2}{\partial \boldsymbol{z}_1}", "jac_dz2_dz1"),
    ("dz2/dz1", "jac_dz2_dz1"),
    ("\u2202z\u2082/\u2202z\u2081", "jac_dz2_dz1"),
    (r"\frac{\partial \hat{y}}{\partial z_3}", "jac_dyhat_dz3"),
    ("dy_hat/dz3", "jac_dyhat_dz3"),
    (r"\frac{\partial f}{\partial z_1}", "jac_dz2_dz1"),
    ("z_1", "forward_z1"),
    (r"\boldsymbol{z}_2", "forward_z2"),
    ("z3", "forward_z3"),
    (r"\hat{y}", "forward_yhat"),
    ("y_hat", "forward_yhat"),
    ("\u0177", "forward_yhat"),
    (r"l_{MSE}(\boldsymbol{y}, \boldsymbol{\hat{y}})", "forward_loss"),
    (r"\ell", "forward_loss"),
    ("L", "forward_loss"),
    (r"\text{Linear}_1(x)", "forward_z1"),
    (r"\mathrm{Linear}_2(z_2)", "forward_z3"),
    ("f(z_1)", "forward_z2"),
    ("g(z_3)", "forward_yhat"),
])
def test_named_items(text: str, check: str):
    meaning = classify_lhs(text)
    assert meaning is not None and meaning.check == check, meaning


@pytest.mark.parametrize("text", [
    r"\left(\frac{\partial z_2}{\partial z_1}\right)_{ij}",
    r"\left[\frac{\partial \hat{y}}{\partial z_3}\right]_{ii}",
    r"\frac{\partial z_{2,i}}{\partial z_{1,j}}",
    r"\frac{\partial \ell}{\partial \hat{y}_i}",
    r"\left(\frac{\partial \ell}{\partial \hat{\boldsymbol{y}}}\right)_{1j}",
    "(dz2/dz1)_ij",
])
def test_element_wise_left_hand_sides_are_indexed(text: str):
    meaning = classify_lhs(text)
    assert meaning is not None and meaning.check is not None and meaning.indexed


@pytest.mark.parametrize("text, parameter", [
    ("W^{(1)}", "W1"), (r"\boldsymbol{W^{(2)}}", "W2"), ("b_1", "b1"), ("W1", "W1"), ("W_1^{new}", "W1"),
    ("W^{(i)}", "W*"), ("W^{(l)}", "W*"), ("b^{(i)}", "b*"), ("W", "W*"), (r"\theta", "theta"), ("\u03b8", "theta"),
])
def test_parameters(text: str, parameter: str):
    meaning = classify_lhs(text)
    assert meaning is not None and meaning.parameter == parameter


@pytest.mark.parametrize("text, symbol", [
    (r"\delta_2", "delta2"), (r"\delta^{(2)}", "delta2"), ("\u03b42", "delta2"), ("s^{(1)}", "s1"), ("a1", "a1"),
    (r"\frac{\partial \ell}{\partial z_3}", "dl/dz3"), ("dL/dz1", "dl/dz1"),
])
def test_other_symbols_are_for_definitions(text: str, symbol: str):
    meaning = classify_lhs(text)
    assert meaning is not None and meaning.check is None and meaning.symbol == symbol


@pytest.mark.parametrize("text", ["Since z_2", r"\sigma'(t)", "f(x)", "i", "err", r"\frac{a}{b}", ""])
def test_unrecognised(text: str):
    meaning = classify_lhs(text)
    assert meaning is None or (meaning.check is None and meaning.parameter is None)


def test_z_superscript_is_the_handout_z1_unless_the_sheet_renames_it():
    assert classify_lhs("z^{(1)}").check == "forward_z1"  # type: ignore[union-attr]
    renamed = classify_lhs("z^{(1)}", renames={"zP1": "z2", "s1": "z1"})
    assert renamed is not None and renamed.check == "forward_z2" and renamed.symbol == "zP1"
    jac = classify_lhs(r"\frac{\partial z^{(1)}}{\partial s^{(1)}}", renames={"zP1": "z2", "s1": "z1"})
    assert jac is not None and jac.check == "jac_dz2_dz1"


@pytest.mark.parametrize("rhs, role", [
    ("W^{(1)} x + b^{(1)}", "z1"), (r"\boldsymbol{W}_1 \boldsymbol{x} + \boldsymbol{b}_1", "z1"),
    ("f(s_1)", "z2"), (r"\text{ReLU}(s^{(1)})", "z2"), (r"\max(s1, 0)", "z2"), ("(s_1)^+", "z2"),
    (r"\sigma(s_1)", "z2"), ("W_2 a_1 + b_2", "z3"), ("g(s_2)", "yhat"), ("s_2", "yhat"), ("W_2 x + b_2", None),
])
def test_forward_roles_of_definitions(rhs: str, role: str | None):
    renames = {"s1": "z1", "a1": "z2", "s2": "z3"}
    assert forward_role(rhs, renames) == role


def test_symbols_keep_their_element_index_apart():
    assert parse_symbol(canonical("z_{1,i}")).element  # type: ignore[union-attr]
    assert parse_symbol(canonical("(z_1)_i")).element  # type: ignore[union-attr]
    assert parse_symbol(canonical(r"\hat{y}_i")).name == "yhat"  # type: ignore[union-attr]
    assert parse_symbol(canonical("z^{(1)}_i")).name == "zP1"  # type: ignore[union-attr]

"""Every notation real answer sheets use, parsed and evaluated against the float64 oracle.

Each case is a realistic snippet (written for these tests) that must evaluate to exactly the
oracle's value of the item it answers, on draws where n, d and K all differ and K != 2; each
WRONG spelling next to it must not (a real mistake is never forgiven as notation).
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.assignments.hw1.answers.model import Macro
from grader.assignments.hw1.answers.evaluate import EvalError, ShapeError
from grader.assignments.hw1.answers.mathexpr import Sym
from grader.assignments.hw1.answers.mathparse import parse_expression

from .math_support import DIMS, element_formula, same, setting, value_of

# (question, variant, check, syntax, text); the expected value is the oracle's for `check`.
RIGHT = [
    # derivative of the loss by y_hat, as a row (numerator layout), every transpose spelling
    ("q1_2", "sp21", "dl_dyhat", "latex", r"2(\hat{y} - y)^\top"),
    ("q1_2", "sp21", "dl_dyhat", "latex", r"2(\hat{y} - y)^T"),
    ("q1_2", "sp21", "dl_dyhat", "latex", r"2\left(\hat y-y\right)^{T}"),
    ("q1_2", "sp21", "dl_dyhat", "latex", r"2(\hat{y}-y)^{\text{T}}"),
    ("q1_2", "sp21", "dl_dyhat", "latex", r"2\bm{{(\hat{y}-y)}^T}"),
    ("q1_2", "sp21", "dl_dyhat", "latex", r"-2\left(\boldsymbol{y} - \boldsymbol{\hat{y}}\right)^\top"),
    ("q1_2", "sp21", "dl_dyhat", "latex", r"2(\hat{y}^\top - y^\top)"),
    ("q1_2", "sp21", "dl_dyhat", "plain", "2(ŷ - y)ᵀ"),
    ("q1_2", "sp21", "dl_dyhat", "plain", "2 * (y_hat - y)^T"),
    ("q1_2", "sp21", "dl_dyhat", "latex",
     r"\begin{bmatrix} 2(\hat{y}_1 - y_1) & 2(\hat{y}_2 - y_2) & \cdots & 2(\hat{y}_K - y_K) \end{bmatrix}"),
    ("q1_2", "sp21", "dl_dyhat", "latex",
     r"\begin{pmatrix} 2(\hat{y}_0 - y_0) & \dots & 2(\hat{y}_{K-1} - y_{K-1}) \end{pmatrix}"),
    # forward pass: weights W^{(1)} / W_1 / W1, bold wrappers, Linear_1
    ("q1_2", "sp21", "forward_z1", "latex", r"W^{(1)}x + b^{(1)}"),
    ("q1_2", "sp21", "forward_z1", "latex", r"\boldsymbol{W^{(1)}}\boldsymbol{x} + \boldsymbol{b^{(1)}}"),
    ("q1_2", "sp21", "forward_z1", "latex", r"\mathbf{W}^{(1)}\mathbf{x}+\mathbf{b}^{(1)}"),
    ("q1_2", "sp21", "forward_z1", "latex", r"\bm{W}_1 \bm{x} + \bm{b}_1"),
    ("q1_2", "sp21", "forward_z1", "latex", r"\text{Linear}_1(\boldsymbol{x})"),
    ("q1_2", "sp21", "forward_z1", "plain", "W_1 * x + b_1"),
    ("q1_2", "sp21", "forward_z1", "plain", "W1·x + b1"),
    ("q1_2", "sp21", "forward_z1", "plain", "W⁽¹⁾x + b⁽¹⁾"),
    # ReLU spellings
    ("q1_2", "sp21", "forward_z2", "latex", r"\text{ReLU}(z_1)"),
    ("q1_2", "sp21", "forward_z2", "latex", r"(\boldsymbol{z}_1)^+"),
    ("q1_2", "sp21", "forward_z2", "latex", r"\max(z_1, 0)"),
    ("q1_2", "sp21", "forward_z2", "latex", r"\max(0, \mathbf{z_1})"),
    ("q1_2", "sp21", "forward_z2", "latex", r"f(\text{Linear}_1(x))"),
    ("q1_2", "sp21", "forward_z2", "latex", r"\mathrm{ReLU}(W_1 x + b_1)"),
    ("q1_2", "sp21", "forward_z2", "plain", "max(z_1, 0)"),
    ("q1_2", "sp21", "forward_z2", "plain", "relu(W1 x + b1)"),
    ("q1_2", "sp21", "forward_z3", "latex", r"W^{(2)} z_2 + b^{(2)}"),
    ("q1_2", "sp21", "forward_z3", "latex", r"W_2\,\text{ReLU}(W_1 x + b_1) + b_2"),
    ("q1_2", "sp21", "forward_yhat", "latex", r"z_3"),
    ("q1_2", "sp21", "forward_yhat", "latex", r"I(z_3)"),
    ("q1_2", "sp21", "forward_yhat", "latex", r"g(\boldsymbol{z}_3)"),
    # the loss: norms, sums (1- and 0-based), the loss function itself
    ("q1_2", "sp21", "forward_loss", "latex", r"\Vert \boldsymbol{y} - \boldsymbol{\hat{y}} \Vert^2"),
    ("q1_2", "sp21", "forward_loss", "latex", r"\|\hat{y} - y\|^2"),
    ("q1_2", "sp21", "forward_loss", "latex", r"\left\| y - \hat y \right\|_2^2"),
    ("q1_2", "sp21", "forward_loss", "latex", r"\norm{y - \hat{y}}^2"),
    ("q1_2", "sp21", "forward_loss", "plain", "||y - y_hat||^2"),
    ("q1_2", "sp21", "forward_loss", "plain", "‖y − ŷ‖²"),
    ("q1_2", "sp21", "forward_loss", "latex", r"\sum_{i=1}^{K} (y_i - \hat{y}_i)^2"),
    ("q1_2", "sp21", "forward_loss", "latex", r"\sum_i (y_i - \hat{y_i})^2"),
    ("q1_2", "sp21", "forward_loss", "latex", r"\sum_{i=0}^{K-1}\left(\hat y_i - y_i\right)^2"),
    ("q1_2", "sp21", "forward_loss", "latex", r"(y - \hat{y})^\top (y - \hat{y})"),
    ("q1_2", "sp21", "forward_loss", "latex", r"\ell_{\text{MSE}}(\hat{y}, y)"),
    ("q1_2", "sp21", "forward_loss", "latex", r"l_{MSE}(g(z_3), y)"),
    # Jacobians of ReLU: diag, indicators, sign, gated on z2, patterns, the derivative as the matrix
    ("q1_2", "sp21", "jac_dz2_dz1", "latex", r"\diag(\mathbb{1}[z_1 > 0])"),
    ("q1_2", "sp21", "jac_dz2_dz1", "latex", r"\operatorname{diag}\left(\mathbbm{1}_{[0,\infty)}(z_1)\right)"),
    ("q1_2", "sp21", "jac_dz2_dz1", "latex", r"\mathbbm{1}_{[0,\infty)}(z_1)"),
    ("q1_2", "sp21", "jac_dz2_dz1", "latex", r"\text{diag}(\max(0, \text{sign}(z_1)))"),
    ("q1_2", "sp21", "jac_dz2_dz1", "latex", r"\diag(\mathbb{1}[z_2 > 0])"),
    ("q1_2", "sp21", "jac_dz2_dz1", "latex", r"f'(z_1)"),
    ("q1_2", "sp21", "jac_dz2_dz1", "latex", r"\text{ReLU}'(\boldsymbol{z}_1)"),
    ("q1_2", "sp21", "jac_dz2_dz1", "latex",
     r"\diag\left(\begin{cases} 1 & z_1 > 0 \\ 0 & \text{otherwise} \end{cases}\right)"),
    ("q1_2", "sp21", "jac_dz2_dz1", "latex", r"\diag\{f'(z_{1,1}), \ldots, f'(z_{1,d})\}"),
    ("q1_2", "sp21", "jac_dz2_dz1", "latex",
     r"\begin{bmatrix} f'(z_{1,1}) & 0 & \cdots & 0 \\ 0 & f'(z_{1,2}) & \cdots & 0 \\ "
     r"\vdots & \vdots & \ddots & \vdots \\ 0 & 0 & \cdots & f'(z_{1,d}) \end{bmatrix}"),
    ("q1_2", "sp21", "jac_dz2_dz1", "latex",
     r"\left[\begin{array}{ccc} \mathbb{1}[z_{11} > 0] & \cdots & 0 \\ \vdots & \ddots & \vdots \\ "
     r"0 & \cdots & \mathbb{1}[z_{1d} > 0] \end{array}\right]"),
    ("q1_2", "sp21", "jac_dz2_dz1", "plain", "diag(1[z1 > 0])"),
    # Jacobian of the identity g: I, I_K, bold I, a written identity pattern
    ("q1_2", "sp21", "jac_dyhat_dz3", "latex", r"I"),
    ("q1_2", "sp21", "jac_dyhat_dz3", "latex", r"I_K"),
    ("q1_2", "sp21", "jac_dyhat_dz3", "latex", r"\mathbf{I}"),
    ("q1_2", "sp21", "jac_dyhat_dz3", "latex", r"\mathbf{I}_{K \times K}"),
    ("q1_2", "sp21", "jac_dyhat_dz3", "latex", r"g'(z_3)"),
    ("q1_2", "sp21", "jac_dyhat_dz3", "latex",
     r"\begin{bmatrix} 1 & 0 & \cdots & 0 \\ 0 & 1 & \cdots & 0 \\ \vdots & & \ddots & \vdots \\ "
     r"0 & 0 & \cdots & 1 \end{bmatrix}"),
    # gradients from the allowed symbols (numerator layout), and expanded
    ("q1_2", "sp21", "grad_W1", "latex",
     r"x \frac{\partial l}{\partial \hat{y}} \frac{\partial \hat{y}}{\partial z_3} W^{(2)}"
     r" \frac{\partial z_2}{\partial z_1}"),
    ("q1_2", "sp21", "grad_W1", "latex",
     r"\boldsymbol{x}\frac{\partial l}{\partial \boldsymbol{\hat{y}}}\frac{\partial \boldsymbol{\hat{y}}}"
     r"{\partial \boldsymbol{z}_3}\boldsymbol{W^{(2)}}\frac{\partial \boldsymbol{z}_2}{\partial \boldsymbol{z}_1}"),
    ("q1_2", "sp21", "grad_W1", "latex", r"x \cdot 2(\hat{y} - y)^\top W^{(2)} \diag(\mathbb{1}[z_1 > 0])"),
    ("q1_2", "sp21", "grad_W1", "latex", r"\boldsymbol{x}\, 2(\hat y - y)^\top W_2 \, f'(z_1)"),
    ("q1_2", "sp21", "grad_W1", "plain", "x · (∂ℓ/∂ŷ) · (∂ŷ/∂z3) · W2 · (∂z2/∂z1)"),
    ("q1_2", "sp21", "grad_W1", "plain", "x * dL/dy_hat * dy_hat/dz_3 * W_2 * dz_2/dz_1"),
    ("q1_2", "sp21", "grad_b1", "latex",
     r"\frac{\partial l}{\partial \hat{y}}\frac{\partial \hat{y}}{\partial z_3}W^{(2)}"
     r"\frac{\partial z_2}{\partial z_1}"),
    ("q1_2", "sp21", "grad_b1", "latex", r"2(\hat{y}-y)^T W_2 \odot \mathbb{1}[z_1 > 0]^T"),
    ("q1_2", "sp21", "grad_W2", "latex",
     r"z_2 \frac{\partial l}{\partial \hat{y}} \frac{\partial \hat{y}}{\partial z_3}"),
    ("q1_2", "sp21", "grad_W2", "latex", r"\text{ReLU}(W^{(1)}x + b^{(1)}) \cdot 2(\hat{y} - y)^\top"),
    ("q1_2", "sp21", "grad_W2", "plain", "z2 * 2(y_hat - y)^T"),
    ("q1_2", "sp21", "grad_b2", "latex", r"\frac{\partial l}{\partial \hat{y}} \frac{\partial \hat{y}}{\partial z_3}"),
    ("q1_2", "sp21", "grad_b2", "latex", r"\frac{d l}{d \hat{y}} I"),
    # 1.3(a): sigmoid derivative spellings
    ("q1_3a", "sp21", "jac_dz2_dz1", "latex", r"\diag(\sigma(z_1)(1-\sigma(z_1)))"),
    ("q1_3a", "sp21", "jac_dz2_dz1", "latex", r"\diag(z_2 \odot (1 - z_2))"),
    ("q1_3a", "sp21", "jac_dz2_dz1", "latex", r"\diag(\boldsymbol{z}_2(1-\boldsymbol{z}_2))"),
    ("q1_3a", "sp21", "jac_dz2_dz1", "latex", r"\sigma'(z_1)"),
    ("q1_3a", "sp21", "jac_dz2_dz1", "latex", r"\diag\left(\frac{\exp(-z_1)}{(1+\exp(-z_1))^2}\right)"),
    ("q1_3a", "sp21", "jac_dz2_dz1", "latex", r"\diag\left(\frac{e^{-z_1}}{\left(1+e^{-z_1}\right)^2}\right)"),
    ("q1_3a", "sp21", "jac_dyhat_dz3", "latex", r"\diag(\hat{y}(1-\hat{y}))"),
    ("q1_3a", "sp21", "jac_dyhat_dz3", "latex", r"\diag(\hat{y} \circ (\boldsymbol{1} - \hat{y}))"),
    ("q1_3a", "sp21", "jac_dyhat_dz3", "plain", "diag(ŷ ⊙ (1 − ŷ))"),
    ("q1_3a", "sp21", "jac_dyhat_dz3", "plain", "diag(sigma(z3) * (1 - sigma(z3)))"),
    ("q1_3a", "sp21", "forward_yhat", "latex", r"\sigma(z_3)"),
    ("q1_3a", "sp21", "forward_yhat", "latex", r"\frac{1}{1 + \exp(-z_3)}"),
    ("q1_3a", "sp21", "forward_yhat", "latex", r"\frac{1}{1 + e^{-z_3}}"),
    ("q1_3a", "sp21", "grad_b2", "latex", r"2(\hat y - y)^\top \diag(\hat y \odot (1 - \hat y))"),
    ("q1_3a", "sp21", "grad_b2", "latex", r"(2(\hat y - y) \odot \hat y \odot (1 - \hat y))^\top"),
    # 1.3(b): binary cross-entropy
    ("q1_3b", "sp21", "forward_loss", "latex",
     r"-\frac{1}{K}\sum_{i=1}^{K}\left[y_i\log\hat{y}_i + (1-y_i)\log(1-\hat{y}_i)\right]"),
    ("q1_3b", "sp21", "forward_loss", "latex", r"-\frac1K\left(y^\top \log \hat y + (1-y)^\top\log(1-\hat y)\right)"),
    ("q1_3b", "sp21", "forward_loss", "plain", "-(1/K) * sum_i (y_i log(y_hat_i) + (1 - y_i) log(1 - y_hat_i))"),
    ("q1_3b", "sp21", "dl_dyhat", "latex", r"\frac{1}{K}\left(\frac{1-y}{1-\hat{y}} - \frac{y}{\hat{y}}\right)^\top"),
    ("q1_3b", "sp21", "dl_dyhat", "latex", r"\frac{1}{K}\left(\frac{\hat y - y}{\hat y \odot (1 - \hat y)}\right)^T"),
    ("q1_3b", "sp21", "grad_b2", "latex", r"\frac{1}{K}(\hat{y} - y)^\top"),
    ("q1_3b", "sp21", "grad_W1", "latex", r"\frac{1}{K}\, x (\hat y - y)^\top W^{(2)} \diag(z_2 \odot (1 - z_2))"),
    # fa22: 5 ReLU in 1.2, tanh in 1.3
    ("q1_2", "fa22", "forward_z2", "latex", r"5(z_1)^+"),
    ("q1_2", "fa22", "forward_z2", "latex", r"5\max(0, z_1)"),
    ("q1_2", "fa22", "jac_dz2_dz1", "latex", r"5\,\diag(\mathbb{1}[z_1 > 0])"),
    ("q1_2", "fa22", "jac_dz2_dz1", "latex", r"f'(z_1)"),
    ("q1_3a", "fa22", "jac_dz2_dz1", "latex", r"\diag(\sech^2(z_1))"),
    ("q1_3a", "fa22", "jac_dz2_dz1", "latex", r"\diag(1 - \tanh^2(z_1))"),
    ("q1_3a", "fa22", "jac_dz2_dz1", "latex", r"\diag(1 - z_2 \odot z_2)"),
    ("q1_3a", "fa22", "forward_z2", "latex", r"\tanh(z_1)"),
    # fa20: the half squared error
    ("q1_2", "fa20", "forward_loss", "latex", r"\frac{1}{2}\|y - \hat{y}\|^2"),
    ("q1_2", "fa20", "dl_dyhat", "latex", r"(\hat{y} - y)^\top"),
]

# Real mistakes: each must NOT evaluate to the truth (a wrong value or a shape error).
WRONG = [
    ("q1_2", "sp21", "dl_dyhat", "latex", r"2(\hat{y} - y)"),  # a column where numerator layout wants a row
    ("q1_2", "sp21", "dl_dyhat", "latex", r"(\hat{y} - y)^\top"),  # the factor 2 is missing
    ("q1_2", "sp21", "dl_dyhat", "latex", r"2(y - \hat{y})^\top"),  # the sign
    ("q1_2", "sp21", "forward_loss", "latex", r"\frac{1}{K}\|y - \hat{y}\|^2"),  # a mean where the sum is due
    ("q1_2", "sp21", "forward_loss", "latex", r"(y - \hat{y})(y - \hat{y})^\top"),  # K x K, not a norm
    ("q1_2", "sp21", "forward_z1", "latex", r"x W^{(1)} + b^{(1)}"),
    ("q1_2", "sp21", "forward_z2", "latex", r"z_1"),
    ("q1_2", "sp21", "jac_dz2_dz1", "latex", r"\mathbb{1}[z_1 > 0]^\top"),  # a row, not the matrix
    ("q1_2", "sp21", "jac_dz2_dz1", "latex", r"\diag(\mathbb{1}[z_1 \geq 1])"),
    ("q1_2", "sp21", "grad_W1", "latex",  # parameter-shaped under strict numerator layout
     r"\left(x \frac{\partial l}{\partial \hat{y}} \frac{\partial \hat{y}}{\partial z_3} W^{(2)}"
     r" \frac{\partial z_2}{\partial z_1}\right)^\top"),
    ("q1_2", "sp21", "grad_W2", "latex", r"2(\hat{y} - y) z_2^\top"),
    ("q1_2", "sp21", "grad_b1", "latex", r"W^{(2)\top} 2(\hat{y} - y)"),
    ("q1_3a", "sp21", "jac_dyhat_dz3", "latex", r"\hat y \odot (1 - \hat y)"),  # the diagonal only
    ("q1_3a", "sp21", "jac_dz2_dz1", "latex", r"\diag(\text{ReLU}'(z_1))"),  # 1.2's Jacobian carried over
    ("q1_3b", "sp21", "dl_dyhat", "latex", r"\left(\frac{1-y}{1-\hat{y}} - \frac{y}{\hat{y}}\right)^\top"),  # no 1/K
    ("q1_3b", "sp21", "forward_loss", "latex", r"\|y - \hat y\|^2"),
    ("q1_2", "fa22", "forward_z2", "latex", r"\max(0, z_1)"),  # 1.2 of fa22 has 5 ReLU
]


def _param_id(case: tuple) -> str:
    return f"{case[0]}-{case[1]}-{case[2]}-{case[4][:40]}"


@pytest.mark.parametrize("case", RIGHT, ids=_param_id)
@pytest.mark.parametrize("dims", DIMS, ids=lambda d: "n{}-d{}-K{}".format(*d))
def test_notation_evaluates_to_the_oracle(case: tuple, dims: tuple[int, int, int]) -> None:
    question, variant, check, syntax, text = case
    env, expected = setting(question, variant, dims, seed=11)
    want = expected[check]
    got = value_of(text, env, syntax, jacobian=check.startswith("jac"), expected_shape=want.shape)
    assert same(got, want), f"{text} gave {got.shape} {got.ravel()[:4]}, the oracle {want.shape} {want.ravel()[:4]}"


@pytest.mark.parametrize("case", WRONG, ids=_param_id)
def test_wrong_spelling_is_not_the_truth(case: tuple) -> None:
    """On at least one of the grader's draws the mistake shows (a ReLU mistake may hide on a
    draw where every pre-activation is positive, as it would for the grader)."""
    question, variant, check, syntax, text = case
    differs = []
    for seed, dims in enumerate(DIMS):
        env, expected = setting(question, variant, dims, seed=seed)
        want = expected[check]
        try:
            got = value_of(text, env, syntax, jacobian=check.startswith("jac"), expected_shape=want.shape)
        except ShapeError:
            differs.append(True)
            continue
        differs.append(not same(got, want))
    assert any(differs)


# -- element-wise definitions: (i,j) by cases, δ_ij, (i,i), indexed derivatives --------------

ELEMENT_RIGHT = [
    ("q1_2", "jac_dz2_dz1",
     r"\left(\frac{\partial z_2}{\partial z_1}\right)_{ij} = \delta_{ij}\,\mathbb{1}[z_{1,i} > 0]"),
    ("q1_2", "jac_dz2_dz1", r"\frac{\partial z_{2,i}}{\partial z_{1,j}} = \begin{cases} 1 & \text{if } i = j "
                            r"\text{ and } z_{1i} > 0 \\ 0 & \text{otherwise} \end{cases}"),
    ("q1_2", "jac_dz2_dz1", r"(J)_{ij} = \begin{cases} \mathbb{1}[(z_1)_i > 0] & i = j \\ 0 & i \neq j \end{cases}"),
    ("q1_2", "jac_dz2_dz1", r"\frac{\partial z^{(2)}_i}{\partial z^{(1)}_j} = \delta_{ij} f'(z^{(1)}_j)"),
    ("q1_3a", "jac_dz2_dz1", r"\left(\frac{\partial z_2}{\partial z_1}\right)_{ij} = \delta_{ij}\sigma(z_{1,i})"
                             r"(1 - \sigma(z_{1,i}))"),
    ("q1_3a", "jac_dyhat_dz3", r"\frac{\partial \hat y_i}{\partial z_{3,j}} = \delta_{ij}\hat{y}_i(1-\hat{y}_i)"),
]
ELEMENT_WRONG = [
    # no δ_ij and no off-diagonal branch: the formula describes a full matrix
    ("q1_2", "jac_dz2_dz1", r"\frac{\partial z_{2,i}}{\partial z_{1,j}} = \mathbb{1}[z_{1,j} > 0]"),
    ("q1_3a", "jac_dz2_dz1",
     r"\left(\frac{\partial z_2}{\partial z_1}\right)_{ij} = \sigma(z_{1,j})(1 - \sigma(z_{1,j}))"),
    ("q1_3a", "jac_dyhat_dz3", r"\frac{\partial \hat y_i}{\partial z_{3,j}} = \hat{y}_i(1-\hat{y}_i)"),
]


@pytest.mark.parametrize("question,check,text", ELEMENT_RIGHT)
def test_element_definition_matches_the_oracle(question: str, check: str, text: str) -> None:
    env, expected = setting(question, "sp21", DIMS[2], seed=3)
    want = expected[check]
    got = element_formula(text, env, want.shape, {"i": 0, "j": 1})
    assert same(got, want)


@pytest.mark.parametrize("question,check,text", ELEMENT_WRONG)
def test_element_formula_without_delta_is_a_full_matrix(question: str, check: str, text: str) -> None:
    env, expected = setting(question, "sp21", DIMS[2], seed=3)
    want = expected[check]
    got = element_formula(text, env, want.shape, {"i": 0, "j": 1})
    assert not same(got, want)
    assert np.count_nonzero(got - np.diag(np.diag(got))) > 0


def test_indexed_loss_derivative_fills_the_numerator_row() -> None:
    env, expected = setting("q1_2", "sp21", DIMS[0], seed=2)
    got = element_formula(r"\frac{\partial l}{\partial \hat{y}_i} = 2(\hat{y}_i - y_i)", env, (1, DIMS[0][2]),
                          {"i": 1})
    assert same(got, expected["dl_dyhat"])


# -- macros, references, the sheet's own symbols -----------------------------------------------

def test_sheet_macros_expand() -> None:
    env, expected = setting("q1_2", "sp21", DIMS[1], seed=4)
    macros = {
        "\\dldy": Macro("\\dldy", 0, None, r"\frac{\partial l}{\partial \hat{\boldsymbol{y}}}", "newcommand"),
        "\\pd": Macro("\\pd", 2, None, r"\frac{\partial #1}{\partial #2}", "newcommand"),
        "\\vx": Macro("\\vx", 0, None, r"\boldsymbol{x}", "def"),
    }
    got = value_of(r"\vx \dldy \pd{\hat y}{z_3} W^{(2)} \pd{z_2}{z_1}", env, macros=macros)
    assert same(got, expected["grad_W1"])


def test_macros_defined_in_the_formula_itself() -> None:
    env, expected = setting("q1_3a", "fa22", DIMS[0], seed=8)
    text = (r"\DeclareMathOperator{\sechh}{sech} \newcommand{\dd}[1]{\operatorname{diag}\left(#1\right)}"
            r" \dd{\sechh^2(z_1)}")
    assert same(value_of(text, env), expected["jac_dz2_dz1"])


def test_eqref_stands_for_the_labelled_formula() -> None:
    env, expected = setting("q1_2", "sp21", DIMS[2], seed=6)
    labels = {"eq:dly": r"\frac{\partial l}{\partial \hat y} = 2(\hat y - y)^\top"}
    got = value_of(r"z_2 \eqref{eq:dly}", env, labels=labels)
    assert same(got, expected["grad_W2"])


def test_sheet_definitions_are_substituted() -> None:
    env, expected = setting("q1_2", "sp21", DIMS[0], seed=9)
    env.definitions["delta2"] = parse_expression(r"2(\hat{y} - y)^\top")
    env.definitions["delta1"] = parse_expression(r"\delta^{(2)} W^{(2)} \diag(\mathbb{1}[z_1 > 0])")
    assert same(value_of(r"\boldsymbol{x}\,\delta_1", env), expected["grad_W1"])
    assert same(value_of("δ2", env, "plain"), expected["grad_b2"])


def test_undefined_derivative_is_an_error_not_a_guess() -> None:
    env, _ = setting()
    with pytest.raises(EvalError, match="not defined"):
        value_of(r"\frac{\partial l}{\partial z_3}", env)
    with pytest.raises(EvalError, match="not defined"):
        value_of(r"\frac{\partial l}{\partial W^{(1)}}", env)


def test_renamed_derivative_symbol_follows_the_renaming() -> None:
    env, expected = setting("q1_3a", "sp21", DIMS[1], seed=1)
    env.renames.update({"s1": "z1", "a1": "z2"})
    assert same(value_of(r"\frac{\partial a_1}{\partial s_1}", env), expected["jac_dz2_dz1"])


def test_dl_dyhat_as_a_column_only_conforms_as_a_column() -> None:
    text = r"z_2 \left(\frac{\partial l}{\partial \hat{y}}\right)^\top \frac{\partial \hat y}{\partial z_3}"
    env, expected = setting(dl_dyhat="column")
    assert same(value_of(text, env), expected["grad_W2"])
    env, _ = setting(dl_dyhat="row")
    with pytest.raises(ShapeError):
        value_of(text, env)


def test_update_rule_uses_the_bound_gradient_layout() -> None:
    env, expected = setting(parameter_gradients="numerator")
    right = r"W^{(1)} - \eta \left(\frac{\partial l}{\partial W^{(1)}}\right)^\top"
    assert same(value_of(right, env), expected["update_W1"])
    with pytest.raises(ShapeError):
        value_of(r"W^{(1)} - \eta \frac{\partial l}{\partial W^{(1)}}", env)
    assert same(value_of(r"W_1 - \gamma \nabla_{W_1} \ell", env), expected["update_W1"])


def test_symbol_spellings_are_canonical() -> None:
    spellings = {
        r"W^{(1)}": Sym("W", "1"), r"W_1": Sym("W", "1"), r"\boldsymbol{W^{(1)}}": Sym("W", "1"),
        r"\hat{y}": Sym("y_hat"), r"\hat y": Sym("y_hat"), r"\boldsymbol{\hat{y}}": Sym("y_hat"),
        r"\ell": Sym("loss"), r"L": Sym("loss"), r"z^{(2)}": Sym("z", "2"), r"\delta^{(2)}": Sym("delta", "2"),
    }
    for text, symbol in spellings.items():
        node = parse_expression(text)
        while hasattr(node, "inner"):
            node = node.inner
        assert node == symbol, text
    for text in ("W1", "y_hat", "ŷ", "ℓ", "δ2", "a1"):
        assert isinstance(parse_expression(text, "plain"), Sym), text

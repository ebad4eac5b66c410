"""The homework's variants and the reference expressions shown to students, as data.

A Variant names, per question, the activations f and g and the loss (Case). The reference
expressions are LaTeX in the handout's notation, parsed into the math AST and rendered in the
sheet's own notation for feedback. They never decide a grade: the oracle does, and a test
checks every reference against it for every variant, case and layout.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    """One question's network: activations f, g in relu|sigmoid|tanh|identity|5relu, and the
    loss in mse (||y - y_hat||^2) | mse_half (1/2 ||y - y_hat||^2) | bce (mean over K)."""

    f: str
    g: str
    loss: str

    def describe(self) -> str:
        return f"f = {ACTIVATION_TEXT[self.f]}, g = {ACTIVATION_TEXT[self.g]}, {LOSS_TEXT[self.loss]} loss"


@dataclass(frozen=True)
class Variant:
    """A semester's handout: the case of each question (q1_2, q1_3a, q1_3b, q1_3c)."""

    name: str
    cases: tuple[tuple[str, Case], ...]

    def case(self, question: str) -> Case:
        return dict(self.cases)[question]


ACTIVATION_TEXT = {"relu": "ReLU", "sigmoid": "sigmoid", "tanh": "tanh", "identity": "identity", "5relu": "5 ReLU"}
LOSS_TEXT = {"mse": "squared-error (||y - y_hat||^2)", "mse_half": "half squared-error (1/2 ||y - y_hat||^2)",
             "bce": "binary cross-entropy (mean over the K outputs)"}

VARIANTS: dict[str, Variant] = {
    "sp21": Variant("sp21", (("q1_2", Case("relu", "identity", "mse")), ("q1_3a", Case("sigmoid", "sigmoid", "mse")),
                             ("q1_3b", Case("sigmoid", "sigmoid", "bce")), ("q1_3c", Case("relu", "sigmoid", "bce")))),
    "fa22": Variant("fa22", (("q1_2", Case("5relu", "identity", "mse")), ("q1_3a", Case("tanh", "sigmoid", "mse")),
                             ("q1_3b", Case("tanh", "sigmoid", "bce")), ("q1_3c", Case("relu", "sigmoid", "bce")))),
    "fa20": Variant("fa20", (("q1_2", Case("relu", "identity", "mse_half")),
                             ("q1_3a", Case("sigmoid", "sigmoid", "mse_half")),
                             ("q1_3b", Case("sigmoid", "sigmoid", "bce")), ("q1_3c", Case("relu", "sigmoid", "bce")))),
}

# -- reference expressions (LaTeX, handout notation) ---------------------------------------------

ACTIVATION_OF = {
    "relu": r"\text{ReLU}(%s)", "sigmoid": r"\sigma(%s)", "tanh": r"\tanh(%s)", "identity": r"%s",
    "5relu": r"5\,\text{ReLU}(%s)",
}
JACOBIAN_OF = {
    "relu": r"\diag(\mathbb{1}[%s > 0])",
    "sigmoid": r"\diag(\sigma(%s) \odot (1 - \sigma(%s)))",
    "tanh": r"\diag(1 - \tanh^2(%s))",
    "identity": r"I_{%s}",
    "5relu": r"5\,\diag(\mathbb{1}[%s > 0])",
}
LOSS_OF = {
    "mse": r"\|\hat{y} - y\|^2",
    "mse_half": r"\frac{1}{2}\|\hat{y} - y\|^2",
    "bce": r"-\frac{1}{K}\sum_{i=1}^{K}\left[y_i \log \hat{y}_i + (1 - y_i)\log(1 - \hat{y}_i)\right]",
}
LOSS_GRADIENT_OF = {
    "mse": r"2(\hat{y} - y)",
    "mse_half": r"(\hat{y} - y)",
    "bce": r"\frac{1}{K}\left(\frac{1 - y}{1 - \hat{y}} - \frac{y}{\hat{y}}\right)",
}
DL_DYHAT = r"\frac{\partial l}{\partial \hat{y}}"
DYHAT_DZ3 = r"\frac{\partial \hat{y}}{\partial z_3}"
DZ2_DZ1 = r"\frac{\partial z_2}{\partial z_1}"
GRADIENTS = {
    "numerator": {
        "grad_b2": DL_DYHAT + " " + DYHAT_DZ3,
        "grad_W2": "z_2 " + DL_DYHAT + " " + DYHAT_DZ3,
        "grad_b1": DL_DYHAT + " " + DYHAT_DZ3 + " W^{(2)} " + DZ2_DZ1,
        "grad_W1": "x " + DL_DYHAT + " " + DYHAT_DZ3 + " W^{(2)} " + DZ2_DZ1,
    },
    "mixed": {
        "grad_b2": rf"\left({DYHAT_DZ3}\right)^\top {DL_DYHAT}",
        "grad_W2": rf"\left({DYHAT_DZ3}\right)^\top {DL_DYHAT} z_2^\top",
        "grad_b1": rf"\left({DZ2_DZ1}\right)^\top W^{{(2)\top}} \left({DYHAT_DZ3}\right)^\top {DL_DYHAT}",
        "grad_W1": rf"\left({DZ2_DZ1}\right)^\top W^{{(2)\top}} \left({DYHAT_DZ3}\right)^\top {DL_DYHAT} x^\top",
    },
}
UPDATE_PARAMETER = {"sgd_update_W1": "W^{(1)}", "sgd_update_W2": "W^{(2)}", "sgd_update_b": "b^{(1)}"}


def reference_latex(check: str, case: Case, layout: str, parameter: str | None = None) -> str:
    """The reference answer to `check` under `case` in `layout`, as LaTeX in the handout's
    notation. `parameter` picks b^{(2)} for sgd_update_b (default b^{(1)})."""
    if check.startswith("forward_"):
        return _forward(check, case)
    if check == "jac_dz2_dz1":
        return _jacobian(case.f, "z_1", "d")
    if check == "jac_dyhat_dz3":
        return _jacobian(case.g, "z_3", "K")
    if check == "dl_dyhat":
        gradient = LOSS_GRADIENT_OF[case.loss]
        return gradient + r"^\top" if layout == "numerator" else gradient
    if check in GRADIENTS[layout]:
        return GRADIENTS[layout][check]
    if check in UPDATE_PARAMETER:
        symbol = parameter or UPDATE_PARAMETER[check]
        derivative = rf"\frac{{\partial l}}{{\partial {symbol}}}"
        step = rf"\left({derivative}\right)^\top" if layout == "numerator" else derivative
        return rf"{symbol} - \eta {step}"
    raise KeyError(check)


def _forward(check: str, case: Case) -> str:
    if check == "forward_z1":
        return r"W^{(1)} x + b^{(1)}"
    if check == "forward_z2":
        return ACTIVATION_OF[case.f] % "z_1"
    if check == "forward_z3":
        return r"W^{(2)} z_2 + b^{(2)}"
    if check == "forward_yhat":
        return ACTIVATION_OF[case.g] % "z_3"
    if check == "forward_loss":
        return LOSS_OF[case.loss]
    raise KeyError(check)


def _jacobian(activation: str, variable: str, size: str) -> str:
    template = JACOBIAN_OF[activation]
    if activation == "identity":
        return template % size
    return template.replace("%s", variable)

"""Reports built by hand for the report-format tests: checks that carry evidence the way a failed
check does ({"inputs", "expected", "got"}: name -> nested list), with every expected value from
the oracle (PyTorch float64) and every "got" what a student with that mistake returns.

`HOSTILE` is text a submission controls (its folder name, messages, printed output, file
names), planted in every field a report shows.
"""

from __future__ import annotations

import numpy as np

from grader.assignments.hw1 import oracle
from grader.model.results import CheckResult, GradeReport, Penalty, QuestionResult

from .conftest import SUBMISSIONS

FALL_2022 = next(SUBMISSIONS / name for name in ("correct_fa22", "theory_fa22") if (SUBMISSIONS / name).is_dir())
"""The bundled Fall 2022 theory.py example's folder (renamed once, from theory_fa22)."""

HOSTILE = ('<script>alert("x")</script><img src=x onerror=alert(1)>"\' <a href="https://evil.example/t">'
           "\u202e\x1b[31m&amp;")


def transposed_backward() -> tuple[dict, np.ndarray]:
    """A B=2, n=d=3, K=2 example (f=relu, g=identity): the oracle's gradients, and dJdW1 as a
    student who forgets the transpose returns it."""
    rng = np.random.default_rng(7)
    params = {"W1": rng.normal(size=(3, 3)), "b1": rng.normal(size=3), "W2": rng.normal(size=(2, 3)),
              "b2": rng.normal(size=2)}
    x = rng.normal(size=(2, 3))
    dJdy_hat = rng.normal(size=(2, 2))
    expected = oracle.mlp_param_grads(params, x, "relu", "identity", dJdy_hat)
    evidence = {"inputs": {"x": x.tolist(), "dJdy_hat": dJdy_hat.tolist(), "W1": params["W1"].tolist()},
                "expected": {name: value.tolist() for name, value in expected.items()},
                "got": {name: (value.T if name == "dJdW1" else value).tolist() for name, value in expected.items()}}
    return evidence, expected["dJdW1"]


def scaled_gradient() -> dict:
    """MSE's dJdy_hat (B=2, K=3) from the oracle, and what a student who forgets 1/(B*K) returns."""
    rng = np.random.default_rng(3)
    y, y_hat = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    _, expected = oracle.loss_and_grad("mse", y, y_hat)
    return {"inputs": {"y": y.tolist(), "y_hat": y_hat.tolist()}, "expected": {"dJdy_hat": expected.tolist()},
            "got": {"dJdy_hat": (expected * 6).tolist()}}


def column_instead_of_row() -> dict:
    """theory's dl_dyhat (1,K) from the oracle, and the (K,1) column a student returns."""
    rng = np.random.default_rng(5)
    W1, b1, W2, b2 = rng.normal(size=(3, 2)), rng.normal(size=(3, 1)), rng.normal(size=(2, 3)), rng.normal(size=(2, 1))
    x, y = rng.normal(size=(2, 1)), rng.normal(size=(2, 1))
    expected = oracle.theory_jacobians(x, y, W1, b1, W2, b2, "relu", "identity", "mse")["dl_dyhat"]
    return {"expected": {"dl_dyhat": expected.tolist()}, "got": {"dl_dyhat": expected.T.tolist()}}


def example_report(submission: str = "class/ada", hostile: bool = False) -> GradeReport:
    """A report with a passed check, a transposed gradient, a scaled one, a column for a row, a
    written answer to review and printed output; with `hostile`, student text everywhere."""
    text = HOSTILE if hostile else ""
    evidence, _ = transposed_backward()
    transposed = CheckResult(
        id="mlp.backward[relu-identity]", question="mlp.backward", title="gradients, f=relu, g=identity, loss mse",
        status="fail", score=0.0, max_score=2.78, examples=3, code="transposed",
        message="dJdW1 is transposed: it equals the expected (3,3) matrix transposed" + text,
        counterexample={"B": 2, "n": 3, "d": 3, "K": 2, "f": "relu", "g": "identity", "seed": 1, "loss": "mse"},
        replay="grader grade %s --only 'mlp.backward[relu-identity]' --seed 0" % submission,
        output="debug: shapes (3, 3)\n" + text, location={"file": "mlp.py" + text, "line": 88},
        details={"evidence": evidence, "repro": "import torch\n# run me in your folder\nprint('%s')\n" % text})
    scaled = CheckResult(
        id="mlp.mse_loss[gradient]", question="mlp.mse_loss", title="dJdy_hat", status="fail", score=0.0,
        max_score=2.5, code="scaled", message="dJdy_hat is 6 times the expected" + text,
        details={"evidence": scaled_gradient()})
    column = CheckResult(
        id="theory.jacobians[regression]", question="theory.jacobians", title="1.2: f=relu, g=identity, MSE",
        status="fail", score=0.0, max_score=2.0, code="transposed", message="dl_dyhat has shape (2,1)" + text,
        details={"evidence": column_instead_of_row()})
    written = CheckResult(
        id="answers.q1_2[grad_W1]", question="answers.q1_2", title="grad_W1", status="review", score=0.0,
        max_score=1.0, code=None, message="read with low confidence" + text,
        details={"got_latex": r"\frac{\partial \ell}{\partial W^{(1)}} = \delta_1 x^\top" + text,
                 "expected_latex": r"x \frac{\partial \ell}{\partial z_1}"})
    passed = CheckResult(id="mlp.forward[relu-relu]", question="mlp.forward", title="forward, f=relu, g=relu",
                         status="pass", score=1.0, max_score=1.0, examples=5)
    return GradeReport(
        grader_version="0.1.0", assignment="hw1", submission=submission + text, seed=0, sandbox="bwrap",
        questions=[QuestionResult("mlp.forward", "MLP forward pass", [passed]),
                   QuestionResult("mlp.mse_loss", "MSE loss and its gradient" + text, [scaled]),
                   QuestionResult("mlp.backward", "MLP backward pass", [transposed]),
                   QuestionResult("theory.jacobians", "Jacobians", [column]),
                   QuestionResult("answers.q1_2", "Written answers 1.2", [written])],
        notices=["mlp.ipynb graded as mlp.py" + text],
        penalties=[Penalty("format", 0.5, "format: test1.py should not be submitted" + text)])

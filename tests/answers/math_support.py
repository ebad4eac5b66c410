"""Helpers for the math-layer tests: a formula's value next to the oracle's, on one draw.

Expected values come from the float64 PyTorch oracle (through answers.expected); the helpers
only parse and evaluate the formulas under test.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from grader.assignments.hw1.answers.evaluate import Environment, evaluate, evaluate_elements
from grader.assignments.hw1.answers.expected import draw, environment, oracle_values, raw_values
from grader.assignments.hw1.answers.mathexpr import Expr
from grader.assignments.hw1.answers.mathparse import parse_expression, parse_statements
from grader.assignments.hw1.answers.variants import VARIANTS

# (n, d, K): all different, K != 2.
DIMS = ((3, 4, 5), (5, 3, 4), (4, 6, 3))


def setting(question: str = "q1_2", variant: str = "sp21", dims: tuple[int, int, int] = DIMS[0], seed: int = 0,
            layout: str = "numerator", dl_dyhat: str | None = None,
            parameter_gradients: str | None = None) -> tuple[Environment, dict[str, np.ndarray]]:
    """An environment for `question` of `variant` on one draw, and the oracle's expected values."""
    case = VARIANTS[variant].case(question)
    sample = draw(seed, dims, case)
    raw = raw_values(case, sample)
    expected = oracle_values(case, sample, layout)
    orientation = dl_dyhat or ("row" if layout == "numerator" else "column")
    return environment(case, sample, raw, orientation, parameter_gradients), expected


def value_of(text: str, env: Environment, syntax: str = "latex", jacobian: bool = False,
             macros: Mapping | None = None, labels: Mapping[str, str] | None = None,
             expected_shape: tuple[int, int] | None = None) -> np.ndarray:
    """The value of the (last right-hand side of the) formula."""
    return evaluate(parse_expression(text, syntax, macros, labels), env, expected_shape, jacobian)


def element_formula(text: str, env: Environment, shape: tuple[int, int], variables: Mapping[str, int],
                    syntax: str = "latex") -> np.ndarray:
    """A matrix from an element-wise formula `... = body` (body is the last right-hand side)."""
    body: Expr = parse_statements(text, syntax)[0].answer
    return evaluate_elements(body, env, shape, variables)


def same(got: np.ndarray, want: np.ndarray) -> bool:
    """Same shape and values (float64 round-off only)."""
    return got.shape == want.shape and bool(np.allclose(got, want, rtol=1e-9, atol=1e-12))

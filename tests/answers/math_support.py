"""Helpers for the math-layer tests: a formula's value next to the oracle's, on one draw.

Expected values come from the float64 PyTorch oracle (through answers.expected); the helpers
only parse and evaluate the formulas under test.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from grader.assignments.hw1.answers.model import (
    QUESTION_CHECKS,
    CarryOver,
    Definition,
    ItemAnswers,
    Macro,
    Sheet,
    Snippet,
)
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


# -- hand-built sheets (no dependence on the sheet reader) ---------------------------------------

Answer = str | Snippet | CarryOver | list


def snippet(text: str, syntax: str = "latex", form: str = "equation", context: str | None = None,
            line: int = 1) -> Snippet:
    return Snippet(text, syntax, line, form, context if context is not None else text)  # type: ignore[arg-type]


def unchanged(question: str, check: str, target: str | None = None, words: str = "Nothing changes.") -> CarryOver:
    """A carry-over claim "nothing changes" for `check` (target: where it carries from)."""
    default = "q1_2" if question == "q1_3a" else ("q1_3a" if check in QUESTION_CHECKS["q1_3a"] else "q1_2")
    return CarryOver(check, "unchanged", target or default, snippet(words, "plain", "carry_over"))


def build_sheet(answers: Mapping[tuple[str, str], Answer], syntax: str = "latex",
                definitions: list[tuple[str, str]] | None = None, macros: dict[str, Macro] | None = None,
                labels: dict[str, str] | None = None, human_only: bool = False,
                renames: dict[str, str] | None = None, answered: set[str] | None = None,
                definition_lines: list[int] | None = None) -> Sheet:
    """A Sheet as the reader would produce it: one ItemAnswers per item, the given answers
    chosen (a list: several candidates, the last chosen, conflict set), the rest unmentioned.
    `definitions` sit on `definition_lines` (default 1, 2, ...); `renames` and `answered` as
    Sheet has them (answered None: every question counts as answered)."""
    items: dict[tuple[str, str], ItemAnswers] = {}
    for question, checks in QUESTION_CHECKS.items():
        for check in checks:
            items[(question, check)] = _item(question, check, answers.get((question, check)), syntax)
    lines = definition_lines or [k + 1 for k in range(len(definitions or []))]
    defs = [Definition(lhs, rhs, syntax, line)  # type: ignore[arg-type]
            for line, (lhs, rhs) in zip(lines, definitions or [], strict=True)]
    return Sheet("sheet.tex", "tex", macros=macros or {}, labels=labels or {}, definitions=defs, items=items,
                 human_only=human_only, problems=["PDF only"] if human_only else [], renames=renames or {},
                 answered=frozenset(answered) if answered is not None else None)


def _item(question: str, check: str, answer: Answer | None, syntax: str) -> ItemAnswers:
    item = ItemAnswers(question=question, check=check)
    if answer is None:
        return item
    item.mentioned = True
    if isinstance(answer, CarryOver):
        item.carry_over = answer
        item.chosen = answer.snippet
        item.candidates = [answer.snippet]
        return item
    texts = answer if isinstance(answer, list) else [answer]
    item.candidates = [t if isinstance(t, Snippet) else snippet(t, syntax) for t in texts]
    item.chosen = item.candidates[-1]
    item.conflict = len(item.candidates) > 1
    return item

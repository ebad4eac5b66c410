"""Grade a read answer sheet item by item against the float64 oracle.

    grade_sheet(sheet, settings) -> list[ItemVerdict]

For every item of every question (QUESTION_CHECKS order) the chosen answer is parsed, its
left-hand side checked, and its right-hand side evaluated on several random draws with
n != d != K and K != 2, in the question's case (f, g, loss of the variant). The value is
compared with the oracle's in the rubric's layout and diagnosed with the code-form theory
part's codes (transposed, shape, sign, scaled, wrong_values, nonfinite) plus not_a_gradient
(a forward quantity where a derivative was asked) and missing. dl/dy_hat is tried as a row
and as a column and the sheet's convention is reported. 1.3 carry-overs ("nothing changes",
"same as (3)", an item not mentioned) re-evaluate the earlier answer under 1.3's case.
What cannot be read with confidence is "review" (with the snippet and the expected answer in
the sheet's notation); limits and unreadable bytes are "error" for that item only. Pure:
nothing from the sheet is executed; no file or network access.

Codes by status: fail -> transposed | shape | sign | scaled | wrong_values | nonfinite |
not_a_gradient | missing; review -> unreadable | undefined_symbol | incomplete | mismatch |
concept | human_only; error -> limit | invalid_text | grader_error; pass -> None.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from . import _engine
from .model import QUESTION_CHECKS, Definition, ItemAnswers, Question, Sheet, Snippet
from .classify import Quantity, classify, identity_of
from .evaluate import EvalError, EvalLimit, Environment, ShapeError, UnknownSymbol, evaluate, evaluate_elements
from .expected import Draw, draw, environment, oracle_values, raw_values
from .mathexpr import Deriv, Expr, Num, Statement, Sym, strip_parens, substitute, walk
from .mathlex import DEFAULT_PARSE_LIMITS, InvalidText, LimitExceeded, ParseError, ParseLimits
from .mathparse import parse_expression, parse_statements
from .render import Style, detect_style, render
from .variants import VARIANTS, Case, reference_latex

DIMS = ((3, 4, 5), (5, 3, 4), (4, 6, 3))
QUESTION_TITLES = {"q1_2": "1.2", "q1_3a": "1.3(a)", "q1_3b": "1.3(b)", "q1_3c": "1.3(c)"}
CHECK_TEXT = {
    "sgd_update_W1": "the update of W1", "sgd_update_W2": "the update of W2", "sgd_update_b": "the bias update",
    "forward_z1": "z1", "forward_z2": "z2", "forward_z3": "z3", "forward_yhat": "y_hat", "forward_loss": "the loss",
    "grad_W1": "dl/dW1", "grad_b1": "dl/db1", "grad_W2": "dl/dW2", "grad_b2": "dl/db2",
    "jac_dz2_dz1": "dz2/dz1", "jac_dyhat_dz3": "dy_hat/dz3", "dl_dyhat": "dl/dy_hat",
    "concept_why_relu": "why ReLU is better",
}
VECTOR_CHECKS = ("dl_dyhat", "grad_b1", "grad_b2")
DERIVATIVE_CHECKS = ("grad_W1", "grad_b1", "grad_W2", "grad_b2", "jac_dz2_dz1", "jac_dyhat_dz3", "dl_dyhat")
UPDATE_PARAMETERS = {"sgd_update_W1": ("W1",), "sgd_update_W2": ("W2",), "sgd_update_b": ("b1", "b2")}
FORWARD_NAMES = ("z1", "z2", "z3", "y_hat", "x", "y", "W1", "b1", "W2", "b2", "loss")
HIDDEN = ("z1", "z2", "z3", "y_hat")
NUMERATOR_RULE = {
    "dl_dyhat": "the derivative of a scalar by a (K,1) vector is a (1,K) row",
    "grad_b1": "the derivative of a scalar by a (d,1) vector is a (1,d) row",
    "grad_b2": "the derivative of a scalar by a (K,1) vector is a (1,K) row",
    "grad_W1": "the derivative of a scalar by a (d,n) matrix is an (n,d) matrix",
    "grad_W2": "the derivative of a scalar by a (K,d) matrix is a (d,K) matrix",
}
LAYOUT_TEXT = {"numerator": "numerator layout", "mixed": "mixed layout (gradients shaped like their parameters)"}
_ELSEWHERE = r"(elsewhere|otherwise|off[- ](the[- ])?diagonal|other (entries|elements))"
UNREAD = re.compile(r"not read|plain lines|only the first|ignored|trimmed")
"""A reading problem (Sheet.problems) after which an answer may be missing only for being unread."""
ZERO_ELSEWHERE = re.compile(rf"(0|zero)s?\b.{{0,40}}\b{_ELSEWHERE}|{_ELSEWHERE}.{{0,40}}\b(0|zero)", re.I | re.S)


@dataclass(frozen=True)
class AnswerSettings:
    """How to grade a sheet: the variant (sp21|fa22|fa20), the layout (numerator|mixed), one
    seed per random draw, the tolerance, what an item 1.3 does not mention means
    ("unchanged" | "missing"), parse limits and the time budget of one item in seconds."""

    variant: str = "sp21"
    layout: str = "numerator"
    seeds: tuple[int, ...] = (0, 1, 2)
    tolerance: _engine.Tolerance = field(default_factory=_engine.Tolerance)
    unmentioned_13: str = "unchanged"
    limits: ParseLimits = DEFAULT_PARSE_LIMITS
    item_seconds: float = 5.0


@dataclass
class ItemVerdict:
    """The verdict on one item. status pass|fail|error|review; code a diagnosis code (None on a
    pass); message in plain words; snippet the answer graded (for a carry-over, the earlier
    answer); got_latex / expected_latex in the sheet's notation; got_shape / expected_shape in
    symbols ((n,d), (1,K)); convention e.g. "dl/dy_hat as a column"; evidence per-draw details."""

    question: str
    check: str
    status: str
    code: str | None
    message: str
    snippet: Snippet | None = None
    got_latex: str | None = None
    expected_latex: str | None = None
    got_shape: str | None = None
    expected_shape: str | None = None
    convention: str | None = None
    evidence: dict | None = None


# -- what an answer says ---------------------------------------------------------------------------

@dataclass
class _Source:
    """The snippet to grade for an item, and how it was reached: `note` says so in words,
    `carried` is True when it comes from another question (a carry-over or an unmentioned
    1.3 item taken as unchanged)."""

    snippet: Snippet
    origin: str
    note: str = ""
    carried: bool = False


@dataclass
class _Answer:
    """A parsed answer: the expression to evaluate, what its left-hand side names, element
    indices (variable -> axis) when it is an element-wise definition, local definitions."""

    expr: Expr
    quantity: Quantity | None
    elements: dict[str, int] | None = None
    diagonal_only: bool = False
    transposed: bool = False
    local: dict[str, Expr] = field(default_factory=dict)
    local_derivatives: dict[tuple[str, str], Expr] = field(default_factory=dict)
    line: int = 0


@dataclass
class _Missing:
    """No answer to grade: a final status, code and message for the item."""

    status: str
    code: str
    message: str
    snippet: Snippet | None = None


class _Review(Exception):
    """The grader cannot read the answer with confidence: a human decides."""

    def __init__(self, message: str, code: str = "unreadable"):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class _Outcome:
    """The judgement on all draws: a diagnosis (None = pass) and what was seen."""

    diagnosis: _engine.Diagnosis | None
    got: list[np.ndarray]
    expected: list[np.ndarray]
    convention: str | None = None
    evidence: list[dict] = field(default_factory=list)


def _symbolic(shape: tuple[int, ...], dims: dict[str, int]) -> str:
    names = {size: name for name, size in dims.items()}
    return "(" + ",".join(names.get(s, "1" if s == 1 else str(s)) for s in shape) + ")"


def _symbolic_text(text: str, dims: dict[str, int]) -> str:
    """Numbers in shapes, "(5,1)", as symbols, "(K,1)"."""
    names = {str(size): name for name, size in dims.items()}
    def swap(match: re.Match[str]) -> str:
        rows, columns = match.group(1), match.group(2)
        return f"({names.get(rows, rows)},{names.get(columns, columns)})"

    return re.sub(r"\((\d+),(\d+)\)", swap, text)


class _SheetGrader:
    def __init__(self, sheet: Sheet, settings: AnswerSettings):
        if settings.variant not in VARIANTS:
            raise ValueError("unknown variant {!r} (known: {})".format(settings.variant, ", ".join(VARIANTS)))
        if settings.layout not in ("numerator", "mixed"):
            raise ValueError(f"layout must be numerator or mixed, not {settings.layout!r}")
        self.sheet = sheet
        self.settings = settings
        self.variant = VARIANTS[settings.variant]
        self.style = self._style()
        self._draws: dict[str, list[Draw]] = {}
        self._raw: dict[tuple[str, int], dict[str, np.ndarray]] = {}
        self._expected: dict[tuple[str, int, str], dict[str, np.ndarray]] = {}
        self.definitions, self.definition_problems = self._parse_definitions()
        self.renames = self._find_renames()

    # sheet-wide --------------------------------------------------------------------------------
    def _style(self) -> Style:
        texts = [s.text for item in self.sheet.items.values() for s in item.candidates]
        syntaxes = [s.syntax for item in self.sheet.items.values() for s in item.candidates]
        plain = syntaxes and syntaxes.count("plain") > len(syntaxes) / 2
        return detect_style(texts, "plain" if plain else "latex")

    def case(self, question: str) -> Case:
        return self.variant.case(question)

    def draws(self, question: str) -> list[Draw]:
        if question not in self._draws:
            case = self.case(question)
            self._draws[question] = [draw(seed, DIMS[k % len(DIMS)], case)
                                     for k, seed in enumerate(self.settings.seeds)]
        return self._draws[question]

    def raw(self, question: str, k: int) -> dict[str, np.ndarray]:
        if (question, k) not in self._raw:
            self._raw[(question, k)] = raw_values(self.case(question), self.draws(question)[k])
        return self._raw[(question, k)]

    def expected(self, question: str, k: int, layout: str) -> dict[str, np.ndarray]:
        key = (question, k, layout)
        if key not in self._expected:
            self._expected[key] = oracle_values(self.case(question), self.draws(question)[k], layout)
        return self._expected[key]

    def _parse_definitions(self) -> tuple[list[tuple[Definition, Expr, Expr]], list[str]]:
        parsed, problems = [], []
        for definition in self.sheet.definitions:
            try:
                lhs = parse_expression(definition.lhs, definition.syntax, self.sheet.macros, self.sheet.labels,
                                       self.settings.limits)
                rhs = parse_expression(definition.rhs, definition.syntax, self.sheet.macros, self.sheet.labels,
                                       self.settings.limits)
            except (ParseError, LimitExceeded) as error:
                problems.append(f"line {definition.line}: the definition of {definition.lhs} was not read"
                                f" ({error.reason})")
                continue
            parsed.append((definition, lhs, rhs))
        return parsed, problems

    def _symbol_definitions(self) -> dict[str, Expr]:
        """Each symbol's first definition (its declaration; a later one may redefine it for 1.3)."""
        table: dict[str, Expr] = {}
        for _, lhs, rhs in self.definitions:
            node = strip_parens(lhs)
            if isinstance(node, Sym):
                table.setdefault(node.name, rhs)
        return table

    def _find_renames(self) -> dict[str, str]:
        """The renamings the reader found (Sheet.renames), and symbols the sheet defines that
        equal a handout quantity under 1.2 on every draw: s1 := W1 x + b1 -> z1; a sheet's
        z^{(1)} := f(s^{(1)}) -> z2 (a declared renaming)."""
        table = self._symbol_definitions()
        declared = _math_renames(self.sheet.renames)
        renames: dict[str, str] = dict(declared)
        for _ in range(3):
            found = dict(declared)
            for name, rhs in table.items():
                if name in declared:
                    continue
                target = self._renamed_to(name, rhs, table, renames)
                if target is not None and target != name:
                    found[name] = target
            if found == renames:
                break
            renames = found
        return renames

    def _renamed_to(self, name: str, rhs: Expr, table: dict[str, Expr], renames: dict[str, str]) -> str | None:
        matches: set[str] | None = None
        for k in range(len(self.settings.seeds)):
            env = self._base_environment("q1_2", k, "row", renames)
            env.definitions.update({n: e for n, e in table.items() if n not in HIDDEN and n not in renames})
            try:
                value = evaluate(rhs, env)
            except EvalError:
                return None
            raw = self.raw("q1_2", k)
            here = {h for h in HIDDEN if raw[h].shape == value.shape and np.allclose(raw[h], value, 1e-9, 1e-12)}
            matches = here if matches is None else matches & here
        if not matches:
            return None
        return name if name in matches else next(h for h in HIDDEN if h in matches)

    def _base_environment(self, question: str, k: int, orientation: str, renames: dict[str, str] | None = None,
                          parameter_gradients: str | None = None) -> Environment:
        env = environment(self.case(question), self.draws(question)[k], self.raw(question, k), orientation,
                          parameter_gradients)
        renames = self.renames if renames is None else renames
        raw = self.raw(question, k)
        for name, target in renames.items():
            env.values[name] = raw[target]
            env.renames[name] = target
        return env

    def environment(self, question: str, k: int, orientation: str, answer: _Answer,
                    parameter_gradients: str | None = None) -> Environment:
        """The environment for one answer on draw k: the handout's values, renamings, the
        sheet's own symbols and derivative definitions, the answer's local definitions."""
        env = self._base_environment(question, k, orientation, parameter_gradients=parameter_gradients)
        for lhs, rhs in self._definitions_at(answer.line):
            self._add_definition(env, lhs, rhs)
        env.definitions.update(answer.local)
        env.derivative_definitions.update(answer.local_derivatives)
        env.deadline = time.monotonic() + self.settings.item_seconds
        return env

    def _definitions_at(self, line: int) -> list[tuple[Expr, Expr]]:
        """The sheet's definitions in force for an answer at `line`: for each symbol, its last
        definition at or before that line, else its first one (a symbol defined further down)."""
        chosen: dict[Expr, tuple[Expr, Expr]] = {}
        for definition, lhs, rhs in self.definitions:
            key = strip_parens(lhs)
            if key not in chosen or definition.line <= line:
                chosen[key] = (lhs, rhs)
        return list(chosen.values())

    def _add_definition(self, env: Environment, lhs: Expr, rhs: Expr) -> None:
        node = strip_parens(lhs)
        if isinstance(node, Sym):
            if node.name not in env.renames and node.name not in env.values:
                env.definitions[node.name] = rhs
            return
        quantity = classify(lhs, env.renames)
        if quantity is None or quantity.kind != "deriv" or quantity.indices or not isinstance(node, Deriv):
            return
        top, bottom = identity_of(node.num, env.renames), identity_of(node.den, env.renames)
        if top is not None and bottom is not None:
            env.derivative_definitions[(top, bottom)] = rhs

    # sources ---------------------------------------------------------------------------------------
    def item(self, question: str, check: str) -> ItemAnswers:
        return self.sheet.items.get((question, check)) or ItemAnswers(question=cast(Question, question), check=check)

    def source(self, question: str, check: str, seen: tuple[str, ...] = ()) -> _Source | _Missing:
        """The snippet that answers the item (following carry-overs), or why there is none."""
        item = self.item(question, check)
        if question in seen:
            return _Missing("review", "unreadable", "the carry-over claims point at each other; a human decides")
        if not self.answered(question):
            return _Missing("fail", "missing", f"the sheet does not answer {QUESTION_TITLES[question]} at all (no"
                            " heading, label or statement of it), so nothing carries over to it")
        if item.carry_over is not None:
            return self._carried(question, check, item, seen + (question,))
        if item.chosen is not None:
            return _Source(item.chosen, question)
        if question == "q1_2" or self.settings.unmentioned_13 == "missing":
            return _Missing("fail", "missing",
                            f"no answer found for {CHECK_TEXT[check]} in {QUESTION_TITLES[question]}")
        target = self.default_target(question, check)
        found = self.source(target, check, seen + (question,))
        if isinstance(found, _Source):
            note = (f"taken as unchanged from {QUESTION_TITLES[target]} because {QUESTION_TITLES[question]} does not"
                    f" mention {CHECK_TEXT[check]}")
            found.note = note + ("; " + found.note if found.note else "")
            found.carried = True
        elif found.code == "missing" and found.snippet is None:
            found.message = (f"no answer found for {CHECK_TEXT[check]} in {QUESTION_TITLES[question]} (it is not"
                             f" mentioned there, and {QUESTION_TITLES[target]} has no answer to carry over)")
        return found

    def answered(self, question: str) -> bool:
        """Whether the sheet has anything of `question` (every question when not recorded)."""
        return self.sheet.answered is None or question in self.sheet.answered

    def default_target(self, question: str, check: str) -> str:
        """Where an unchanged 1.3 item carries from: 1.3(a) from 1.2; 1.3(b) from 1.3(a) when
        1.3(a) has the item and the sheet answers 1.3(a), else from 1.2 (every carried answer is
        re-evaluated under the question's own case)."""
        if question == "q1_3b" and check in QUESTION_CHECKS["q1_3a"] and self.answered("q1_3a"):
            return "q1_3a"
        return "q1_2"

    def _carried(self, question: str, check: str, item: ItemAnswers, seen: tuple[str, ...]) -> _Source | _Missing:
        carry = item.carry_over
        assert carry is not None
        claim = carry.snippet.text.strip()[:80]
        target = carry.target
        if carry.kind == "same_as" and target is not None and target in self.sheet.labels:
            snippet = Snippet(self.sheet.labels[target], "latex", carry.snippet.line, "equation", carry.snippet.context)
            return _Source(snippet, question, f"carried over: \"{claim}\" refers to the formula labelled {target}")
        if target not in QUESTION_TITLES:
            if carry.kind == "same_as":
                return _Missing("review", "unreadable", f"the answer refers to another formula (\"{claim}\") that could"
                                " not be found; a human decides", carry.snippet)
            target = self.default_target(question, check)
        assert target is not None
        found = self.source(target, check, seen)
        if isinstance(found, _Source):
            note = f"carried over from {QUESTION_TITLES[target]} (\"{claim}\")"
            found.note = note + ("; " + found.note if found.note else "")
            found.carried = True
        elif found.code == "missing":
            found.message = (f"{QUESTION_TITLES[question]} says {CHECK_TEXT[check]} carries over (\"{claim}\"), but"
                             f" {QUESTION_TITLES[target]} has no answer for it")
            found.snippet = carry.snippet
        return found

    # reading an answer -----------------------------------------------------------------------------
    def answer(self, snippet: Snippet, check: str) -> _Answer:
        statements = parse_statements(snippet.text, snippet.syntax, self.sheet.macros, self.sheet.labels,
                                      self.settings.limits)
        chosen = _choose_statement(statements, check, self.renames)
        answer = _Answer(chosen.answer, classify(chosen.lhs, self.renames) if chosen.lhs is not None else None,
                         line=snippet.line)
        for statement in statements:
            if statement is not chosen and statement.lhs is not None:
                _local_definition(answer, statement, self.renames)
        quantity = answer.quantity
        if quantity is not None and quantity.transposed:
            answer.transposed = True
        if quantity is not None and quantity.indices:
            self._element_axes(answer, quantity, check, snippet)
        return answer

    def _element_axes(self, answer: _Answer, quantity: Quantity, check: str, snippet: Snippet) -> None:
        indices = quantity.indices
        if len(indices) == 1 and isinstance(indices[0], Sym) and indices[0].layer == "1":
            indices = (Sym(indices[0].base), Num(1.0))  # _{j1}: the letter j, then 1
        if check in VECTOR_CHECKS and len(indices) == 2 and sum(_is_one(i) for i in indices) == 1:
            # (dl/dy_hat)_{1j}: a row written entry by entry; (.)_{j1}: a column
            row = _is_one(indices[0])
            indices = tuple(i for i in indices if not _is_one(i))
            numerator = self.settings.layout == "numerator"
            answer.transposed = answer.transposed or row != numerator
        names = [i.base if isinstance(i, Sym) and i.layer is None else None for i in indices]
        if any(n is None for n in names):
            raise _Review(f"the answer gives a single entry ({render(answer.expr, self.style)}), not the whole"
                          f" {CHECK_TEXT[check]}")
        variables = [n for n in names if n is not None]
        axes = _index_axes(check, variables, self.settings.layout)
        if axes is None:
            raise _Review(f"the element indices of the answer do not fit {CHECK_TEXT[check]}")
        answer.elements = axes
        if len(variables) == 2 and variables[0] == variables[1]:
            if not ZERO_ELSEWHERE.search(snippet.context + " " + snippet.text):
                pair = variables[0] * 2
                raise _Review(f"only the diagonal entries ({CHECK_TEXT[check]})_{{{pair}}} are given and the sheet"
                              " does not say the other entries are 0", "incomplete")
            answer.diagonal_only = True

    # evaluating ----------------------------------------------------------------------------------
    def value(self, answer: _Answer, env: Environment, shape: tuple[int, int], check: str) -> np.ndarray:
        if answer.elements is not None:
            if answer.diagonal_only:
                variable = next(iter(answer.elements))
                diagonal = evaluate_elements(answer.expr, env, (shape[0], 1), {variable: 0})
                return np.diagflat(diagonal)
            value = evaluate_elements(answer.expr, env, shape, answer.elements)
        else:
            value = evaluate(answer.expr, env, shape, jacobian=check.startswith("jac"))
        return value.T.copy() if answer.transposed else value

    def judge(self, question: str, check: str, answer: _Answer) -> _Outcome:
        """Evaluate on every draw with dl/dy_hat in the layout's orientation and, when the
        answer uses dl/dy_hat and that fails, in the other one; report the reading that fits
        (or the first), with the convention when dl/dy_hat is used."""
        natural = "row" if self.settings.layout == "numerator" else "column"
        first = self._run(question, check, answer, natural)
        if not _uses_loss_gradient(answer, self.definitions):
            return first
        first.convention = "dl/dy_hat as a " + natural
        if first.diagnosis is None:
            return first
        flipped = "column" if natural == "row" else "row"
        other = self._run(question, check, answer, flipped)
        other.convention = "dl/dy_hat as a " + flipped
        if other.diagnosis is None or (first.diagnosis.code == "shape" and other.diagnosis.code != "shape"):
            return other
        return first

    def _run(self, question: str, check: str, answer: _Answer, orientation: str) -> _Outcome:
        outcome = _Outcome(None, [], [])
        tolerance = self.settings.tolerance
        for k, sample in enumerate(self.draws(question)):
            want = self.expected(question, k, self.settings.layout)[check]
            env = self.environment(question, k, orientation, answer)
            try:
                got = self.value(answer, env, want.shape, check)
            except ShapeError as error:
                reason = _symbolic_text(error.reason, sample.dims)
                outcome.diagnosis = _engine.Diagnosis("shape", f"{CHECK_TEXT[check]} cannot be evaluated: {reason}",
                                                      CHECK_TEXT[check])
                outcome.evidence.append(_draw_evidence(sample, None, want, False))
                return outcome
            found = _engine.diagnose(CHECK_TEXT[check], got, want, tolerance)
            outcome.got.append(got)
            outcome.expected.append(want)
            outcome.evidence.append(_draw_evidence(sample, got, want, found is None))
            if found is not None and outcome.diagnosis is None:
                outcome.diagnosis = found
        return outcome

    # updates ---------------------------------------------------------------------------------------
    def judge_update(self, question: str, check: str, answer: _Answer) -> _Outcome:
        layout = self.settings.layout
        outcome = _Outcome(None, [], [])
        for parameter in _update_parameters(check, answer.expr):
            expr = _concrete_update(answer.expr, parameter)
            found = self._run_update(question, parameter, expr, layout, answer.line)
            if found.diagnosis is not None and found.diagnosis.code == "shape":
                other = "mixed" if layout == "numerator" else "numerator"
                if self._run_update(question, parameter, expr, other, answer.line).diagnosis is None:
                    text = self._update_text(question, parameter, other)
                    found.diagnosis = _engine.Diagnosis("transposed", text, "the update of " + parameter)
            outcome.evidence.extend(found.evidence)
            outcome.got.extend(found.got)
            outcome.expected.extend(found.expected)
            if found.diagnosis is not None and outcome.diagnosis is None:
                outcome.diagnosis = found.diagnosis
        return outcome

    def _update_text(self, question: str, parameter: str, written_for: str) -> str:
        """Why an update written for the other layout is a transpose mistake, with the shapes."""
        dims = self.draws(question)[0].dims
        shape = _symbolic(self.draws(question)[0].values[parameter].shape, dims)
        gradient = _symbolic(self.draws(question)[0].values[parameter].T.shape, dims)
        if written_for == "mixed":
            return (f"your update of {parameter} subtracts dl/d{parameter} as it is, but in numerator layout"
                    f" dl/d{parameter} is {gradient} while {parameter} is {shape}: the step needs the transpose,"
                    f" {parameter} - eta (dl/d{parameter})^T (yours is the mixed-layout step)")
        return (f"your update of {parameter} subtracts (dl/d{parameter})^T, but in {LAYOUT_TEXT['mixed']}, this"
                f" rubric's setting, dl/d{parameter} already has {parameter}'s shape {shape}: the step is"
                f" {parameter} - eta dl/d{parameter}, with no transpose (yours is the numerator-layout step)")

    def _run_update(self, question: str, parameter: str, expr: Expr, layout: str, line: int) -> _Outcome:
        outcome = _Outcome(None, [], [])
        name = "the update of " + parameter
        for k, sample in enumerate(self.draws(question)):
            raw = self.raw(question, k)
            old = sample.values[parameter]
            env = self.environment(question, k, "row" if layout == "numerator" else "column",
                                   _Answer(expr, None, line=line), parameter_gradients=layout)
            want = self.expected(question, k, self.settings.layout)["update_" + parameter]
            try:
                new = evaluate(expr, env, old.shape)
            except ShapeError as error:
                reason = _symbolic_text(error.reason, sample.dims)
                outcome.diagnosis = _engine.Diagnosis("shape", f"{name} cannot be evaluated: {reason}", name)
                return outcome
            outcome.got.append(new)
            outcome.expected.append(want)
            if new.shape == old.shape and np.all(np.isfinite(new)):
                found = _engine.diagnose(name, (old - new) / sample.lr, raw["dl_d" + parameter],
                                         self.settings.tolerance)
            else:
                found = _engine.diagnose(name, new, want, self.settings.tolerance)
            outcome.evidence.append(_draw_evidence(sample, new, want, found is None))
            if found is not None and outcome.diagnosis is None:
                outcome.diagnosis = found
        return outcome

    # verdicts --------------------------------------------------------------------------------------
    def expected_latex(self, question: str, check: str) -> str | None:
        try:
            return render(parse_expression(reference_latex(check, self.case(question), self.settings.layout)),
                          self.style)
        except KeyError:
            return None

    def expected_shape(self, question: str, check: str) -> str | None:
        if check not in self.expected(question, 0, self.settings.layout):
            return None
        return _symbolic(self.expected(question, 0, self.settings.layout)[check].shape, self.draws(question)[0].dims)

    def _verdict(self, question: str, check: str, status: str, code: str | None, message: str,
                 snippet: Snippet | None, **extra: object) -> ItemVerdict:
        verdict = ItemVerdict(question, check, status, code, message, snippet,
                              expected_latex=self.expected_latex(question, check) if check != "concept_why_relu"
                              else None,
                              expected_shape=self.expected_shape(question, check)
                              if not check.startswith(("sgd_", "concept")) else None)
        for key, value in extra.items():
            setattr(verdict, key, value)
        return verdict

    def grade_item(self, question: str, check: str) -> ItemVerdict:
        item = self.item(question, check)
        if self.sheet.human_only:
            return self._verdict(question, check, "review", "human_only", "this sheet cannot be read by the grader"
                                 " (%s): a human grades it" % ("; ".join(self.sheet.problems) or "no math source"),
                                 item.chosen)
        unread = [p for p in self.sheet.problems if UNREAD.search(p)]
        if check == "concept_why_relu":
            if item.chosen is None and unread:
                return self._verdict(question, check, "error", "limit", "no explanation found, but the sheet was not"
                                     " read in full ({})".format("; ".join(unread[:2])), None)
            if item.chosen is None:
                where = "" if self.answered(question) else " (the sheet does not answer 1.3(c) at all)"
                return self._verdict(question, check, "fail", "missing", "no explanation found" + where, None)
            return self._verdict(question, check, "review", "concept", "a human judges the explanation", item.chosen)
        source = self.source(question, check)
        if isinstance(source, _Missing):
            if source.code == "missing" and unread:  # the answer may be in what was not read
                return self._verdict(question, check, "error", "limit", "{}, but the sheet was not read in full ({})"
                                     .format(source.message, "; ".join(unread[:2])), source.snippet)
            return self._verdict(question, check, source.status, source.code, source.message, source.snippet)
        try:
            return self._grade_source(question, check, item, source)
        except (LimitExceeded, InvalidText, EvalLimit) as error:
            if isinstance(error, InvalidText):
                return self._verdict(question, check, "error", "invalid_text", f"the answer was not graded:"
                                     f" {error.reason}", source.snippet)
            return self._verdict(question, check, "error", "limit", f"the answer was not graded: it is over a reading"
                                 f" limit ({error.reason})", source.snippet)
        except ParseError as error:
            return self._review(question, check, source, f"the answer could not be read ({error.reason})",
                                "unreadable")
        except _Review as review:
            return self._review(question, check, source, review.message, review.code)
        except UnknownSymbol as error:
            return self._review(question, check, source, error.reason, "undefined_symbol")
        except EvalError as error:
            return self._review(question, check, source, f"the answer could not be evaluated ({error.reason})",
                                "unreadable")
        except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError, AssertionError,
                RecursionError) as error:  # a grader bug on one item must not stop the sheet
            text = f"the grader failed on this answer ({type(error).__name__}: {error}); please report it"
            return self._verdict(question, check, "error", "grader_error", text, source.snippet)

    def _review(self, question: str, check: str, source: _Source, reason: str, code: str) -> ItemVerdict:
        message = "{}; a human decides. {} in {}, expected {}".format(
            reason, CHECK_TEXT[check], QUESTION_TITLES[question], self.expected_latex(question, check) or "")
        if source.note:
            message += f" ({source.note})"
        if code == "undefined_symbol" and self.definition_problems:
            message += "; note: " + "; ".join(self.definition_problems[:3])
        return self._verdict(question, check, "review", code, message, source.snippet)

    def _grade_source(self, question: str, check: str, item: ItemAnswers, source: _Source) -> ItemVerdict:
        answer = self.answer(source.snippet, check)
        quantity = answer.quantity
        if (quantity is not None and quantity.kind != "symbol" and check not in quantity.checks
                and not _generic_match(quantity, check)):
            if check in DERIVATIVE_CHECKS and quantity.kind == "forward":
                why = f"the answer states {_quantity_text(quantity)}, a forward quantity"
                return self._not_a_gradient(question, check, source, answer, why)
            raise _Review(f"the answer offered for {CHECK_TEXT[check]} is written as {_quantity_text(quantity)}",
                          "mismatch")
        if check in UPDATE_PARAMETERS:
            outcome = self.judge_update(question, check, answer)
        else:
            outcome = self.judge(question, check, answer)
            if (outcome.diagnosis is not None and check in DERIVATIVE_CHECKS
                    and _is_forward_value(outcome.got, question, self)):
                return self._not_a_gradient(question, check, source, answer, "its value is a forward quantity")
        return self._from_outcome(question, check, item, source, answer, outcome)

    def _not_a_gradient(self, question: str, check: str, source: _Source, answer: _Answer, why: str) -> ItemVerdict:
        written = render(answer.expr, self.style)
        message = f"{CHECK_TEXT[check]} asks for a derivative, but {why} ({written}): not a gradient"
        return self._verdict(question, check, "fail", "not_a_gradient", _with_note(message, source), source.snippet,
                             got_latex=render(answer.expr, self.style))

    def _from_outcome(self, question: str, check: str, item: ItemAnswers, source: _Source, answer: _Answer,
                      outcome: _Outcome) -> ItemVerdict:
        evidence: dict = {"draws": outcome.evidence, "origin": source.origin}
        if item.conflict:
            evidence["conflict"] = True
            evidence["candidates"] = len(item.candidates)
        got_shape = _symbolic(outcome.got[0].shape, self.draws(question)[0].dims) if outcome.got else None
        extra: dict[str, object] = dict(got_latex=render(answer.expr, self.style), got_shape=got_shape,
                                        convention=outcome.convention, evidence=evidence)
        conflict = (f" The sheet gives {len(item.candidates)} different answers here; the one graded is the chosen"
                    f" one (line {source.snippet.line}).") if item.conflict else ""
        if outcome.diagnosis is None:
            message = "{} is right{}".format(CHECK_TEXT[check], f" (read with {outcome.convention})"
                                         if outcome.convention else "")
            return self._verdict(question, check, "pass", None, _with_note(message, source) + conflict,
                                 source.snippet, **extra)
        message = self._explain(question, check, outcome)
        return self._verdict(question, check, "fail", outcome.diagnosis.code,
                             _with_note(message, source, failed=True) + conflict, source.snippet, **extra)

    def _explain(self, question: str, check: str, outcome: _Outcome) -> str:
        diagnosis = outcome.diagnosis
        assert diagnosis is not None
        dims = self.draws(question)[0].dims
        message = _symbolic_text(diagnosis.message, dims)
        if diagnosis.code == "transposed" and outcome.got and check in NUMERATOR_RULE:
            message = self._transposed_text(check, outcome, dims)
        elif diagnosis.code == "scaled":
            story = self._scale_story(question, outcome)
            message = f"{CHECK_TEXT[check]} is {story}" if story else message
        elif diagnosis.code == "shape" and check == "forward_loss" and outcome.got and outcome.got[0].shape[0] > 1:
            message += "; (v)(v)^T is a matrix: the squared norm ||v||^2 is v^T v"
        if diagnosis.code in ("wrong_values", "sign", "scaled", "shape"):
            message += ". Expected %s" % (self.expected_latex(question, check) or "")
        if outcome.convention:
            message += f" (read with {outcome.convention})"
        return message

    def _transposed_text(self, check: str, outcome: _Outcome, dims: dict[str, int]) -> str:
        layout = self.settings.layout
        got = _symbolic(outcome.got[0].shape, dims)
        want = _symbolic(outcome.expected[0].shape, dims)
        text = f"your {CHECK_TEXT[check]} is {got}; in {LAYOUT_TEXT[layout]} it is {want}: it is the transpose"
        if layout == "numerator":
            return text + f" ({NUMERATOR_RULE[check]})"
        return text + " (in mixed layout a gradient has its parameter's shape)"

    def _scale_story(self, question: str, outcome: _Outcome) -> str | None:
        samples = []
        for got, want, sample in zip(outcome.got, outcome.expected, self.draws(question), strict=False):
            denominator = float(np.vdot(want, want))
            if denominator > 0:
                samples.append((dict(sample.dims), float(np.vdot(got, want)) / denominator))
        if len(samples) < 2:
            return None
        law = _engine.fit_scale_law(samples, ("n", "d", "K"))
        if law is None:
            return None
        story = _engine.explain_scale(law[0], law[1], "theory")
        return "{} times the expected value{}".format(_engine.law_text(*law), ": " + story if story else "")


# -- helpers ---------------------------------------------------------------------------------------

def _is_one(index: Expr) -> bool:
    """The index 1 of a row or column vector's only row or column ((dl/dy_hat)_{1j})."""
    return isinstance(index, Num) and index.value == 1.0


def _math_renames(renames: dict[str, str]) -> dict[str, str]:
    """The reader's renamings (Sheet.renames: zP1 for z^{(1)}, yhat) in the math layer's symbol
    names (z1, y_hat); the parser reads z^{(1)} and z_1 alike, so a sheet whose z^{(1)} is the
    handout's z2 has its z1 read as z2. Identities are dropped."""
    def math_name(name: str) -> str:
        if name == "yhat":
            return "y_hat"
        return re.sub(r"^zP(\d)$", r"z\1", name)

    found = {math_name(name): math_name(target) for name, target in renames.items()}
    return {name: target for name, target in found.items() if name != target}


def _with_note(message: str, source: _Source, failed: bool = False) -> str:
    if not source.note:
        return message
    if failed and source.carried:
        return f"{message}. This answer is {source.note}, but it does not hold for this question's network"
    return f"{message} ({source.note})"


def _quantity_text(quantity: Quantity) -> str:
    if quantity.kind == "forward":
        return quantity.name.replace("y_hat", "y_hat")
    if quantity.kind == "grad":
        return "dl/d" + quantity.name
    if quantity.kind == "jac":
        return quantity.name.replace("_", "/")
    return quantity.name


def _generic_match(quantity: Quantity, check: str) -> bool:
    return quantity.kind == "update" and check in UPDATE_PARAMETERS and not quantity.checks


def _choose_statement(statements: list[Statement], check: str, renames: dict[str, str]) -> Statement:
    """The statement whose left-hand side names the item; else the only one; else the first
    one without a sheet-symbol definition on its left."""
    for statement in statements:
        if statement.lhs is not None:
            quantity = classify(statement.lhs, renames)
            if quantity is not None and (check in quantity.checks or _generic_match(quantity, check)):
                return statement
    if len(statements) == 1:
        return statements[0]
    for statement in statements:
        quantity = classify(statement.lhs, renames) if statement.lhs is not None else None
        if quantity is None or quantity.kind not in ("symbol", "deriv"):
            return statement
    return statements[0]


def _local_definition(answer: _Answer, statement: Statement, renames: dict[str, str]) -> None:
    """A "where δ = ..." statement next to the answer defines a symbol for it."""
    assert statement.lhs is not None
    quantity = classify(statement.lhs, renames)
    if quantity is None or quantity.indices:
        return
    lhs = strip_parens(statement.lhs)
    if quantity.kind == "symbol" and isinstance(lhs, Sym) and lhs.role == "user":
        answer.local[lhs.name] = statement.answer
    elif quantity.kind == "deriv" and isinstance(lhs, Deriv):
        top, bottom = identity_of(lhs.num, renames), identity_of(lhs.den, renames)
        if top is not None and bottom is not None:
            answer.local_derivatives[(top, bottom)] = statement.answer


def _index_axes(check: str, variables: list[str], layout: str) -> dict[str, int] | None:
    """Which axis of the item's value (in the rubric's layout) each element index runs along."""
    numerator = layout == "numerator"
    if check.startswith("jac_") and len(variables) == 2:
        return {variables[0]: 0} if variables[0] == variables[1] else {variables[0]: 0, variables[1]: 1}
    if check in ("dl_dyhat", "grad_b1", "grad_b2") and len(variables) == 1:
        return {variables[0]: 1 if numerator else 0}
    if check in ("grad_W1", "grad_W2") and len(variables) == 2 and variables[0] != variables[1]:
        return {variables[0]: 1, variables[1]: 0} if numerator else {variables[0]: 0, variables[1]: 1}
    if check.startswith("forward_") and check != "forward_loss" and len(variables) == 1:
        return {variables[0]: 0}
    return None


def _uses_loss_gradient(answer: _Answer, definitions: list[tuple[Definition, Expr, Expr]]) -> bool:
    """Whether dl/dy_hat appears in the answer or in a sheet definition the answer uses
    (directly or through other definitions)."""
    symbols_defined: dict[str, Expr] = {}
    derivatives_defined: list[tuple[Deriv, Expr]] = []
    for _, lhs, rhs in definitions:
        node = strip_parens(lhs)
        if isinstance(node, Sym):
            symbols_defined[node.name] = rhs
        elif isinstance(node, Deriv):
            derivatives_defined.append((node, rhs))
    symbols_defined.update(answer.local)
    pending = [answer.expr, *answer.local_derivatives.values()]
    seen: set[str] = set()
    while pending:
        expr = pending.pop()
        for node in walk(expr):
            if isinstance(node, Deriv):
                if identity_of(node.num) == "loss" and identity_of(node.den) == "y_hat":
                    return True
                pending.extend(rhs for lhs, rhs in derivatives_defined if lhs == node and str(lhs) not in seen)
                seen.add(str(node))
            elif isinstance(node, Sym) and node.name in symbols_defined and node.name not in seen:
                seen.add(node.name)
                pending.append(symbols_defined[node.name])
    return False


def _is_forward_value(values: list[np.ndarray], question: str, grader: _SheetGrader) -> bool:
    """The answer's value equals one forward quantity (or its transpose) on every draw."""
    if not values:
        return False
    for name in FORWARD_NAMES:
        if all(_close_either_way(value, grader.raw(question, k)[name] if name in grader.raw(question, k)
                                 else grader.draws(question)[k].values[name])
               for k, value in enumerate(values)):
            return True
    return False


def _close_either_way(got: np.ndarray, value: np.ndarray) -> bool:
    for candidate in (value, value.T):
        if got.shape == candidate.shape and np.allclose(got, candidate, rtol=1e-9, atol=1e-12):
            return True
    return False


def _update_parameters(check: str, expr: Expr) -> tuple[str, ...]:
    """The parameters an update answer is about: sgd_update_b covers b1 and b2, or the one the
    answer names when it names only one."""
    if check != "sgd_update_b":
        return UPDATE_PARAMETERS[check]
    named = {s.name for s in walk(expr) if isinstance(s, Sym) and s.base == "b" and s.layer in ("1", "2")}
    if len(named) == 1:
        return (named.pop(),)
    return UPDATE_PARAMETERS[check]


def _concrete_update(expr: Expr, parameter: str) -> Expr:
    """A generic update rule (W^{(i)}, b_i, θ, w) written for one parameter."""
    concrete = Sym(parameter[0], parameter[1])
    mapping: dict[str, Expr] = {"theta": concrete, "w": concrete}
    for node in walk(expr):
        if isinstance(node, Sym) and node.base == parameter[0] and node.layer is not None and not node.layer.isdigit():
            mapping[node.name] = concrete
        if isinstance(node, Sym) and node.base == parameter[0] and node.layer is None:
            mapping[node.name] = concrete
    return substitute(expr, mapping)


def _draw_evidence(sample: Draw, got: np.ndarray | None, want: np.ndarray, ok: bool) -> dict:
    return {"seed": sample.seed, **sample.dims, "got_shape": list(got.shape) if got is not None else None,
            "expected_shape": list(want.shape), "ok": ok}


def grade_sheet(sheet: Sheet, settings: AnswerSettings | None = None) -> list[ItemVerdict]:
    """One verdict per item of every question, in handout order (see the module docstring)."""
    grader = _SheetGrader(sheet, settings or AnswerSettings())
    verdicts = []
    for question, checks in QUESTION_CHECKS.items():
        for check in checks:
            verdicts.append(grader.grade_item(question, check))
    return verdicts


__all__ = ["AnswerSettings", "ItemVerdict", "grade_sheet"]

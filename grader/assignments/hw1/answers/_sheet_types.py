"""The read answer sheet, as the grading layer consumes it (stand-in for the reader's model).

These dataclasses follow the agreed field lists of the sheet reader's model (Snippet,
CarryOver, ItemAnswers, Macro, Definition, Sheet) so that grade.py can be built and tested
before the reader lands; on merge they are replaced by imports from that model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Syntax = Literal["latex", "plain"]
SnippetForm = Literal["table", "equation", "chain", "carry_over", "text"]
Question = Literal["q1_2", "q1_3a", "q1_3b", "q1_3c"]
SheetFormat = Literal["md", "tex", "ipynb", "txt", "pdf"]
CarryKind = Literal["unchanged", "same_as"]

# The items of each question, in handout order. sgd_update_b stands for both bias updates.
QUESTION_CHECKS: dict[str, tuple[str, ...]] = {
    "q1_2": ("sgd_update_W1", "sgd_update_W2", "sgd_update_b",
             "forward_z1", "forward_z2", "forward_z3", "forward_yhat", "forward_loss",
             "grad_W1", "grad_b1", "grad_W2", "grad_b2",
             "jac_dz2_dz1", "jac_dyhat_dz3", "dl_dyhat"),
    "q1_3a": ("forward_z2", "forward_yhat", "jac_dz2_dz1", "jac_dyhat_dz3", "dl_dyhat",
              "grad_W1", "grad_b1", "grad_W2", "grad_b2"),
    "q1_3b": ("forward_loss", "jac_dz2_dz1", "jac_dyhat_dz3", "dl_dyhat",
              "grad_W1", "grad_b1", "grad_W2", "grad_b2"),
    "q1_3c": ("concept_why_relu",),
}


@dataclass(frozen=True)
class Snippet:
    """One piece of a sheet offered as an answer: `text` (an equation's last right-hand side,
    or the whole equation when its left-hand side carries element indices), its `syntax`
    ("latex" | "plain"), 1-based `line`, `form` and the whole statement it came from (`context`)."""

    text: str
    syntax: Syntax
    line: int
    form: SnippetForm
    context: str


@dataclass(frozen=True)
class CarryOver:
    """A 1.3 claim that an answer carries over: kind "unchanged" (target: the question it
    carries from) or "same_as" (target: a label key or a question id; None if unresolved)."""

    check: str
    kind: CarryKind
    target: str | None
    snippet: Snippet


@dataclass
class ItemAnswers:
    """Everything the sheet says about one item (question x check)."""

    question: str
    check: str
    candidates: list[Snippet] = field(default_factory=list)
    chosen: Snippet | None = None
    conflict: bool = False
    carry_over: CarryOver | None = None
    mentioned: bool = False


@dataclass(frozen=True)
class Macro:
    """A sheet macro `name` (with its backslash), `nargs` arguments (the first optional with
    `default` when not None), `body` using #1..#9; `kind` says how it was declared."""

    name: str
    nargs: int
    default: str | None
    body: str
    kind: str = "newcommand"


@dataclass(frozen=True)
class Definition:
    """A symbol the sheet defines: `lhs` := `rhs` (a renaming or a new symbol)."""

    lhs: str
    rhs: str
    syntax: Syntax
    line: int


@dataclass
class Sheet:
    """A read answer sheet: items keyed (question, check), macros by name, equation labels
    (key -> the labelled formula), definitions in sheet order, problems, human_only."""

    path: str
    format: SheetFormat
    macros: dict[str, Macro] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    definitions: list[Definition] = field(default_factory=list)
    items: dict[tuple[str, str], ItemAnswers] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    human_only: bool = False

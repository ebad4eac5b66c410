"""What reading a written answer sheet produces: the data the grading layer consumes.

A sheet (theory.md / .tex / .ipynb / .txt) is read into a `Sheet`: for every item of the
homework's theory part (question x check, e.g. ("q1_2", "grad_W1")) an `ItemAnswers` with the
candidate answers found, the one chosen, whether they conflict, and a 1.3 carry-over claim;
plus the sheet-level macros, equation labels and declared definitions the math layer needs to
evaluate the answers. Nothing here is evaluated: texts are the student's own, unchanged except
where a field's docstring says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Syntax = Literal["latex", "plain"]
SnippetForm = Literal["table", "equation", "chain", "carry_over", "text"]
Question = Literal["q1_2", "q1_3a", "q1_3b", "q1_3c"]
SheetFormat = Literal["md", "tex", "ipynb", "txt", "pdf"]
CarryKind = Literal["unchanged", "same_as"]
MacroKind = Literal["newcommand", "renewcommand", "providecommand", "def", "operator"]

# The items of each question, in handout order. sgd_update_b stands for the bias updates
# (b1 and b2 alike); concept_why_relu is always for a human to judge.
QUESTION_CHECKS: dict[Question, tuple[str, ...]] = {
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
    """One piece of a sheet offered as an answer.

    `text`: for an equation or chain, its LAST right-hand side (the answer), in the sheet's
    own notation; when the left-hand side carries element indices (e.g. `(\\frac{\\partial
    z_2}{\\partial z_1})_{ij} = ...`), the whole equation `LHS = RHS` so that the indices stay
    visible. For a table, the answer cell (the last right-hand side if the cell is itself an
    equation). For a carry-over, the sentence that claims it. For `text`, the prose answer.
    A generic update rule (W^{(i)}, W, \\theta) is given per parameter, the generic symbol
    replaced by the concrete one; `context` keeps the original.
    `syntax`: "latex" (math from $..$, LaTeX environments) or "plain" (ASCII/Unicode math).
    `line`: 1-based line where the statement (table row, claim, prose answer) starts in the sheet
    (for a notebook: in its Markdown cells joined by blank lines).
    `form`: how it was written. `context`: the whole statement it came from (equation, table row
    "cell | cell | cell", or sentence), for review and for words such as "and 0 elsewhere".
    """

    text: str
    syntax: Syntax
    line: int
    form: SnippetForm
    context: str


@dataclass(frozen=True)
class Candidate:
    """A snippet offered as the answer to `check` (e.g. "grad_W1")."""

    check: str
    snippet: Snippet


@dataclass(frozen=True)
class CarryOver:
    """A 1.3 claim that an answer carries over from an earlier case.

    kind "unchanged": "nothing changes", "is the same as before", "does not change"; `target`
    is the question whose answer carries over: "q1_2" from q1_3a; "q1_3a" from q1_3b (its
    case differs from 1.3(a) only in the loss), except forward_loss (not a q1_3a item): "q1_2".
    kind "same_as": "same as (\\eqref{eq:x})" or "as in 1.2"; `target` is the label key (see
    Sheet.labels) or the question id named, or None when it could not be resolved.
    """

    check: str
    kind: CarryKind
    target: str | None
    snippet: Snippet


@dataclass
class ItemAnswers:
    """Everything the sheet says about one item.

    `candidates`: every snippet offered for it, in sheet order. `chosen`: the answer to grade,
    by rule: candidates inside the part of the question the item belongs to (e.g. 1.2(c) for
    grad_W1) are preferred over ones elsewhere in the question; chain-rule skeletons (only
    derivative symbols) only count when nothing else is offered; an answer table wins over a
    derivation; otherwise the last statement. `conflict`: the considered candidates differ
    (as texts, after normalising spacing and bold; the math layer may find them equal).
    `carry_over`: set when the chosen answer is a carry-over claim (then chosen is its snippet).
    `mentioned`: False when the sheet says nothing about the item (chosen is then None; in 1.3
    a rubric setting decides whether that means unchanged or missing).
    """

    question: Question
    check: str
    candidates: list[Snippet] = field(default_factory=list)
    chosen: Snippet | None = None
    conflict: bool = False
    carry_over: CarryOver | None = None
    mentioned: bool = False


@dataclass(frozen=True)
class Macro:
    """A sheet macro: `\\name` (with its backslash) taking `nargs` arguments, the first one
    optional with `default` when it is not None (\\newcommand's [default]); `body` uses #1..#9.
    kind "operator" (\\DeclareMathOperator) has body `\\operatorname{text}`."""

    name: str
    nargs: int
    default: str | None
    body: str
    kind: MacroKind


@dataclass(frozen=True)
class Definition:
    """A symbol the sheet defines: `lhs` := `rhs` (e.g. \\delta_2 := 2(\\hat y - y)^T, or a
    renaming s^{(1)} := W^{(1)}x + b^{(1)}). Only symbols outside the handout's own meaning are
    listed (renamed or new symbols, dl/dz3-like derivatives); a later line overrides an earlier
    definition of the same symbol for answers after it."""

    lhs: str
    rhs: str
    syntax: Syntax
    line: int


@dataclass(frozen=True)
class Limits:
    """Bounds on reading one sheet; exceeding one gives a problem note, never a crash or a hang.

    max_file_bytes: a sheet file larger than this is not read (notebooks may carry images:
    max_notebook_bytes). max_text_chars: the sheet's text after dropping embedded images.
    max_depth: brace/bracket nesting in LaTeX and math. max_json_depth: notebook JSON nesting.
    max_blocks: document blocks kept. max_table_rows / max_table_cols: per table.
    max_statement_chars: a single equation or cell longer than this is not read.
    max_seconds: reading stops (what was read is kept) after this long.
    """

    max_file_bytes: int = 1_000_000
    max_notebook_bytes: int = 16_000_000
    max_text_chars: int = 1_000_000
    max_depth: int = 64
    max_json_depth: int = 32
    max_blocks: int = 20_000
    max_table_rows: int = 200
    max_table_cols: int = 12
    max_statement_chars: int = 20_000
    max_seconds: float = 20.0


DEFAULT_LIMITS = Limits()


@dataclass
class Sheet:
    """A read answer sheet.

    `items`: every item of QUESTION_CHECKS, keyed (question, check). `macros`: by name with
    backslash. `labels`: \\label key -> the labelled equation's last right-hand side (the whole
    math when it has no relation); \\tag{t} is stored as "tag:t". `definitions`: in sheet
    order. `problems`: plain-words notes (invalid UTF-8, limits hit, no math source).
    `human_only`: the sheet cannot be read by the grader at all (PDF only, too large, unreadable):
    a human must grade the whole part.
    `answered`: the questions the sheet has anything of at all (a heading, a label or a
    statement: "q1_2", "q1_3a", ...); None when not recorded (a hand-built sheet), which counts
    every question as answered. A 1.3 part missing from it is missing as a whole.
    `renames`: the sheet's own symbols that stand for the handout's z1, z2, z3, yhat (found from
    their definitions), canonical name -> handout name, e.g. {"s1": "z1", "zP1": "z2"} for a
    sheet writing s^{(1)} = W^{(1)}x + b^{(1)}, z^{(1)} = f(s^{(1)}) (names as answers.lhs.parse_symbol
    gives them; answers.lhs.classify_lhs(text, syntax, renames) reads a derivative symbol such
    as \\partial z^{(1)} / \\partial s^{(1)} with them).
    """

    path: str
    format: SheetFormat
    macros: dict[str, Macro] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    definitions: list[Definition] = field(default_factory=list)
    items: dict[tuple[str, str], ItemAnswers] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    human_only: bool = False
    renames: dict[str, str] = field(default_factory=dict)
    answered: frozenset[str] | None = None


def empty_items() -> dict[tuple[str, str], ItemAnswers]:
    """One unmentioned ItemAnswers per item of QUESTION_CHECKS."""
    items: dict[tuple[str, str], ItemAnswers] = {}
    for question, checks in QUESTION_CHECKS.items():
        for check in checks:
            items[(question, check)] = ItemAnswers(question=question, check=check)
    return items

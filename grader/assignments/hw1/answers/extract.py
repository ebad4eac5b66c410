"""Per item, the candidate answers of a sheet; the chosen one; conflicts and 1.3 carry-overs;
the sheet's macros, labels, renamings and definitions. Entry point: read_sheet(path).

Rules (fixed, not heuristics of the moment):
- an equation `LHS = RHS` answers the item its left-hand side names (lhs.py), an equality
  chain by its LAST right-hand side; a table row by its answer cell;
- among several answers to one item: those in the item's own part of the question first
  (1.2(c) for grad_W1), then an answer table wins over a derivation, otherwise the last
  statement; differing answers are flagged as a conflict;
- in 1.3, "nothing changes", "is the same as before", "does not change", "same as
  (\\eqref{..})" are carry-over claims for the items they name (or the sub-topic's items, or
  all of the question's items not otherwise answered); an item not mentioned stays unmentioned.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from .document import Document, Part, build_document, parts_text
from .intake import find_sheet, read_source
from .lhs import (LhsMeaning, canonical, classify_lhs, forward_role, parse_symbol, symbolize, update_checks)
from .model import (DEFAULT_LIMITS, QUESTION_CHECKS, CarryKind, CarryOver, Definition, ItemAnswers, Limits, Sheet,
                    Snippet, SnippetForm, Syntax, empty_items)
from .segment import Placed, plain, segment
from .statements import Statement, collect_macros, expand_macros, latex_statements, plain_statements

HOME_PART = {"sgd_update_W1": "a", "sgd_update_W2": "a", "sgd_update_b": "a",
             "forward_z1": "b", "forward_z2": "b", "forward_z3": "b", "forward_yhat": "b", "forward_loss": "b",
             "grad_W1": "c", "grad_b1": "c", "grad_W2": "c", "grad_b2": "c",
             "jac_dz2_dz1": "d", "jac_dyhat_dz3": "d", "dl_dyhat": "d"}
GRADS = ("grad_W1", "grad_b1", "grad_W2", "grad_b2")
FORWARDS = ("forward_z1", "forward_z2", "forward_z3", "forward_yhat", "forward_loss")
JACOBIANS = ("jac_dz2_dz1", "jac_dyhat_dz3")
ALLOWED_DERIVATIVES = frozenset(("dl_dyhat", "jac_dz2_dz1", "jac_dyhat_dz3"))
UPDATE_RELATIONS = frozenset(("<-", ":="))
NOT_DEFINED = frozenset(("x", "y", "W", "b", "theta", "w", "eta", "lambda", "alpha", "gamma", "n", "d", "K", "i",
                         "j", "k", "f", "g", "l", "I", "T", "N", "m", "p", "q", "lr", "e"))
_CONTEXT_CHARS = 500
_CONCEPT_CHARS = 4_000

# carry-over claims, in prose (lower case)
_UNCHANGED = re.compile(
    r"\bnothing\b[^.;]{0,40}\bchang|\bno\s+changes?\b|\bunchanged\b|\bdoes(?:n't|n’t| not)\s+change|"
    r"\bdo(?:n't|n’t| not)\s+change|\b(?:is|are|remains?|stays?|keeps?|will\s+be|would\s+be|be)\s+"
    r"(?:exactly\s+|still\s+|all\s+)?(?:the\s+)?(?:same|unchanged|identical)\b|\bsame\s+as\b|\bas\s+before\b|"
    r"\bidentical\s+to\b|\bnot\s+affected\b|\bcarr(?:y|ies)\s+over\b|\bhold\s+as\s+before\b|\bstill\s+(?:hold|appl|valid)|"
    r"\bkeeps?\s+(?:their|its)\s+form\b|\bremains?\s+valid\b|\bapplies?\s+unchanged\b|"
    r"\b(?:is|are|stays?|remains?)\s+(?:exactly\s+|still\s+)?as\s+(?:in|for|before|above)\b")
_NEGATED = re.compile(r"\bnot\s+(?:the\s+)?same\b|\bno\s+longer\b|\bdiffer|\bbecomes?\b|\bchanges?\s+(?:to|into)\b|"
                      r"\bmust\s+change\b|\bneeds?\s+to\s+change\b|\bwill\s+change\b|\bis\s+replaced\b")
_EXCEPT = re.compile(r"\b(?:except(?:\s+for)?|apart\s+from|besides|other\s+than|but(?:\s+for)?|aside\s+from)\b")
_BLANKET = re.compile(r"\b(?:everything|the\s+rest|all\s+(?:the\s+)?other|anything\s+else|nothing\s+else|"
                      r"other\s+(?:equations|expressions|parts|items|quantities|terms|results|answers)|remaining|"
                      r"all\s+(?:the\s+)?(?:equations|expressions|results|answers)|nothing)\b")
_BRACKET = re.compile(r"[()\[\]{}]")
_SO_IS = re.compile(r"\s*(?:and\s+)?so\s+(?:is|are|does|do)\b")
_NUMBERS_ONLY = re.compile(r"[\d\s,.;]*|\s*\\(?:l|c)?dots\s*")
_REFERENCE = re.compile(r"\\(?:eq|c|C|auto)?ref\s*\{([^{}]+)\}")
_PLAIN_DERIVATIVE = re.compile(r"[\u2202d][\w\u2113\u0302^\u0177]+/[\u2202d][\w\u0302^\u0177]+")
_WORD_SUBJECTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"\bgradient\s+(?:table|formulas?|expressions?|equations?)\b|\bgradients\b|\bbackward\b|\bbackprop|\(c\)|"
     r"\bpart\s+c\b|parameter\s+gradient",
     GRADS),
    (r"\bforward\b|\(b\)|\bpart\s+b\b|\blayer\s+outputs?\b", FORWARDS),
    (r"\bjacobians?\b", JACOBIANS),
    (r"\(d\)|\bpart\s+d\b", (*JACOBIANS, "dl_dyhat")),
    (r"\bderivative\s+of\s+the\s+loss\b|\bloss\s+gradient\b|\bupstream\s+gradient\b", ("dl_dyhat",)),
    (r"\bloss\b", ("forward_loss",)),
)
# a noun describing the math that follows it ("the gradient $..$", "the Jacobian dz2/dz1")
_DESCRIBING_NOUN = re.compile(r"\b(?:gradients?|jacobians?|derivatives?|terms?|matri(?:x|ces)|vectors?|"
                              r"quantit(?:y|ies)|expressions?)(?:\s+of\s+the\s+loss)?\s*(?:\u2063|$)")
_NOUN_BEFORE_MARK = re.compile(_DESCRIBING_NOUN.pattern.replace(r"(?:\u2063|$)", r"\u2063"))
_TOPIC_ITEMS = {"forward": FORWARDS, "gradients": GRADS, "jacobians": (*JACOBIANS, "dl_dyhat"),
                "loss": ("forward_loss", "dl_dyhat")}


@dataclass
class _Offer:
    """A candidate with what the choice rule needs."""

    question: str
    check: str
    snippet: Snippet
    order: int
    home: bool
    table: bool = False
    skeleton: bool = False
    carry: CarryOver | None = None
    subject: str = ""  # the parameter an update rule is for (b1, b2, b*, ...)


@dataclass
class _Found:
    """Statements of one placed block (with the sentence each sits in)."""

    placed: Placed
    order: int
    statements: list[tuple[Statement, str, bool]] = field(default_factory=list)  # (statement, context, in table)
    table_rows: list[tuple[str, list[Part], str, int]] = field(default_factory=list)


def read_sheet(path: Path, limits: Limits = DEFAULT_LIMITS) -> Sheet:
    """Read the answer sheet at `path` (a sheet file, or a folder holding theory.md/.tex/.ipynb/
    .txt or a PDF) into a Sheet. Raises FileNotFoundError only when there is no sheet at all;
    any content problem is a note in Sheet.problems (human_only when nothing could be read)."""
    sheet_path = find_sheet(Path(path))
    if sheet_path is None:
        raise FileNotFoundError(f"no answer sheet (theory.md, .tex, .ipynb, .txt or a PDF) in {path}")
    source = read_source(sheet_path, limits)
    sheet = Sheet(path=str(sheet_path), format=source.format, items=empty_items(), problems=list(source.problems),
                  human_only=source.human_only)
    if source.human_only:
        return sheet
    try:
        document = build_document(source, limits)
        sheet.problems.extend(document.problems)
        SheetReader(sheet, document, limits).read()
    except Exception as error:  # noqa: BLE001 - hostile input must never crash grading: the part goes to a human
        sheet.problems.append(f"the sheet could not be read ({type(error).__name__}: {str(error)[:200]}):"
                              " a human must grade it")
        sheet.items = empty_items()
        sheet.human_only = True
    return sheet


class SheetReader:
    """Fills a Sheet from a Document: macros, placement, statements, renamings, candidates."""

    def __init__(self, sheet: Sheet, document: Document, limits: Limits):
        self.sheet = sheet
        self.document = document
        self.limits = limits
        self.deadline = time.monotonic() + limits.max_seconds
        self.renames: dict[str, str] = {}
        self.offers: list[_Offer] = []
        self.blankets: dict[str, list[tuple[int, CarryOver, tuple[str, ...]]]] = {}
        self.defined_derivatives: set[str] = set()
        self.syntax: Syntax = "plain" if document.format == "txt" else "latex"

    def read(self) -> None:
        macros, problems = collect_macros(self.document.text)
        self.sheet.macros = macros
        self.sheet.problems.extend(problems)
        placed = segment(self.document)
        self.sheet.answered = frozenset(p.item_question for p in placed if p.item_question is not None
                                        and p.ignored not in ("question text", "empty table"))
        found = self.collect(placed)
        self.renames = self.find_renames(found)
        self.sheet.renames = dict(self.renames)
        for entry in found:
            self.definitions_and_labels(entry)
        for entry in found:
            self.offer_statements(entry)
            self.offer_table(entry)
        for order, place in enumerate(placed):
            if place.item_question in ("q1_3a", "q1_3b") and not place.ignored:
                self.carry_overs(place, order)
        self.concept(placed)
        self.choose()
        mentioned = {question for (question, _), answers in self.sheet.items.items() if answers.mentioned}
        self.sheet.answered = self.sheet.answered | mentioned

    # ------------------------------------------------------------ collecting statements

    def collect(self, placed: list[Placed]) -> list[_Found]:
        found: list[_Found] = []
        for order, entry in enumerate(placed):
            if time.monotonic() > self.deadline:
                self.sheet.problems.append(f"reading the sheet took over {self.limits.max_seconds:.0f} s:"
                                           " the rest was not read")
                break
            if entry.ignored and entry.ignored != "outside 1.2 and 1.3":
                continue
            if entry.block.kind in ("heading", "comment", "list_item"):
                continue
            item = _Found(entry, order)
            if entry.block.kind == "table":
                self.collect_table(entry, item)
            else:
                for statement, context in self.part_statements(entry.parts):
                    item.statements.append((statement, context, False))
            found.append(item)
        return found

    def part_statements(self, parts: list[Part]) -> list[tuple[Statement, str]]:
        """Statements of inline parts, each with its sentence as context; a part starting with
        a relation continues the previous part's statement (an equation split by prose)."""
        out: list[tuple[Statement, str]] = []
        sentences = _sentences(parts)
        max_chars = self.limits.max_statement_chars
        for index, part in enumerate(parts):
            if len(part.text) > max_chars:
                what = "math block" if part.kind == "math" else "line"
                self.sheet.problems.append(f"a {what} of {len(part.text)} characters at line {part.line} was not"
                                           f" read (over {max_chars})")
                continue
            depth = bracket_depth(part.text)
            if depth > self.limits.max_depth:
                self.sheet.problems.append(f"an expression nested {depth} deep at line {part.line} was not read"
                                           f" (over {self.limits.max_depth})")
                continue
            if part.kind == "math":
                statements = latex_statements(part.text, part.line, max_chars)
            elif part.kind == "code" or part.syntax == "plain" and _looks_like_math(part.text):
                statements = plain_statements(part.text, part.line, max_chars)
            else:
                continue
            context = sentences[index]
            for statement in statements:
                if not statement.lhs and out:
                    previous = out[-1][0]
                    previous.rhs.extend(statement.rhs)
                    previous.relations.extend(statement.relations)
                    continue
                out.append((statement, context))
        return out

    def collect_table(self, entry: Placed, item: _Found) -> None:
        rows = entry.block.rows
        if not rows:
            return
        header = [plain(parts_text(cell)).lower() for cell in rows[0]]
        answer_column = len(header) - 1
        for index, name in enumerate(header):
            if re.search(r"output|gradient|value|answer|expression|result|derivative|formula|element|jacobian", name):
                answer_column = index
        for row in rows[1:]:
            if len(row) <= answer_column or not row[answer_column] or not row[0]:
                continue
            key = " ".join(part.text for part in row[0])
            context = " | ".join(parts_text(cell) for cell in row)
            item.table_rows.append((key, row[answer_column], context, row[0][0].line or entry.block.line))

    # ------------------------------------------------------------ renamings, definitions, labels

    def find_renames(self, found: list[_Found]) -> dict[str, str]:
        """Sheet symbols standing for the handout's z1, z2, z3, yhat, from their definitions
        (s^{(1)} = W^{(1)}x + b^{(1)} -> s1 is z1; z^{(1)} = f(s^{(1)}) -> zP1 is z2)."""
        renames: dict[str, str] = {}
        statements = [s for entry in found for s, _, _ in entry.statements]
        for entry in found:
            for _key, cell, _context, _line in entry.table_rows:
                statements.extend(s for s, _ in self.part_statements(cell))
        for _ in range(4):
            before = dict(renames)
            for statement in statements:
                symbol = parse_symbol(canonical(self.expand(statement.lhs)))
                if symbol is None or symbol.element or symbol.generic:
                    continue
                name = symbol.name
                if name in ("z1", "z2", "z3", "yhat", "x", "y", "l") or name in ("W1", "W2", "b1", "b2"):
                    continue
                for side in statement.rhs:
                    role = forward_role(self.expand(side), renames)
                    if role is not None:
                        renames.setdefault(name, role)
                        break
            if renames == before:
                break
        return renames

    def definitions_and_labels(self, entry: _Found) -> None:
        for statement, _context, _ in entry.statements:
            answer = statement.rhs[-1]
            for label in statement.labels:
                self.sheet.labels[label] = answer
            meaning = self.meaning(statement)
            if meaning is None or meaning.symbol is None:
                continue
            symbol = meaning.symbol
            if symbol in NOT_DEFINED or symbol.startswith("dl/dW") or symbol.startswith("dl/db"):
                continue
            if re.fullmatch(r"\s*0\s*", answer) or not answer.strip():
                continue
            if symbol.startswith("d") and "/" in symbol:
                self.defined_derivatives.add(symbol)
            self.sheet.definitions.append(Definition(statement.lhs.strip(), answer, statement.syntax, statement.line))
        for part in entry.placed.parts:
            if part.kind == "math" and "\\label" in part.text and not entry.statements:
                for label in re.findall(r"\\label\s*\{([^{}]*)\}", part.text):
                    self.sheet.labels[label] = re.sub(r"\\label\s*\{[^{}]*\}", "", part.text).strip()

    # ------------------------------------------------------------ candidates

    def offer_statements(self, entry: _Found) -> None:
        question = entry.placed.item_question
        if question is None or entry.placed.ignored:
            return
        checks = QUESTION_CHECKS[question]  # type: ignore[index]
        for index, (statement, context, _) in enumerate(entry.statements):
            order = entry.order * 1000 + index
            meaning = self.meaning(statement)
            if meaning is None or _NUMBERS_ONLY.fullmatch(statement.rhs[-1]):
                continue  # "for l = 1, 2", "dl/dW = 0" (zeroing the gradients) answer nothing
            if meaning.check is not None and meaning.check in checks:
                self.drop_self_names(statement, meaning.check)
                text = statement.rhs[-1]
                if meaning.indexed:
                    text = f"{statement.lhs.strip()} = {text}"
                form: SnippetForm = "chain" if len(statement.rhs) > 1 else "equation"
                snippet = Snippet(text, statement.syntax, statement.line, form, _context(statement, context))
                self.offer(question, meaning.check, snippet, order, entry.placed.part)
            elif meaning.parameter is not None and self.is_update(statement, meaning):
                for check in update_checks(meaning.parameter):
                    if check in checks:
                        text = _specialise(statement.lhs, statement.rhs[-1], meaning.parameter, check,
                                           statement.syntax)
                        snippet = Snippet(text, statement.syntax, statement.line,
                                          "chain" if len(statement.rhs) > 1 else "equation",
                                          _context(statement, context))
                        self.offer(question, check, snippet, order, entry.placed.part, subject=meaning.parameter)

    def drop_self_names(self, statement: Statement, check: str) -> None:
        """"Linear_1(x) = W_1 x + b_1 = z_1": a last right-hand side that only names the
        quantity itself is not its answer; the one before it is."""
        while len(statement.rhs) > 1:
            last = classify_lhs(self.expand(statement.rhs[-1]), statement.syntax, self.renames)
            if last is None or last.check != check:
                return
            statement.rhs.pop()
            statement.relations.pop()

    def meaning(self, statement: Statement) -> LhsMeaning | None:
        """The LHS meaning; for plain text, a trailing word of the LHS may carry it ("update W1")."""
        meaning = classify_lhs(self.expand(statement.lhs), statement.syntax, self.renames)
        if meaning is None and statement.syntax == "plain":
            words = statement.lhs.split()
            if len(words) > 1:
                meaning = classify_lhs(words[-1], "plain", self.renames)
                if meaning is not None:
                    statement.lhs = words[-1]
        return meaning

    def expand(self, text: str) -> str:
        """`text` with the sheet's macros expanded (for recognising what it names)."""
        return expand_macros(text, self.sheet.macros) if self.sheet.macros else text

    def is_update(self, statement: Statement, meaning: LhsMeaning) -> bool:
        """An update rule: `W <- ...`, `W := ...`, or `W = W - ...` / `W^{new} = ...`."""
        if statement.relations[0] in UPDATE_RELATIONS:
            return True
        symbol = parse_symbol(canonical(statement.lhs))
        if symbol is not None and symbol.next_step:
            return True
        lhs = symbolize(self.expand(statement.lhs))
        first = symbolize(self.expand(statement.rhs[0]))
        return bool(lhs) and first.startswith(lhs) and first[len(lhs):len(lhs) + 1] in ("-", "+")

    def offer(self, question: str, check: str, snippet: Snippet, order: int, part: str | None,
              table: bool = False, carry: CarryOver | None = None, subject: str = "") -> None:
        home = question != "q1_2" or HOME_PART.get(check) == part
        self.offers.append(_Offer(question, check, snippet, order, home, table, carry=carry, subject=subject))

    def offer_table(self, entry: _Found) -> None:
        question = entry.placed.item_question
        if question is None or entry.placed.ignored or not entry.table_rows:
            return
        checks = QUESTION_CHECKS[question]  # type: ignore[index]
        in_gradients = question == "q1_2" and entry.placed.part == "c"
        for index, (key, cell, context, line) in enumerate(entry.table_rows):
            order = entry.order * 1000 + index
            targets = self.row_checks(key, in_gradients)
            text, form_syntax, cell_check = self.cell_answer(cell)
            if not text:
                continue
            if not targets and cell_check is not None and not (in_gradients and not cell_check.startswith("grad_")):
                targets = (cell_check,)
            for check in targets:
                if check in checks:
                    snippet = Snippet(text, form_syntax, line, "table", context)
                    self.offer(question, check, snippet, order, entry.placed.part, table=True)

    def row_checks(self, key: str, in_gradients: bool) -> tuple[str, ...]:
        """The items a table row answers, by its first cell (a layer, a parameter, a quantity).
        In 1.2(c) a layer row (the forward table given as the gradients) answers its layer's
        parameter gradients."""
        key = self.expand(key)
        flat = canonical(key).lower().replace("\\", "")
        layer = None
        if re.fullmatch(r"linear_?1(\(.*\))?|layer1|l1|fc1", flat):
            layer = "1"
        elif re.fullmatch(r"linear_?2(\(.*\))?|layer2|l2|fc2", flat):
            layer = "2"
        if layer is not None:
            if in_gradients:
                return ("grad_W" + layer, "grad_b" + layer)
            return ("forward_z1",) if layer == "1" else ("forward_z3",)
        if in_gradients:
            meaning = classify_lhs(key, self.syntax, self.renames)
            if meaning is not None and meaning.parameter in ("W1", "W2", "b1", "b2"):
                return ("grad_" + meaning.parameter,)
            if meaning is not None and meaning.check is not None and meaning.check.startswith("grad_"):
                return (meaning.check,)
            return ()  # other rows of a forward table given in 1.2(c) answer nothing
        if re.fullmatch(r"f(\(.*\))?|relu|sigma|sigmoid|tanh|activation_?1?|5relu|\(5\)relu", flat):
            return ("forward_z2",)
        if re.fullmatch(r"g(\(.*\))?|identity|output|activation_?2|i", flat):
            return ("forward_yhat",)
        if re.fullmatch(r"loss|l|ell|mse|bce|l_?mse|l_?bce|lmse|loss\(.*\)|l\(.*\)|ell\(.*\)|criterion", flat):
            return ("forward_loss",)
        meaning = classify_lhs(key, self.syntax, self.renames)
        if meaning is None:
            return ()
        if meaning.check is not None:
            return (meaning.check,)
        if meaning.parameter in ("W1", "W2", "b1", "b2"):
            return ("grad_" + meaning.parameter,)
        return ()

    def cell_answer(self, cell: list[Part]) -> tuple[str, Syntax, str | None]:
        """(answer text, syntax, item its own LHS names) of a table cell: the last RHS of an
        equation or chain in it, else the whole cell."""
        statements = self.part_statements(cell)
        if statements:
            statement = statements[-1][0]
            meaning = self.meaning(statement)
            return statement.rhs[-1], statement.syntax, meaning.check if meaning else None
        math = [p for p in cell if p.kind in ("math", "code")]
        if len(math) == 1 and not any(p.kind == "text" and p.text.strip() for p in cell):
            return math[0].text.strip(), "latex" if math[0].kind == "math" else "plain", None
        text = parts_text(cell).strip()
        return text, "plain" if self.syntax == "plain" else "latex", None

    # ------------------------------------------------------------ 1.3 carry-overs and 1.3(c)

    def carry_overs(self, entry: Placed, order: int) -> None:
        """Carry-over claims of a 1.3 block, clause by clause: a claim names its items (or the
        previous clause's), or is a blanket claim for the sub-topic's / question's other items."""
        question = entry.item_question
        if question is None:
            return
        syntax: Syntax = "plain" if self.syntax == "plain" else "latex"
        for index, (sentence, pieces) in enumerate(_sentence_pieces(entry.parts)):
            snippet = Snippet(sentence.strip(), syntax, pieces[0].line or entry.block.line, "carry_over",
                              sentence.strip()[:_CONTEXT_CHARS])
            previous: list[str] = []
            previous_claim = False
            for clause in _clauses(pieces):
                prose = " ".join(p.text if p.kind == "text" else "\u2063" for p in clause).lower()
                named, excluded, blanket = self.subjects(clause)
                equation = any(p.kind != "text" and _looks_like_math(p.text) for p in clause)
                claimed = bool(_UNCHANGED.search(prose)) and not _NEGATED.search(_EXCEPT.split(prose)[0])
                if not claimed and _SO_IS.match(prose):  # "..., and so is the gradient table": the claim again
                    claimed = previous_claim
                previous_claim = claimed and not equation
                if not claimed or equation:
                    previous = named
                    continue
                if not named and not blanket:
                    named = previous
                kind, target = self.target(parts_text(clause), question)
                self.claim(entry, question, (named, excluded, blanket), (kind, target), snippet,
                           order * 1000 + 900 + index)
                previous = []

    def claim(self, entry: Placed, question: str, subjects: tuple[list[str], set[str], bool],
              reference: tuple[CarryKind, str | None], snippet: Snippet, order: int) -> None:
        """Record one carry-over claim: offers for named items, blanket claims otherwise."""
        named, excluded, blanket = subjects
        kind, target = reference
        checks = QUESTION_CHECKS[question]  # type: ignore[index]
        if named:
            for check in dict.fromkeys(named):
                if check in checks:
                    carry = CarryOver(check, kind, self.default_target(question, check, kind, target), snippet)
                    self.offer(question, check, snippet, order, entry.part, carry=carry)
            return
        if not blanket and not entry.topic:
            blanket = True
        scope = self.topic_items(entry.topic) if entry.topic else checks
        for check in scope:
            if check in checks and check not in excluded:
                carry = CarryOver(check, kind, self.default_target(question, check, kind, target), snippet)
                self.blankets.setdefault(question, []).append((order, carry, (check,)))

    @staticmethod
    def topic_items(topic: str) -> tuple[str, ...]:
        return _TOPIC_ITEMS.get(topic, ())

    def subjects(self, pieces: list[Part]) -> tuple[list[str], set[str], bool]:
        """(items named, items excepted, blanket claim) of a carry-over sentence. Words after
        "except"/"but"/"apart from" name exceptions; a noun right before a math piece ("the
        gradient $...$") describes that piece and names nothing by itself."""
        named: list[str] = []
        excluded: set[str] = set()
        blanket = False
        excepting = False
        for index, piece in enumerate(pieces):
            if piece.kind != "text":
                for check in self.math_subjects(piece):
                    (excluded.add(check) if excepting else named.append(check))
                continue
            text = piece.text.lower()
            if index + 1 < len(pieces) and pieces[index + 1].kind != "text":
                text = _DESCRIBING_NOUN.sub("", text)
            cut = _EXCEPT.search(text)
            before, after = (text[:cut.start()], text[cut.end():]) if cut else (text, "")
            for words, exception in ((before, excepting), (after, True)):
                found = self.word_subjects(words) if words.strip() else []
                (excluded.update(found) if exception else named.extend(found))
                if words.strip() and not exception and _BLANKET.search(words):
                    blanket = True
            excepting = excepting or cut is not None
        return named, excluded, blanket and not named

    def word_subjects(self, text: str) -> list[str]:
        """Items named in prose: plain derivatives (dL/dW1, ∂ℓ/∂ŷ) and words (gradients, Jacobians,
        forward pass, loss, (b)/(c)/(d))."""
        found: list[str] = []
        for token in _PLAIN_DERIVATIVE.findall(text):
            meaning = classify_lhs(token, "plain", self.renames)
            if meaning is not None and meaning.check:
                found.append(meaning.check)
        text = _NOUN_BEFORE_MARK.sub(" ", _PLAIN_DERIVATIVE.sub(" \u2063 ", text)).replace("\u2063", " ")
        for pattern, checks in _WORD_SUBJECTS:
            if re.search(pattern, text):
                found.extend(checks)
        return found

    def math_subjects(self, piece: Part) -> list[str]:
        """Items named by a math piece of prose ("$\\frac{\\partial l}{\\partial W_1}$ and ...")."""
        text = piece.text
        if len(text) > 2000:
            return []
        checks: list[str] = []
        for item in re.split(r",|\\text\{\s*and\s*\}|\band\b|\\quad", self.expand(text)):
            if not item.strip() or re.search(r"(?<![<>!])=", item):
                continue
            meaning = classify_lhs(self.expand(item), "latex" if piece.kind == "math" else "plain", self.renames)
            if meaning is not None and meaning.check is not None:
                checks.append(meaning.check)
        return checks

    @staticmethod
    def target(sentence: str, question: str) -> tuple[CarryKind, str | None]:
        """("same_as", label or question) for an explicit reference, else ("unchanged", None)."""
        reference = _REFERENCE.search(sentence)
        if reference:
            return "same_as", reference.group(1).strip()
        lower = sentence.lower()
        if re.search(r"\b1\.2\b|\bregression\b|\bprevious\s+(?:section|question)\b", lower):
            return "same_as", "q1_2"
        if question == "q1_3b" and re.search(r"\b1\.3\s*\.?\s*\(?a\b|\bin\s+\(a\)|\bpart\s+\(?a\b|\bas\s+in\s+\(?a\)",
                                             lower):
            return "same_as", "q1_3a"
        return "unchanged", None

    @staticmethod
    def default_target(question: str, check: str, kind: str, target: str | None) -> str | None:
        if kind == "same_as":
            return target
        if question == "q1_3b" and check in QUESTION_CHECKS["q1_3a"]:
            return "q1_3a"
        return "q1_2"

    def concept(self, placed: list[Placed]) -> None:
        """1.3(c): the prose answer, for a human."""
        blocks = [p for p in placed if p.item_question == "q1_3c" and not p.ignored
                  and p.block.kind in ("paragraph", "math", "code", "table") and parts_text(p.parts).strip()]
        if not blocks:
            return
        text = "\n\n".join(parts_text(p.parts).strip() for p in blocks if p.parts).strip()
        if not text:
            return
        snippet = Snippet(text[:_CONCEPT_CHARS], "plain" if self.syntax == "plain" else "latex", blocks[0].block.line,
                          "text", text[:_CONTEXT_CHARS])
        self.offer("q1_3c", "concept_why_relu", snippet, placed.index(blocks[0]) * 1000, "c")

    # ------------------------------------------------------------ choosing

    def choose(self) -> None:
        by_item: dict[tuple[str, str], list[_Offer]] = {}
        for offer in self.offers:
            offer.skeleton = self.is_skeleton(offer)
            by_item.setdefault((offer.question, offer.check), []).append(offer)
        for key, answers in self.sheet.items.items():
            offers = sorted(by_item.get(key, []), key=lambda o: o.order)
            if offers:
                _decide(answers, offers)
            else:
                self.apply_blanket(answers)

    def apply_blanket(self, answers: ItemAnswers) -> None:
        claims = [(order, carry) for order, carry, checks in self.blankets.get(answers.question, [])
                  if answers.check in checks]
        if not claims:
            return
        _, carry = max(claims, key=lambda c: c[0])
        answers.candidates = [carry.snippet]
        answers.chosen = carry.snippet
        answers.carry_over = carry
        answers.mentioned = True

    def is_skeleton(self, offer: _Offer) -> bool:
        """A chain-rule skeleton: only derivative symbols, one of them neither allowed by the
        handout nor defined by the sheet (e.g. dl/dz1 dz1/dW1)."""
        if offer.snippet.form not in ("equation", "chain"):
            return False
        flat = canonical(offer.snippet.text)
        derivatives = re.findall(r"\(\(\u2202[^()]*\)/\(\u2202[^()]*\)\)|\u2202\w+/\u2202\w+|\bd[a-zA-Z]\w*/d\w+", flat)
        rest = flat
        for found in derivatives:
            rest = rest.replace(found, "")
        if not derivatives or re.sub(r"[()*^T\s]|odot|\\cdot", "", rest):
            return False
        for found in derivatives:
            meaning = classify_lhs(found, "latex", self.renames)
            if meaning is None:
                return True
            if meaning.check in ALLOWED_DERIVATIVES:
                continue
            if meaning.symbol is None or meaning.symbol not in self.defined_derivatives:
                return True
        return False


def _decide(answers: ItemAnswers, offers: list[_Offer]) -> None:
    """The choice rule (see the module docstring) applied to one item's offers (sheet order)."""
    answers.candidates = [o.snippet for o in offers]
    answers.mentioned = True
    if answers.check == "sgd_update_b":
        # b1 and b2 are updated alike: the b1 (or generic) rule is graded, b2's is no conflict
        offers = [o for o in offers if o.subject != "b2"] or offers
    pool = [o for o in offers if o.home] or offers
    solid = [o for o in pool if not o.skeleton] or pool
    tables = [o for o in solid if o.table]
    chosen = tables[-1] if tables else solid[-1]
    answers.chosen = chosen.snippet
    answers.carry_over = chosen.carry
    answers.conflict = len({_normal(o.snippet) for o in solid}) > 1


def _normal(snippet: Snippet) -> str:
    if snippet.form == "carry_over":
        return "carry over"
    return canonical(snippet.text)


# ---------------------------------------------------------------- helpers

def bracket_depth(text: str) -> int:
    """The deepest nesting of (), [] and {} in `text` (unbalanced closers ignored)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(text):
        if match.group() in "([{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(0, depth - 1)
    return deepest


def _looks_like_math(text: str) -> bool:
    """Plain prose that holds an equation or update rule."""
    return bool(re.search(r"(?<![<>!=])=(?![=>])|<-|\u2190|:=", text))


def _sentences(parts: list[Part]) -> list[str]:
    """For each part, the sentence (prose with $math$) it belongs to."""
    result = [""] * len(parts)
    for sentence, members in _sentence_groups(parts):
        for index in members:
            result[index] = sentence
    return result


def _sentence_groups(parts: list[Part]) -> list[tuple[str, list[int]]]:
    groups: list[tuple[str, list[int]]] = []
    current: list[str] = []
    members: list[int] = []
    for index, part in enumerate(parts):
        if part.kind != "text":
            current.append(f"${part.text}$" if part.kind == "math" else f"`{part.text}`")
            members.append(index)
            continue
        pieces = re.split(r"(?<=[.!?;])\s+|\n\s*\n", part.text)
        for k, piece in enumerate(pieces):
            if k:
                groups.append(("".join(current), members))
                current, members = [], []
            current.append(piece)
            members.append(index)
    if current:
        groups.append(("".join(current), members))
    return [(s[:_CONTEXT_CHARS].strip(), m) for s, m in groups]


def _sentence_pieces(parts: list[Part]) -> list[tuple[str, list[Part]]]:
    """The sentences of inline parts, each with its pieces (prose split at sentence ends)."""
    out: list[tuple[str, list[Part]]] = []
    current: list[Part] = []
    for part in parts:
        if part.kind != "text":
            current.append(part)
            continue
        if current and current[-1].display and re.match(r"\s*[A-Z]", part.text):
            out.append((parts_text(current), current))
            current = []
        pieces = re.split(r"(?<=[.!?;])\s+|\n\s*\n", part.text)
        for k, piece in enumerate(pieces):
            if k and current:
                out.append((parts_text(current), current))
                current = []
            if piece:
                current.append(Part("text", piece, part.syntax, part.line))
    if current:
        out.append((parts_text(current), current))
    return out


_CLAUSE_BREAK = re.compile(r";\s*|:\s+|,\s+(?=(?:and|but|while|so|whereas|since|because|hence|thus)\b)")


def _clauses(pieces: list[Part]) -> list[list[Part]]:
    """A sentence's pieces cut into clauses at ";", ": " and ", and/but/so/while ..."."""
    clauses: list[list[Part]] = [[]]
    for piece in pieces:
        if piece.kind != "text":
            clauses[-1].append(piece)
            continue
        chunks = _CLAUSE_BREAK.split(piece.text)
        for k, chunk in enumerate(chunks):
            if k:
                clauses.append([])
            if chunk.strip():
                clauses[-1].append(Part("text", chunk, piece.syntax, piece.line))
    return [c for c in clauses if c]


def _context(statement: Statement, sentence: str) -> str:
    text = statement.text
    if sentence and len(sentence) > len(text) + 3 and len(sentence) <= _CONTEXT_CHARS:
        return sentence
    return text[:_CONTEXT_CHARS]


_GENERIC_INDEX = re.compile(r"(\^\s*\{?\s*[(\[]\s*|_\s*\{?\s*)([ilkL])(\s*[)\]]\s*\}?|\s*\}|(?![A-Za-z0-9]))")


def _specialise(lhs: str, text: str, parameter: str, check: str, syntax: Syntax) -> str:
    """A generic update rule's right-hand side written for one parameter: W^{(i)} -> W^{(1)},
    a bare W -> W^{(1)} (W1 in plain text), \\theta or w -> the parameter (b: b^{(1)})."""
    if parameter in ("W1", "W2", "b1", "b2"):
        return text
    letter, number = {"sgd_update_W1": ("W", "1"), "sgd_update_W2": ("W", "2"), "sgd_update_b": ("b", "1")}[check]
    concrete = f"{letter}^{{({number})}}" if syntax == "latex" else f"{letter}{number}"
    if parameter == "theta":
        return re.sub(r"\\theta(?![A-Za-z])|\u03b8|\btheta\b|(?<![A-Za-z\\])w(?![A-Za-z])", concrete, text)
    if _GENERIC_INDEX.search(lhs):
        return _GENERIC_INDEX.sub(lambda m: m.group(1) + number + m.group(3), text)
    return re.sub(rf"(?<![A-Za-z\\]){letter}(?![A-Za-z0-9_]|\^\s*\{{?\s*[(\[]?\s*[0-9ilk])", concrete, text)

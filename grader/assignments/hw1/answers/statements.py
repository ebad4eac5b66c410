"""Split math text into statements `LHS rel RHS1 rel RHS2 ...` (equalities, definitions, update
rules), in LaTeX or in plain/Unicode text, and collect a sheet's macros.

Splitting happens only at the top level: never inside {} groups, (), [], \\{\\}, \\left..\\right or
\\begin..\\end environments (matrices, cases), so `\\max(z_1, 0)` or a pmatrix stays whole.
Everything is a linear scan; texts longer than the caller's limit are not split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .model import Macro, Syntax

# relation macros (without backslash) that separate a chain; "in" ends the statement
_RELATION_MACROS = {"leftarrow": "<-", "gets": "<-", "longleftarrow": "<-", "Leftarrow": "<-", "coloneqq": ":=",
                    "coloneq": ":=", "triangleq": "=", "equiv": "=", "doteq": "=", "eqqcolon": "=",
                    "defeq": ":="}
_STOP_MACROS = frozenset(("in", "approx", "sim", "propto", "forall", "to", "mapsto"))
_SEPARATOR_WORDS = (r"where|and|with|for\s+all|for|since|so|hence|thus|then|i\.e\.|s\.t\.|we\s+have|gives|"
                    r"which\s+gives|so\s+that|therefore|because|as|or|while|by")
_TEXT_SEPARATOR = re.compile(r"\\(?:text|mbox|textrm|mathrm|textnormal)\s*\{\s*[,;.]?\s*(?:" + _SEPARATOR_WORDS
                             + r")\b[^{}]*\}")
_OVERSET_EQ = re.compile(r"\\(?:overset|stackrel)\s*\{[^{}]*\}\s*\{\s*=\s*\}")
_DROP = re.compile(r"\\(?:nonumber|notag|displaystyle|textstyle|allowbreak|intertext\{[^{}]*\})|\\tag\*?\{[^{}]*\}")
_BLANK_LINE = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)*")
_LABEL = re.compile(r"\\label\s*\{([^{}]*)\}")
_TAG = re.compile(r"\\tag\*?\s*\{([^{}]*)\}")
_INNER_ENV = re.compile(r"\\(?:begin|end)\s*\{(?:aligned|alignedat|split|gathered|multlined|align|alignat|flalign|"
                        r"equation|gather|multline|eqnarray|displaymath|dmath|math)\*?\}(?:\{\d+\})?")
# \text{Step 5: } is a remark; \text{Linear}_1 or \text{ReLU} is a name
_TEXT_REMARK = re.compile(r"\\(?:text|textbf|mbox|textrm|textit)\s*\{[^{}]*[\s:;,.!?][^{}]*\}")
_LEADING_WORDS = re.compile(r"^(?:\s|\\(?:Rightarrow|implies|therefore|because|hence|Longrightarrow|iff|quad|qquad)"
                            r"(?![A-Za-z])|\\(?:text|textbf|mbox|textrm|textit)\s*\{[^{}]*[\s:;,.!?][^{}]*\}|[&,;:.])+")
_TRAILING = re.compile(r"(?:\s|[,;.&]|\\[,;:! ]|\\(?:quad|qquad)(?![A-Za-z])|\\\\)+$")
_LEADING_SPACE = re.compile(r"^(?:\s|\\(?:quad|qquad|hspace\{[^{}]*\}|phantom\{[^{}]*\})(?![A-Za-z])|\\[,;:! ])+")
_OPERATOR_START = re.compile(r"^\s*(?:[+\-*/]|\\cdot|\\times|\\odot|\\circ|\u2299|\u00b7|\\ast)")
_PLAIN_TAIL = re.compile(r"(?:,?\s+(?:so|and|then|thus|hence|where|with)|[,;.:])\s*$")


@dataclass
class Statement:
    """`lhs rel rhs[0] rel rhs[1] ...`: `rhs` is the chain (its last element is the answer);
    `relations` the relation before each right-hand side ("=", "<-", ":="); `labels` the
    \\label keys (and "tag:t" for \\tag{t}) attached to it; `line` where it starts."""

    lhs: str
    rhs: list[str]
    relations: list[str]
    syntax: Syntax
    line: int
    labels: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        out = [self.lhs.strip()]
        for relation, side in zip(self.relations, self.rhs, strict=False):
            out.append(f" {relation} {side.strip()}")
        return "".join(out).strip()


def _macro_name_end(text: str, i: int) -> int:
    """End of the control sequence starting at text[i] == "\\"."""
    j = i + 1
    if j < len(text) and text[j].isalpha():
        while j < len(text) and text[j].isalpha():
            j += 1
        return j
    return min(j + 1, len(text))


def top_level(text: str, literals: tuple[str, ...] = (), macros: frozenset[str] | set[str] = frozenset()
              ) -> list[tuple[int, int, str]]:
    """Positions (start, end, token) at nesting depth 0 of the given literal tokens (tried in
    order at each character) and control sequences (names without backslash; "\\\\" is "\\")."""
    found: list[tuple[int, int, str]] = []
    depth = 0
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char == "\\":
            end = _macro_name_end(text, i)
            name = text[i + 1:end]
            if name in ("begin", "left"):
                depth += 1
                end = _skip_delimiter(text, end, name)
            elif name in ("end", "right"):
                depth = max(0, depth - 1)
                end = _skip_delimiter(text, end, name)
            elif name == "{":
                depth += 1
            elif name == "}":
                depth = max(0, depth - 1)
            elif depth == 0 and name in macros:
                found.append((i, end, name))
            i = end
            continue
        if char in "{([":
            depth += 1
        elif char in "})]":
            depth = max(0, depth - 1)
        elif depth == 0:
            for literal in literals:
                if text.startswith(literal, i):
                    found.append((i, i + len(literal), literal))
                    i += len(literal) - 1
                    break
        i += 1
    return found


def _skip_delimiter(text: str, pos: int, name: str) -> int:
    """After \\left/\\right: skip the delimiter; after \\begin/\\end: skip {name}."""
    while pos < len(text) and text[pos] == " ":
        pos += 1
    if name in ("begin", "end"):
        if pos < len(text) and text[pos] == "{":
            close = text.find("}", pos)
            return close + 1 if close > 0 else pos
        return pos
    if pos < len(text) and text[pos] == "\\":
        return _macro_name_end(text, pos)
    return min(pos + 1, len(text))


def split_at(text: str, positions: list[tuple[int, int, str]]) -> list[tuple[str, str]]:
    """(piece, token that ended it) for `text` cut at `positions` (the last token is "")."""
    pieces: list[tuple[str, str]] = []
    start = 0
    for begin, end, token in positions:
        pieces.append((text[start:begin], token))
        start = end
    pieces.append((text[start:], ""))
    return pieces


def _relations(piece: str, syntax: Syntax) -> list[tuple[int, int, str]]:
    """Top-level relation tokens of a piece, normalised ("=", "<-", ":=", or "stop")."""
    if syntax == "latex":
        raw = top_level(piece, (":=", "=:", "==", "<=", ">=", "!=", "=>", "=", "\u2190", "\u2254"),
                        frozenset(_RELATION_MACROS) | _STOP_MACROS)
    else:
        raw = top_level(piece, ("<=", ">=", "!=", "=>", "==", "<-", "\u2190", ":=", "\u2254", "=", "#"))
    out = []
    for start, end, token in raw:
        if token in ("<=", ">=", "!=", "=>", "=:"):
            continue
        if token in _STOP_MACROS or token == "#":
            out.append((start, end, "stop"))
        elif token in _RELATION_MACROS:
            out.append((start, end, _RELATION_MACROS[token]))
        elif token in ("\u2190", "<-"):
            out.append((start, end, "<-"))
        elif token in ("\u2254", ":="):
            out.append((start, end, ":="))
        else:
            out.append((start, end, "="))
    return out


def clean_lhs(text: str) -> str:
    """A left-hand side without leading words, \\text{..} remarks, & and punctuation."""
    text = _LEADING_WORDS.sub("", text)
    text = _TEXT_REMARK.sub(" ", text)
    colon = [p for p in top_level(text, (":",))]
    if colon:
        text = text[colon[-1][1]:]
    return text.replace("&", " ").strip()


def clean_rhs(text: str) -> str:
    """A right-hand side without trailing punctuation, spacing, alignment marks."""
    text = text.replace("&", " ") if "\\begin" not in text else _strip_top_ampersands(text)
    return _TRAILING.sub("", text).strip()


def _strip_top_ampersands(text: str) -> str:
    cuts = top_level(text, ("&",))
    if not cuts:
        return text
    out, start = [], 0
    for begin, end, _ in cuts:
        out.append(text[start:begin])
        start = end
    out.append(text[start:])
    return " ".join(out)


def _chain(piece: str, syntax: Syntax, line: int) -> Statement | None:
    """The statement of one piece (None when it has no relation before any stop)."""
    relations = _relations(piece, syntax)
    sides: list[str] = []
    kinds: list[str] = []
    start = 0
    for begin, end, kind in relations:
        sides.append(piece[start:begin])
        if kind == "stop":
            start = -1
            break
        kinds.append(kind)
        start = end
    if start >= 0:
        sides.append(piece[start:])
    if not kinds:
        return None
    sides = sides[:len(kinds) + 1]
    lhs = clean_lhs(sides[0]) if syntax == "latex" else sides[0].rsplit(": ", 1)[-1].strip(" \t,;:")
    rhs = [clean_rhs(s) if syntax == "latex" else _PLAIN_TAIL.sub("", s).strip(" \t,;.") for s in sides[1:]]
    while rhs and not rhs[-1]:
        rhs.pop()
        kinds.pop()
    if not rhs:
        return None
    return Statement(lhs, rhs, kinds[:len(rhs)], syntax, line)


def latex_statements(math: str, line: int, max_chars: int = 20_000) -> list[Statement]:
    """The statements of a LaTeX math text (a display block, an align body or inline math).

    Rows (top-level \\\\) starting with a relation continue the previous statement's chain; rows
    starting with an operator continue its last right-hand side; "\\text{where}"-like words,
    \\quad, ";" and top-level commas separate statements (a piece without a relation stays with
    the one before it)."""
    if len(math) > max_chars:
        return []
    math = _INNER_ENV.sub(" ", math)
    math = _BLANK_LINE.sub(lambda m: " \\\\" + "\n" * m.group().count("\n"), math)  # Typora: a blank line ends a row
    math = _OVERSET_EQ.sub("=", math)
    math = _TEXT_SEPARATOR.sub(" \u241e ", math)
    statements: list[Statement] = []
    offset = 0
    for row, _ in split_at(math, top_level(math, (), frozenset(("\\", "cr")))):
        row_start = line + math.count("\n", 0, offset)
        row_line = row_start + row[:len(row) - len(row.lstrip(" \t\n&"))].count("\n")
        offset += len(row) + 2
        labels = _LABEL.findall(row) + ["tag:" + t.strip() for t in _TAG.findall(row)]
        row = _DROP.sub(" ", _LABEL.sub(" ", row))
        if not row.strip():
            continue
        continued = _continue(statements, row, row_line)
        if continued is not None:
            continued.labels.extend(labels)
            continue
        row_statements = _row_statements(row, row_start)
        if row_statements:
            row_statements[-1].labels.extend(labels)
        statements.extend(row_statements)
    return statements


def _continue(statements: list[Statement], row: str, line: int) -> Statement | None:
    """The previous statement, extended by `row` when the row continues it."""
    if not statements:
        return None
    previous = statements[-1]
    stripped = _LEADING_SPACE.sub("", row.replace("&", " "))
    if _OPERATOR_START.match(stripped) and not _relations(stripped, "latex"):
        previous.rhs[-1] = previous.rhs[-1] + " " + clean_rhs(stripped)
        return previous
    head = _relations(stripped, "latex")
    if head and head[0][2] != "stop" and not clean_lhs(stripped[:head[0][0]]):
        tail = _chain(stripped, "latex", line)
        if tail is not None:
            previous.rhs.extend(tail.rhs)
            previous.relations.extend(tail.relations)
            return previous
    return None


def _row_statements(row: str, line: int) -> list[Statement]:
    """Statements of one row starting on `line`: cut at top-level separators; a piece without a
    relation after a comma belongs to the piece before it, after other separators it is a
    remark (dropped). Each statement gets the line where its piece starts."""
    cuts = top_level(row, (",", ";", "\u241e"), frozenset(("quad", "qquad", "Rightarrow", "implies", "iff",
                                                            "Longrightarrow", "therefore")))
    merged: list[tuple[str, int]] = []  # (piece, its line)
    separator = ""
    offset = 0
    for piece, token in split_at(row, cuts):
        piece_line = line + row.count("\n", 0, offset + len(piece) - len(piece.lstrip(" \t\n&")))
        offset += len(piece) + len(token) + (1 if token not in (",", ";", "\u241e") else 0)
        if merged and not _has_relation(piece, "latex"):
            if separator == ",":
                merged[-1] = (merged[-1][0] + "," + piece, merged[-1][1])
        else:
            merged.append((piece, piece_line))
        separator = token
    return [s for s in (_chain(piece, "latex", at) for piece, at in merged) if s is not None]


def _has_relation(piece: str, syntax: Syntax) -> bool:
    found = _relations(piece, syntax)
    return bool(found) and found[0][2] != "stop"


_PLAIN_SEPARATORS = ("; ", ";", ", where ", " where ", " with ", " and ", ", so ", " so ", " => ", " ==> ",
                     " \u21d2 ", "\u241e")
_PLAIN_ANNOTATION = re.compile(r"(?:\s+\(\s*(?:shape|size|dim)[^()]*\)|\s+\(\s*[ndKk1]\s*[x\u00d7,*]\s*[ndKk1]\s*\)"
                               r"|\s+\[\s*(?:shape|size)[^\]]*\]|\s(?:of\s+)?shape\s.*)\s*[.,;]?\s*$")


def plain_statements(text: str, line: int, max_chars: int = 20_000) -> list[Statement]:
    """The statements of plain ASCII/Unicode math (a line of a .txt sheet, a code span): cut at
    "; ", " where ", " and "; a trailing "(shape n x d)" or "# comment" is dropped."""
    if len(text) > max_chars:
        return []
    statements: list[Statement] = []
    cuts = top_level(text, _PLAIN_SEPARATORS + (", ",))
    merged: list[str] = []
    separator = ""
    for piece, token in split_at(text, cuts):
        if merged and not _has_relation(piece, "plain"):
            if separator == ", ":
                merged[-1] += ", " + piece
        else:
            merged.append(piece)
        separator = token
    for piece in merged:
        piece = _PLAIN_ANNOTATION.sub("", piece)
        statement = _chain(piece, "plain", line)
        if statement is None:
            continue
        if not statement.lhs and statements:
            statements[-1].rhs.extend(statement.rhs)
            statements[-1].relations.extend(statement.relations)
            continue
        statements.append(statement)
    return statements


# ---------------------------------------------------------------- macros

_MACRO_DEFINER = re.compile(r"\\(newcommand|renewcommand|providecommand|DeclareMathOperator|def)(\*?)(?![A-Za-z])")


def collect_macros(text: str, max_count: int = 500, max_body: int = 5_000) -> tuple[dict[str, Macro], list[str]]:
    """The macros a sheet defines (\\newcommand, \\renewcommand, \\providecommand, \\def,
    \\DeclareMathOperator), by name with backslash; later definitions win. Problems for
    definitions that could not be read or exceed the limits."""
    macros: dict[str, Macro] = {}
    problems: list[str] = []
    for match in _MACRO_DEFINER.finditer(text):
        if len(macros) >= max_count:
            problems.append(f"the sheet defines over {max_count} macros: the rest were ignored")
            break
        kind = match.group(1)
        macro = _read_def(text, match.end()) if kind == "def" else _read_newcommand(text, match.end(), kind)
        if macro is None:
            continue
        if len(macro.body) > max_body:
            problems.append(f"macro {macro.name} has a body over {max_body} characters: ignored")
            continue
        macros[macro.name] = macro
    return macros, problems


def _brace_group(text: str, pos: int, limit: int = 20_000) -> tuple[str, int] | None:
    """The {..} group at `pos` (after spaces): (content, end), or None."""
    while pos < len(text) and text[pos] in " \t\n":
        pos += 1
    if pos >= len(text) or text[pos] != "{":
        return None
    depth = 0
    for i in range(pos, min(len(text), pos + limit)):
        char = text[i]
        if char == "\\":
            continue
        if char == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif char == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[pos + 1:i], i + 1
    return None


def _read_name(text: str, pos: int) -> tuple[str, int] | None:
    """A macro name given as {\\name} or \\name at `pos`."""
    group = _brace_group(text, pos, 200)
    if group is not None:
        name = group[0].strip()
        return (name, group[1]) if re.fullmatch(r"\\[A-Za-z]+|\\.", name) else None
    named = re.compile(r"\s*(\\[A-Za-z]+|\\.)").match(text, pos)
    return (named.group(1), named.end()) if named else None


def _read_newcommand(text: str, pos: int, kind: str) -> Macro | None:
    name = _read_name(text, pos)
    if name is None:
        return None
    macro_name, pos = name
    if kind == "DeclareMathOperator":
        body = _brace_group(text, pos)
        return Macro(macro_name, 0, None, f"\\operatorname{{{body[0]}}}", "operator") if body else None
    nargs, default = 0, None
    count = re.compile(r"\s*\[\s*(\d)\s*\]").match(text, pos)
    if count:
        nargs, pos = int(count.group(1)), count.end()
        optional = re.compile(r"\s*\[([^\]]*)\]").match(text, pos)
        if optional:
            default, pos = optional.group(1), optional.end()
    body = _brace_group(text, pos)
    if body is None:
        return None
    return Macro(macro_name, nargs, default, body[0], kind)  # type: ignore[arg-type]


def _read_def(text: str, pos: int) -> Macro | None:
    named = re.compile(r"\s*(\\[A-Za-z]+|\\.)((?:#\d)*)").match(text, pos)
    if not named:
        return None
    body = _brace_group(text, named.end())
    if body is None:
        return None
    return Macro(named.group(1), named.group(2).count("#"), None, body[0], "def")


_CONTROL_WORD = re.compile(r"\\([A-Za-z]+)(?![A-Za-z])")


def expand_macros(text: str, macros: dict[str, Macro], max_expansions: int = 200, max_chars: int = 20_000) -> str:
    """`text` with the sheet's macros expanded (arguments substituted for #1..#9), at most
    `max_expansions` times and while the text stays under `max_chars` (a macro bomb stops there)."""
    if not macros or "\\" not in text:
        return text
    count = 0
    pos = 0
    while count < max_expansions and len(text) <= max_chars:
        match = _CONTROL_WORD.search(text, pos)
        if match is None:
            break
        macro = macros.get("\\" + match.group(1))
        if macro is None:
            pos = match.end()
            continue
        args, end = _macro_arguments(text, match.end(), macro)
        body = macro.body
        for number, argument in enumerate(args, start=1):
            body = body.replace(f"#{number}", argument)
        text = text[:match.start()] + body + text[end:]
        count += 1
        pos = match.start()
    return text


def _macro_arguments(text: str, pos: int, macro: Macro) -> tuple[list[str], int]:
    args: list[str] = []
    wanted = macro.nargs
    if wanted and macro.default is not None:
        optional = re.compile(r"\s*\[([^\]]*)\]").match(text, pos)
        if optional:
            args.append(optional.group(1))
            pos = optional.end()
        else:
            args.append(macro.default)
        wanted -= 1
    for _ in range(wanted):
        group = _brace_group(text, pos)
        if group is not None:
            args.append(group[0])
            pos = group[1]
            continue
        token = re.compile(r"\s*(\\[A-Za-z]+|\S)").match(text, pos)
        if token is None:
            break
        args.append(token.group(1))
        pos = token.end()
    return args, pos

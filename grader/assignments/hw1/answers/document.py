"""A sheet's text -> a flat list of blocks (headings, paragraphs, math, tables, list items,
code, comments), whatever its format: Markdown, LaTeX, notebook Markdown cells, plain text.

Inline content is kept as parts: prose ("text"), LaTeX math ("math", delimiters dropped;
display math included) and code spans ("code", where sheets write Unicode/ASCII math). Nothing
is interpreted here beyond structure; segment.py decides which question a block answers.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.amsmath import amsmath_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from pylatexenc.latexwalker import (  # type: ignore[import-untyped]
    LatexCharsNode,
    LatexCommentNode,
    LatexEnvironmentNode,
    LatexGroupNode,
    LatexMacroNode,
    LatexMathNode,
    LatexNode,
    LatexSpecialsNode,
    LatexWalker,
)

from .intake import SourceText
from .model import DEFAULT_LIMITS, Limits, SheetFormat, Syntax

BlockKind = Literal["heading", "paragraph", "math", "table", "list_item", "code", "comment"]
PartKind = Literal["text", "math", "code"]

MATH_ENVIRONMENTS = frozenset(
    name + star for name in ("equation", "align", "alignat", "flalign", "gather", "multline", "eqnarray",
                             "displaymath", "math", "dmath", "split")
    for star in ("", "*"))
TABLE_ENVIRONMENTS = frozenset(("tabular", "tabular*", "tabularx", "longtable", "tabulary", "array"))
VERBATIM_ENVIRONMENTS = frozenset(("verbatim", "verbatim*", "lstlisting", "minted", "Verbatim", "comment"))
QUOTE_ENVIRONMENTS = frozenset(("quote", "quotation", "displayquote"))
SECTION_LEVELS = {"part": 1, "chapter": 1, "section": 2, "subsection": 3, "subsubsection": 4,
                  "paragraph": 5, "subparagraph": 6}
# Macros whose argument is shown as text (bold ones mark emphasis); others are kept verbatim.
TEXT_STYLE_MACROS = {"textbf": True, "textit": True, "emph": True, "textsl": True, "underline": False,
                     "text": False, "textrm": False, "textsf": False, "texttt": False, "mbox": False,
                     "textnormal": False}
SKIPPED_MACROS = frozenset((
    "documentclass", "usepackage", "title", "author", "date", "maketitle", "newcommand", "renewcommand",
    "providecommand", "def", "DeclareMathOperator", "label", "vspace", "hspace", "noindent", "newpage",
    "clearpage", "tableofcontents", "setlength", "pagestyle", "thispagestyle", "geometry", "hline",
    "centering", "small", "large", "Large", "footnotesize", "normalsize", "bigskip", "medskip",
    "smallskip", "newline", "linebreak", "pagebreak", "let", "input", "include", "bibliography",
    "bibliographystyle", "graphicspath", "includegraphics", "tcbset", "newtcolorbox", "hypersetup",
    "newtheorem", "theoremstyle", "setcounter", "addtocounter", "renewenvironment", "newenvironment",
    "DeclareMathOperator*", "allowdisplaybreaks", "numberwithin"))
PLACEHOLDER = re.compile("\u27eaM(\\d+)\u27eb")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_BEGIN_MATH = re.compile(r"^\s*\\begin\{{({})\}}".format("|".join(re.escape(e) for e in sorted(MATH_ENVIRONMENTS))))
_UNESCAPED_DOLLARS = re.compile(r"(?<!\\)\$\$")
_RULE_MACROS = re.compile(r"\\(?:hline|toprule|midrule|bottomrule|cline\{[^}]*\}|cmidrule(?:\([^)]*\))?\{[^}]*\}"
                          r"|rowcolor(?:\[[^]]*\])?\{[^}]*\}|hhline\{[^}]*\})")


@dataclass(frozen=True)
class Part:
    """Inline content: `kind` text (prose), math (LaTeX without its delimiters) or code (a code
    span or block: plain/Unicode math). `line`: 1-based line where it starts (0: the block's)."""

    kind: PartKind
    text: str
    syntax: Syntax
    line: int = 0
    display: bool = False


@dataclass
class Block:
    """One structural unit of a sheet, in reading order.

    heading: `level` 1 (top) .. 6, `parts` the title (possibly empty: an untitled LaTeX section).
    list_item: the start of a list item, `marker` its label ("1", "2" for ordered lists by
    position, "(a)" for an explicit \\item[(a)], "-" for bullets), `level` its nesting depth;
    the item's content follows as further blocks. table: `rows` (header row first) of cells,
    each a list of parts. comment: a LaTeX % comment or an HTML comment (never an answer).
    `emphasized`: all its prose is bold/italic (typical of pasted question text); `lead_label`:
    the text of a leading bold span ("(a)"); `quoted`: inside a block quote.
    """

    kind: BlockKind
    line: int
    parts: list[Part] = field(default_factory=list)
    level: int = 0
    marker: str = ""
    rows: list[list[list[Part]]] = field(default_factory=list)
    emphasized: bool = False
    lead_label: str = ""
    quoted: bool = False
    syntax: Syntax = "latex"

    @property
    def text(self) -> str:
        """The block's content as one string: math wrapped in $..$, code in `..`."""
        return parts_text(self.parts)


@dataclass
class Document:
    """A sheet's blocks in reading order, with the problems met while reading it."""

    format: SheetFormat
    blocks: list[Block] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    text: str = ""


def parts_text(parts: Iterable[Part]) -> str:
    """Parts joined as source-like text: math as $..$, code as `..`."""
    out = []
    for part in parts:
        if part.kind == "math":
            out.append(f"${part.text}$")
        elif part.kind == "code":
            out.append(f"`{part.text}`")
        else:
            out.append(part.text)
    return "".join(out)


def nesting_depth(text: str) -> int:
    """The deepest nesting of {} (unescaped) in `text`."""
    depth = deepest = 0
    for match in re.finditer(r"(?<!\\)[{}]", text):
        if match.group() == "{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(0, depth - 1)
    return deepest


def build_document(source: SourceText, limits: Limits = DEFAULT_LIMITS) -> Document:
    """The blocks of a read sheet, by its format. Never raises on content; a document that hits
    a limit is read as far as possible (plain lines) with a problem note."""
    doc = Document(format=source.format, text=source.text)
    if source.human_only or not source.text:
        return doc
    depth = nesting_depth(source.text)
    too_deep = depth > limits.max_depth
    if too_deep:
        doc.problems.append(f"the sheet nests braces {depth} deep (limit {limits.max_depth}): its structure was"
                            " read as plain lines")
    try:
        if too_deep:
            syntax: Syntax = "latex" if source.format in ("md", "tex", "ipynb") else "plain"
            doc.blocks = plain_blocks(source.text, syntax, limits)
        elif source.format == "tex":
            doc.blocks = LatexReader(source.text, limits).read()
        elif source.format in ("md", "ipynb"):
            doc.blocks = markdown_blocks(source.text, limits, doc.problems)
        else:
            doc.blocks = plain_blocks(source.text, "plain", limits)
    except RecursionError:
        doc.problems.append("the sheet is nested too deeply to read its structure: read as plain lines")
        doc.blocks = plain_blocks(source.text, "plain", limits)
    if len(doc.blocks) > limits.max_blocks:
        doc.problems.append(f"the sheet has {len(doc.blocks)} blocks: only the first {limits.max_blocks} were read")
        del doc.blocks[limits.max_blocks:]
    for block in doc.blocks:
        if block.kind == "table" and getattr(block, "_truncated", False):
            doc.problems.append(f"a table at line {block.line} is over {limits.max_table_rows} rows or"
                                f" {limits.max_table_cols} columns: the rest was not read")
    return doc


def _clip_rows(rows: list[list[list[Part]]], limits: Limits) -> tuple[list[list[list[Part]]], bool]:
    clipped = [row[:limits.max_table_cols] for row in rows[:limits.max_table_rows]]
    truncated = len(rows) > limits.max_table_rows or any(len(r) > limits.max_table_cols for r in rows)
    return clipped, truncated


def _table_block(line: int, rows: list[list[list[Part]]], limits: Limits, syntax: Syntax) -> Block:
    clipped, truncated = _clip_rows(rows, limits)
    block = Block(kind="table", line=line, rows=clipped, syntax=syntax)
    if truncated:
        block._truncated = True  # type: ignore[attr-defined]
    return block


# ---------------------------------------------------------------- Markdown (and notebooks)

def _hoist_display_math(text: str) -> tuple[str, list[int], list[tuple[str, int]]]:
    """Replace multi-line display math ($$..$$ spanning lines, \\[..\\], \\begin{align}..) by a
    one-line placeholder so that Typora-style bare \\\\ and blank lines inside it survive
    Markdown. Returns the new text, the original line of each new line, and the math pieces
    (LaTeX, start line)."""
    lines = text.split("\n")
    out: list[str] = []
    origin: list[int] = []
    maths: list[tuple[str, int]] = []
    fence = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        fence_match = _FENCE.match(line)
        if fence_match and (not fence or fence_match.group(1).startswith(fence)):
            fence = "" if fence else fence_match.group(1)
        if fence:
            out.append(line)
            origin.append(i + 1)
            i += 1
            continue
        region = _display_region(lines, i)
        if region is None:
            out.append(line)
            origin.append(i + 1)
            i += 1
            continue
        prefix, body, suffix, last = region
        out.append(f"{prefix}\u27eaM{len(maths)}\u27eb{suffix}")
        origin.append(i + 1)
        maths.append((body, i + 1))
        i = last + 1
    return "\n".join(out), origin, maths


def _display_region(lines: list[str], i: int) -> tuple[str, str, str, int] | None:
    """(text before, math body, text after, last line index) of display math opening on line i."""
    line = lines[i]
    dollars = [m.start() for m in _UNESCAPED_DOLLARS.finditer(_mask_code_spans(line))]
    if len(dollars) % 2 == 1:
        start = dollars[-1]
        for j in range(i + 1, min(len(lines), i + 2000)):
            close = _UNESCAPED_DOLLARS.search(_mask_code_spans(lines[j]))
            if close:
                body = "\n".join([line[start + 2:], *lines[i + 1:j], lines[j][:close.start()]])
                return line[:start], body, lines[j][close.end():], j
        return None
    stripped = line.strip()
    env = _BEGIN_MATH.match(line)
    if env or stripped.startswith("\\["):
        end_mark = f"\\end{{{env.group(1)}}}" if env else "\\]"
        for j in range(i, min(len(lines), i + 2000)):
            pos = lines[j].find(end_mark, len(line) - len(line.lstrip()) + 2 if j == i else 0)
            if pos >= 0:
                joined = "\n".join([*lines[i:j], lines[j][:pos + len(end_mark)]])
                body = joined.strip()
                if not env:
                    body = body[2:-2]
                indent = line[:len(line) - len(line.lstrip())]
                return indent, body, lines[j][pos + len(end_mark):], j
    return None


def _mask_code_spans(line: str) -> str:
    """The line with the content of `code spans` blanked (same length)."""
    return re.sub(r"`[^`]*`", lambda m: " " * len(m.group()), line)


def markdown_parser() -> MarkdownIt:
    """CommonMark + GFM tables + $..$ / $$..$$ math + amsmath environments, nesting bounded."""
    md = MarkdownIt("commonmark", {"maxNesting": 20}).enable("table")
    md.use(dollarmath_plugin, allow_labels=True, allow_space=True, allow_digits=True, double_inline=True)
    md.use(amsmath_plugin)
    return md


def markdown_blocks(text: str, limits: Limits = DEFAULT_LIMITS, problems: list[str] | None = None) -> list[Block]:
    """Blocks of a Markdown text (a notebook's Markdown cells joined). Table rows beyond the
    limits are dropped before parsing (a note goes to `problems`)."""
    hoisted, origin, maths = _hoist_display_math(text)
    hoisted, origin, trimmed = _trim_tables(hoisted, origin, limits)
    if trimmed and problems is not None:
        problems.append(f"a table at line {trimmed} is over {limits.max_table_rows} rows or"
                        f" {limits.max_table_cols} columns: the rest was not read")
    tokens = markdown_parser().parse(hoisted)
    return _MarkdownWalk(origin, maths, limits).walk(tokens)


def _trim_tables(text: str, origin: list[int], limits: Limits) -> tuple[str, list[int], int]:
    """Pipe-table runs cut to the row limit and rows to the column limit; returns the text,
    its line origins and the first trimmed table's line (0 when nothing was trimmed)."""
    lines = text.split("\n")
    kept: list[str] = []
    kept_origin: list[int] = []
    run = 0
    run_start = 0
    trimmed = 0
    for line, line_origin in zip(lines, origin, strict=False):
        run = run + 1 if "|" in line else 0
        if run == 1:
            run_start = line_origin
        if run > limits.max_table_rows + 1:  # the header, the |---| rule and max_table_rows - 1 rows
            trimmed = trimmed or run_start
            continue
        if line.count("|") > limits.max_table_cols + 1:
            line = "|".join(line.split("|", limits.max_table_cols + 2)[:limits.max_table_cols + 1]) + "|"
            trimmed = trimmed or run_start
        kept.append(line)
        kept_origin.append(line_origin)
    return "\n".join(kept), kept_origin, trimmed


class _MarkdownWalk:
    """Markdown tokens -> blocks; placeholders back to display math; lines to the original."""

    def __init__(self, origin: list[int], maths: list[tuple[str, int]], limits: Limits):
        self.origin = origin
        self.maths = maths
        self.limits = limits
        self.blocks: list[Block] = []
        self.quote_depth = 0
        self.list_depth = 0
        self.ordinals: list[int] = []

    def line_of(self, token: Token) -> int:
        if token.map is None:
            return self.blocks[-1].line if self.blocks else 1
        index = min(token.map[0], len(self.origin) - 1)
        return self.origin[index] if self.origin else 1

    def walk(self, tokens: list[Token]) -> list[Block]:
        i = 0
        while i < len(tokens):
            i = self.step(tokens, i)
        return self.blocks

    def step(self, tokens: list[Token], i: int) -> int:
        token = tokens[i]
        kind = token.type
        if kind == "heading_open":
            parts, _, _ = self.inline(tokens[i + 1], self.line_of(token))
            self.blocks.append(Block("heading", self.line_of(token), parts, level=int(token.tag[1:])))
            return i + 3
        if kind == "paragraph_open":
            line = self.line_of(token)
            parts, emphasized, lead = self.inline(tokens[i + 1], line)
            self.add_paragraph(line, parts, emphasized, lead)
            return i + 3
        if kind in ("bullet_list_open", "ordered_list_open"):
            self.list_depth += 1
            start = token.attrGet("start")
            self.ordinals.append(int(start) - 1 if isinstance(start, int | str) and str(start).isdigit() else 0)
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self.list_depth -= 1
            self.ordinals.pop()
        elif kind == "list_item_open":
            self.ordinals[-1] += 1
            marker = str(self.ordinals[-1]) if token.markup in (".", ")") else "-"
            self.blocks.append(Block("list_item", self.line_of(token), level=self.list_depth, marker=marker))
        elif kind == "blockquote_open":
            self.quote_depth += 1
        elif kind == "blockquote_close":
            self.quote_depth -= 1
        elif kind in ("math_block", "math_block_label", "amsmath"):
            self.blocks.append(Block("math", self.line_of(token), [Part("math", token.content.strip("\n"), "latex",
                                                                        self.line_of(token), True)]))
        elif kind in ("fence", "code_block"):
            self.add_code(token)
        elif kind == "html_block":
            self.add_html(token)
        elif kind == "table_open":
            return self.table(tokens, i)
        return i + 1

    def add_paragraph(self, line: int, parts: list[Part], emphasized: bool, lead: str) -> None:
        if not parts:
            return
        only_math = all(p.kind == "math" or not p.text.strip() for p in parts)
        kind: BlockKind = "math" if only_math else "paragraph"
        self.blocks.append(Block(kind, line, parts, emphasized=emphasized, lead_label=lead,
                                 quoted=self.quote_depth > 0))

    def add_code(self, token: Token) -> None:
        line = self.line_of(token) + (1 if token.type == "fence" else 0)
        content = self.restore(token.content)
        if token.info.strip().lower() in ("math", "latex", "tex", "katex"):
            self.blocks.append(Block("math", line, [Part("math", content.strip(), "latex", line, True)]))
        else:
            self.blocks.append(Block("code", line, [Part("code", content, "plain", line)], syntax="plain"))

    def add_html(self, token: Token) -> None:
        content = token.content.strip()
        if content.startswith("<!--"):
            body = content[4:].rsplit("-->", 1)[0]
            self.blocks.append(Block("comment", self.line_of(token), [Part("text", body.strip(), "plain")]))

    def restore(self, text: str) -> str:
        """Placeholders inside code put back as the original $$..$$."""
        return PLACEHOLDER.sub(lambda m: f"$${self.maths[int(m.group(1))][0]}$$", text)

    def table(self, tokens: list[Token], i: int) -> int:
        line = self.line_of(tokens[i])
        rows: list[list[list[Part]]] = []
        row: list[list[Part]] = []
        i += 1
        while i < len(tokens) and tokens[i].type != "table_close":
            kind = tokens[i].type
            if kind == "tr_open":
                row = []
            elif kind == "tr_close":
                rows.append(row)
            elif kind == "inline":
                parts, _, _ = self.inline(tokens[i], self.line_of(tokens[i]))
                row.append(parts)
            i += 1
        self.blocks.append(_table_block(line, rows, self.limits, "latex"))
        return i + 1

    def inline(self, token: Token, line: int) -> tuple[list[Part], bool, str]:
        """(parts, all prose emphasized, leading bold text) of an inline token."""
        state = _Inline(self, line)
        for child in token.children or []:
            state.child(child)
        state.flush()
        has_prose = any(p.kind != "math" and p.text.strip() for p in state.parts)
        emphasized = has_prose and not state.plain_outside_style
        return state.parts, emphasized, "".join(state.lead).strip()

    def split_placeholders(self, text: str, line: int, parts: list[Part]) -> None:
        pos = 0
        for match in PLACEHOLDER.finditer(text):
            if match.start() > pos:
                parts.append(Part("text", text[pos:match.start()], "plain", line))
            body, math_line = self.maths[int(match.group(1))]
            parts.append(Part("math", body, "latex", math_line, True))
            pos = match.end()
        if pos < len(text):
            parts.append(Part("text", text[pos:], "plain", line))


class _Inline:
    """The walk through one inline token's children: parts, emphasis and a leading bold span."""

    def __init__(self, walk: _MarkdownWalk, line: int):
        self.walk = walk
        self.line = line
        self.parts: list[Part] = []
        self.text: list[str] = []
        self.style = 0
        self.plain_outside_style = False
        self.lead: list[str] = []
        self.lead_state = "start"  # start -> in -> done

    def flush(self) -> None:
        if self.text:
            self.walk.split_placeholders("".join(self.text), self.line, self.parts)
            self.text.clear()

    def prose(self, content: str, counts: bool = True) -> None:
        """Prose (or a code span) outside any bold/italic ends the leading bold span."""
        if self.style == 0 and content.strip() and counts:
            self.plain_outside_style = True
            if self.lead_state != "in":
                self.lead_state = "done"

    def child(self, child: Token) -> None:
        kind = child.type
        if kind == "text":
            self.prose(child.content)
            if self.lead_state == "in":
                self.lead.append(child.content)
            self.text.append(child.content)
        elif kind in ("softbreak", "hardbreak") or (kind == "html_inline" and child.content.startswith("<br")):
            self.text.append("\n")
            self.flush()
            self.line += 1
        elif kind in ("strong_open", "em_open"):
            self.style += 1
            if self.lead_state == "start" and kind == "strong_open":
                self.lead_state = "in"
        elif kind in ("strong_close", "em_close"):
            self.style -= 1
            if self.lead_state == "in" and self.style == 0:
                self.lead_state = "done"
        elif kind in ("math_inline", "math_inline_double"):
            self.flush()
            if self.lead_state == "in":
                self.lead.append(f"${child.content}$")
            elif self.style == 0:
                self.lead_state = "done"
            self.parts.append(Part("math", child.content, "latex", self.line, kind == "math_inline_double"))
        elif kind == "code_inline":
            self.flush()
            self.prose(child.content or " ")
            self.parts.append(Part("code", self.walk.restore(child.content), "plain", self.line))


# ---------------------------------------------------------------- LaTeX

class LatexReader:
    """A LaTeX sheet -> blocks, through pylatexenc's tolerant walker."""

    def __init__(self, text: str, limits: Limits = DEFAULT_LIMITS):
        self.text = text
        self.limits = limits
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.blocks: list[Block] = []
        self.parts: list[Part] = []
        self.paragraph_line = 0
        self.bold_depth = 0
        self.prose_outside_bold = False
        self.quote_depth = 0
        self.list_depth = 0
        self.counters: list[int] = []
        self.lead = ""

    def line(self, pos: int | None) -> int:
        return bisect.bisect_right(self.line_starts, pos or 0)

    def read(self) -> list[Block]:
        walker = LatexWalker(self.text, tolerant_parsing=True)
        nodes, _, _ = walker.get_latex_nodes()
        body = nodes
        for node in nodes:
            if isinstance(node, LatexEnvironmentNode) and node.environmentname == "document":
                body = node.nodelist
                break
        self.nodes(body)
        self.flush()
        return self.blocks

    def flush(self) -> None:
        """End the current paragraph (if it has content) and append it as a block."""
        parts = _merge_text(self.parts)
        self.parts = []
        if parts and any(p.text.strip() for p in parts):
            only_math = all(p.kind == "math" or not p.text.strip() for p in parts)
            has_prose = any(p.kind == "text" and p.text.strip() for p in parts)
            lead = self.lead
            self.blocks.append(Block("math" if only_math else "paragraph", self.paragraph_line or 1, parts,
                                     emphasized=has_prose and not self.prose_outside_bold, lead_label=lead,
                                     quoted=self.quote_depth > 0))
        self.prose_outside_bold = False
        self.paragraph_line = 0
        self.lead = ""

    def add(self, part: Part) -> None:
        if not self.parts and not part.text.strip():
            return
        if not self.paragraph_line:
            self.paragraph_line = part.line
        if part.kind == "text" and part.text.strip() and self.bold_depth == 0:
            self.prose_outside_bold = True
        self.parts.append(part)

    def nodes(self, nodes: Iterable[LatexNode | None]) -> None:
        for node in nodes:
            if node is not None:
                self.node(node)

    def node(self, node: LatexNode) -> None:
        line = self.line(node.pos)
        if isinstance(node, LatexCharsNode):
            self.chars(node.chars, line)
        elif isinstance(node, LatexCommentNode):
            self.flush()
            self.blocks.append(Block("comment", line, [Part("text", node.comment.strip(), "plain", line)]))
        elif isinstance(node, LatexMathNode):
            body = node.latex_verbatim()
            opening, closing = node.delimiters
            self.add(Part("math", body[len(opening):len(body) - len(closing)], "latex", line,
                          node.displaytype == "display"))
        elif isinstance(node, LatexGroupNode):
            self.nodes(node.nodelist)
        elif isinstance(node, LatexEnvironmentNode):
            self.environment(node, line)
        elif isinstance(node, LatexMacroNode):
            self.macro(node, line)
        elif isinstance(node, LatexSpecialsNode):
            self.add(Part("text", node.specials_chars if node.specials_chars not in ("~",) else " ", "plain", line))

    def chars(self, chars: str, line: int) -> None:
        pieces = re.split(r"\n[ \t]*\n", chars)
        for k, piece in enumerate(pieces):
            if k:
                self.flush()
                line += 1
            if piece.strip():
                leading = piece[:len(piece) - len(piece.lstrip())].count("\n")
                self.add(Part("text", piece, "plain", line + leading))
            line += piece.count("\n")

    def environment(self, node: LatexEnvironmentNode, line: int) -> None:
        name = node.environmentname
        if name in MATH_ENVIRONMENTS:
            body = node.latex_verbatim()
            inner = body[body.find("}") + 1:body.rfind("\\end")]
            self.add(Part("math", inner.rstrip("\n"), "latex", line, True))
        elif name in TABLE_ENVIRONMENTS:
            self.flush()
            self.blocks.append(self.tabular(node, line))
        elif name in VERBATIM_ENVIRONMENTS:
            self.flush()
            if name != "comment":
                body = node.latex_verbatim()
                self.blocks.append(Block("code", line + 1, [Part("code", body[body.find("}") + 1:body.rfind("\\end")],
                                                                  "plain", line + 1)], syntax="plain"))
        elif name in ("enumerate", "itemize", "description"):
            self.flush()
            self.list_depth += 1
            self.counters.append(0)
            self.nodes(node.nodelist)
            self.flush()
            self.counters.pop()
            self.list_depth -= 1
        else:
            quote = name in QUOTE_ENVIRONMENTS
            self.flush()
            self.quote_depth += quote
            self.nodes(node.nodelist)
            self.flush()
            self.quote_depth -= quote

    def macro(self, node: LatexMacroNode, line: int) -> None:
        name = node.macroname
        args = [a for a in (node.nodeargd.argnlist if node.nodeargd else []) if a is not None]
        if name.rstrip("*") in SECTION_LEVELS:
            self.flush()
            title = _group_nodes(args[-1]) if args else []
            saved, self.parts = self.parts, []
            self.nodes(title)
            parts = _merge_text(self.parts)
            self.parts = saved
            self.paragraph_line = 0
            self.prose_outside_bold = False
            self.blocks.append(Block("heading", line, parts, level=SECTION_LEVELS[name.rstrip("*")]))
        elif name == "item":
            self.flush()
            if self.counters:
                self.counters[-1] += 1
            label = args[0].latex_verbatim()[1:-1].strip() if args else ""
            marker = label or (str(self.counters[-1]) if self.counters else "-")
            self.blocks.append(Block("list_item", line, level=self.list_depth, marker=marker))
        elif name in TEXT_STYLE_MACROS and args:
            bold = TEXT_STYLE_MACROS[name]
            if bold and not any(p.text.strip() for p in self.parts):
                self.lead = _plain(args[-1]).strip()
            self.bold_depth += bold
            self.nodes(_group_nodes(args[-1]))
            self.bold_depth -= bold
        elif name in ("par",):
            self.flush()
        elif name == "\\":
            self.add(Part("text", "\n", "plain", line))
        elif name in SKIPPED_MACROS or name.rstrip("*") in SKIPPED_MACROS:
            return
        else:
            self.add(Part("text", node.latex_verbatim(), "plain", line))

    def tabular(self, node: LatexEnvironmentNode, line: int) -> Block:
        body = node.latex_verbatim()
        start = body.find("}") + 1
        if node.nodeargd and node.nodeargd.argnlist:
            last = [a for a in node.nodeargd.argnlist if a is not None]
            if last:
                start = last[-1].pos + last[-1].len - node.pos
        inner = body[start:body.rfind("\\end")]
        rows: list[list[list[Part]]] = []
        row_line = line + body.count("\n", 0, start)
        for row_text in split_top_level(inner, "\\\\", self.limits.max_depth):
            cleaned = _RULE_MACROS.sub("", row_text)
            if cleaned.strip():
                first = row_line + cleaned[:len(cleaned) - len(cleaned.lstrip())].count("\n")
                cells = [latex_inline_parts(cell.strip(), first)
                         for cell in split_top_level(cleaned, "&", self.limits.max_depth)]
                rows.append(cells)
            row_line += row_text.count("\n")
        return _table_block(line, rows, self.limits, "latex")


def _group_nodes(arg: LatexNode) -> list[LatexNode | None]:
    if isinstance(arg, LatexGroupNode):
        return list(arg.nodelist)
    return [arg]


def _plain(arg: LatexNode) -> str:
    text = arg.latex_verbatim()
    return text[1:-1] if text.startswith("{") and text.endswith("}") else text


def _merge_text(parts: list[Part]) -> list[Part]:
    """Adjacent prose parts merged into one."""
    merged: list[Part] = []
    for part in parts:
        if merged and part.kind == "text" and merged[-1].kind == "text":
            merged[-1] = Part("text", merged[-1].text + part.text, "plain", merged[-1].line)
        else:
            merged.append(part)
    return merged


def latex_inline_parts(text: str, line: int) -> list[Part]:
    """Split LaTeX inline text into prose and $..$ / \\(..\\) math parts (a table cell)."""
    parts: list[Part] = []
    pos = 0
    for match in re.finditer(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$(.+?)(?<!\\)\$|\\\((.+?)\\\)", text, re.DOTALL):
        if match.start() > pos:
            parts.append(Part("text", text[pos:match.start()], "plain", line))
        body = next(g for g in match.groups() if g is not None)
        parts.append(Part("math", body, "latex", line))
        pos = match.end()
    if pos < len(text):
        parts.append(Part("text", text[pos:], "plain", line))
    return [p for p in parts if p.text.strip()]


def split_top_level(text: str, separator: str, max_depth: int = 64) -> list[str]:
    """`text` split at `separator` where it is outside {} groups and \\begin..\\end environments."""
    pieces: list[str] = []
    depth = 0
    start = 0
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char == "\\":
            if text.startswith("\\begin{", i):
                depth += 1
            elif text.startswith("\\end{", i):
                depth = max(0, depth - 1)
            elif depth == 0 and text.startswith(separator, i):
                pieces.append(text[start:i])
                i += len(separator)
                start = i
                continue
            i += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(0, depth - 1)
        elif depth == 0 and text.startswith(separator, i):
            pieces.append(text[start:i])
            i += len(separator)
            start = i
            continue
        i += 1
    pieces.append(text[start:])
    return pieces


# ---------------------------------------------------------------- plain text

_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_UNDERLINE = re.compile(r"^\s*(=+|-+)\s*$")


def _is_table_row(stripped: str, lines: list[str], index: int) -> bool:
    """A pipe-table row of a plain-text sheet: starts with "|", or sits next to a |---| rule;
    never a line with "||" (a norm)."""
    if "||" in stripped or stripped.count("|") < 2 and not _TABLE_RULE.match(stripped):
        return False
    if stripped.startswith("|") or _TABLE_RULE.match(stripped):
        return True
    neighbours = lines[max(0, index - 1):index] + lines[index + 1:index + 2]
    return any(_TABLE_RULE.match(line.strip()) and "|" in line for line in neighbours)


def plain_blocks(text: str, syntax: Syntax = "plain", limits: Limits = DEFAULT_LIMITS) -> list[Block]:
    """Blocks of a plain-text sheet: one paragraph per line (a line starting with "=" continues
    the previous one), "#"/underlined headings, pipe tables."""
    blocks: list[Block] = []
    lines = text.split("\n")
    table: list[list[list[Part]]] = []
    table_line = 0
    part_kind: PartKind = "text"
    for index, raw in enumerate(lines):
        number = index + 1
        stripped = raw.strip()
        if _is_table_row(stripped, lines, index):
            if not table:
                table_line = number
            if not _TABLE_RULE.match(stripped):
                cells = stripped.strip("|").split("|")
                table.append([[Part(part_kind, c.strip(), syntax, number)] if c.strip() else [] for c in cells])
            continue
        if table:
            blocks.append(_table_block(table_line, table, limits, syntax))
            table = []
        if not stripped:
            continue
        if _UNDERLINE.match(stripped) and blocks and blocks[-1].kind == "paragraph" and blocks[-1].line == index:
            previous = blocks.pop()
            blocks.append(Block("heading", previous.line, previous.parts, level=1 if stripped[0] == "=" else 2,
                                syntax=syntax))
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", stripped)
        if heading:
            blocks.append(Block("heading", number, [Part("text", heading.group(2), syntax, number)],
                                level=len(heading.group(1)), syntax=syntax))
            continue
        if stripped.startswith(("=", "\u2261")) and blocks and blocks[-1].kind == "paragraph":
            last = blocks[-1]
            last.parts = [Part(last.parts[0].kind, last.parts[0].text + " " + stripped, syntax, last.line)]
            continue
        blocks.append(Block("paragraph", number, [Part(part_kind, stripped, syntax, number)], syntax=syntax))
    if table:
        blocks.append(_table_block(table_line, table, limits, syntax))
    return blocks

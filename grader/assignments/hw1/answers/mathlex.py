"""Two tokenizers for one grammar: LaTeX math, and plain ASCII/Unicode math.

Both turn a formula into the same token stream (lark Tokens) for mathparse's LALR grammar:
`\\frac{\\partial l}{\\partial W^{(1)}}`, `∂ℓ/∂y_hat` and `dl/dW_1` all become
PARTIAL ... SLASH/FRAC ... tokens. Styling (\\boldsymbol, \\mathbf, \\left, spacing) is dropped,
text words are classified (function names, "if", "otherwise"), and norms/absolute values get
explicit open and close tokens. Macro expansion and \\eqref substitution happen on the text
first, with limits. Every limit raises LimitExceeded; unreadable input raises ParseError.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from lark import Token


class MathInputError(Exception):
    """A formula the grader will not evaluate; `reason` is short and plain."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ParseError(MathInputError):
    """The text is not a formula this parser reads."""


class InvalidText(ParseError):
    """The text holds bytes that were not valid UTF-8, or control characters."""


class LimitExceeded(MathInputError):
    """The text exceeds a parse limit (length, nesting, macro expansions, matrix size)."""


@dataclass(frozen=True)
class ParseLimits:
    """Bounds on one formula: characters before and after macro expansion, macro expansions,
    tokens, bracket nesting, the AST's height, matrix cells and statements per text."""

    max_chars: int = 20_000
    max_expanded_chars: int = 60_000
    max_expansions: int = 500
    max_tokens: int = 6_000
    max_depth: int = 48
    max_ast_depth: int = 120
    max_matrix_cells: int = 1_024
    max_statements: int = 64


DEFAULT_PARSE_LIMITS = ParseLimits()


class MacroDef(Protocol):
    """What expansion needs of a macro (the sheet reader's Macro satisfies it)."""

    @property
    def name(self) -> str: ...

    @property
    def nargs(self) -> int: ...

    @property
    def default(self) -> str | None: ...

    @property
    def body(self) -> str: ...


@dataclass(frozen=True)
class SimpleMacro:
    """A macro found inside a formula, or a built-in convenience macro."""

    name: str
    nargs: int
    default: str | None
    body: str


BUILTIN_MACROS: dict[str, SimpleMacro] = {
    m.name: m for m in (
        SimpleMacro("\\norm", 1, None, "\\left\\|#1\\right\\|"),
        SimpleMacro("\\abs", 1, None, "\\left|#1\\right|"),
        SimpleMacro("\\pdv", 2, None, "\\frac{\\partial #1}{\\partial #2}"),
        SimpleMacro("\\dv", 2, None, "\\frac{d #1}{d #2}"),
        SimpleMacro("\\R", 0, None, "\\mathbb{R}"),
    )
}

# -- word classes ------------------------------------------------------------------------

FUNCTION_WORDS = {
    "relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "exp": "exp", "log": "log", "ln": "log",
    "max": "max", "min": "min", "sign": "sign", "sgn": "sign", "sech": "sech", "diag": "diag",
    "sqrt": "sqrt", "abs": "abs", "linear": "linear", "identity": "identity", "id": "identity",
}
SYMBOL_WORDS = {"mse": "MSE", "bce": "BCE", "ce": "CE", "hat": "hat", "new": "new", "old": "old",
                "lr": "lr", "yhat": "y_hat", "y_hat": "y_hat", "next": "new"}
IF_WORDS = {"if", "for", "when", "where", "whenever", "with"}
OTHERWISE_WORDS = {"otherwise", "else", "elsewhere", "o.w.", "ow", "o/w", "other"}
GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "eta", "theta", "vartheta", "lambda",
    "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "phi", "varphi", "chi", "psi", "omega", "kappa",
    "Delta", "Theta", "Phi", "Psi", "Omega", "Lambda", "Gamma",
}
GREEK_ALIASES = {"varepsilon": "epsilon", "vartheta": "theta", "varphi": "phi"}
# Raw multi-letter words recognised inside LaTeX math (anything else is single letters).
LATEX_WORDS = re.compile(r"(MSE|BCE|ReLU|Relu|RELU|relu|diag|sign|sgn|max|min|exp|log|tanh|sech|sigmoid|Linear|"
                         r"new|old|hat|lr)(?![A-Za-z])")

UNICODE_TOKENS: dict[str, tuple[str, str]] = {
    "∂": ("PARTIAL", "partial"), "∇": ("NABLA", "nabla"), "∑": ("SUM", "sum"), "Σ": ("SUM", "sum"),
    "∞": ("INFTY", "inf"), "⊙": ("HADAMARD", "odot"), "∘": ("HADAMARD", "circ"),
    "·": ("STAR", "cdot"), "⋅": ("STAR", "cdot"), "×": ("STAR", "times"), "∗": ("STAR", "star"),
    "•": ("STAR", "cdot"), "−": ("MINUS", "-"), "–": ("MINUS", "-"), "÷": ("SLASH", "/"),
    "≠": ("REL", "!="), "≤": ("REL", "<="), "≥": ("REL", ">="), "←": ("REL", "<-"), "⟵": ("REL", "<-"),
    "≔": ("REL", ":="), "≡": ("REL", ":="), "≈": ("REL", "="), "→": ("REL", "->"),
    "‖": ("BAR2", "‖"), "∣": ("BAR1", "|"), "…": ("DOTS", "cdots"), "⋯": ("DOTS", "cdots"),
    "⋮": ("DOTS", "vdots"), "⋱": ("DOTS", "ddots"), "𝟙": ("INDICATOR", ""), "⊤": ("TOP", "top"),
    "ℓ": ("IDENT", "ell"), "ŷ": ("IDENT", "y_hat"), "ℝ": ("IDENT", "R"), "∈": ("TEXT", "in"),
    "σ": ("IDENT", "sigma"), "δ": ("IDENT", "delta"), "η": ("IDENT", "eta"), "γ": ("IDENT", "gamma"),
    "α": ("IDENT", "alpha"), "λ": ("IDENT", "lambda"), "ε": ("IDENT", "epsilon"), "ϵ": ("IDENT", "epsilon"),
    "θ": ("IDENT", "theta"), "μ": ("IDENT", "mu"), "ρ": ("IDENT", "rho"), "τ": ("IDENT", "tau"),
    "φ": ("IDENT", "phi"), "β": ("IDENT", "beta"), "ω": ("IDENT", "omega"), "π": ("IDENT", "pi"),
    "Δ": ("IDENT", "Delta"), "ξ": ("IDENT", "xi"), "κ": ("IDENT", "kappa"),
}
SUPERSCRIPTS = {"⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7", "⁸": "8",
                "⁹": "9", "⁺": "+", "⁻": "-", "⁽": "(", "⁾": ")", "ᵀ": "T", "ᵗ": "T"}
SUBSCRIPTS = {"₀": "0", "₁": "1", "₂": "2", "₃": "3", "₄": "4", "₅": "5", "₆": "6", "₇": "7", "₈": "8",
              "₉": "9", "ᵢ": "i", "ⱼ": "j", "ₖ": "k", "ₙ": "n", "ₘ": "m", "₍": "(", "₎": ")", "₊": "+"}
ASCII_SINGLE = {
    "+": ("PLUS", "+"), "-": ("MINUS", "-"), "*": ("STAR", "star"), "/": ("SLASH", "/"), "(": ("LPAR", "("),
    ")": ("RPAR", ")"), "[": ("LBRACK", "["), "]": ("RBRACK", "]"), ",": ("COMMA", ","), ";": ("SEMI", ";"),
    "&": ("AMP", "&"), "'": ("PRIME", "'"), "^": ("SUP", "^"), "_": ("SUB", "_"), "=": ("REL", "="),
    "<": ("REL", "<"), ">": ("REL", ">"), "@": ("STAR", "star"),
}
ASCII_MULTI = [(":=", ("REL", ":=")), ("<-", ("REL", "<-")), ("<=", ("REL", "<=")), (">=", ("REL", ">=")),
               ("!=", ("REL", "!=")), ("==", ("REL", "=")), ("->", ("REL", "->")), ("**", ("SUP", "^")),
               (".*", ("HADAMARD", "odot")), ("...", ("DOTS", "cdots"))]

LATEX_SKIP = {
    ",", ";", ":", "!", " ", "displaystyle", "textstyle", "limits", "nolimits", "nonumber",
    "notag", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "Biggl", "Biggr",
    "middle", "mathstrut", "strut", "allowbreak", "cr", "noindent", "centering",
}
LATEX_SKIP_ARG = {"label", "tag", "hspace", "vspace", "color", "phantom", "hphantom", "vphantom", "tag*",
                  "mathclap"}
LATEX_STYLE = {"boldsymbol", "bm", "mathbf", "mathbfit", "pmb", "vec", "mathit", "mathnormal", "mathcal",
               "mathscr", "bf", "underline", "overline", "textcolor", "cancel", "bold", "boldmath"}
LATEX_TEXT = {"text", "textrm", "textit", "textbf", "textsf", "texttt", "mathrm", "operatorname", "mathsf",
              "mathtt", "mbox", "hbox", "textnormal", "textup", "emph"}
LATEX_SIMPLE: dict[str, tuple[str, str]] = {
    "partial": ("PARTIAL", "partial"), "nabla": ("NABLA", "nabla"), "sum": ("SUM", "sum"),
    "infty": ("INFTY", "inf"), "cdot": ("STAR", "cdot"), "times": ("STAR", "times"), "ast": ("STAR", "star"),
    "bullet": ("STAR", "cdot"), "cdotp": ("STAR", "cdot"), "odot": ("HADAMARD", "odot"),
    "circ": ("HADAMARD", "circ"), "div": ("SLASH", "/"),
    "neq": ("REL", "!="), "ne": ("REL", "!="), "leq": ("REL", "<="), "le": ("REL", "<="),
    "leqslant": ("REL", "<="), "geq": ("REL", ">="), "ge": ("REL", ">="), "geqslant": ("REL", ">="),
    "lt": ("REL", "<"), "gt": ("REL", ">"), "leftarrow": ("REL", "<-"), "gets": ("REL", "<-"),
    "longleftarrow": ("REL", "<-"), "coloneqq": ("REL", ":="), "coloneq": ("REL", ":="),
    "triangleq": ("REL", ":="), "equiv": ("REL", ":="), "doteq": ("REL", ":="), "approx": ("REL", "="),
    "to": ("REL", "->"), "rightarrow": ("REL", "->"), "mapsto": ("REL", "->"),
    "cdots": ("DOTS", "cdots"), "ldots": ("DOTS", "cdots"), "dots": ("DOTS", "cdots"),
    "dotsc": ("DOTS", "cdots"), "dotsb": ("DOTS", "cdots"), "hdots": ("DOTS", "cdots"),
    "vdots": ("DOTS", "vdots"), "ddots": ("DOTS", "ddots"), "top": ("TOP", "top"),
    "intercal": ("TOP", "top"), "prime": ("PRIME", "'"), "ell": ("IDENT", "ell"),
    "hat": ("HAT", "hat"), "widehat": ("HAT", "hat"), "{": ("LSET", "{"), "}": ("RSET", "}"),
    "lbrace": ("LSET", "{"), "rbrace": ("RSET", "}"), "|": ("BAR2", "‖"), "Vert": ("BAR2", "‖"),
    "lVert": ("LNORM", "‖"), "rVert": ("RNORM", "‖"), "vert": ("BAR1", "|"), "lvert": ("LABS", "|"),
    "rvert": ("RABS", "|"), "lbrack": ("LBRACK", "["), "rbrack": ("RBRACK", "]"), "lparen": ("LPAR", "("),
    "rparen": ("RPAR", ")"), "in": ("TEXT", "in"), "quad": ("TEXT", " "), "qquad": ("TEXT", " "),
}
LATEX_FUNCTIONS = {"max": "max", "min": "min", "exp": "exp", "log": "log", "ln": "log", "tanh": "tanh",
                   "sech": "sech", "diag": "diag", "sign": "sign", "sgn": "sign", "relu": "relu",
                   "ReLU": "relu", "sigmoid": "sigmoid", "abs": "abs"}
MATRIX_ENVS = {"bmatrix", "pmatrix", "matrix", "Bmatrix", "vmatrix", "Vmatrix", "smallmatrix", "array",
               "bmatrix*", "pmatrix*"}
CASES_ENVS = {"cases", "dcases", "rcases", "cases*"}
TRANSPARENT_ENVS = {"align", "align*", "aligned", "equation", "equation*", "gather", "gather*", "gathered",
                    "split", "flalign", "flalign*", "alignat", "alignat*", "multline", "multline*",
                    "displaymath", "math", "eqnarray", "eqnarray*"}
OPERAND_END = {"IDENT", "NUMBER", "RPAR", "RBRACK", "RBRACE", "RSET", "RNORM", "RABS", "TOP", "PRIME", "INFTY",
               "FUNC"}
OPENERS = {"LPAR": "RPAR", "LBRACK": "RBRACK", "LBRACE": "RBRACE", "LSET": "RSET", "LNORM": "RNORM",
           "LABS": "RABS", "BEGIN_MATRIX": "END_MATRIX", "BEGIN_CASES": "END_CASES"}
CLOSERS = {v: k for k, v in OPENERS.items()}

_INTERVAL = re.compile(r"^\s*(?:\\left\s*)?([\[(])\s*([^,]+?)\s*,\s*([^,]+?)\s*(?:\\right\s*)?([\])])\s*$")
_RELATION_HINT = re.compile(r"(>|<|\\geq?|\\leq?|\\gt|\\lt|≥|≤)")
_INDICATOR_ONE = re.compile(r"1\s*(\[[^\]\[]*|\([^()]*|\\?\{[^{}]*)(>|<|\\geq?|\\leq?|\\gt|\\lt|≥|≤)[^\]\[(){}]*"
                            r"\\?[\])}]")
_PLAIN_SCRIPT = re.compile(r"\d+[ijk](?![A-Za-z])|\d+|[A-Za-z]+")
_NAME = (r"[A-Za-zℓŷ\u0370-\u03ff](?:[A-Za-z0-9\u0302₀-₉ᵢⱼ]|_\{[^{}/]*\}|_[A-Za-z0-9]+|\^\([0-9A-Za-z]+\)"
         r"|\^\{[^{}/]*\}|[⁽⁾⁰-⁹])*")
_PLAIN_DERIV = re.compile(rf"([d∂])\s?({_NAME})\s*/\s*([d∂])\s?({_NAME})")
_PLAIN_WORD = re.compile(r"[A-Za-z\u0370-\u03ffℓ]+[0-9]*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")


def check_text(text: str, limits: ParseLimits) -> None:
    """Reject text that is too long, or holds replacement or control characters."""
    if len(text) > limits.max_chars:
        raise LimitExceeded(f"the formula is {len(text)} characters long (limit {limits.max_chars})")
    if "\ufffd" in text:
        raise InvalidText("the text holds bytes that are not valid UTF-8")
    for char in text:
        if unicodedata.category(char) == "Cc" and char not in "\t\n\r":
            raise InvalidText(f"the text holds a control character (U+{ord(char):04X})")


# -- macro expansion -----------------------------------------------------------------------

def read_group(text: str, pos: int) -> tuple[str, int]:
    """The argument at `pos` (after spaces): a balanced {...} group's content, a \\command or a
    single character; returns (argument, position after it)."""
    while pos < len(text) and text[pos] in " \t\n":
        pos += 1
    if pos >= len(text):
        raise ParseError("an argument is missing at the end of the formula")
    if text[pos] == "{":
        level, start = 0, pos
        while pos < len(text):
            if text[pos] == "\\":
                pos += 2
                continue
            level += {"{": 1, "}": -1}.get(text[pos], 0)
            pos += 1
            if level == 0:
                return text[start + 1:pos - 1], pos
        raise ParseError("a { is never closed")
    if text[pos] == "\\":
        match = re.compile(r"\\([A-Za-z]+|.)").match(text, pos)
        assert match is not None
        return match.group(0), match.end()
    return text[pos], pos + 1


def _read_optional(text: str, pos: int) -> tuple[str | None, int]:
    probe = pos
    while probe < len(text) and text[probe] in " \t\n":
        probe += 1
    if probe < len(text) and text[probe] == "[":
        end = text.find("]", probe)
        if end < 0:
            raise ParseError("a [ option is never closed")
        return text[probe + 1:end], end + 1
    return None, pos


def _substitute_args(body: str, args: list[str]) -> str:
    def arg(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        if index >= len(args):
            raise ParseError(f"a macro body uses #{index + 1} but takes {len(args)} arguments")
        return args[index]

    return re.sub(r"#([1-9])", arg, body)


_COMMAND = re.compile(r"\\([A-Za-z]+)")
_REFERENCE = re.compile(r"\\(?:eqref|ref|cref|Cref|autoref)\s*\{([^{}]*)\}")


class _Expander:
    def __init__(self, macros: Mapping[str, MacroDef], labels: Mapping[str, str], limits: ParseLimits):
        self.macros = macros
        self.labels = labels
        self.limits = limits
        self.count = 0

    def _charge(self, text: str) -> None:
        self.count += 1
        if self.count > self.limits.max_expansions:
            raise LimitExceeded(f"more than {self.limits.max_expansions} macro expansions")
        if len(text) > self.limits.max_expanded_chars:
            raise LimitExceeded(f"macro expansion grows the formula past {self.limits.max_expanded_chars} characters")

    def expand(self, text: str) -> str:
        pos = 0
        reference = _REFERENCE.search(text)
        while True:
            match = _COMMAND.search(text, pos)
            if reference is not None and (match is None or reference.start() <= match.start()):
                start = reference.start()
                text = self._reference(text, reference)
            elif match is None:
                return text
            elif "\\" + match.group(1) not in self.macros:
                pos = match.end()
                continue
            else:
                start = match.start()
                text = self._call(text, match, self.macros["\\" + match.group(1)])
            pos = start
            reference = _REFERENCE.search(text, pos)

    def _reference(self, text: str, found: re.Match[str]) -> str:
        key = found.group(1).strip()
        if key not in self.labels:
            raise ParseError(f"\\eqref{{{key}}} names no labelled formula of the sheet")
        target = last_right_hand_side(self.labels[key])
        text = text[:found.start()] + "\\left(" + target + "\\right)" + text[found.end():]
        self._charge(text)
        return text

    def _call(self, text: str, match: re.Match[str], macro: MacroDef) -> str:
        pos = match.end()
        args: list[str] = []
        if macro.nargs and macro.default is not None:
            optional, pos = _read_optional(text, pos)
            args.append(macro.default if optional is None else optional)
        while len(args) < macro.nargs:
            value, pos = read_group(text, pos)
            args.append(value)
        body = _substitute_args(macro.body, args)
        if body[-1:].isalpha() and text[pos:pos + 1].isalpha():
            body += " "
        text = text[:match.start()] + body + text[pos:]
        self._charge(text)
        return text


def last_right_hand_side(text: str) -> str:
    """The part after the last top-level '=' (the whole text when there is none)."""
    level, cut = 0, 0
    for index, char in enumerate(text):
        level += {"{": 1, "}": -1, "(": 1, ")": -1, "[": 1, "]": -1}.get(char, 0)
        if char == "=" and level == 0 and text[index - 1:index] not in ("<", ">", "!", ":"):
            cut = index + 1
    return text[cut:]


_DEFINITION = re.compile(r"\\(newcommand|renewcommand|providecommand|DeclareMathOperator\*?|def)\b")


def collect_macros(text: str) -> tuple[dict[str, SimpleMacro], str]:
    """Macro definitions written inside a formula: (the macros, the text without them)."""
    found: dict[str, SimpleMacro] = {}
    while (match := _DEFINITION.search(text)) is not None:
        kind, pos = match.group(1), match.end()
        if kind == "def":
            name_match = re.compile(r"\s*(\\[A-Za-z]+)((?:#\d)*)").match(text, pos)
            if name_match is None:
                raise ParseError("a \\def without a macro name")
            name, nargs = name_match.group(1), len(name_match.group(2)) // 2
            body, end = read_group(text, name_match.end())
            found[name] = SimpleMacro(name, nargs, None, body)
        elif kind.startswith("DeclareMathOperator"):
            name, pos = read_group(text, pos)
            word, end = read_group(text, pos)
            found[name.strip()] = SimpleMacro(name.strip(), 0, None, f"\\operatorname{{{word}}}")
        else:
            name, pos = read_group(text, pos)
            count, pos = _read_optional(text, pos)
            default, pos = _read_optional(text, pos)
            body, end = read_group(text, pos)
            found[name.strip()] = SimpleMacro(name.strip(), int(count or 0), default, body)
        text = text[:match.start()] + text[end:]
    return found, text


def expand_macros(text: str, macros: Mapping[str, MacroDef] | None = None,
                  labels: Mapping[str, str] | None = None, limits: ParseLimits = DEFAULT_PARSE_LIMITS) -> str:
    """Expand the sheet's macros (and the built-in \\norm, \\abs, \\pdv, \\dv), macros defined in
    the text itself, and \\eqref/\\ref/\\cref through `labels`; at most limits.max_expansions."""
    inline, text = collect_macros(text)
    table: dict[str, MacroDef] = dict(BUILTIN_MACROS)
    table.update(macros or {})
    table.update(inline)
    return _Expander(table, labels or {}, limits).expand(text)


# -- shared token helpers ------------------------------------------------------------------

class MathToken(Token):
    """A lark Token that may carry lexer annotations: `forced` ("open"/"close" for a bar after
    \\left/\\right), `unicode` (a Unicode script character), `interval` (an INTERVAL's bounds)."""

    forced: str | None
    unicode: bool
    interval: tuple[float, float, bool, bool]


def _is_digit(char: str) -> bool:
    """An ASCII digit (str.isdigit also accepts ¹ and ₁)."""
    return len(char) == 1 and char in "0123456789"


def _tok(kind: str, value: str) -> MathToken:
    return MathToken(kind, value)


def _math_letter(char: str) -> str | None:
    """An ASCII letter for a mathematical alphanumeric symbol (𝐱 -> x), else None."""
    if 0x1D400 <= ord(char) <= 0x1D7FF:
        folded = unicodedata.normalize("NFKC", char)
        if len(folded) == 1 and folded.isascii() and folded.isalnum():
            return folded
    return None


def _unicode_tokens(char: str, following: str) -> list[MathToken] | None:
    """Tokens for a non-ASCII character (None when unknown). `following` is the next char."""
    if char in UNICODE_TOKENS:
        kind, value = UNICODE_TOKENS[char]
        return [_tok(kind, value)]
    if char in SUPERSCRIPTS:
        return _script_tokens("SUP", SUPERSCRIPTS[char])
    if char in SUBSCRIPTS:
        return _script_tokens("SUB", SUBSCRIPTS[char])
    letter = _math_letter(char)
    if letter is not None:
        return [_tok("NUMBER" if letter.isdigit() else "IDENT", letter)]
    return None


def _script_tokens(kind: str, value: str) -> list[MathToken]:
    table = {"T": [_tok("TOP", "top")], "+": [_tok("PLUS", "+")], "-": [_tok("MINUS", "-")],
             "(": [_tok("LPAR", "(")], ")": [_tok("RPAR", ")")]}
    if value in table:
        return [_tok(kind, "^" if kind == "SUP" else "_")] + table[value]
    return [_tok(kind, "^" if kind == "SUP" else "_"), _tok("NUMBER" if value.isdigit() else "IDENT", value)]


def merge_scripts(tokens: list[MathToken]) -> list[MathToken]:
    """Join runs of Unicode script characters: ⁽¹⁾ -> ^ ( 1 ), ₁₂ -> _ { 1 2 }, ⁻¹ -> ^ { - 1 }."""
    merged: list[MathToken] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type in ("SUB", "SUP") and token.value in ("^", "_") and getattr(token, "unicode", False):
            run = [tokens[index + 1]]
            index += 2
            while (index + 1 < len(tokens) and tokens[index].type == token.type
                   and getattr(tokens[index], "unicode", False)):
                run.append(tokens[index + 1])
                index += 2
            merged.append(token)
            merged.extend(run if len(run) == 1 else [_tok("LBRACE", "{"), *run, _tok("RBRACE", "}")])
            continue
        merged.append(token)
        index += 1
    return merged


def classify_word(word: str) -> list[MathToken] | None:
    """A text word as tokens: a function name, a symbol word, if/otherwise, a Greek name."""
    stripped = word.strip().strip(",.:;").strip()
    lower = stripped.lower()
    if not stripped:
        return []
    if lower in FUNCTION_WORDS:
        return [_tok("FUNC", FUNCTION_WORDS[lower])]
    if lower in SYMBOL_WORDS:
        return [_tok("IDENT", SYMBOL_WORDS[lower])]
    if lower in IF_WORDS:
        return [_tok("IF", lower)]
    if lower in ("and", "&&"):
        return [_tok("COMMA", ",")]
    if lower in OTHERWISE_WORDS or lower.startswith("otherwise"):
        return [_tok("OTHERWISE", "otherwise")]
    if stripped in GREEK:
        return [_tok("IDENT", GREEK_ALIASES.get(stripped, stripped))]
    return None


def mark_bars(tokens: list[MathToken]) -> list[MathToken]:
    """Resolve ambiguous | and ‖ into explicit open/close tokens (LABS/RABS, LNORM/RNORM)."""
    out: list[MathToken] = []
    stack: list[str] = []
    for token in tokens:
        if token.type not in ("BAR1", "BAR2"):
            out.append(token)
            continue
        kind = "NORM" if token.type == "BAR2" else "ABS"
        forced = getattr(token, "forced", None)
        closing = forced == "close" or (
            forced is None and bool(stack) and stack[-1] == kind and bool(out) and out[-1].type in OPERAND_END)
        if closing:
            if not stack or stack[-1] != kind:
                raise ParseError(f"a closing {token.value} without its opening one")
            stack.pop()
            out.append(_tok("R" + kind, token.value))
        else:
            stack.append(kind)
            out.append(_tok("L" + kind, token.value))
    return out


def check_nesting(tokens: list[MathToken], limits: ParseLimits) -> None:
    """Balanced brackets and environments, no deeper than limits.max_depth, few enough tokens."""
    if len(tokens) > limits.max_tokens:
        raise LimitExceeded(f"the formula has {len(tokens)} tokens (limit {limits.max_tokens})")
    stack: list[str] = []
    for token in tokens:
        if token.type in OPENERS:
            stack.append(token.type)
            if len(stack) > limits.max_depth:
                raise LimitExceeded(f"brackets nested more than {limits.max_depth} deep")
        elif token.type in CLOSERS:
            if not stack or stack[-1] != CLOSERS[token.type]:
                raise ParseError("unbalanced brackets: {} does not close {}".format(
                    token.value, stack[-1] if stack else "anything"))
            stack.pop()
    if stack:
        raise ParseError(f"unbalanced brackets: {len(stack)} left open")


def _finish(tokens: list[MathToken], limits: ParseLimits) -> list[MathToken]:
    tokens = mark_bars(merge_scripts(tokens))
    check_nesting(tokens, limits)
    return tokens


# -- the LaTeX tokenizer ---------------------------------------------------------------------

def parse_interval(text: str) -> tuple[float, float, bool, bool] | None:
    """[0,\\infty) -> (0.0, inf, True, False); None when the text is not an interval."""
    match = _INTERVAL.match(text)
    if match is None:
        return None
    bounds = []
    for raw in (match.group(2), match.group(3)):
        value = raw.replace("\\infty", "inf").replace("∞", "inf").replace(" ", "").lstrip("+")
        try:
            bounds.append(float(value))
        except ValueError:
            return None
    return bounds[0], bounds[1], match.group(1) == "[", match.group(4) == "]"


class _LatexLexer:
    """One pass over LaTeX math; `depth` counts nested re-lexing of \\frac and text arguments."""

    def __init__(self, text: str, limits: ParseLimits, depth: int = 0):
        if depth > limits.max_depth:
            raise LimitExceeded(f"fractions or groups nested more than {limits.max_depth} deep")
        self.text = text
        self.limits = limits
        self.depth = depth
        self.pos = 0
        self.tokens: list[MathToken] = []
        self.delimiter_side: str | None = None
        self.script_pending = False

    def run(self) -> list[MathToken]:
        text = self.text
        while self.pos < len(text):
            if len(self.tokens) > self.limits.max_tokens:
                raise LimitExceeded(f"the formula has more than {self.limits.max_tokens} tokens")
            char = text[self.pos]
            if char.isspace() or char in "$~.:" and not self._decimal_point():
                self.pos += 1
            elif char == "%":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            elif char == "\\":
                self._command()
            else:
                self._character(char)
        return self.tokens

    def _decimal_point(self) -> bool:
        return self.text[self.pos] == "." and _is_digit(self.text[self.pos + 1:self.pos + 2])

    def _emit(self, kind: str, value: str) -> None:
        token = _tok(kind, value)
        if kind in ("BAR1", "BAR2") and self.delimiter_side is not None:
            token.forced = "open" if self.delimiter_side == "left" else "close"
        self.delimiter_side = None
        self.script_pending = kind in ("SUB", "SUP")
        self.tokens.append(token)

    def _extend(self, tokens: list[MathToken]) -> None:
        self.tokens.extend(tokens)
        self.script_pending = False

    def _sublex(self, text: str) -> list[MathToken]:
        return _LatexLexer(text, self.limits, self.depth + 1).run()

    def _character(self, char: str) -> None:
        text, pos = self.text, self.pos
        if _is_digit(char) or self._decimal_point():
            self._number()
        elif char.isascii() and char.isalpha():
            self._letters()
        elif char in "{}":
            self._emit("LBRACE" if char == "{" else "RBRACE", char)
            self.pos += 1
        elif char == "|":
            double = text[pos:pos + 2] == "||"
            self._emit("BAR2" if double else "BAR1", "‖" if double else "|")
            self.pos += 2 if double else 1
        else:
            self._symbol(char)

    def _symbol(self, char: str) -> None:
        text, pos = self.text, self.pos
        for chars, (kind, value) in ASCII_MULTI:
            if text.startswith(chars, pos) and chars != "...":
                self._emit(kind, value)
                self.pos += len(chars)
                return
        if char in ASCII_SINGLE:
            kind, value = ASCII_SINGLE[char]
            self._emit(kind, value)
            self.pos += 1
            return
        if char == "\u0302" and self.tokens and self.tokens[-1].type == "IDENT" and self.tokens[-1].value == "y":
            self.tokens[-1] = _tok("IDENT", "y_hat")
            self.pos += 1
            return
        tokens = _unicode_tokens(char, text[pos + 1:pos + 2])
        if tokens is None:
            raise ParseError(f"unexpected character {char!r}")
        for token in tokens:
            token.unicode = char in SUPERSCRIPTS or char in SUBSCRIPTS
        self._extend(tokens)
        self.pos += 1

    def _number(self) -> None:
        if self.script_pending and _is_digit(self.text[self.pos]):
            self._emit("NUMBER", self.text[self.pos])
            self.pos += 1
            return
        if self.text[self.pos] == "1" and _INDICATOR_ONE.match(self.text, self.pos):
            self._emit("INDICATOR", "")
            self.pos += 1
            return
        match = _NUMBER.match(self.text, self.pos)
        assert match is not None
        self._emit("NUMBER", match.group(0))
        self.pos = match.end()

    def _letters(self) -> None:
        word = LATEX_WORDS.match(self.text, self.pos)
        if word is not None:
            tokens = classify_word(word.group(1))
            assert tokens
            self._extend(tokens)
            self.pos = word.end()
            return
        letter = self.text[self.pos]
        self.pos += 1
        digits = re.compile(r"\d+").match(self.text, self.pos) if not self.script_pending else None
        if digits is not None:
            letter += digits.group(0)
            self.pos = digits.end()
        self._emit("IDENT", letter)

    def _command(self) -> None:
        match = re.compile(r"\\([A-Za-z]+\*?|.)").match(self.text, self.pos)
        if match is None:
            raise ParseError("a lone backslash at the end")
        name = match.group(1)
        self.pos = match.end()
        if name == "\\":
            self._emit("ROWSEP", "\\\\")
            self._skip_optional()
            return
        handler = _LATEX_HANDLERS.get(name)
        if handler is not None:
            handler(self, name)
        elif name in LATEX_SKIP:
            return
        elif name in LATEX_SKIP_ARG:
            _, self.pos = read_group(self.text, self.pos)
        elif name in LATEX_SIMPLE:
            kind, value = LATEX_SIMPLE[name]
            self._emit(kind, value)
        elif name in LATEX_FUNCTIONS:
            self._emit("FUNC", LATEX_FUNCTIONS[name])
        elif name in GREEK:
            self._emit("IDENT", GREEK_ALIASES.get(name, name))
        else:
            raise ParseError(f"unknown command \\{name}")

    def _skip_optional(self) -> None:
        match = re.compile(r"\s*\[[^\]]*\]").match(self.text, self.pos)
        if match is not None:
            self.pos = match.end()

    # handlers -----------------------------------------------------------------------------
    def _frac(self, name: str) -> None:
        self._emit("FRAC", "frac")
        for _ in range(2):
            arg, self.pos = read_group(self.text, self.pos)
            self._emit("LBRACE", "{")
            self._extend(self._sublex(arg))
            self._emit("RBRACE", "}")

    def _sqrt(self, name: str) -> None:
        self._skip_optional()
        arg, self.pos = read_group(self.text, self.pos)
        self._emit("FUNC", "sqrt")
        self._emit("LPAR", "(")
        self._extend(self._sublex(arg))
        self._emit("RPAR", ")")

    def _style(self, name: str) -> None:
        if name == "textcolor":
            _, self.pos = read_group(self.text, self.pos)

    def _text(self, name: str) -> None:
        arg, self.pos = read_group(self.text, self.pos)
        self._extend(self._text_tokens(arg))

    def _text_tokens(self, arg: str) -> list[MathToken]:
        words = classify_word(arg)
        if words is not None:
            return words
        stripped = arg.strip()
        if stripped in ("T", "\\top", "\\intercal"):
            return [_tok("TOP", "top")]
        if re.fullmatch(r"[A-Za-z]{1,2}\d*|\d+|[A-Za-z]_?\{?\d\}?", stripped):
            return self._sublex(stripped)
        if re.fullmatch(r"[A-Za-z]+(?:_\d+)?", stripped) and stripped.split("_")[0].lower() == "linear":
            layer = stripped.partition("_")[2]
            return [_tok("FUNC", "linear")] + ([_tok("SUB", "_"), _tok("NUMBER", layer)] if layer else [])
        return [_tok("TEXT", stripped)]

    def _blackboard(self, name: str) -> None:
        arg, self.pos = read_group(self.text, self.pos)
        if arg.strip() == "1":
            self._indicator()
        elif arg.strip() == "I":
            self._emit("IDENT", "I")
        else:
            self._extend(self._sublex(arg))

    def _bold(self, name: str) -> None:
        arg, after = read_group(self.text, self.pos)
        rest = self.text[after:].lstrip()
        if arg.strip() == "1" and rest[:1] in ("[", "(", "_") or rest.startswith("\\{"):
            self.pos = after
            self._indicator()

    def _indicator(self) -> None:
        self._emit("INDICATOR", "")
        probe = self.pos
        while probe < len(self.text) and self.text[probe].isspace():
            probe += 1
        if self.text[probe:probe + 1] != "_":
            return
        arg, after = read_group(self.text, probe + 1)
        interval = parse_interval(arg)
        if interval is not None:
            self._emit("SUB", "_")
            token = _tok("INTERVAL", arg)
            token.interval = interval
            self.tokens.append(token)
            self.pos = after

    def _left_right(self, name: str) -> None:
        self.delimiter_side = "left" if name == "left" else "right"
        if self.text[self.pos:self.pos + 1] == ".":
            self.pos += 1
            self.delimiter_side = None

    def _begin_end(self, name: str) -> None:
        env, self.pos = read_group(self.text, self.pos)
        env = env.strip()
        if env in MATRIX_ENVS:
            if name == "begin" and env == "array":
                _, self.pos = read_group(self.text, self.pos)
            self._emit("BEGIN_MATRIX" if name == "begin" else "END_MATRIX", env)
        elif env in CASES_ENVS:
            self._emit("BEGIN_CASES" if name == "begin" else "END_CASES", env)
        elif env not in TRANSPARENT_ENVS:
            raise ParseError(f"unsupported environment {env}")

    def _reference(self, name: str) -> None:
        arg, self.pos = read_group(self.text, self.pos)
        raise ParseError(f"\\{name}{{{arg}}} names no labelled formula of the sheet")

    def _operator_name(self, name: str) -> None:
        arg, self.pos = read_group(self.text, self.pos)
        self._extend(self._text_tokens(arg))


_LATEX_HANDLERS = {
    "frac": _LatexLexer._frac, "dfrac": _LatexLexer._frac, "tfrac": _LatexLexer._frac, "cfrac": _LatexLexer._frac,
    "sqrt": _LatexLexer._sqrt, "left": _LatexLexer._left_right, "right": _LatexLexer._left_right,
    "begin": _LatexLexer._begin_end, "end": _LatexLexer._begin_end, "mathbb": _LatexLexer._blackboard,
    "mathbbm": _LatexLexer._blackboard, "mathds": _LatexLexer._blackboard, "mathbf": _LatexLexer._bold,
    "bm": _LatexLexer._bold, "boldsymbol": _LatexLexer._bold, "eqref": _LatexLexer._reference,
    "ref": _LatexLexer._reference, "cref": _LatexLexer._reference, "Cref": _LatexLexer._reference,
    "operatorname": _LatexLexer._operator_name, "operatorname*": _LatexLexer._operator_name,
    **{name: _LatexLexer._text for name in LATEX_TEXT if name not in ("operatorname",)},
    **{name: _LatexLexer._style for name in LATEX_STYLE if name not in ("mathbf", "bm", "boldsymbol")},
}


def lex_latex(text: str, limits: ParseLimits = DEFAULT_PARSE_LIMITS) -> list[MathToken]:
    """Tokens of LaTeX math (after macro expansion)."""
    check_text(text, limits)
    return _finish(_LatexLexer(text, limits).run(), limits)


# -- the plain-text tokenizer ----------------------------------------------------------------

class _PlainLexer:
    """ASCII and Unicode math: dL/dW_1, W_1 * x + b_1, max(x, 0), δ2 · a1ᵀ, ∂ℓ/∂y_hat."""

    def __init__(self, text: str, limits: ParseLimits, depth: int = 0):
        if depth > limits.max_depth:
            raise LimitExceeded(f"derivatives nested more than {limits.max_depth} deep")
        self.text = text
        self.limits = limits
        self.depth = depth
        self.pos = 0
        self.tokens: list[MathToken] = []

    def run(self) -> list[MathToken]:
        while self.pos < len(self.text):
            if len(self.tokens) > self.limits.max_tokens:
                raise LimitExceeded(f"the formula has more than {self.limits.max_tokens} tokens")
            self._step()
        return self.tokens

    def _step(self) -> None:
        text, pos = self.text, self.pos
        char = text[pos]
        if char.isspace() or char in "$`":
            self.pos += 1
        elif self._script_run() or (char in "d∂" and self._derivative()):
            return
        elif _is_digit(char) or (char == "." and _is_digit(text[pos + 1:pos + 2])):
            self._number()
        elif _PLAIN_WORD.match(text, pos) and (char.isascii() or char in "ℓ" or "\u0370" <= char <= "\u03ff"):
            self._word()
        elif char == "." and text[pos:pos + 2] == ".T" and not text[pos + 2:pos + 3].isalnum():
            self.tokens.extend([_tok("SUP", "^"), _tok("TOP", "top")])
            self.pos += 2
        elif char == "." and text[pos:pos + 3] != "...":
            self.pos += 1
        else:
            self._symbol(char)

    def _derivative(self) -> bool:
        if self.pos > 0 and (self.text[self.pos - 1].isalnum() or self.text[self.pos - 1] == "_"):
            return False
        match = _PLAIN_DERIV.match(self.text, self.pos)
        if match is None:
            if self.text[self.pos] == "∂":
                self.tokens.append(_tok("PARTIAL", "partial"))
                self.pos += 1
                return True
            return False
        inner = [_PlainLexer(match.group(k), self.limits, self.depth + 1).run() for k in (2, 4)]
        self.tokens.extend([_tok("LPAR", "("), _tok("PARTIAL", "d"), *inner[0], _tok("SLASH", "/"),
                            _tok("PARTIAL", "d"), *inner[1], _tok("RPAR", ")")])
        self.pos = match.end()
        return True

    def _number(self) -> None:
        if self.text[self.pos] == "1" and _INDICATOR_ONE.match(self.text, self.pos):
            self.tokens.append(_tok("INDICATOR", ""))
            self.pos += 1
            return
        match = _NUMBER.match(self.text, self.pos)
        assert match is not None
        self.tokens.append(_tok("NUMBER", match.group(0)))
        self.pos = match.end()

    def _script_run(self) -> bool:
        """After "_": a run such as 1i, ij, hat is one subscript (z_1i, x_ij, y_hat)."""
        if not (self.tokens and self.tokens[-1].type == "SUB" and self.tokens[-1].value == "_"):
            return False
        script = _PLAIN_SCRIPT.match(self.text, self.pos)
        if script is None or len(script.group(0)) < 2:
            return False
        self.pos = script.end()
        self.tokens.extend([_tok("LBRACE", "{"), *self._script_body(script.group(0)), _tok("RBRACE", "}")])
        return True

    def _word(self) -> None:
        match = _PLAIN_WORD.match(self.text, self.pos)
        assert match is not None
        self.pos = match.end()
        word = match.group(0)
        if self.text[self.pos:self.pos + 1] == "\u0302" and word == "y":
            self.pos += 1
            word = "y_hat"
        self.tokens.extend(plain_word_tokens(word))

    @staticmethod
    def _script_body(script: str) -> list[MathToken]:
        """A plain subscript run: 1i -> 1 i, ij -> i j, hat -> hat, MSE -> MSE."""
        digits = script.rstrip("ijk") if script[:1].isdigit() else ""
        if digits:
            return [_tok("NUMBER", digits)] + [_tok("IDENT", c) for c in script[len(digits):]]
        known = classify_word(script)
        if known is not None or script.lower() in SYMBOL_WORDS:
            return known or [_tok("IDENT", SYMBOL_WORDS[script.lower()])]
        if all(c in "ijklmn" for c in script):
            return [_tok("IDENT", c) for c in script]
        return [_tok("IDENT", script)]

    def _symbol(self, char: str) -> None:
        text, pos = self.text, self.pos
        for chars, (kind, value) in ASCII_MULTI:
            if text.startswith(chars, pos):
                self.tokens.append(_tok(kind, value))
                self.pos += len(chars)
                return
        if char == "|":
            double = text[pos:pos + 2] == "||"
            self.tokens.append(_tok("BAR2" if double else "BAR1", "‖" if double else "|"))
            self.pos += 2 if double else 1
            return
        if char in "{}":
            self.tokens.append(_tok("LBRACE" if char == "{" else "RBRACE", char))
            self.pos += 1
            return
        if char in ASCII_SINGLE:
            kind, value = ASCII_SINGLE[char]
            self.tokens.append(_tok(kind, value))
            self.pos += 1
            return
        tokens = _unicode_tokens(char, text[pos + 1:pos + 2])
        if tokens is None:
            raise ParseError(f"unexpected character {char!r}")
        for token in tokens:
            token.unicode = char in SUPERSCRIPTS or char in SUBSCRIPTS
        self.tokens.extend(tokens)
        self.pos += 1


GREEK_LETTERS = {char: value for char, (kind, value) in UNICODE_TOKENS.items() if kind == "IDENT"}


def plain_word_tokens(word: str) -> list[MathToken]:
    """A plain-text word: a known word (relu, sigma, sum, lr, y_hat, delta2), a letter with
    digits (W1, a1), Unicode letters one symbol each (δ2, ℓ), or short unknown words split
    into letters (Wx -> W x); longer unknown words are TEXT."""
    letters = word.rstrip("0123456789")
    digits = word[len(letters):]
    if not letters.isascii():
        tokens = [_tok(*UNICODE_TOKENS.get(c, ("IDENT", c))) for c in letters]  # Σ in Σ_i is a sum
        if tokens[-1].type == "IDENT":
            tokens[-1] = _tok("IDENT", tokens[-1].value + digits)
        elif digits:
            tokens.append(_tok("NUMBER", digits))
        return tokens
    lower = letters.lower()
    if lower == "sum":
        return [_tok("SUM", "sum")]
    if lower in ("inf", "infty"):
        return [_tok("INFTY", "inf")]
    known = classify_word(letters)
    if known is not None and not digits:
        return known
    if letters in GREEK or len(letters) == 1 or lower in SYMBOL_WORDS:
        name = GREEK_ALIASES.get(letters, SYMBOL_WORDS.get(lower, letters))
        return [_tok("IDENT", name + digits)]
    if len(letters) <= 3:
        tokens = [_tok("IDENT", c) for c in letters]
        tokens[-1] = _tok("IDENT", letters[-1] + digits)
        return tokens
    return [_tok("TEXT", word)]


def lex_plain(text: str, limits: ParseLimits = DEFAULT_PARSE_LIMITS) -> list[MathToken]:
    """Tokens of plain ASCII/Unicode math."""
    check_text(text, limits)
    return _finish(_PlainLexer(text, limits).run(), limits)


def looks_like_latex(text: str) -> bool:
    """True when plain-labelled text still carries LaTeX commands (\\frac, \\hat, ...)."""
    return re.search(r"\\[A-Za-z]{2,}|\\[{}|,;]", text) is not None

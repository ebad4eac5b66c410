"""Which quantity an equation's left-hand side names, in any notation of the sheets.

`classify_lhs(r"\\frac{\\partial l}{\\partial \\boldsymbol{W^{(1)}}}")` -> grad_W1;
`∂ℓ/∂y_hat` -> dl_dyhat; `dz2/dz1` -> jac_dz2_dz1; `(\\frac{\\partial z_2}{\\partial z_1})_{ij}` ->
jac_dz2_dz1, indexed; `z_1` -> forward_z1; `W^{(1)}` -> the parameter W1 (an update when the
relation says so); `\\delta_2`, `s^{(1)}`, `dl/dz3` -> a symbol the sheet defines. A renaming map
(symbol -> the handout's z1, z2, z3, yhat) lets a sheet's own names stand for the handout's.

The grading layer names quantities with classify.classify on the parsed AST; this module stays
the reader's own recognizer because it must also read table-row keys and fragments that are
not whole formulas ("Linear_1(x)", "f(z_1)", "dW1", "Loss"), keep z^{(1)} apart from z_1 for a
sheet that renames its layers, and run on every candidate without a parse. The two are held to
the same meaning by tests/answers/test_lhs_agrees_with_classify.py.

Everything works on a canonical text: formatting macros (\\bm, \\boldsymbol, \\mathbf, \\text,
\\left ...), braces and spacing removed, Unicode (∂ ℓ ŷ ᵀ σ δ, sub/superscript digits) mapped to
ASCII names. Symbols get canonical names: W1 W2 b1 b2 x y yhat z1 z2 z3 (z with a subscript),
zP1 (z^{(1)}: its meaning depends on the sheet), s1 a1 h1 delta2 ..., and "l" for the loss.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .model import Syntax

HANDOUT_ROLES = ("z1", "z2", "z3", "yhat")
PARAMETERS = ("W1", "W2", "b1", "b2")

_UNICODE = {
    "\u2202": r"\partial ", "\u2113": r"\ell ", "\u0177": r"\hat{y}", "\u1d40": "^T", "\u22a4": "^T",
    "\u03c3": r"\sigma ", "\u03b4": r"\delta ", "\u0394": r"\Delta ", "\u03b7": r"\eta ", "\u03b8": r"\theta ",
    "\u2207": r"\nabla ", "\u00b7": " ", "\u22c5": " ", "\u2212": "-", "\u2190": r"\leftarrow ",
    "\u03bb": r"\lambda ", "\u03b1": r"\alpha ", "\u03b3": r"\gamma ", "\u03b5": r"\epsilon ",
    "\u2032": "'", "\u0302": "hat",
}
# formatting macros whose argument is kept, the macro dropped
_STYLE = re.compile(r"\\(?:bm|boldsymbol|mathbf|mathbfit|pmb|vec|mathrm|mathit|mathsf|mathnormal|text|textbf|"
                    r"textit|textrm|operatorname|mathcal|mathscr|mathbb|boldsymbol|bf|rm|it|displaystyle|"
                    r"textstyle|scriptstyle|left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|"
                    r"bigg|Bigg|limits|nolimits|mathbbm|mathds|ensuremath|underbrace|overbrace|"
                    r"color\{[a-z]+\}|textcolor\{[a-z]+\})(?![A-Za-z])\*?")
_SPACING = re.compile(r"\\(?:,|;|:|!|quad|qquad|enspace|thinspace|medspace|thickspace| )|~|\\(?=\s)")
_HAT = re.compile(r"\\(?:hat|widehat)\s*\{?\s*y\s*\}?|y_?hat(?![A-Za-z])|(?<![A-Za-z])y\^(?![(\[\d{])")
_FRAC = re.compile(r"\\[dt]?frac(?![A-Za-z])")


@dataclass(frozen=True)
class Symbol:
    """A canonical symbol: `name` (W1, z2, zP1, yhat, l, delta2, s1, ...), `element` when it
    carries an element index (z_{1,i}), `generic` for an index letter (W^{(i)}), `next_step`
    for W^{new}, W_{t+1}, W'."""

    name: str
    element: bool = False
    generic: bool = False
    next_step: bool = False


@dataclass(frozen=True)
class LhsMeaning:
    """What a left-hand side names.

    `check`: the item it answers when it names one (grad_W1, jac_dz2_dz1, dl_dyhat,
    forward_z1, ...); `parameter`: W1/W2/b1/b2 (or W*/b*/theta for a generic update rule)
    when it is a bare parameter (an update rule if the relation says so); `symbol`: the
    canonical name of any other symbol (s1, delta2, dl/dz3, zP1) for definitions;
    `indexed`: the left-hand side names one element (i, j) rather than the whole quantity.
    """

    check: str | None = None
    parameter: str | None = None
    symbol: str | None = None
    indexed: bool = False


def _unicode_table() -> dict[int, str]:
    table = {ord(char): latex for char, latex in _UNICODE.items()}
    for digit, char in enumerate("\u2080\u2081\u2082\u2083\u2084\u2085\u2086\u2087\u2088\u2089"):
        table[ord(char)] = f"_{digit}"
    for letter, char in zip("ijk", "\u1d62\u2c7c\u2096", strict=True):
        table[ord(char)] = "_" + letter
    for digit, char in enumerate("\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"):
        table[ord(char)] = f"^{digit}"
    table[ord("\u207d")] = "^("
    table[ord("\u207e")] = ")"
    return table


_UNICODE_TABLE = _unicode_table()


def unicode_to_latex(text: str) -> str:
    """Unicode math characters as LaTeX-ish ASCII (∂ -> \\partial, ᵀ -> ^T, ₁ -> _1, ⁽¹⁾ -> ^(1))."""
    return text.translate(_UNICODE_TABLE).replace("(^1)", "(1)").replace("(^2)", "(2)")


def strip_formatting(text: str) -> str:
    """Formatting macros, spacing commands and braces removed (a canonical text, not LaTeX)."""
    text = unicode_to_latex(text)
    text = _STYLE.sub("", text)
    text = _SPACING.sub(" ", text)
    return text


def _frac_to_slash(text: str) -> str:
    r"""\frac{A}{B} -> ((A)/(B)) at every nesting level (braces then removed by the caller)."""
    for _ in range(8):
        match = _FRAC.search(text)
        if not match:
            return text
        first = _group(text, match.end())
        if first is None:
            return text
        second = _group(text, first[1])
        if second is None:
            return text
        text = f"{text[:match.start()]}(({first[0]})/({second[0]})){text[second[1]:]}"
    return text


def _group(text: str, pos: int) -> tuple[str, int] | None:
    """The {..} group (or single token) starting at `pos` (spaces skipped): (content, end)."""
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos >= len(text):
        return None
    if text[pos] != "{":
        token = re.match(r"\\[A-Za-z]+|.", text[pos:], re.DOTALL)
        return None if token is None else (token.group(), pos + token.end())
    depth = 0
    for i in range(pos, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[pos + 1:i], i + 1
    return None


@lru_cache(maxsize=8192)
def canonical(text: str) -> str:
    """The canonical, brace- and space-free form of a short LaTeX/plain math text."""
    text = strip_formatting(text)
    text = _frac_to_slash(text)
    text = text.replace("{", "").replace("}", "")
    text = re.sub(r"\\partial|\bpartial\b", "\u2202", text)
    text = _HAT.sub("yhat", text)
    text = re.sub(r"\\(ell|delta|Delta|theta|sigma|nabla|eta|tanh|max|exp|log|odot|circ|top|cdot)(?![A-Za-z])",
                  lambda m: {"top": "^T", "cdot": "*", "circ": "odot"}.get(m.group(1), m.group(1)), text)
    return re.sub(r"\s+", "", text)


_BASE = re.compile(r"(yhat|ell|delta|Delta|theta|nabla|loss|Loss|[A-Za-z])")
_TIME = re.compile(r"\^?\(?(?:new|t\+1|k\+1|next)\)?|_\(?(?:new|t\+1|k\+1|next)\)?|'+")


def parse_symbol(text: str) -> Symbol | None:
    """The canonical symbol a canonical text (see `canonical`) denotes, or None."""
    element = False
    outer = re.fullmatch(r"[(\[](.+)[)\]]_?([ijk,]+|\(i,?j\))", text)
    if outer:
        text, element = outer.group(1), True
    match = _BASE.match(text)
    if not match:
        return None
    base, rest = match.group(1), text[match.end():]
    next_step = bool(_TIME.search(rest))
    rest = _TIME.sub("", rest)
    if base in ("l", "L", "ell", "J", "loss", "Loss"):
        if re.fullmatch(r"(_?(MSE|BCE|mse|bce))?(\(.*\))?", rest):
            return Symbol("l")
        return None
    index = re.match(r"_?(\d)|\^\(?(\d)\)?|\^\[(\d)\]", rest)
    paren = bool(index and rest.startswith("^"))
    generic = False
    if index:
        number = next(g for g in index.groups() if g)
        rest = rest[index.end():]
    else:
        letter = re.match(r"_\(?([ilkjL])\)?(?![\d])|\^\(([ilkL])\)|\^\[([ilkL])\]", rest)
        if letter and base in ("W", "b", "z", "theta", "w"):
            generic, number, rest = True, "*", rest[letter.end():]
        else:
            number = ""
    if rest:
        elem = re.fullmatch(r",?_?\(?([ijk]|[ijk],?[ijk])\)?", rest)
        if not elem:
            return None
        element = True
    if base == "z" and paren and number != "*":
        return Symbol("zP" + number, element, generic, next_step)
    if base in ("x", "y", "yhat") and number:
        return None if base != "y" else Symbol("y", element, generic, next_step)
    return Symbol(base + number, element, generic, next_step)


def _split_derivative(text: str) -> tuple[str, str, bool] | None:
    """(numerator, denominator, indexed) of a canonical derivative ((∂A)/(∂B)) or dA/dB."""
    indexed = False
    outer = re.fullmatch(r"\((.+)\)_?\(?([ijk1],?[ijk]?)\)?|\[(.+)\]_?\(?([ijk1],?[ijk]?)\)?", text)
    if outer:
        text = outer.group(1) or outer.group(3)
        indexed = True
    while text.startswith("(") and _balanced_outer(text):
        text = text[1:-1]
    slash = _top_level_slash(text)
    if slash is None:
        return None
    top, bottom = _unwrap(text[:slash]), _unwrap(text[slash + 1:])
    mark = r"(?:\u2202|d(?=[A-Za-z]|yhat|ell))"
    top_match = re.fullmatch(mark + r"(.+)", top)
    bottom_match = re.fullmatch(mark + r"(.+)", bottom)
    if not (top_match and bottom_match):
        return None
    return _unwrap(top_match.group(1)), _unwrap(bottom_match.group(1)), indexed


def _balanced_outer(text: str) -> bool:
    depth = 0
    for i, char in enumerate(text):
        depth += (char in "([") - (char in ")]")
        if depth == 0 and i < len(text) - 1:
            return False
    return depth == 0 and text.endswith((")", "]"))


def _unwrap(text: str) -> str:
    while text.startswith("(") and _balanced_outer(text):
        text = text[1:-1]
    return text


def _top_level_slash(text: str) -> int | None:
    depth = 0
    for i, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "/" and depth == 0:
            return i
    return None


def _role(symbol: Symbol | None, renames: dict[str, str]) -> str | None:
    if symbol is None:
        return None
    if symbol.name in renames:
        return renames[symbol.name]
    if symbol.name.startswith("zP"):
        return "z" + symbol.name[2:]
    return symbol.name


_SHORTHAND = re.compile(r"(?:grad_?|d|dl_?d|dL_?d|dJ_?d|dl/d|dL/d)(W_?[12]|b_?[12])")
_LINEAR_CALL = re.compile(r"Linear_?([12])\(.*\)")
_ACTIVATION_CALL = re.compile(r"([fg])\((.+)\)")


def classify_lhs(text: str, syntax: Syntax = "latex", renames: dict[str, str] | None = None) -> LhsMeaning | None:
    """What the left-hand side `text` names (see LhsMeaning), or None when it is not recognised.

    `renames`: the sheet's renamings, canonical symbol -> handout role (z1, z2, z3, yhat).
    LaTeX and plain text share the canonical form, so `syntax` does not change the answer.
    """
    del syntax
    return _classify(text, tuple(sorted((renames or {}).items())))


@lru_cache(maxsize=8192)
def _classify(text: str, rename_items: tuple[tuple[str, str], ...]) -> LhsMeaning | None:
    renames = dict(rename_items)
    flat = canonical(text)
    if not flat or len(flat) > 200:
        return None
    derivative = _split_derivative(flat)
    if derivative is not None:
        return _classify_derivative(*derivative, renames)
    nabla = re.fullmatch(r"nabla_?\(?(.+?)\)?(l|L|ell|J|\(.*\))?", flat)
    if nabla:
        return _classify_derivative("l", nabla.group(1), False, renames)
    shorthand = _SHORTHAND.fullmatch(flat)
    if shorthand:
        return LhsMeaning(check="grad_" + shorthand.group(1).replace("_", ""))
    if flat in ("dl_dyhat", "dL_dyhat", "dldyhat"):
        return LhsMeaning(check="dl_dyhat")
    for pattern, name in ((r"dz_?2_?dz_?1", "jac_dz2_dz1"), (r"dyhat_?dz_?3", "jac_dyhat_dz3")):
        if re.fullmatch(pattern, flat):
            return LhsMeaning(check=name)
    return _classify_plain(flat, renames)


def _classify_plain(flat: str, renames: dict[str, str]) -> LhsMeaning | None:
    linear = _LINEAR_CALL.fullmatch(flat)
    if linear:
        return LhsMeaning(check="forward_z1" if linear.group(1) == "1" else "forward_z3")
    call = _ACTIVATION_CALL.fullmatch(flat)
    if call:
        argument = _role(parse_symbol(call.group(2)), renames)
        if call.group(1) == "f" and argument == "z1":
            return LhsMeaning(check="forward_z2")
        if call.group(1) == "g" and argument == "z3":
            return LhsMeaning(check="forward_yhat")
        return None
    symbol = parse_symbol(flat)
    if symbol is None:
        return None
    if symbol.name == "l":
        return LhsMeaning(check="forward_loss")
    role = _role(symbol, renames)
    if role in HANDOUT_ROLES and not symbol.generic:
        renamed = symbol.name != role
        return LhsMeaning(check="forward_" + role, symbol=symbol.name if renamed else None,
                          indexed=symbol.element)
    if symbol.name in PARAMETERS or symbol.generic or symbol.name in ("W", "b", "theta", "w"):
        return LhsMeaning(parameter=_parameter(symbol))
    return LhsMeaning(symbol=symbol.name, indexed=symbol.element)


def _parameter(symbol: Symbol) -> str:
    if symbol.name in PARAMETERS:
        return symbol.name
    if symbol.name.startswith("W"):
        return "W*"
    if symbol.name.startswith("b"):
        return "b*"
    return "theta"


def _classify_derivative(top: str, bottom: str, indexed: bool, renames: dict[str, str]) -> LhsMeaning | None:
    numerator = parse_symbol(top)
    denominator = parse_symbol(bottom)
    function = re.fullmatch(r"([fg])(\(.*\))?", top)
    if denominator is None:
        return None
    indexed = indexed or denominator.element or bool(numerator and numerator.element)
    below = _role(denominator, renames)
    if numerator is not None and numerator.name == "l":
        if below in PARAMETERS:
            return LhsMeaning(check="grad_" + below, indexed=indexed)
        if below == "yhat":
            return LhsMeaning(check="dl_dyhat", indexed=indexed)
        if denominator.generic:
            return LhsMeaning(symbol="dl/d" + denominator.name, indexed=indexed)
        return LhsMeaning(symbol="dl/d" + (below or denominator.name), indexed=indexed)
    above = "z2" if function and function.group(1) == "f" else "yhat" if function else _role(numerator, renames)
    if above == "z2" and below == "z1":
        return LhsMeaning(check="jac_dz2_dz1", indexed=indexed)
    if above == "yhat" and below == "z3":
        return LhsMeaning(check="jac_dyhat_dz3", indexed=indexed)
    if numerator is None or above is None:
        return None
    return LhsMeaning(symbol=f"d{above}/d{below}", indexed=indexed)


def update_checks(parameter: str) -> tuple[str, ...]:
    """The update items a rule for `parameter` answers (a generic W answers W1 and W2)."""
    return {"W1": ("sgd_update_W1",), "W2": ("sgd_update_W2",), "b1": ("sgd_update_b",),
            "b2": ("sgd_update_b",), "W*": ("sgd_update_W1", "sgd_update_W2"), "b*": ("sgd_update_b",),
            "theta": ("sgd_update_W1", "sgd_update_W2", "sgd_update_b")}.get(parameter, ())


# ---------------------------------------------------------------- forward roles of definitions

_SYMBOL_TOKEN = re.compile(r"(yhat|delta|[Wbzsahu])(\^\((\d)\)|\^\[(\d)\]|_(\d)|\^(\d)|(\d))")


def symbolize(text: str) -> str:
    """A canonical right-hand side with its symbols named canonically (W1, zP1, s1, ...) and
    function names lowered (relu, sigma, tanh, max, f, g, linear)."""
    flat = canonical(text).replace("*", "")

    def name(match: re.Match[str]) -> str:
        base = match.group(1)
        number = next(g for g in match.groups()[2:] if g)
        paren = match.group(2).startswith("^")
        return ("zP" if base == "z" and paren else base) + number

    flat = re.sub(r"\(\\?cdot\)|\(\.\)", "(.)", flat)
    flat = re.sub(r"ReLU|relu|Relu", "relu", flat)
    flat = re.sub(r"sigmoid|sigma|Sigmoid", "sigma", flat)
    flat = re.sub(r"Linear|linear|Lin", "linear", flat)
    return _SYMBOL_TOKEN.sub(name, flat)


def forward_role(rhs: str, renames: dict[str, str]) -> str | None:
    """Which handout quantity (z1, z2, z3, yhat) a right-hand side computes, by its shape:
    W1 x + b1 -> z1; f/relu/sigma/tanh/max(.,0)/(.)^+ of a z1 -> z2; W2 (a z2) + b2 -> z3;
    g/sigma/identity of a z3 (or the z3 itself) -> yhat. None when it is none of these."""
    flat = symbolize(rhs)

    def role_of(token: str) -> str | None:
        if token in ("W1x+b1", "b1+W1x", "linear1(x)"):
            return "z1"
        return renames.get(token, "z" + token[2:] if token.startswith("zP") else token)

    if role_of(flat) == "z1" and flat != "z1":
        return "z1"
    activation = re.fullmatch(r"(?:5|\(5\))?(?:f|relu|sigma|tanh|phi)\((.+)\)|max\((.+),0\)|max\(0,(.+)\)"
                              r"|(?:5)?\((.+)\)\^\+|(\w+)\^\+", flat)
    if activation:
        inner = next(g for g in activation.groups() if g)
        return "z2" if role_of(inner) == "z1" else ("yhat" if role_of(inner) == "z3" else None)
    second = re.fullmatch(r"W2(.+)\+b2|b2\+W2(.+)|linear2\((.+)\)", flat)
    if second:
        inner = next(g for g in second.groups() if g)
        return "z3" if role_of(inner) == "z2" or forward_role(inner, renames) == "z2" else None
    output = re.fullmatch(r"(?:g|I|id|identity)\((.+)\)|(\w+)", flat)
    if output:
        inner = next(g for g in output.groups() if g)
        if role_of(inner) == "z3" and (output.group(1) or inner != "z3"):
            return "yhat"
    return None

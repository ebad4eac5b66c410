"""Parse a written formula (LaTeX subset, or plain ASCII/Unicode math) into the math AST.

    parse_statements(text, syntax, macros, labels, limits) -> list[Statement]
    parse_expression(text, syntax, ...) -> Expr

One lark LALR grammar (linear time, explicit stack) reads the tokens of either tokenizer in
mathlex; a non-recursive transformer builds mathexpr nodes, deciding what a script means
(W^{(1)} a layer, z_{1,i} an element, ^T a transpose, ^+ a ReLU, l_{MSE} a loss tag), when a
bracket after a name is a call (σ(z), f'(z_1), max(z, 0)) and when it is a product (W (x+b)),
and when a fraction or a slash is a derivative (∂l/∂W, dL/dW_1). A text holding several
statements (align rows, "a = b, c = d", "... where δ = ...") is split at top level first.
Errors: ParseError (unreadable), LimitExceeded (a limit of ParseLimits), both with a reason.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from lark import Lark, Token
from lark.exceptions import LarkError, UnexpectedInput
from lark.lexer import Lexer
from lark.visitors import Transformer_NonRecursive

from .mathexpr import (
    HANDOUT_VECTORS,
    INDEX_LETTERS,
    Add,
    Apply,
    Cases,
    Cond,
    Delta,
    Deriv,
    Diag,
    Div,
    Dots,
    Expr,
    Func,
    FuncPower,
    Hadamard,
    Identity,
    Idx,
    Indicator,
    Infinity,
    ListLit,
    MatMul,
    MatrixLit,
    Neg,
    Norm,
    Num,
    Paren,
    Partial,
    Pow,
    Statement,
    Sub,
    Sum,
    Sym,
    Transpose,
    depth,
    walk,
)
from .mathlex import (
    DEFAULT_PARSE_LIMITS,
    LimitExceeded,
    MacroDef,
    MathToken,
    MathInputError,
    ParseError,
    ParseLimits,
    expand_macros,
    lex_latex,
    lex_plain,
    looks_like_latex,
)

__all__ = ["LimitExceeded", "MathInputError", "ParseError", "ParseLimits", "parse_expression",
           "parse_statements", "tokens_of"]

GRAMMAR = r"""
start: expr (REL expr)*

?expr: additive
?additive: additive PLUS mult       -> add
         | additive MINUS mult      -> sub
         | mult
?mult: mult STAR unary              -> star
     | mult HADAMARD unary          -> hadamard
     | mult SLASH unary             -> slash
     | unary
?unary: MINUS unary                 -> neg
      | PLUS unary                  -> pos
      | juxt
?juxt: juxt item                    -> juxt
     | item
?item: postfix
     | SUM sumscript* mult          -> bigsum
sumscript: SUB script               -> sum_sub
         | SUP script               -> sum_sup
?postfix: postfix SUB script        -> sub_script
        | postfix SUP script        -> sup_script
        | postfix PRIME             -> prime
        | postfix LPAR args RPAR    -> call
        | postfix LBRACK rows RBRACK -> call_bracket
        | postfix LSET args RSET    -> call_set
        | primary
?primary: NUMBER                    -> number
        | IDENT                     -> ident
        | FUNC                      -> func
        | INFTY                     -> infty
        | TOP                       -> top
        | DOTS                      -> dots
        | INDICATOR                 -> indicator
        | TEXT                      -> text
        | LPAR args RPAR            -> paren
        | LBRACK rows RBRACK        -> bracket
        | LBRACE expr RBRACE        -> group
        | LSET args RSET            -> setgroup
        | LNORM expr RNORM          -> norm
        | LABS expr RABS            -> absval
        | FRAC LBRACE expr RBRACE LBRACE expr RBRACE -> frac
        | HAT script                -> hat
        | PARTIAL postfix           -> partial
        | NABLA SUB script item     -> nabla
        | BEGIN_MATRIX mrows END_MATRIX -> matrix
        | BEGIN_CASES crows END_CASES   -> cases
?script: LBRACE args RBRACE         -> script_group
       | LBRACE PLUS RBRACE         -> script_plus
       | LBRACE PRIME RBRACE        -> script_prime
       | LBRACE STAR RBRACE         -> script_star
       | PLUS                       -> script_plus
       | PRIME                      -> script_prime
       | NUMBER                     -> number
       | IDENT                      -> ident
       | TOP                        -> top
       | FUNC                       -> func
       | INTERVAL                   -> interval
       | LPAR args RPAR             -> paren
       | MINUS NUMBER               -> script_negative
       | HAT script                 -> hat
args: arg (COMMA arg)*
?arg: expr
    | expr REL expr                 -> relation
    | expr REL expr REL expr        -> relation2
rows: args (SEMI args)*
mrows: mrow (ROWSEP mrow)*
mrow: mcell (AMP mcell)*
mcell: expr?
crows: crow (ROWSEP crow)*
crow:                               -> crow_empty
    | expr                          -> crow_value
    | expr csep                     -> crow_value
    | expr csep ccond               -> crow_cond
    | expr IF ccond                 -> crow_cond
csep: AMP | COMMA | COMMA AMP
ccond: IF? cond_item (COMMA cond_item)*
?cond_item: expr REL expr           -> relation
          | expr REL expr REL expr  -> relation2
          | OTHERWISE               -> otherwise
          | TEXT                    -> text

%declare NUMBER IDENT FUNC INFTY TOP DOTS INDICATOR TEXT INTERVAL HAT PARTIAL NABLA FRAC SUM
%declare PLUS MINUS STAR HADAMARD SLASH SUB SUP PRIME REL COMMA SEMI AMP ROWSEP IF OTHERWISE
%declare LPAR RPAR LBRACK RBRACK LBRACE RBRACE LSET RSET LNORM RNORM LABS RABS
%declare BEGIN_MATRIX END_MATRIX BEGIN_CASES END_CASES
"""

RELATIONS = {"=": "=", "!=": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">=", "<-": "<-", ":=": ":=",
             "->": "->"}
LOSS_BASES = ("l", "ell", "L", "loss")
LOSS_TAGS = ("MSE", "BCE", "CE")
UPDATE_TAGS = ("new", "old")


class _TokenList(Lexer):
    """lark lexer that replays a token list produced by mathlex."""

    def __init__(self, lexer_conf: object) -> None:
        pass

    def lex(self, data: object) -> object:  # type: ignore[override]
        assert isinstance(data, list)
        yield from data


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", lexer=_TokenList, maybe_placeholders=False)


# -- markers that live only while the tree is built ------------------------------------------

@dataclass(frozen=True)
class _Args:
    items: tuple[object, ...]


@dataclass(frozen=True)
class _Rows:
    rows: tuple[tuple[object, ...], ...]


@dataclass(frozen=True)
class _Mark:
    """TOP (transpose), PLUS ((.)^+), PRIME, STAR, OTHERWISE, TEXT, INDICATOR markers."""

    kind: str
    value: object = None


@dataclass(frozen=True)
class _CaseRow:
    value: Expr | None
    condition: Cond | None
    otherwise: bool


def _is_mark(obj: object, kind: str) -> bool:
    return isinstance(obj, _Mark) and obj.kind == kind


def _expr(obj: object, where: str) -> Expr:
    if isinstance(obj, Expr):
        return obj
    if isinstance(obj, _Mark) and obj.kind == "text":
        raise ParseError(f"unexpected words {obj.value!r} in {where}")
    if isinstance(obj, _Mark) and obj.kind == "indicator":
        raise ParseError("an indicator 1 without its condition")
    raise ParseError("unexpected {} in {}".format(getattr(obj, "kind", type(obj).__name__), where))


def _values(children: list[object]) -> list[object]:
    """Children without the grammar's punctuation tokens."""
    return [c for c in children if not isinstance(c, Token)]


def _int_value(expr: Expr) -> int | None:
    if isinstance(expr, Num) and float(expr.value).is_integer():
        return int(expr.value)
    return None


# -- symbols and scripts ---------------------------------------------------------------------

_IDENT_DIGITS = re.compile(r"^([A-Za-z_]+?)(\d+)$")


def make_symbol(name: str) -> Expr:
    """The symbol for an identifier: W1 -> W layer 1, delta2 -> delta layer 2, y1 -> y_1."""
    if name in ("y_hat", "yhat"):
        return Sym("y_hat")
    if name in LOSS_BASES:
        return Sym("loss")
    match = _IDENT_DIGITS.match(name)
    if match is None:
        return Sym(name)
    base, digits = match.group(1), match.group(2)
    if base in LOSS_BASES:
        return Sym("loss")
    if base in HANDOUT_VECTORS:
        return Idx(Sym(base), (Num(float(digits)),))
    return Sym(base, layer=digits)


def _flatten_script(script: object) -> list[Expr]:
    """A subscript's items: {1,i} -> [1, i]; {1i} -> [1, i]; {ij} -> [i, j]; i -> [i]."""
    if isinstance(script, _Args):
        items: list[Expr] = []
        for item in script.items:
            items.extend(_flatten_script(item))
        return items
    if isinstance(script, Paren) and script.delim == "":
        return _flatten_script(script.inner)
    if isinstance(script, MatMul) and script.op == "juxt" and _is_index_atom(script.right):
        return _flatten_script(script.left) + [script.right]
    return [_expr(script, "a subscript")]


def _is_index_atom(expr: Expr) -> bool:
    return isinstance(expr, Num) or (isinstance(expr, Sym) and expr.layer is None and len(expr.base) == 1)


def _script_word(items: list[Expr]) -> str | None:
    """The letters of a subscript made of single-letter symbols (MSE, new, hat), else None."""
    if items and all(isinstance(i, Sym) and i.layer is None for i in items):
        return "".join(i.base for i in items if isinstance(i, Sym))
    return None


def _update_tag(items: list[Expr]) -> str | None:
    if len(items) == 1 and isinstance(items[0], Add):
        return "t+1"
    word = _script_word(items)
    if word in UPDATE_TAGS or word in ("t", "k"):
        return word
    return None


def attach_sub(base: object, script: object) -> Expr | _Mark:
    """base_{script}: a layer, an element, a tag, a Kronecker δ, an identity size, an indicator."""
    if isinstance(script, _Mark) and script.kind == "interval":
        if not _is_mark(base, "indicator"):
            raise ParseError("an interval subscript on something other than an indicator")
        return _Mark("indicator", script.value)
    if isinstance(base, Num) and base.value == 1 and isinstance(script, Cond):
        return Indicator(script)
    if _is_mark(base, "indicator"):
        items = _flatten_script(script)
        if len(items) == 1 and isinstance(items[0], Cond):
            return Indicator(items[0])
        raise ParseError("an indicator's subscript must be a condition such as z > 0 or an interval")
    if isinstance(base, Paren) and base.delim == "" and isinstance(base.inner, Sym):
        base = base.inner
    if isinstance(base, Func):
        return _func_sub(base, script)
    base_expr = _expr(base, "a subscripted expression")
    items = _flatten_script(script)
    if isinstance(base_expr, Norm) and len(items) == 1 and _int_value(items[0]) == 2:
        return base_expr
    if isinstance(base_expr, Sym):
        return _symbol_sub(base_expr, items)
    if isinstance(base_expr, Idx):
        raise ParseError("an element index on an element")
    return Idx(base_expr, tuple(items))


def _func_sub(func: Func, script: object) -> Expr:
    items = _flatten_script(script)
    layer = _int_value(items[0]) if len(items) == 1 else None
    if func.name == "linear" and layer is not None:
        return replace(func, layer=str(layer))
    raise ParseError(f"a subscript on the function {func.name}")


def _symbol_sub(sym: Sym, items: list[Expr]) -> Expr:
    word = _script_word(items)
    if sym.base == "loss":
        return replace(sym, tag=word.upper() if word else "sub")
    if sym.base == "y" and word == "hat":
        return Sym("y_hat")
    if sym.base == "I" and len(items) == 1:
        size = items[0]
        return Identity(size.left if isinstance(size, MatMul) else size)
    if sym.base == "delta" and sym.layer is None and len(items) == 2 and all(_is_index_var(i) for i in items):
        return Delta(items[0], items[1])
    tag = _update_tag(items)
    if tag is not None and sym.base not in HANDOUT_VECTORS:
        return replace(sym, tag=tag)
    if sym.base in HANDOUT_VECTORS or sym.layer is not None:
        return Idx(sym, tuple(items))
    first = _int_value(items[0])
    if first is not None and first >= 10 and sym.base == "z" and len(items) == 1:
        digits = str(first)
        return Idx(replace(sym, layer=digits[0]), (Num(float(digits[1:])),))
    if first is not None:
        layered = replace(sym, layer=str(first))
        return Idx(layered, tuple(items[1:])) if len(items) > 1 else layered
    letter = items[0]
    if sym.base in ("W", "b") and len(items) == 1 and isinstance(letter, Sym) and _is_index_var(letter):
        return replace(sym, layer=letter.base)
    return Idx(sym, tuple(items))


def _is_index_var(expr: Expr) -> bool:
    return isinstance(expr, Sym) and expr.layer is None and expr.base in INDEX_LETTERS


def _layer_of(script: object) -> str | None:
    """(1) -> "1", (i) -> "i" for a superscript layer, else None."""
    if isinstance(script, Paren) and script.delim == "(":
        inner = script.inner
        number = _int_value(inner)
        if number is not None:
            return str(number)
        if isinstance(inner, Sym) and inner.layer is None and len(inner.base) == 1:
            return inner.base
    return None


def attach_sup(base: object, script: object) -> Expr:
    """base^{script}: transpose, layer, (.)^+, a derivative prime, e^x, a function power, a power."""
    if isinstance(base, Paren) and base.delim == "" and isinstance(base.inner, Sym):
        base = base.inner
    if isinstance(script, _Args) and len(script.items) == 1:
        script = script.items[0]
    if _is_mark(script, "then_top"):
        assert isinstance(script, _Mark)
        return Transpose(attach_sup(base, script.value))
    if _is_transpose_mark(script):
        return Transpose(_expr(base, "a transposed expression"), "T" if isinstance(script, Sym) else "top")
    if _is_mark(script, "plus"):
        return Apply(Func("relu"), (_expr(base, "(.)^+"),))
    if _is_mark(script, "prime"):
        return make_prime(base)
    if _is_mark(script, "star"):
        return _expr(base, "a starred symbol")
    if isinstance(base, Func):
        return FuncPower(base, _expr(script, "a function's power"))
    base_expr = _expr(base, "a superscripted expression")
    script_expr = _expr(script, "a superscript")
    layer = _layer_of(script_expr)
    if isinstance(base_expr, Sym) and layer is not None and base_expr.layer is None:
        return replace(base_expr, layer=layer)
    if isinstance(base_expr, Sym) and base_expr.base == "e" and base_expr.layer is None:
        return Apply(Func("exp"), (script_expr,))
    if isinstance(base_expr, Sym) and base_expr.role == "function":
        return FuncPower(Func(base_expr.base), script_expr)
    return Pow(base_expr, script_expr)


def _is_transpose_mark(obj: object) -> bool:
    return _is_mark(obj, "top") or (isinstance(obj, Sym) and obj.base == "T" and obj.layer is None)


def make_prime(base: object) -> Expr:
    """f' (a derivative function), σ', ReLU''; W' (a new value of W)."""
    if isinstance(base, Paren) and base.delim == "":
        base = base.inner
    if isinstance(base, Func):
        return replace(base, order=base.order + 1)
    if isinstance(base, FuncPower):
        raise ParseError("a prime after a function power")
    if isinstance(base, Sym) and base.role == "function":
        return Func(base.base, order=1)
    if isinstance(base, Sym):
        return replace(base, tag="new")
    raise ParseError("a prime on something that is not a function")


# -- calls, products and derivatives ---------------------------------------------------------

def _callable(expr: object) -> bool:
    return (isinstance(expr, Func | FuncPower) or _is_mark(expr, "indicator")
            or (isinstance(expr, Sym) and expr.role in ("function", "loss") and expr.layer is None))


def make_call(callee: object, args: list[object], delim: str) -> Expr:
    """callee(args): an application when callee is a function, else a product with a group."""
    if isinstance(callee, Paren) and callee.delim == "" and _callable(callee.inner):
        callee = callee.inner
    if _callable(callee):
        return apply_function(callee, args)
    left = _expr(callee, "a product")
    if len(args) != 1:
        if delim == "[":
            return MatMul(left, MatrixLit((tuple(_expr(a, "a matrix") for a in args),), "plain"))
        raise ParseError("a list in brackets after something that is not a function")
    return MatMul(left, Paren(_expr(args[0], "brackets"), delim))


def apply_function(callee: object, args: list[object]) -> Expr:
    """The application of a function-like callee to its arguments."""
    if _is_mark(callee, "indicator"):
        return _indicator_call(callee, args)
    exprs = [_expr(a, "a function's argument") for a in args]
    if isinstance(callee, FuncPower):
        return Pow(apply_function(callee.func, args), callee.exponent)
    if isinstance(callee, Sym):
        if callee.base == "loss":
            return Apply(Func("loss"), tuple(exprs))
        callee = Func(callee.base)
    assert isinstance(callee, Func)
    if callee.name == "diag" and callee.order == 0:
        return Diag(exprs[0] if len(exprs) == 1 else ListLit(tuple(exprs)))
    if callee.name == "I" and len(exprs) == 1 and isinstance(exprs[0], Cond):
        return Indicator(exprs[0])
    return Apply(callee, tuple(exprs))


def _indicator_call(mark: object, args: list[object]) -> Expr:
    assert isinstance(mark, _Mark)
    if len(args) != 1:
        raise ParseError("an indicator takes one condition")
    arg = args[0]
    if isinstance(mark.value, tuple):
        low, high, low_closed, high_closed = mark.value
        target = _expr(arg, "an indicator's argument")
        lower = Cond(">=" if low_closed else ">", target, Num(low) if low > float("-inf") else Neg(Infinity()))
        upper = Cond("<=" if high_closed else "<", target, Num(high) if high < float("inf") else Infinity())
        return Indicator(Cond("and", lower, upper))
    if isinstance(arg, Cond):
        return Indicator(arg)
    raise ParseError("an indicator's argument must be a condition such as z > 0")


def _rightmost_callable(expr: Expr) -> list[Expr] | None:
    """The path from `expr` down the right spine of juxtapositions (and negations) to a bare
    function waiting for its argument, or None."""
    path: list[Expr] = [expr]
    node = expr
    while True:
        if _callable(node):
            return path
        if isinstance(node, MatMul) and node.op == "juxt":
            node = node.right
        elif isinstance(node, Neg):
            node = node.inner
        else:
            return None
        path.append(node)


def make_juxt(left: object, right: object) -> Expr | _Mark:
    """left right: a function application when left ends in a bare function (log y, σ z), else
    a product."""
    if _callable(left):
        return apply_function(left, [right])
    if _is_transpose_mark(right):
        return _Mark("then_top", left)
    left_expr = _expr(left, "a product")
    right_expr = _expr(right, "a product")
    layered = _bold_layer(left_expr, right_expr)
    if layered is not None:
        return layered
    path = _rightmost_callable(left_expr)
    if path is None:
        return MatMul(left_expr, right_expr, "juxt")
    new: Expr = apply_function(path[-1], [right_expr])
    for parent in reversed(path[:-1]):
        new = replace(parent, right=new) if isinstance(parent, MatMul) else Neg(new)
    return new


def _bold_layer(left: Expr, right: Expr) -> Expr | None:
    """\\boldsymbol{z}2 -> z2: a digit right after a bold single-letter layered symbol is its layer."""
    if isinstance(left, Partial):
        inner = _bold_layer(left.inner, right)
        return None if inner is None else Partial(inner)
    if not (isinstance(left, Paren) and left.delim == "" and isinstance(left.inner, Sym)):
        return None
    symbol = left.inner
    number = _int_value(right)
    if symbol.layer is None and symbol.base in ("z", "W", "b", "a", "s", "h", "delta") and number in (1, 2, 3):
        return replace(symbol, layer=str(number))
    return None


def _derivative_part(expr: Expr) -> Expr | None:
    """x for ∂x, dx, d x; None when `expr` is not a differential."""
    expr = expr.inner if isinstance(expr, Paren) and expr.delim == "" else expr
    if isinstance(expr, Partial):
        return expr.inner
    if isinstance(expr, MatMul) and expr.op == "juxt":
        head = _leftmost(expr)
        if isinstance(head, Sym) and head.base == "d" and head.layer is None:
            return _drop_leftmost(expr)
    if isinstance(expr, Sym) and expr.layer is None and len(expr.base) == 2 and expr.base[0] == "d":
        return make_symbol(expr.base[1])
    return None


def _leftmost(expr: Expr) -> Expr:
    while isinstance(expr, MatMul) and expr.op == "juxt":
        expr = expr.left
    return expr


def _drop_leftmost(expr: Expr) -> Expr:
    assert isinstance(expr, MatMul)
    if isinstance(expr.left, MatMul) and expr.left.op == "juxt":
        return replace(expr, left=_drop_leftmost(expr.left))
    return expr.right


def _split_last(expr: Expr) -> tuple[Expr | None, Expr]:
    """(everything before the last factor of a juxtaposition chain, that last differential)."""
    node = expr.inner if isinstance(expr, Paren) and expr.delim == "" else expr
    if isinstance(node, MatMul) and node.op == "juxt":
        if isinstance(node.right, Partial):
            return node.left, node.right
        head = node.left
        prefix = head.left if isinstance(head, MatMul) and head.op == "juxt" else None
        last_d = head.right if isinstance(head, MatMul) and head.op == "juxt" else head
        if isinstance(last_d, Sym) and last_d.base == "d" and last_d.layer is None:
            return prefix, Partial(node.right)
    return None, node


def _split_first(expr: Expr) -> tuple[Expr, Expr | None]:
    """(the first differential of a juxtaposition chain, everything after it)."""
    node = expr
    rest: list[Expr] = []
    while isinstance(node, MatMul) and node.op == "juxt":
        rest.append(node.right)
        node = node.left
    if isinstance(node, Partial) and rest:
        first, rest = node, rest
    elif isinstance(node, Sym) and node.base == "d" and node.layer is None and rest:
        first = Partial(rest.pop())
    else:
        return expr, None
    suffix: Expr | None = None
    for factor in reversed(rest):
        suffix = factor if suffix is None else MatMul(suffix, factor, "juxt")
    return first, suffix


def make_fraction(num: Expr, den: Expr, style: str) -> Expr:
    """∂a/∂b and da/db become a derivative symbol (also inside a product written with a slash,
    x ∂l/∂W y); anything else a division."""
    top, bottom = _derivative_part(num), _derivative_part(den)
    if top is not None and bottom is not None:
        return Deriv(top, bottom)
    if style == "slash":
        prefix, last = _split_last(num)
        first, suffix = _split_first(den)
        if isinstance(last, Partial) and isinstance(first, Partial):
            result: Expr = Deriv(last.inner, first.inner)
            result = result if prefix is None else MatMul(prefix, result, "juxt")
            return result if suffix is None else MatMul(result, suffix, "juxt")
    for part in (num, den):
        if isinstance(part, Partial):
            raise ParseError("a ∂ that is not part of a derivative ∂a/∂b")
    return Div(num, den, style)


def _on_last_factor(base: object, attach: Callable[[object], Expr | _Mark]) -> Expr | _Mark:
    """Scripts bind to the nearest atom: after `a (b)` (read as a call, made a product) they
    belong to the bracket group `(b)`, not to the product."""
    if isinstance(base, MatMul) and base.op == "juxt" and isinstance(base.right, Paren) and base.right.delim != "":
        return replace(base, right=_expr(attach(base.right), "a script"))
    return attach(base)


# -- the transformer -------------------------------------------------------------------------

def _relation(token: object) -> str:
    assert isinstance(token, Token)
    return RELATIONS[str(token.value)]


class _Builder(Transformer_NonRecursive):
    """Tree -> AST, bottom-up; callbacks are named after the grammar's aliases."""

    def start(self, children: list[object]) -> Statement:
        parts = [_expr(c, "a statement") for c in children if not isinstance(c, Token)]
        relations = [_relation(c) for c in children if isinstance(c, Token)]
        return Statement(tuple(parts), tuple(relations))

    def add(self, c: list[object]) -> Expr:
        return Add(_expr(c[0], "a sum"), _expr(c[2], "a sum"))

    def sub(self, c: list[object]) -> Expr:
        return Sub(_expr(c[0], "a difference"), _expr(c[2], "a difference"))

    def star(self, c: list[object]) -> Expr:
        op = {"cdot": "cdot", "times": "times"}.get(str(c[1]), "star")
        return MatMul(_expr(c[0], "a product"), _expr(c[2], "a product"), op)

    def hadamard(self, c: list[object]) -> Expr:
        return Hadamard(_expr(c[0], "a Hadamard product"), _expr(c[2], "a Hadamard product"))

    def slash(self, c: list[object]) -> Expr:
        return make_fraction(_expr(c[0], "a fraction"), _expr(c[2], "a fraction"), "slash")

    def neg(self, c: list[object]) -> Expr:
        return Neg(_expr(c[1], "a negation"))

    def pos(self, c: list[object]) -> Expr:
        return _expr(c[1], "a sign")

    def juxt(self, c: list[object]) -> Expr | _Mark:
        return make_juxt(c[0], c[1])

    def bigsum(self, c: list[object]) -> Expr:
        scripts = [s for s in c[1:-1] if isinstance(s, tuple)]
        return make_sum(scripts, _expr(c[-1], "a sum's body"))

    def sum_sub(self, c: list[object]) -> tuple[str, object]:
        return ("sub", c[1])

    def sum_sup(self, c: list[object]) -> tuple[str, object]:
        return ("sup", c[1])

    def sub_script(self, c: list[object]) -> Expr | _Mark:
        return _on_last_factor(c[0], lambda base: attach_sub(base, c[2]))

    def sup_script(self, c: list[object]) -> Expr | _Mark:
        return _on_last_factor(c[0], lambda base: attach_sup(base, c[2]))

    def prime(self, c: list[object]) -> Expr | _Mark:
        return _on_last_factor(c[0], make_prime)

    def call(self, c: list[object]) -> Expr:
        args = c[2]
        assert isinstance(args, _Args)
        return make_call(c[0], list(args.items), "(")

    def call_bracket(self, c: list[object]) -> Expr:
        rows = c[2]
        assert isinstance(rows, _Rows)
        if len(rows.rows) == 1:
            return make_call(c[0], list(rows.rows[0]), "[")
        return MatMul(_expr(c[0], "a product"), _matrix_from_rows(rows))

    def call_set(self, c: list[object]) -> Expr:
        args = c[2]
        assert isinstance(args, _Args)
        return make_call(c[0], list(args.items), "{")

    def number(self, c: list[object]) -> Expr:
        return Num(float(str(c[0])))

    def script_negative(self, c: list[object]) -> Expr:
        return Num(-float(str(c[1])))

    def ident(self, c: list[object]) -> Expr:
        return make_symbol(str(c[0]))

    def func(self, c: list[object]) -> Func:
        return Func(str(c[0]))

    def infty(self, c: list[object]) -> Expr:
        return Infinity()

    def top(self, c: list[object]) -> _Mark:
        return _Mark("top")

    def dots(self, c: list[object]) -> Expr:
        return Dots(str(c[0]))

    def indicator(self, c: list[object]) -> _Mark:
        return _Mark("indicator")

    def interval(self, c: list[object]) -> _Mark:
        return _Mark("interval", getattr(c[0], "interval", None))

    def text(self, c: list[object]) -> _Mark:
        return _Mark("text", str(c[0]))

    def otherwise(self, c: list[object]) -> _Mark:
        return _Mark("otherwise")

    def script_plus(self, c: list[object]) -> _Mark:
        return _Mark("plus")

    def script_prime(self, c: list[object]) -> _Mark:
        return _Mark("prime")

    def script_star(self, c: list[object]) -> _Mark:
        return _Mark("star")

    def script_group(self, c: list[object]) -> object:
        args = c[1]
        assert isinstance(args, _Args)
        return args.items[0] if len(args.items) == 1 else args

    def paren(self, c: list[object]) -> object:
        args = c[1]
        assert isinstance(args, _Args)
        if len(args.items) == 1:
            return Paren(_expr(args.items[0], "brackets"), "(")
        return ListLit(tuple(_expr(a, "a list") for a in args.items))

    def bracket(self, c: list[object]) -> Expr:
        rows = c[1]
        assert isinstance(rows, _Rows)
        if len(rows.rows) == 1 and len(rows.rows[0]) == 1:
            inner = rows.rows[0][0]
            if isinstance(inner, MatrixLit) and inner.env == "plain":
                return inner
            return Paren(_expr(inner, "brackets"), "[")
        return _matrix_from_rows(rows)

    def group(self, c: list[object]) -> Expr | _Mark:
        inner = c[1]
        if isinstance(inner, _Mark) and _callable(inner):
            return inner
        if isinstance(inner, Func | FuncPower):
            return inner
        return Paren(_expr(inner, "braces"), "")

    def setgroup(self, c: list[object]) -> Expr:
        args = c[1]
        assert isinstance(args, _Args)
        if len(args.items) == 1:
            return Paren(_expr(args.items[0], "braces"), "{")
        return ListLit(tuple(_expr(a, "a list") for a in args.items))

    def norm(self, c: list[object]) -> Expr:
        return Norm(_expr(c[1], "a norm"))

    def absval(self, c: list[object]) -> Expr:
        return Apply(Func("abs"), (_expr(c[1], "an absolute value"),))

    def frac(self, c: list[object]) -> Expr:
        values = _values(c)
        return make_fraction(_expr(values[0], "a fraction"), _expr(values[1], "a fraction"), "frac")

    def hat(self, c: list[object]) -> Expr:
        return make_hat(c[1])

    def partial(self, c: list[object]) -> Expr:
        return Partial(_expr(c[1], "a derivative"))

    def nabla(self, c: list[object]) -> Expr:
        items = _flatten_script(c[2])
        if len(items) != 1:
            raise ParseError("∇ must name one variable")
        return Deriv(_expr(c[3], "a gradient"), items[0], nabla=True)

    def args(self, c: list[object]) -> _Args:
        return _Args(tuple(_values(c)))

    def relation(self, c: list[object]) -> Cond:
        return Cond(_relation(c[1]), _expr(c[0], "a condition"), _expr(c[2], "a condition"))

    def relation2(self, c: list[object]) -> Cond:
        middle = _expr(c[2], "a condition")
        first = Cond(_relation(c[1]), _expr(c[0], "a condition"), middle)
        return Cond("and", first, Cond(_relation(c[3]), middle, _expr(c[4], "a condition")))

    def rows(self, c: list[object]) -> _Rows:
        return _Rows(tuple(a.items for a in c if isinstance(a, _Args)))

    def mcell(self, c: list[object]) -> object:
        values = _values(c)
        return values[0] if values else None

    def mrow(self, c: list[object]) -> tuple[object, ...]:
        return tuple(v for v in c if not isinstance(v, Token))

    def mrows(self, c: list[object]) -> tuple[tuple[object, ...], ...]:
        return tuple(v for v in c if isinstance(v, tuple))

    def matrix(self, c: list[object]) -> Expr:
        rows = c[1]
        assert isinstance(rows, tuple)
        return make_matrix(rows, str(c[0]))

    def crow_empty(self, c: list[object]) -> _CaseRow:
        return _CaseRow(None, None, False)

    def crow_value(self, c: list[object]) -> _CaseRow:
        return _CaseRow(_expr(c[0], "a case"), None, False)

    def crow_cond(self, c: list[object]) -> _CaseRow:
        condition = c[-1]
        assert isinstance(condition, tuple)
        cond, otherwise = condition
        return _CaseRow(_expr(c[0], "a case"), cond, otherwise)

    def csep(self, c: list[object]) -> Token:
        return Token("CSEP", ",")

    def ccond(self, c: list[object]) -> tuple[Cond | None, bool]:
        return make_condition(_values(c))

    def crows(self, c: list[object]) -> tuple[_CaseRow, ...]:
        return tuple(r for r in c if isinstance(r, _CaseRow))

    def cases(self, c: list[object]) -> Expr:
        rows = c[1]
        assert isinstance(rows, tuple)
        return make_cases(rows)


def make_sum(scripts: list[tuple[str, object]], body: Expr) -> Expr:
    """Σ with _{i=1} / _i and ^K scripts over `body`."""
    var: str | None = None
    lower: Expr | None = None
    upper: Expr | None = None
    for kind, script in scripts:
        items = _flatten_script(script)
        if kind == "sup":
            upper = items[0] if len(items) == 1 else None
            continue
        first = items[0]
        if isinstance(first, Cond) and first.op == "=" and isinstance(first.left, Sym):
            var, lower = first.left.base, first.right
        elif isinstance(first, Sym) and first.layer is None:
            var = first.base
        else:
            raise ParseError("a sum must name its index (\\sum_i or \\sum_{i=1}^K)")
    if var is None:
        var = _guess_index(body)
    return Sum(var, lower, upper, body)


def _guess_index(body: Expr) -> str:
    found = [i.base for node in walk(body) if isinstance(node, Idx) for i in node.indices
             if isinstance(i, Sym) and i.base in INDEX_LETTERS]
    if len(set(found)) == 1:
        return found[0]
    raise ParseError("a sum without an index (write \\sum_i)")


def make_hat(script: object) -> Expr:
    """\\hat{y} -> y_hat; \\hat{y_i} -> y_hat_i; \\hat{s} -> s_hat."""
    if isinstance(script, _Args) and len(script.items) == 1:
        script = script.items[0]
    target = _expr(script, "a hat")
    if isinstance(target, Paren) and target.delim == "":
        target = target.inner
    if isinstance(target, Sym):
        if target.base == "y" and target.layer is None:
            return Sym("y_hat")
        return replace(target, base=target.base + "_hat")
    if isinstance(target, Idx) and isinstance(target.base, Sym) and target.base.base == "y":
        return Idx(Sym("y_hat"), target.indices)
    raise ParseError("a hat over something that is not a symbol")


def make_condition(items: list[object]) -> tuple[Cond | None, bool]:
    """A case's condition: (condition or None, whether it is "otherwise")."""
    conds = [i for i in items if isinstance(i, Cond)]
    words = " ".join(str(i.value) for i in items if isinstance(i, _Mark) and i.kind == "text")
    otherwise = any(_is_mark(i, "otherwise") for i in items) or bool(re.search(r"other|else", words))
    if not conds and not otherwise:
        raise ParseError(f"a case condition that is not a relation: {words!r}")
    combined: Cond | None = None
    for cond in conds:
        combined = cond if combined is None else Cond("and", combined, cond)
    return combined, otherwise and not conds


def make_cases(rows: tuple[_CaseRow, ...]) -> Expr:
    """A piecewise definition; the last branch may be "otherwise" (condition None)."""
    branches: list[tuple[Expr, Cond | None]] = []
    for row in rows:
        if row.value is None:
            continue
        if row.condition is None and not row.otherwise and row is not rows[-1] and branches:
            raise ParseError("a case without a condition")
        branches.append((row.value, row.condition))
    if not branches:
        raise ParseError("empty cases")
    return Cases(tuple(branches))


def _matrix_from_rows(rows: _Rows) -> Expr:
    cells: list[tuple[object, ...]] = []
    for row in rows.rows:
        if len(row) == 1 and isinstance(row[0], MatrixLit) and row[0].env == "plain":
            cells.extend(row[0].rows)
        else:
            cells.append(row)
    return make_matrix(tuple(cells), "plain")


def make_matrix(rows: tuple[tuple[object, ...], ...], env: str) -> Expr:
    """A written matrix; trailing empty rows dropped; cells may be empty (None) or dots."""
    kept = [row for row in rows if any(cell is not None for cell in row)]
    if not kept:
        raise ParseError("an empty matrix")
    cells = tuple(tuple(None if cell is None else _expr(cell, "a matrix cell") for cell in row) for row in kept)
    return MatrixLit(cells, env)


# -- statements --------------------------------------------------------------------------------

SPLIT_TYPES = {"ROWSEP", "COMMA", "SEMI", "TEXT", "IF"}
NESTING = {"LPAR": 1, "LBRACK": 1, "LBRACE": 1, "LSET": 1, "LNORM": 1, "LABS": 1, "BEGIN_MATRIX": 1,
           "BEGIN_CASES": 1, "RPAR": -1, "RBRACK": -1, "RBRACE": -1, "RSET": -1, "RNORM": -1, "RABS": -1,
           "END_MATRIX": -1, "END_CASES": -1}


def split_statements(tokens: list[MathToken]) -> list[list[MathToken]]:
    """Top-level pieces: split at row breaks, commas, semicolons and words; drop alignment &."""
    pieces: list[list[MathToken]] = [[]]
    level = 0
    for token in tokens:
        level += NESTING.get(token.type, 0)
        if level == 0 and token.type in SPLIT_TYPES:
            pieces.append([])
        elif not (level == 0 and token.type == "AMP"):
            pieces[-1].append(token)
    return [p for p in pieces if p]


def tokens_of(text: str, syntax: str, macros: Mapping[str, MacroDef] | None = None,
              labels: Mapping[str, str] | None = None,
              limits: ParseLimits = DEFAULT_PARSE_LIMITS) -> list[MathToken]:
    """Expand macros and references, then tokenize as LaTeX or plain math."""
    text = _unwrap_math(text)
    if syntax == "latex" or looks_like_latex(text):
        if len(text) > limits.max_chars:
            raise LimitExceeded(f"the formula is {len(text)} characters long (limit {limits.max_chars})")
        return lex_latex(expand_macros(text, macros, labels, limits), limits)
    return lex_plain(text, limits)


_DELIMITERS = re.compile(r"^\s*(\$\$|\$|\\\[|\\\(|`)(.*?)(\$\$|\$|\\\]|\\\)|`)\s*[.,;]?\s*$", re.S)


def _unwrap_math(text: str) -> str:
    match = _DELIMITERS.match(text)
    return match.group(2) if match else text


def _parse_piece(tokens: list[MathToken], limits: ParseLimits) -> Statement:
    try:
        parser: Any = _parser()  # its lexer replays our token list where lark's signature says str
        tree = parser.parse(tokens)
        result = _Builder().transform(tree)
    except MathInputError:
        raise
    except UnexpectedInput as error:
        token = getattr(error, "token", None)
        where = f" at {str(token)!r}" if token is not None and str(token) else ""
        raise ParseError(f"cannot read the formula{where}") from None
    except RecursionError:
        raise LimitExceeded("the formula is nested too deeply") from None
    except LarkError as error:
        cause = error.__context__
        if isinstance(cause, MathInputError):
            raise cause from None
        raise ParseError(f"cannot read the formula ({type(error).__name__})") from None
    if not isinstance(result, Statement):
        raise ParseError("cannot read the formula")
    _validate(result, limits)
    return result


def _validate(statement: Statement, limits: ParseLimits) -> None:
    for part in statement.parts:
        height = depth(part)
        if height > limits.max_ast_depth:
            raise LimitExceeded(f"the formula is nested {height} deep (limit {limits.max_ast_depth})")
        for node in walk(part):
            if isinstance(node, Partial):
                raise ParseError("a ∂ that is not part of a derivative ∂a/∂b")
            if isinstance(node, MatrixLit) and sum(len(r) for r in node.rows) > limits.max_matrix_cells:
                raise LimitExceeded(f"a matrix with more than {limits.max_matrix_cells} cells")


def parse_statements(text: str, syntax: str = "latex", macros: Mapping[str, MacroDef] | None = None,
                     labels: Mapping[str, str] | None = None,
                     limits: ParseLimits = DEFAULT_PARSE_LIMITS) -> list[Statement]:
    """Every statement the text holds, in order. Pieces that are words or cannot be read are
    skipped when another piece can be read; if none can, the first error is raised."""
    tokens = tokens_of(text, syntax, macros, labels, limits)
    pieces = split_statements(tokens)
    if len(pieces) > limits.max_statements:
        raise LimitExceeded(f"more than {limits.max_statements} statements in one formula")
    statements: list[Statement] = []
    first_error: ParseError | None = None
    for piece in pieces:
        if all(t.type in ("TEXT", "OTHERWISE", "IF") for t in piece):
            continue
        try:
            statements.append(_parse_piece(piece, limits))
        except ParseError as error:
            first_error = first_error or error
    if not statements:
        raise first_error or ParseError("no formula found")
    return statements


def parse_expression(text: str, syntax: str = "latex", macros: Mapping[str, MacroDef] | None = None,
                     labels: Mapping[str, str] | None = None, limits: ParseLimits = DEFAULT_PARSE_LIMITS) -> Expr:
    """The single expression a text holds (the last right-hand side of its first statement)."""
    return parse_statements(text, syntax, macros, labels, limits)[0].answer

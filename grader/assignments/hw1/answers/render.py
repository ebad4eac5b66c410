"""The math AST back to text, in the sheet's own notation where possible.

    render(expr, style) -> str          LaTeX (style.syntax "latex") or plain ASCII math
    detect_style(texts, syntax) -> Style

A Style records the sheet's habits: W^{(1)} or W_1 or W1, z_1 or z^{(1)}, ^\\top or ^T,
bold vectors, the loss symbol (l, \\ell, L). Brackets are the AST's own (Paren nodes) plus the
fewest needed by precedence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .mathexpr import (
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
)


@dataclass(frozen=True)
class Style:
    """How a sheet writes things. layer: "paren" W^{(1)} | "sub" W_1 | "plain" W1 (hidden: the
    same for z); transpose: "top" | "T"; bold: "" or a command (\\boldsymbol, \\mathbf, \\bm);
    loss: the loss symbol."""

    syntax: str = "latex"
    layer: str = "paren"
    hidden: str = "sub"
    transpose: str = "top"
    bold: str = ""
    loss: str = "l"


HANDOUT_STYLE = Style()
PLAIN_STYLE = Style(syntax="plain", layer="plain", hidden="plain", transpose="T", loss="l")

GREEK_LATEX = {"sigma", "delta", "eta", "gamma", "alpha", "lambda", "epsilon", "theta", "mu", "rho", "tau", "phi",
               "beta", "omega", "pi", "xi", "kappa", "Delta"}
FUNCTION_LATEX = {"relu": r"\text{ReLU}", "sigmoid": r"\sigma", "sigma": r"\sigma", "tanh": r"\tanh",
                  "exp": r"\exp", "log": r"\log", "max": r"\max", "min": r"\min", "sign": r"\operatorname{sign}",
                  "sech": r"\operatorname{sech}", "abs": r"\operatorname{abs}", "sqrt": r"\sqrt",
                  "identity": r"\operatorname{id}", "f": "f", "g": "g", "loss": "l", "linear": r"\text{Linear}"}
FUNCTION_PLAIN = {"relu": "relu", "sigmoid": "sigma", "sigma": "sigma", "identity": "id", "loss": "l",
                  "linear": "Linear"}
RELATION_LATEX = {"=": "=", "!=": r"\neq", "<": "<", ">": ">", "<=": r"\leq", ">=": r"\geq", "<-": r"\leftarrow",
                  ":=": ":=", "->": r"\to", "and": ","}

ADDITIVE, PRODUCT, UNARY, POSTFIX = 1, 2, 3, 4


class _Renderer:
    def __init__(self, style: Style):
        self.style = style
        self.latex = style.syntax == "latex"

    def text(self, expr: Expr) -> str:
        handler = _HANDLERS.get(type(expr))
        if handler is None:
            return "?"
        return handler(self, expr)

    def wrapped(self, expr: Expr, level: int) -> str:
        """`expr`, bracketed when it binds looser than `level`."""
        body = self.text(expr)
        if _precedence(expr) < level:
            return rf"\left({body}\right)" if self.latex else f"({body})"
        return body

    # symbols ----------------------------------------------------------------------------------
    def sym(self, expr: Sym) -> str:
        if expr.base == "loss":
            return self.style.loss if self.latex else "l"
        name = self._base(expr.base)
        if expr.layer is not None:
            kind = self.style.hidden if expr.base == "z" else self.style.layer
            name = self._layered(name, expr.layer, kind)
        if expr.tag is not None and expr.tag not in ("new",):
            name += f"_{{{expr.tag}}}" if self.latex else "_" + expr.tag
        if self.style.bold and expr.base in ("x", "y", "y_hat", "W", "b", "z") and self.latex:
            return f"{self.style.bold}{{{name}}}"
        return name

    def _base(self, base: str) -> str:
        if base == "y_hat":
            return r"\hat{y}" if self.latex else "y_hat"
        if base.endswith("_hat"):
            return rf"\hat{{{base[:-4]}}}" if self.latex else base
        if base in GREEK_LATEX and self.latex:
            return "\\" + base
        return base

    def _layered(self, name: str, layer: str, kind: str) -> str:
        if not self.latex or kind == "plain":
            return name + layer if layer.isdigit() else f"{name}_{layer}"
        if kind == "sub":
            return f"{name}_{layer}" if len(layer) == 1 else f"{name}_{{{layer}}}"
        return f"{name}^{{({layer})}}"

    def num(self, expr: Num) -> str:
        return str(int(expr.value)) if float(expr.value).is_integer() else f"{expr.value:g}"

    def infinity(self, expr: Infinity) -> str:
        return r"\infty" if self.latex else "inf"

    # operators --------------------------------------------------------------------------------
    def paren(self, expr: Paren) -> str:
        inner = self.text(expr.inner)
        if expr.delim == "":
            return inner
        if not self.latex:
            return {"(": "(%s)", "[": "[%s]", "{": "{%s}"}[expr.delim] % inner
        return {"(": r"\left(%s\right)", "[": r"\left[%s\right]", "{": r"\left\{%s\right\}"}[expr.delim] % inner

    def add(self, expr: Add) -> str:
        return f"{self.wrapped(expr.left, ADDITIVE)} + {self.wrapped(expr.right, PRODUCT)}"

    def sub(self, expr: Sub) -> str:
        return f"{self.wrapped(expr.left, ADDITIVE)} - {self.wrapped(expr.right, PRODUCT)}"

    def neg(self, expr: Neg) -> str:
        return "-" + self.wrapped(expr.inner, PRODUCT)

    def matmul(self, expr: MatMul) -> str:
        joiner = {"cdot": r" \cdot ", "times": r" \times ", "star": " * "}.get(expr.op, " ")
        if not self.latex:
            joiner = {"cdot": " · ", "times": " * ", "star": " * "}.get(expr.op, " ")
        return self.wrapped(expr.left, PRODUCT) + joiner + self.wrapped(expr.right, UNARY)

    def hadamard(self, expr: Hadamard) -> str:
        joiner = r" \odot " if self.latex else " ⊙ "
        return self.wrapped(expr.left, PRODUCT) + joiner + self.wrapped(expr.right, UNARY)

    def div(self, expr: Div) -> str:
        if self.latex and expr.style == "frac":
            return rf"\frac{{{self.text(expr.num)}}}{{{self.text(expr.den)}}}"
        return f"({self.wrapped(expr.num, UNARY)}/{self.wrapped(expr.den, POSTFIX)})"

    def pow(self, expr: Pow) -> str:
        exponent = self.text(expr.exponent)
        return f"{self.wrapped(expr.base, POSTFIX)}^{{{exponent}}}" if self.latex else "{}^{}".format(
            self.wrapped(expr.base, POSTFIX), exponent if len(exponent) == 1 else f"({exponent})")

    def transpose(self, expr: Transpose) -> str:
        mark = (r"^\top" if self.style.transpose == "top" else "^T") if self.latex else "^T"
        return self.wrapped(expr.inner, POSTFIX) + mark

    def idx(self, expr: Idx) -> str:
        indices = ",".join(self.text(i) for i in expr.indices)
        base = expr.base
        if isinstance(base, Sym) and base.layer is not None and self.latex:
            kind = self.style.hidden if base.base == "z" else self.style.layer
            if kind == "sub":
                return f"{self._base(base.base)}_{{{base.layer},{indices}}}"
        body = self.wrapped(base, POSTFIX)
        return f"{body}_{{{indices}}}" if self.latex else f"{body}_{indices}"

    # functions ----------------------------------------------------------------------------------
    def func(self, expr: Func) -> str:
        names = FUNCTION_LATEX if self.latex else FUNCTION_PLAIN
        name = names.get(expr.name, expr.name if self.latex else expr.name)
        if expr.name == "loss":
            name = self.style.loss if self.latex else "l"
        if expr.layer is not None:
            name += f"_{{{expr.layer}}}" if self.latex else "_" + expr.layer
        return name + "'" * expr.order

    def apply(self, expr: Apply) -> str:
        args = ", ".join(self.text(a.inner if isinstance(a, Paren) and a.delim == "(" else a) for a in expr.args)
        if expr.func.name == "sqrt" and self.latex:
            return rf"\sqrt{{{args}}}"
        if expr.func.name == "abs":
            return rf"\left|{args}\right|" if self.latex else f"|{args}|"
        open_, close = (r"\left(", r"\right)") if self.latex else ("(", ")")
        return f"{self.func(expr.func)}{open_}{args}{close}"

    def func_power(self, expr: FuncPower) -> str:
        return f"{self.func(expr.func)}^{{{self.text(expr.exponent)}}}"

    def diag(self, expr: Diag) -> str:
        name = r"\operatorname{diag}" if self.latex else "diag"
        inner = self.text(expr.arg)
        return rf"{name}\left({inner}\right)" if self.latex else f"{name}({inner})"

    def norm(self, expr: Norm) -> str:
        return rf"\left\|{self.text(expr.inner)}\right\|" if self.latex else f"||{self.text(expr.inner)}||"

    def identity(self, expr: Identity) -> str:
        if expr.size is None:
            return "I"
        return f"I_{{{self.text(expr.size)}}}" if self.latex else f"I_{self.text(expr.size)}"

    def deriv(self, expr: Deriv) -> str:
        num, den = self.text(expr.num), self.text(expr.den)
        if expr.nabla:
            return rf"\nabla_{{{den}}} {num}" if self.latex else f"grad_{den} {num}"
        if self.latex:
            return rf"\frac{{\partial {num}}}{{\partial {den}}}"
        return f"d{num}/d{den}"

    def partial(self, expr: Partial) -> str:
        return (r"\partial " if self.latex else "d") + self.text(expr.inner)

    # indexed forms --------------------------------------------------------------------------------
    def cond(self, expr: Cond) -> str:
        if expr.op == "and":
            return f"{self.text(expr.left)}, {self.text(expr.right)}"
        relation = RELATION_LATEX[expr.op] if self.latex else expr.op
        return f"{self.text(expr.left)} {relation} {self.text(expr.right)}"

    def cases(self, expr: Cases) -> str:
        rows = []
        for value, cond in expr.branches:
            condition = self.text(cond) if cond is not None else None
            if self.latex:
                rows.append("{} & {}".format(self.text(value), r"\text{if } " + condition if condition
                                         else r"\text{otherwise}"))
            else:
                rows.append(f"{self.text(value)} if {condition}" if condition else
                            f"{self.text(value)} otherwise")
        if self.latex:
            return r"\begin{{cases}} {} \end{{cases}}".format(r" \\ ".join(rows))
        return "{" + "; ".join(rows) + "}"

    def delta(self, expr: Delta) -> str:
        pair = self.text(expr.i) + self.text(expr.j)
        return rf"\delta_{{{pair}}}" if self.latex else f"delta_{pair}"

    def indicator(self, expr: Indicator) -> str:
        return rf"\mathbb{{1}}[{self.text(expr.cond)}]" if self.latex else f"1[{self.text(expr.cond)}]"

    def sum(self, expr: Sum) -> str:
        lower = f"{expr.var}={self.text(expr.lower)}" if expr.lower is not None else expr.var
        upper = f"^{{{self.text(expr.upper)}}}" if expr.upper is not None else ""
        body = self.wrapped(expr.body, PRODUCT)
        return rf"\sum_{{{lower}}}{upper} {body}" if self.latex else f"sum_{{{lower}}}{upper} {body}"

    def dots(self, expr: Dots) -> str:
        return "\\" + expr.kind if self.latex else "..."

    def matrix_lit(self, expr: MatrixLit) -> str:
        rows = [[self.text(c) if c is not None else "" for c in row] for row in expr.rows]
        if self.latex:
            return r"\begin{{bmatrix}} {} \end{{bmatrix}}".format(r" \\ ".join(" & ".join(r) for r in rows))
        return "[" + "; ".join(", ".join(r) for r in rows) + "]"

    def list_lit(self, expr: ListLit) -> str:
        return ", ".join(self.text(item) for item in expr.items)


def _precedence(expr: Expr) -> int:
    if isinstance(expr, Add | Sub):
        return ADDITIVE
    if isinstance(expr, MatMul | Hadamard | Cases) or (isinstance(expr, Div) and expr.style != "frac"):
        return PRODUCT
    if isinstance(expr, Neg | Sum):
        return UNARY
    if isinstance(expr, Num) and expr.value < 0:
        return UNARY
    return POSTFIX


_HANDLERS: dict[type, Callable[[_Renderer, Any], str]] = {
    Sym: _Renderer.sym, Num: _Renderer.num, Infinity: _Renderer.infinity, Paren: _Renderer.paren,
    Add: _Renderer.add, Sub: _Renderer.sub, Neg: _Renderer.neg, MatMul: _Renderer.matmul,
    Hadamard: _Renderer.hadamard, Div: _Renderer.div, Pow: _Renderer.pow, Transpose: _Renderer.transpose,
    Idx: _Renderer.idx, Func: _Renderer.func, Apply: _Renderer.apply, FuncPower: _Renderer.func_power,
    Diag: _Renderer.diag, Norm: _Renderer.norm, Identity: _Renderer.identity, Deriv: _Renderer.deriv,
    Partial: _Renderer.partial, Cond: _Renderer.cond, Cases: _Renderer.cases, Delta: _Renderer.delta,
    Indicator: _Renderer.indicator, Sum: _Renderer.sum, Dots: _Renderer.dots, MatrixLit: _Renderer.matrix_lit,
    ListLit: _Renderer.list_lit,
}


def render(expr: Expr, style: Style = HANDOUT_STYLE) -> str:
    """The expression as LaTeX (or plain math for a plain style)."""
    return _Renderer(style).text(expr)


def render_statement(statement: Statement, style: Style = HANDOUT_STYLE) -> str:
    renderer = _Renderer(style)
    parts = [renderer.text(statement.parts[0])]
    for relation, part in zip(statement.relations, statement.parts[1:], strict=True):
        parts.append(RELATION_LATEX[relation] if renderer.latex else relation)
        parts.append(renderer.text(part))
    return " ".join(parts)


def _most(counts: dict[str, int], default: str) -> str:
    best = max(counts.items(), key=lambda item: item[1])
    return best[0] if best[1] > 0 else default


def detect_style(texts: Iterable[str], syntax: str = "latex") -> Style:
    """The notation habits of a sheet's formulas (the most frequent spelling of each)."""
    joined = "\n".join(texts)
    if syntax != "latex":
        return PLAIN_STYLE
    layer = _most({"paren": len(re.findall(r"[Wb]\}?\^\{?\(\d\)", joined)),
                   "sub": len(re.findall(r"[Wb]\}?_\{?\d", joined)),
                   "plain": len(re.findall(r"\b[Wb]\d\b", joined))}, "paren")
    hidden = _most({"sub": len(re.findall(r"z\}?_\{?\d", joined)),
                    "paren": len(re.findall(r"z\}?\^\{?\(\d\)", joined)),
                    "plain": len(re.findall(r"\bz\d\b", joined))}, "sub")
    transpose = _most({"top": len(re.findall(r"\\top|\\intercal", joined)),
                       "T": len(re.findall(r"\^\{?(\\text\{)?T\b", joined))}, "top")
    bold = _most({"\\boldsymbol": joined.count("\\boldsymbol"), "\\mathbf": joined.count("\\mathbf"),
                  "\\bm": len(re.findall(r"\\bm\b", joined))}, "")
    loss = _most({"l": len(re.findall(r"\\partial\s*l\b", joined)), "\\ell": joined.count("\\ell"),
                  "L": len(re.findall(r"\\partial\s*L\b|\\mathcal\{L\}", joined))}, "l")
    return Style("latex", layer, hidden, transpose, bold, loss)

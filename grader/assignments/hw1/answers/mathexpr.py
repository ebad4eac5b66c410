"""The math AST both parsers build: matrix-calculus expressions as students write them.

Products are matrix products (non-commutative); `MatMul` keeps how the product was written
(juxtaposition, \\cdot, *). Symbols are canonical (`Sym("W", layer="1")` for W^{(1)}, W_1, W1;
`Sym("y_hat")` for \\hat{y}, ŷ, y_hat; `Sym("loss", tag="MSE")` for l_{MSE}, ℓ, L), with the
spelling kept only through `render`. Every node is a frozen dataclass: hashable, comparable,
and free of any behaviour beyond walking the tree; meaning lives in evaluate.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# Symbol bases with a fixed meaning in the homework; anything else is the sheet's own symbol.
HANDOUT_VECTORS = ("x", "y", "y_hat")
LAYERED = ("W", "b", "z")
LEARNING_RATES = ("eta", "gamma", "alpha", "lambda", "epsilon", "mu", "rho", "tau", "lr")
GENERIC_PARAMETERS = ("theta", "w")
INDEX_LETTERS = ("i", "j", "k", "m", "p", "q", "r", "s", "t", "u", "v")
SIZE_SYMBOLS = ("n", "d", "K")
FUNCTION_SYMBOLS = ("f", "g", "sigma")


@dataclass(frozen=True)
class Expr:
    """Base class of every node."""


@dataclass(frozen=True)
class Num(Expr):
    value: float


@dataclass(frozen=True)
class Infinity(Expr):
    """∞ (only meaningful as a bound of an interval or a comparison)."""


@dataclass(frozen=True)
class Sym(Expr):
    """A symbol: `base` canonical (W, b, z, x, y, y_hat, loss, eta, delta, s, a, i, ...),
    `layer` "1"/"2"/"3" or a generic letter ("i" in W^{(i)}), `tag` an annotation that does
    not change the value (MSE, BCE for the loss; new, old, t+1 for an update)."""

    base: str
    layer: str | None = None
    tag: str | None = None

    @property
    def name(self) -> str:
        """W1, z2, y_hat, loss, delta2; a generic layer reads W_i."""
        if self.layer is None:
            return self.base
        return self.base + self.layer if self.layer.isdigit() else f"{self.base}_{self.layer}"

    @property
    def role(self) -> str:
        """What the symbol stands for in the homework: input, target, prediction, parameter,
        hidden, loss, rate, generic_parameter, size, index, identity, function, or user."""
        return symbol_role(self)


@dataclass(frozen=True)
class Paren(Expr):
    """A bracketed group as written: `delim` is "(" "[" "{" (braces) or "" (invisible grouping)."""

    inner: Expr
    delim: str = "("


@dataclass(frozen=True)
class Idx(Expr):
    """An element: base_{i}, base_{ij}, (base)_{i,j}; indices are index symbols or numbers."""

    base: Expr
    indices: tuple[Expr, ...]


@dataclass(frozen=True)
class MatMul(Expr):
    """A product: `op` "juxt" (juxtaposition), "cdot", "star" (*), "times" (\\times)."""

    left: Expr
    right: Expr
    op: str = "juxt"


@dataclass(frozen=True)
class Hadamard(Expr):
    """Element-wise product (⊙, \\odot, \\circ)."""

    left: Expr
    right: Expr


@dataclass(frozen=True)
class Add(Expr):
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Sub(Expr):
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Neg(Expr):
    inner: Expr


@dataclass(frozen=True)
class Div(Expr):
    """num / den: a scalar denominator scales; equal shapes divide element-wise."""

    num: Expr
    den: Expr
    style: str = "frac"


@dataclass(frozen=True)
class Pow(Expr):
    """Element-wise power with a scalar exponent."""

    base: Expr
    exponent: Expr


@dataclass(frozen=True)
class Transpose(Expr):
    inner: Expr
    style: str = "T"


@dataclass(frozen=True)
class Func(Expr):
    """A function: `name` canonical (relu, sigmoid, tanh, exp, log, max, min, sign, sech, abs,
    sqrt, diag, f, g, linear, loss, identity, indicator), `order` its derivative order
    (σ' has order 1), `layer` for Linear_1 / Linear_2, `scale` for 5(·)^+ style factors."""

    name: str
    order: int = 0
    layer: str | None = None


@dataclass(frozen=True)
class FuncPower(Expr):
    """A function raised to a power before its argument (\\sech^2, \\tanh^2): applied, then powered."""

    func: Func
    exponent: Expr


@dataclass(frozen=True)
class Apply(Expr):
    func: Func
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Partial(Expr):
    """∂x or dx, before a fraction turns a pair of them into a derivative."""

    inner: Expr


@dataclass(frozen=True)
class Deriv(Expr):
    """∂num/∂den as written (a derivative symbol); `nabla` for ∇_den num."""

    num: Expr
    den: Expr
    nabla: bool = False


@dataclass(frozen=True)
class Cond(Expr):
    """A relation used as a condition: op in = != < <= > >= and."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Cases(Expr):
    """Piecewise: (value, condition) pairs; a None condition is "otherwise"."""

    branches: tuple[tuple[Expr, Cond | None], ...]


@dataclass(frozen=True)
class Delta(Expr):
    """Kronecker δ_ij."""

    i: Expr
    j: Expr


@dataclass(frozen=True)
class Indicator(Expr):
    """1[cond], element-wise when the condition compares vectors."""

    cond: Cond


@dataclass(frozen=True)
class Sum(Expr):
    """Σ_{var=lower}^{upper} body; missing bounds are inferred from the body's indices."""

    var: str
    lower: Expr | None
    upper: Expr | None
    body: Expr


@dataclass(frozen=True)
class Dots(Expr):
    """\\cdots \\ldots \\vdots \\ddots in a matrix or a list."""

    kind: str


@dataclass(frozen=True)
class MatrixLit(Expr):
    """A matrix written out: rows of cells (a cell is None when left empty); `env` the
    environment (bmatrix, pmatrix, array, plain)."""

    rows: tuple[tuple[Expr | None, ...], ...]
    env: str = "bmatrix"


@dataclass(frozen=True)
class ListLit(Expr):
    """A comma list a_1, ..., a_K (the argument of \\diag\\{...\\})."""

    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Identity(Expr):
    """The identity matrix I, I_K; size None means "whatever conforms"."""

    size: Expr | None = None


@dataclass(frozen=True)
class Diag(Expr):
    """diag(v): the diagonal matrix of a vector (or of a list of scalars)."""

    arg: Expr


@dataclass(frozen=True)
class Norm(Expr):
    """||v||: the Euclidean (Frobenius) norm, a scalar."""

    inner: Expr


@dataclass(frozen=True)
class Statement:
    """A chain e0 rel1 e1 rel2 e2 ...; `relations` has one fewer entry than `parts`."""

    parts: tuple[Expr, ...]
    relations: tuple[str, ...]

    @property
    def lhs(self) -> Expr | None:
        return self.parts[0] if len(self.parts) > 1 else None

    @property
    def answer(self) -> Expr:
        """The last right-hand side (the whole expression when there is no relation)."""
        return self.parts[-1]


def symbol_role(sym: Sym) -> str:
    """The homework role of a symbol (see Sym.role)."""
    base = sym.base
    if base in ("x", "y", "y_hat"):
        return {"x": "input", "y": "target", "y_hat": "prediction"}[base]
    if base in ("W", "b"):
        return "parameter" if sym.layer in ("1", "2") else "generic_parameter"
    if base == "z" and sym.layer in ("1", "2", "3"):
        return "hidden"
    if base == "loss":
        return "loss"
    if base in LEARNING_RATES:
        return "rate"
    if base in GENERIC_PARAMETERS:
        return "generic_parameter"
    if base in SIZE_SYMBOLS and sym.layer is None:
        return "size"
    if base in INDEX_LETTERS and sym.layer is None:
        return "index"
    if base == "I" and sym.layer is None:
        return "identity"
    if base in FUNCTION_SYMBOLS and sym.layer is None:
        return "function"
    return "user"


def children(expr: Expr) -> Iterator[Expr]:
    """The direct sub-expressions of a node, in field order."""
    for item in dataclasses.fields(expr):
        value = getattr(expr, item.name)
        yield from _expr_items(value)


def _expr_items(value: object) -> Iterator[Expr]:
    if isinstance(value, Expr):
        yield value
    elif isinstance(value, tuple):
        for element in value:
            yield from _expr_items(element)


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node, pre-order, without recursion."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(list(children(node))))


def depth(expr: Expr) -> int:
    """The height of the tree (a leaf has depth 1), without recursion."""
    best = 0
    stack = [(expr, 1)]
    while stack:
        node, level = stack.pop()
        best = max(best, level)
        stack.extend((child, level + 1) for child in children(node))
    return best


def rebuild(expr: Expr, fn: Callable[[Expr], Expr]) -> Expr:
    """A copy of `expr` with `fn` applied to every direct child (fn decides how deep to go)."""
    changes = {}
    for item in dataclasses.fields(expr):
        value = getattr(expr, item.name)
        new = _rebuild_value(value, fn)
        if new is not value:
            changes[item.name] = new
    return dataclasses.replace(expr, **changes) if changes else expr


def _rebuild_value(value: object, fn: Callable[[Expr], Expr]) -> object:
    if isinstance(value, Expr):
        return fn(value)
    if isinstance(value, tuple):
        items = tuple(_rebuild_value(v, fn) for v in value)
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


def transform(expr: Expr, fn: Callable[[Expr], Expr | None]) -> Expr:
    """Bottom-up rewrite: `fn(node)` returns a replacement or None to keep the node."""

    def visit(node: Expr) -> Expr:
        node = rebuild(node, visit)
        replaced = fn(node)
        return node if replaced is None else replaced

    return visit(expr)


def strip_parens(expr: Expr) -> Expr:
    """The expression inside any number of grouping brackets."""
    while isinstance(expr, Paren):
        expr = expr.inner
    return expr


def substitute(expr: Expr, mapping: dict[str, Expr]) -> Expr:
    """Replace symbols by name (Sym.name) with expressions."""

    def swap(node: Expr) -> Expr | None:
        if isinstance(node, Sym) and node.name in mapping:
            return mapping[node.name]
        return None

    return transform(expr, swap)


def symbols(expr: Expr) -> set[str]:
    """The names of every symbol in the expression."""
    return {node.name for node in walk(expr) if isinstance(node, Sym)}


def derivatives(expr: Expr) -> list[Deriv]:
    """Every derivative symbol in the expression."""
    return [node for node in walk(expr) if isinstance(node, Deriv)]

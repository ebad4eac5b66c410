"""Evaluate a math AST numerically: every value a 2-D float64 numpy array (scalars (1,1)).

    evaluate(expr, env, expected_shape=None, jacobian=False) -> np.ndarray
    evaluate_elements(body, env, shape, variables) -> np.ndarray

Products are matrix products; a (1,1) factor scales. Two vectors of one shape that cannot be
multiplied as matrices (z_2(1-z_2), σ(s)(1-σ(s))) multiply element-wise: the only reading
that product has. An element-wise derivative written where a Jacobian is meant (σ'(z_3),
f'(z_1), 1[z_1 > 0] as a factor of a matrix product, or as the whole answer when `jacobian`)
is read as the diagonal matrix it stands for. Anything else that does not conform raises
ShapeError. Indexed formulas (cases, δ_ij, sums) are evaluated by looping the indices.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .classify import identity_of
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
    Pow,
    Sub,
    Sum,
    Sym,
    Transpose,
    strip_parens,
)

MAX_LOOP = 256


class EvalError(Exception):
    """An expression that cannot be evaluated; `reason` says why in plain words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ShapeError(EvalError):
    """Shapes that do not conform: `shapes` are the operands' shapes."""

    def __init__(self, reason: str, shapes: tuple[tuple[int, ...], ...] = ()):
        super().__init__(reason)
        self.shapes = shapes


class UnknownSymbol(EvalError):
    """A symbol (or derivative symbol) with no value and no definition on the sheet."""

    def __init__(self, reason: str, name: str):
        super().__init__(reason)
        self.name = name


class EvalLimit(EvalError):
    """Evaluation would exceed a limit (loop length, matrix size, time)."""


class TimeExceeded(EvalLimit):
    """Evaluation ran past its deadline."""


ElementFunction = Callable[[np.ndarray], np.ndarray]


@dataclass
class Environment:
    """Everything a formula may refer to, for one question case and one random draw.

    values: handout symbols (x, y, W1, b1, W2, b2, z1, z2, z3, y_hat, loss, rate symbols) by
    Sym.name. functions: element-wise functions by name with primes for derivatives ("f",
    "f'", "sigmoid'", ...). derivatives: derivative symbols by (numerator, denominator)
    identity, e.g. ("loss", "y_hat"). definitions / derivative_definitions: the sheet's own
    symbols, substituted when used (cycles are an error). renames: sheet symbol -> handout
    name. dims: n, d, K. loss: l(y_hat, y) as a float. deadline: time.monotonic() bound."""

    values: dict[str, np.ndarray] = field(default_factory=dict)
    functions: dict[str, ElementFunction] = field(default_factory=dict)
    derivatives: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    definitions: dict[str, Expr] = field(default_factory=dict)
    derivative_definitions: dict[tuple[str, str], Expr] = field(default_factory=dict)
    renames: dict[str, str] = field(default_factory=dict)
    dims: dict[str, int] = field(default_factory=dict)
    loss: Callable[[np.ndarray, np.ndarray], float] | None = None
    deadline: float | None = None
    index_base: int = 1


@dataclass(frozen=True)
class _Eye:
    """The identity matrix before its size is known (I), times a scalar."""

    size: int | None
    scale: float = 1.0

    def array(self, size: int | None = None) -> np.ndarray:
        n = self.size if self.size is not None else size
        if n is None:
            raise EvalError("the size of I cannot be inferred here (write I_K or I_d)")
        return self.scale * np.eye(n)


Value = np.ndarray | _Eye


def scalar(value: float) -> np.ndarray:
    return np.array([[float(value)]])


def shape_of(value: Value) -> tuple[int, ...]:
    if isinstance(value, _Eye):
        return (value.size, value.size) if value.size is not None else (0, 0)
    return value.shape


def _is_scalar(value: Value) -> bool:
    return isinstance(value, np.ndarray) and value.shape == (1, 1)


def is_diagonal_reading(expr: Expr) -> bool:
    """An element-wise derivative that stands for its diagonal matrix when used as a matrix:
    σ'(z), f'(z_1), ReLU'(z), 1[z > 0], 1_{[0,∞)}(z)."""
    node = strip_parens(expr)
    if isinstance(node, Apply) and node.func.order >= 1 and len(node.args) == 1:
        return True
    return isinstance(node, Indicator)


class _Evaluator:
    def __init__(self, env: Environment):
        self.env = env
        self.indices: dict[str, int] = {}
        self.active: set[object] = set()
        self.shape_hint: tuple[int, int] | None = None

    # plumbing ---------------------------------------------------------------------------------
    def tick(self) -> None:
        if self.env.deadline is not None and time.monotonic() > self.env.deadline:
            raise TimeExceeded("evaluating the formula took too long")

    def array(self, expr: Expr, like: int | None = None) -> np.ndarray:
        value = self.value(expr)
        return value.array(like) if isinstance(value, _Eye) else value

    def value(self, expr: Expr) -> Value:
        handler = _HANDLERS.get(type(expr))
        if handler is None:
            raise EvalError(f"{_describe(expr)} cannot be evaluated here")
        return handler(self, expr)

    # leaves -------------------------------------------------------------------------------------
    def num(self, expr: Num) -> Value:
        return scalar(expr.value)

    def infinity(self, expr: Infinity) -> Value:
        return scalar(math.inf)

    def sym(self, expr: Sym) -> Value:
        name = expr.name
        if expr.layer is None and expr.base in self.indices:
            return scalar(self.indices[expr.base] + self.env.index_base)
        if name in self.env.definitions:
            return self._defined(name, self.env.definitions[name])
        if name in self.env.values:
            return self.env.values[name]
        if expr.role == "size" and expr.base in self.env.dims:
            return scalar(self.env.dims[expr.base])
        if expr.role == "identity":
            return _Eye(None)
        if expr.base == "e" and expr.layer is None:
            return scalar(math.e)
        raise UnknownSymbol(f"the symbol {name} has no value: it is neither the handout's nor defined on the"
                            " sheet", name)

    def _defined(self, key: object, definition: Expr) -> Value:
        if key in self.active:
            raise EvalError(f"the definition of {key} refers to itself")
        self.active.add(key)
        try:
            return self.value(definition)
        finally:
            self.active.discard(key)

    # structure ----------------------------------------------------------------------------------
    def paren(self, expr: Paren) -> Value:
        return self.value(expr.inner)

    def neg(self, expr: Neg) -> Value:
        value = self.value(expr.inner)
        return _Eye(value.size, -value.scale) if isinstance(value, _Eye) else -value

    def transpose(self, expr: Transpose) -> Value:
        value = self.value(expr.inner)
        return value if isinstance(value, _Eye) else value.T.copy()

    def add(self, expr: Add) -> Value:
        return _combine("add", self.value(expr.left), self.value(expr.right), lambda a, b: a + b)

    def sub(self, expr: Sub) -> Value:
        return _combine("subtract", self.value(expr.left), self.value(expr.right), lambda a, b: a - b)

    def hadamard(self, expr: Hadamard) -> Value:
        left, right = self.value(expr.left), self.value(expr.right)
        if isinstance(left, _Eye) or isinstance(right, _Eye):
            other = right if isinstance(left, _Eye) else left
            eye = left if isinstance(left, _Eye) else right
            assert isinstance(eye, _Eye)
            size = other.shape[0] if isinstance(other, np.ndarray) else None
            left, right = eye.array(size), other if isinstance(other, np.ndarray) else other.array(size)
        return _elementwise("take the element-wise product of", left, right, lambda a, b: a * b)

    def matmul(self, expr: MatMul) -> Value:
        left, right = self.value(expr.left), self.value(expr.right)
        if isinstance(left, np.ndarray) and isinstance(right, np.ndarray):
            if not _is_scalar(right) and is_diagonal_reading(expr.left):
                left = _as_diagonal(left)
            if not _is_scalar(left) and is_diagonal_reading(expr.right):
                right = _as_diagonal(right)
        return matrix_product(left, right)

    def div(self, expr: Div) -> Value:
        num, den = self.array(expr.num), self.array(expr.den)
        with np.errstate(all="ignore"):
            if _is_scalar(den):
                return num / den[0, 0]
            if _is_scalar(num) or num.shape == den.shape:
                return num / den
        raise ShapeError(f"cannot divide a {_shape(num)} by a {_shape(den)}", (num.shape, den.shape))

    def pow(self, expr: Pow) -> Value:
        base = self.value(expr.base)
        exponent = self.array(expr.exponent)
        if not _is_scalar(exponent):
            raise ShapeError(f"an exponent must be a scalar, not {_shape(exponent)}", (exponent.shape,))
        if isinstance(base, _Eye):
            return _Eye(base.size, base.scale ** float(exponent[0, 0]))
        with np.errstate(all="ignore"):
            return np.power(base, exponent[0, 0])

    def norm(self, expr: Norm) -> Value:
        return scalar(float(np.linalg.norm(self.array(expr.inner))))

    def identity(self, expr: Identity) -> Value:
        if expr.size is None:
            return _Eye(None)
        size = self.array(expr.size)
        if not _is_scalar(size) or not float(size[0, 0]).is_integer() or not 0 < size[0, 0] <= MAX_LOOP:
            raise EvalError("the size of the identity must be a dimension such as K or d")
        return _Eye(int(size[0, 0]))

    # functions ------------------------------------------------------------------------------------
    def apply(self, expr: Apply) -> Value:
        func = expr.func
        if func.name == "loss":
            return self._loss(expr)
        if func.name == "linear":
            return self._linear(expr)
        if func.name in ("max", "min") and len(expr.args) == 2:
            left, right = self.array(expr.args[0]), self.array(expr.args[1])
            pick = np.maximum if func.name == "max" else np.minimum
            return _elementwise("compare", left, right, pick)
        if len(expr.args) != 1:
            raise EvalError(f"{func.name} takes one argument here, not {len(expr.args)}")
        argument = self.array(expr.args[0])
        with np.errstate(all="ignore"):
            return self.function(func)(argument)

    def function(self, func: Func) -> ElementFunction:
        key = func.name + "'" * func.order
        found = self.env.functions.get(key)
        if found is None:
            raise UnknownSymbol(f"the function {key} is not known here", key)
        return found

    def _loss(self, expr: Apply) -> Value:
        if self.env.loss is None:
            raise EvalError("the loss function is not known here")
        args = list(expr.args)
        if len(args) == 1:
            args.append(Sym("y"))
        if len(args) != 2:
            raise EvalError("the loss takes a prediction and a target")
        if identity_of(args[0]) == "y":
            args.reverse()
        prediction, target = self.array(args[0]), self.array(args[1])
        if prediction.shape != target.shape:
            raise ShapeError(f"the loss compares a {_shape(prediction)} with a {_shape(target)}",
                             (prediction.shape, target.shape))
        return scalar(self.env.loss(prediction, target))

    def _linear(self, expr: Apply) -> Value:
        layer = expr.func.layer
        if layer not in ("1", "2") or len(expr.args) != 1:
            raise EvalError("Linear needs its layer (Linear_1 or Linear_2) and one argument")
        weight, bias = self.env.values["W" + layer], self.env.values["b" + layer]
        return _combine("add", matrix_product(weight, self.array(expr.args[0])), bias, lambda a, b: a + b)

    def func_power(self, expr: FuncPower) -> Value:
        raise EvalError(f"the function {expr.func.name}^... has no argument")

    def bare_func(self, expr: Func) -> Value:
        raise EvalError("the function %s has no argument" % (expr.name + "'" * expr.order))

    def diag(self, expr: Diag) -> Value:
        vector = self.list_lit(expr.arg) if isinstance(expr.arg, ListLit) else self.array(expr.arg)
        if vector.shape == (1, 1):
            return vector
        if 1 not in vector.shape:
            raise ShapeError(f"diag of a {_shape(vector)} matrix (diag takes a vector)", (vector.shape,))
        return np.diagflat(vector)

    # indexed forms --------------------------------------------------------------------------------
    def idx(self, expr: Idx) -> Value:
        base = self.array(expr.base)
        positions = [self.position(index) for index in expr.indices]
        return element(base, positions)

    def position(self, index: Expr) -> int:
        """A 0-based position for an index expression (an index variable, a number, d, K-1)."""
        node = strip_parens(index)
        if isinstance(node, Sym) and node.layer is None and node.base in self.indices:
            return self.indices[node.base]
        value = self.array(node)
        if not _is_scalar(value) or not float(value[0, 0]).is_integer():
            raise EvalError("an index must be a whole number")
        return int(value[0, 0]) - self.env.index_base

    def delta(self, expr: Delta) -> Value:
        return scalar(1.0 if self.position(expr.i) == self.position(expr.j) else 0.0)

    def indicator(self, expr: Indicator) -> Value:
        return self.condition(expr.cond).astype(np.float64)

    def condition(self, cond: Cond) -> np.ndarray:
        if cond.op == "and":
            left, right = self.condition(_as_cond(cond.left)), self.condition(_as_cond(cond.right))
            return _broadcast_bool(left, right, np.logical_and)
        if cond.op in ("=", "!=") and _is_index_expr(cond.left) and _is_index_expr(cond.right):
            same = self.position(cond.left) == self.position(cond.right)
            return np.array([[same if cond.op == "=" else not same]])
        left, right = self.array(cond.left), self.array(cond.right)
        compare = COMPARISONS.get(cond.op)
        if compare is None:
            raise EvalError(f"the relation {cond.op} cannot be a condition")
        return _broadcast_bool(left, right, compare)

    def cases(self, expr: Cases) -> Value:
        result: np.ndarray | None = None
        for value_expr, cond in reversed(expr.branches):
            value = self.array(value_expr)
            if cond is None or result is None:
                result = value if cond is None else np.where(self.condition(cond), value, np.nan)
                continue
            mask = self.condition(cond)
            result = _where(mask, value, result)
        assert result is not None
        return result

    def sum(self, expr: Sum) -> Value:
        low, high, base = self._range(expr)
        if high - low + 1 > MAX_LOOP:
            raise EvalLimit(f"a sum over more than {MAX_LOOP} terms")
        saved_base, saved = self.env.index_base, self.indices.get(expr.var)
        self.env.index_base = base
        total: Value | None = None
        try:
            for value in range(low, high + 1):
                self.tick()
                self.indices[expr.var] = value - base
                term = self.array(expr.body)
                total = term if total is None else _combine("add", total, term, lambda a, b: a + b)
        finally:
            self.env.index_base = saved_base
            if saved is None:
                self.indices.pop(expr.var, None)
            else:
                self.indices[expr.var] = saved
        return total if total is not None else scalar(0.0)

    def _range(self, expr: Sum) -> tuple[int, int, int]:
        low = self._bound(expr.lower) if expr.lower is not None else None
        high = self._bound(expr.upper) if expr.upper is not None else None
        if low is None:
            low = self.env.index_base
        if high is None:
            high = low + self._inferred_size(expr) - 1
        return low, high, low if low in (0, 1) else self.env.index_base

    def _bound(self, expr: Expr) -> int:
        value = self.array(expr)
        if not _is_scalar(value) or not float(value[0, 0]).is_integer():
            raise EvalError("a sum's bound must be a whole number or a dimension")
        return int(value[0, 0])

    def _inferred_size(self, expr: Sum) -> int:
        from .mathexpr import walk

        for node in walk(expr.body):
            if isinstance(node, Idx) and any(isinstance(i, Sym) and i.base == expr.var for i in node.indices):
                base = self.array(node.base)
                axis = [i for i, index in enumerate(node.indices) if isinstance(index, Sym) and index.base == expr.var]
                if len(node.indices) == 1:
                    return max(base.shape)
                return base.shape[axis[0]]
        raise EvalError(f"the range of the sum over {expr.var} cannot be inferred (write its bounds)")

    def matrix_lit(self, expr: MatrixLit) -> Value:
        from .patterns import has_dots, pattern_values

        if has_dots(expr):
            return pattern_values(expr, self)
        rows = []
        for row in expr.rows:
            if any(cell is None for cell in row):
                raise EvalError("a matrix with an empty cell")
            rows.append([self.array(cell) for cell in row if cell is not None])
        return _block(rows)

    def list_lit(self, expr: ListLit) -> np.ndarray:
        from .patterns import pattern_values

        if any(isinstance(item, Dots) for item in expr.items):
            return pattern_values(MatrixLit(tuple((item,) for item in expr.items), "list"), self)
        return _block([[self.array(item)] for item in expr.items])

    def dots(self, expr: Dots) -> Value:
        raise EvalError("dots outside a matrix or a list")

    # derivative symbols ---------------------------------------------------------------------------
    def deriv(self, expr: Deriv) -> Value:
        num, num_indices = _element_parts(expr.num)
        den, den_indices = _element_parts(expr.den)
        top, bottom = identity_of(num, self.env.renames), identity_of(den, self.env.renames)
        if top is None or bottom is None:
            raise EvalError("the derivative of something other than a symbol")
        key = ("nabla:" + top if expr.nabla else top, bottom)
        if key in self.env.derivatives:
            value: Value = self.env.derivatives[key]
        elif (top, bottom) in self.env.derivative_definitions:
            value = self._defined((top, bottom), self.env.derivative_definitions[(top, bottom)])
        else:
            raise UnknownSymbol(f"the derivative d{top}/d{bottom} is not defined on the sheet and is not one the"
                                " question allows", f"d{top}/d{bottom}")
        indices = num_indices + den_indices
        if not indices:
            return value
        array = value.array() if isinstance(value, _Eye) else value
        return element(array, [self.position(i) for i in indices])

    def cond(self, expr: Cond) -> Value:
        return self.condition(expr).astype(np.float64)


def _element_parts(expr: Expr) -> tuple[Expr, tuple[Expr, ...]]:
    node = strip_parens(expr)
    if isinstance(node, Idx):
        return node.base, node.indices
    return node, ()


def _is_index_expr(expr: Expr) -> bool:
    node = strip_parens(expr)
    return isinstance(node, Sym) and node.role == "index" or isinstance(node, Num)


def _as_cond(expr: Expr) -> Cond:
    if not isinstance(expr, Cond):
        raise EvalError("a condition must be a relation")
    return expr


COMPARISONS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal, "=": np.equal, "!=": np.not_equal,
}


def _broadcast_bool(left: np.ndarray, right: np.ndarray, op: Callable[[np.ndarray, np.ndarray], np.ndarray]
                    ) -> np.ndarray:
    if left.shape == right.shape or left.shape == (1, 1) or right.shape == (1, 1):
        with np.errstate(all="ignore"):
            return np.asarray(op(left, right), dtype=bool)
    raise ShapeError(f"cannot compare a {_shape(left)} with a {_shape(right)}", (left.shape, right.shape))


def _where(mask: np.ndarray, value: np.ndarray, otherwise: np.ndarray) -> np.ndarray:
    shapes = {a.shape for a in (mask, value, otherwise)} - {(1, 1)}
    if len(shapes) > 1:
        raise ShapeError("the cases of a definition have different shapes", tuple(shapes))
    return np.where(mask, value, otherwise).astype(np.float64)


def element(base: np.ndarray, positions: list[int]) -> np.ndarray:
    """The element of `base` at 0-based `positions` (one index for a vector, two for a matrix)."""
    if len(positions) == 1 and 1 in base.shape:
        flat = base.reshape(-1)
        if not 0 <= positions[0] < flat.size:
            raise EvalError(f"index {positions[0] + 1} is out of range for a vector of {flat.size} entries")
        return scalar(flat[positions[0]])
    if len(positions) == 2:
        row, column = positions
        if not (0 <= row < base.shape[0] and 0 <= column < base.shape[1]):
            raise EvalError(f"index ({row + 1},{column + 1}) is out of range for a {_shape(base)} matrix")
        return scalar(base[row, column])
    raise EvalError(f"{len(positions)} indices on a {_shape(base)} value")


def _shape(value: np.ndarray) -> str:
    return "({})".format(",".join(str(s) for s in value.shape))


def _as_diagonal(value: np.ndarray) -> np.ndarray:
    if value.ndim == 2 and value.shape[1] == 1 and value.shape[0] > 1:
        return np.diagflat(value)
    return value


def matrix_product(left: Value, right: Value) -> Value:
    """left times right: scaling by a (1,1), a matrix product, I as the identity, or the
    element-wise product of two equal vectors that cannot be multiplied as matrices."""
    if isinstance(left, _Eye) or isinstance(right, _Eye):
        return _eye_product(left, right)
    if left.shape == (1, 1):
        return left[0, 0] * right
    if right.shape == (1, 1):
        return left * right[0, 0]
    if left.shape[1] == right.shape[0]:
        return left @ right
    if left.shape == right.shape and 1 in left.shape:
        return left * right
    raise ShapeError(f"cannot multiply a {_shape(left)} by a {_shape(right)}", (left.shape, right.shape))


def _eye_product(left: Value, right: Value) -> Value:
    if isinstance(left, _Eye) and isinstance(right, _Eye):
        if left.size is not None and right.size is not None and left.size != right.size:
            raise ShapeError(f"cannot multiply I_{left.size} by I_{right.size}")
        return _Eye(left.size if left.size is not None else right.size, left.scale * right.scale)
    eye, other, eye_first = (left, right, True) if isinstance(left, _Eye) else (right, left, False)
    assert isinstance(eye, _Eye) and isinstance(other, np.ndarray)
    if other.shape == (1, 1):
        return _Eye(eye.size, eye.scale * float(other[0, 0]))
    size = other.shape[0] if eye_first else other.shape[1]
    if eye.size is not None and eye.size != size:
        raise ShapeError(f"cannot multiply I_{eye.size} with a {_shape(other)}", ((eye.size, eye.size),
                                                                                       other.shape))
    return eye.scale * other


def _combine(verb: str, left: Value, right: Value, op: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Value:
    if isinstance(left, _Eye) and isinstance(right, _Eye):
        if left.size == right.size:
            return _Eye(left.size, float(op(np.array(left.scale), np.array(right.scale))))
        left, right = left.array(right.size), right.array(left.size)
    if isinstance(left, _Eye):
        left = left.array(_square_size(right, verb))
    if isinstance(right, _Eye):
        right = right.array(_square_size(left, verb))
    return _elementwise(verb, left, right, op)


def _square_size(value: Value, verb: str) -> int:
    assert isinstance(value, np.ndarray)
    if value.shape[0] != value.shape[1]:
        raise ShapeError(f"cannot {verb} I and a {_shape(value)} matrix", (value.shape,))
    return value.shape[0]


def _elementwise(verb: str, left: np.ndarray, right: np.ndarray,
                 op: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    if left.shape == right.shape or left.shape == (1, 1) or right.shape == (1, 1):
        with np.errstate(all="ignore"):
            return np.asarray(op(left, right), dtype=np.float64)
    joiner = "and" if verb in ("add", "subtract", "compare") else "by"
    if verb == "subtract":
        text = f"cannot subtract a {_shape(right)} from a {_shape(left)}"
    else:
        text = f"cannot {verb} a {_shape(left)} {joiner} a {_shape(right)}"
    raise ShapeError(text, (left.shape, right.shape))


def _block(rows: list[list[np.ndarray]]) -> np.ndarray:
    try:
        return np.block(rows).astype(np.float64).reshape(_block_shape(rows))
    except ValueError:
        raise ShapeError("the cells of a written matrix do not fit together") from None


def _block_shape(rows: list[list[np.ndarray]]) -> tuple[int, int]:
    height = sum(row[0].shape[0] for row in rows)
    width = sum(cell.shape[1] for cell in rows[0])
    return height, width


def _describe(expr: Expr) -> str:
    return type(expr).__name__


_HANDLERS: dict[type, Callable[[_Evaluator, Any], Value]] = {
    Num: _Evaluator.num, Infinity: _Evaluator.infinity, Sym: _Evaluator.sym, Paren: _Evaluator.paren,
    Neg: _Evaluator.neg, Transpose: _Evaluator.transpose, Add: _Evaluator.add, Sub: _Evaluator.sub,
    Hadamard: _Evaluator.hadamard, MatMul: _Evaluator.matmul, Div: _Evaluator.div, Pow: _Evaluator.pow,
    Norm: _Evaluator.norm, Identity: _Evaluator.identity, Apply: _Evaluator.apply,
    FuncPower: _Evaluator.func_power, Func: _Evaluator.bare_func, Diag: _Evaluator.diag, Idx: _Evaluator.idx,
    Delta: _Evaluator.delta, Indicator: _Evaluator.indicator, Cases: _Evaluator.cases, Sum: _Evaluator.sum,
    MatrixLit: _Evaluator.matrix_lit, ListLit: _Evaluator.list_lit, Dots: _Evaluator.dots,
    Deriv: _Evaluator.deriv, Cond: _Evaluator.cond,
}


def evaluate(expr: Expr, env: Environment, expected_shape: tuple[int, int] | None = None,
             jacobian: bool = False) -> np.ndarray:
    """The value of `expr`, a 2-D float64 array. `expected_shape` sizes an identity written
    without its size; `jacobian` reads an element-wise derivative vector as its diagonal matrix.
    Raises ShapeError, UnknownSymbol, TimeExceeded or EvalError."""
    evaluator = _Evaluator(env)
    if isinstance(strip_parens(expr), MatrixLit | Diag):
        evaluator.shape_hint = expected_shape
    try:
        value = evaluator.value(expr)
    except RecursionError:
        raise EvalError("the formula is nested too deeply to evaluate") from None
    if isinstance(value, _Eye):
        value = value.array(expected_shape[0] if expected_shape else None)
    value = np.asarray(value, dtype=np.float64)
    if jacobian and is_diagonal_reading(expr):
        value = _as_diagonal(value)
    return value


def evaluate_elements(body: Expr, env: Environment, shape: tuple[int, int],
                      variables: Mapping[str, int]) -> np.ndarray:
    """A matrix of `shape` whose entry at (r, c) is `body` with the index variables bound:
    `variables` maps each variable to the axis it runs along (0 rows, 1 columns)."""
    if shape[0] * shape[1] > MAX_LOOP * 4:
        raise EvalLimit(f"an element-wise definition of a {shape} matrix is too large")
    evaluator = _Evaluator(env)
    result = np.empty(shape)
    for row in range(shape[0]):
        for column in range(shape[1]):
            evaluator.tick()
            for name, axis in variables.items():
                evaluator.indices[name] = row if axis == 0 else column
            value = evaluator.array(body)
            if value.shape != (1, 1):
                raise ShapeError(f"an entry of an element-wise definition is a {_shape(value)}, not a number",
                                 (value.shape,))
            result[row, column] = value[0, 0]
    return result

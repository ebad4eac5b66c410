"""Matrices and lists written with dots: infer the general entry, then build the real matrix.

    [f'(z_{1,1})  0  ...  0 ; 0  f'(z_{1,2}) ... 0 ; ⋮ ⋱ ⋮ ; 0 ... f'(z_{1,d})]

Rows before the dots row are positions 1, 2, ... (or 0, 1, ... on a 0-based sheet), rows after
it count back from the last; columns alike. The general entry is abstracted from one written
cell (its literal index positions replaced by i, j) and checked against EVERY written cell by
matching; the last row's or column's index (d, K, n, K-1) gives the size. Diagonal patterns
(every written off-diagonal cell 0) give a diagonal matrix. A pattern that does not fit is an
EvalError, never a guess.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .mathexpr import Dots, Expr, Idx, MatrixLit, Num, Paren, Sym, transform

if TYPE_CHECKING:
    from .evaluate import _Evaluator

ROW, COLUMN = "_i", "_j"


@dataclass(frozen=True)
class _Label:
    """A written position: `front` k (0-based from the start) or the `back` o-th from the end."""

    side: str
    offset: int


@dataclass(frozen=True)
class _Cell:
    row: _Label
    column: _Label
    expr: Expr


def has_dots(matrix: MatrixLit) -> bool:
    return any(isinstance(cell, Dots) for row in matrix.rows for cell in row)


def _is_dots(cell: Expr | None) -> bool:
    return cell is None or isinstance(cell, Dots)


def _labels(kinds: list[bool]) -> tuple[list[_Label | None], bool]:
    """Labels for positions along an axis (`kinds[k]` True for a dots position)."""
    dots = [k for k, is_dots in enumerate(kinds) if is_dots]
    if len(dots) > 1:
        from .evaluate import EvalError

        raise EvalError("a pattern matrix with more than one row or column of dots")
    labels: list[_Label | None] = []
    explicit = [k for k, is_dots in enumerate(kinds) if not is_dots]
    for k in range(len(kinds)):
        if kinds[k]:
            labels.append(None)
        elif dots and k > dots[0]:
            labels.append(_Label("back", len([e for e in explicit if e > k])))
        else:
            labels.append(_Label("front", len([e for e in explicit if e < k])))
    return labels, bool(dots)


def _grid(matrix: MatrixLit) -> tuple[list[_Cell], bool, bool, int, int]:
    width = max(len(row) for row in matrix.rows)
    rows = [tuple(row) + (None,) * (width - len(row)) for row in matrix.rows]
    row_dots = [all(_is_dots(c) for c in row) and any(isinstance(c, Dots) for c in row) for row in rows]
    explicit_rows = [row for row, dots in zip(rows, row_dots, strict=True) if not dots]
    column_dots = [all(_is_dots(row[k]) for row in explicit_rows) and any(isinstance(row[k], Dots)
                   for row in explicit_rows) for k in range(width)]
    row_labels, vertical = _labels(row_dots)
    column_labels, horizontal = _labels(column_dots)
    cells = []
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            row_label, column_label = row_labels[r], column_labels[c]
            if row_label is not None and column_label is not None and not _is_dots(cell):
                assert cell is not None
                cells.append(_Cell(row_label, column_label, cell))
    height = len([label for label in row_labels if label is not None])
    breadth = len([label for label in column_labels if label is not None])
    return cells, vertical, horizontal, height, breadth


def _abstract(expr: Expr, literals: dict[float, str]) -> Expr:
    """Replace literal indices (inside element indices only) by index variables."""

    def swap(node: Expr) -> Expr | None:
        if not isinstance(node, Idx):
            return None
        indices = tuple(Sym(literals[i.value]) if isinstance(i, Num) and i.value in literals else i
                        for i in node.indices)
        return Idx(node.base, indices)

    return transform(expr, swap)


def unify(template: object, cell: object, bindings: dict[str, Expr]) -> bool:
    """Structural match of `cell` against `template`, binding ROW/COLUMN variables."""
    if isinstance(template, Sym) and template.base in (ROW, COLUMN):
        assert isinstance(cell, Expr)
        target = cell.inner if isinstance(cell, Paren) else cell
        if template.base in bindings:
            return bindings[template.base] == target
        bindings[template.base] = target
        return True
    if isinstance(template, tuple):
        return isinstance(cell, tuple) and len(cell) == len(template) and all(
            unify(a, b, bindings) for a, b in zip(template, cell, strict=True))
    if not isinstance(template, Expr):
        return template == cell
    if type(template) is not type(cell):
        return False
    return all(unify(getattr(template, f.name), getattr(cell, f.name), bindings) for f in dataclasses.fields(template))


class _Pattern:
    def __init__(self, matrix: MatrixLit, evaluator: _Evaluator):
        from .evaluate import EvalError

        self.error = EvalError
        self.evaluator = evaluator
        self.cells, self.vertical, self.horizontal, self.height, self.breadth = _grid(matrix)
        if not self.cells:
            raise EvalError("a pattern matrix without any written entry")

    def _check(self, bindings: dict[str, Expr], var: str, label: _Label, base: int, sizes: dict[str, int]) -> bool:
        if var not in bindings:
            return True
        value = self.evaluator.array(bindings[var])
        if value.shape != (1, 1) or not float(value[0, 0]).is_integer():
            return False
        number = int(value[0, 0])
        if label.side == "front":
            return number == label.offset + base
        size = number - base + 1 + label.offset
        return sizes.setdefault(var, size) == size

    def _fits(self, template: Expr, cells: list[_Cell], base: int, axes: tuple[str, str]) -> dict[str, int] | None:
        sizes: dict[str, int] = {}
        for cell in cells:
            bindings: dict[str, Expr] = {}
            if not unify(template, cell.expr, bindings):
                return None
            if not (self._check(bindings, axes[0], cell.row, base, sizes)
                    and self._check(bindings, axes[1], cell.column, base, sizes)):
                return None
        return sizes

    def _size(self, has_dots: bool, count: int, sizes: dict[str, int], var: str, axis: int) -> int:
        if not has_dots:
            return count
        hint = self.evaluator.shape_hint
        if var not in sizes and hint is not None and hint[axis] >= count:
            return hint[axis]
        if var not in sizes:
            raise self.error("the size of a pattern matrix cannot be read from its last entry")
        if not 0 < sizes[var] <= 256:
            from .evaluate import EvalLimit

            raise EvalLimit(f"a pattern matrix of size {sizes[var]}")
        return sizes[var]

    def values(self) -> np.ndarray:
        if self.height == 1 or self.breadth == 1:
            return self._vector()
        return self._matrix()

    def _vector(self) -> np.ndarray:
        along_rows = self.breadth == 1 and (self.height > 1 or self.vertical)
        axes = (ROW, "_none") if along_rows else ("_none", ROW)
        for base in (1, 0):
            first = self.cells[0]
            offset = (first.row if along_rows else first.column).offset
            template = _abstract(first.expr, {float(offset + base): ROW})
            sizes = self._fits(template, self.cells, base, axes)
            if sizes is not None:
                has_dots = self.vertical if along_rows else self.horizontal
                size = self._size(has_dots, self.height if along_rows else self.breadth, sizes, ROW,
                                  0 if along_rows else 1)
                shape = (size, 1) if along_rows else (1, size)
                return self._fill(template, shape, base, diagonal=False)
        raise self.error("the entries of the pattern do not follow one general entry")

    def _matrix(self) -> np.ndarray:
        diagonal = [c for c in self.cells if c.row == c.column]
        off = [c for c in self.cells if c.row != c.column]
        zeros = all(isinstance(c.expr, Num) and c.expr.value == 0 for c in off)
        for base in (1, 0):
            found = self._diagonal_template(diagonal, base) if zeros and diagonal else self._general_template(base)
            if found is not None:
                template, sizes = found
                rows = self._size(self.vertical, self.height, sizes, ROW, 0)
                columns = self._size(self.horizontal, self.breadth, sizes, COLUMN if not zeros else ROW, 1)
                return self._fill(template, (rows, columns), base, diagonal=zeros and bool(diagonal))
        raise self.error("the entries of the pattern matrix do not follow one general entry")

    def _diagonal_template(self, diagonal: list[_Cell], base: int) -> tuple[Expr, dict[str, int]] | None:
        first = diagonal[0]
        template = _abstract(first.expr, {float(first.row.offset + base): ROW})
        sizes = self._fits(template, diagonal, base, (ROW, "_none"))
        return None if sizes is None else (template, sizes)

    def _general_template(self, base: int) -> tuple[Expr, dict[str, int]] | None:
        for cell in self.cells:
            if cell.row.side == cell.column.side == "front" and cell.row.offset != cell.column.offset:
                literals = {float(cell.row.offset + base): ROW, float(cell.column.offset + base): COLUMN}
                template = _abstract(cell.expr, literals)
                sizes = self._fits(template, self.cells, base, (ROW, COLUMN))
                if sizes is not None:
                    return template, sizes
        return None

    def _fill(self, template: Expr, shape: tuple[int, int], base: int, diagonal: bool) -> np.ndarray:
        evaluator = self.evaluator
        saved = evaluator.env.index_base
        evaluator.env.index_base = base
        result = np.zeros(shape)
        try:
            for row in range(shape[0]):
                for column in range(shape[1]):
                    if diagonal and row != column:
                        continue
                    evaluator.tick()
                    evaluator.indices[ROW] = row if shape[0] > 1 or diagonal else column
                    evaluator.indices[COLUMN] = column
                    value = evaluator.array(template)
                    if value.shape != (1, 1):
                        raise self.error("an entry of a pattern matrix is not a number")
                    result[row, column] = value[0, 0]
        finally:
            evaluator.env.index_base = saved
            evaluator.indices.pop(ROW, None)
            evaluator.indices.pop(COLUMN, None)
        return result


def pattern_values(matrix: MatrixLit, evaluator: _Evaluator) -> np.ndarray:
    """The matrix (or vector) a dotted pattern describes, evaluated entry by entry."""
    return _Pattern(matrix, evaluator).values()

"""Heatmaps of a counterexample: expected, got, their difference and their ratio, as inline SVG.

Input is a failed check's evidence: `{"inputs": {name: nested list}, "expected": {name: nested
list}, "got": {name: nested list}}` (a number, a list of numbers or a list of equal-length
lists). A vector is drawn as one row. Expected and got share one diverging colour scale (blue
negative, white zero, red positive), so that a transposed answer shows the expected picture
mirrored along its diagonal; the difference has its own scale; the ratio (got ÷ expected) is
coloured by its logarithm, so that a scaled answer is one uniform colour (and a sign error one
uniform orange). Small matrices print their numbers in the cells; every cell's full value is
its tooltip. The captions only describe the pictures; the diagnosis is the grader's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .html_page import esc

MAX_SIDE = 24
"""Rows and columns drawn at most (the top-left corner of a larger matrix)."""
RELATIVE_SAME = 1e-6

_DIVERGING = ((-1.0, (33, 102, 172)), (-0.5, (103, 169, 207)), (0.0, (247, 247, 247)), (0.5, (239, 138, 98)),
              (1.0, (178, 24, 43)))
_RATIO = ((-1.0, (118, 42, 131)), (-0.5, (175, 141, 195)), (0.0, (247, 247, 247)), (0.5, (127, 191, 123)),
          (1.0, (27, 120, 55)))
_NEGATIVE_RATIO = "#e08214"
_BLANK = "#d0d4db"


@dataclass
class Matrix:
    """Values as rows (None: not a number), the value's own shape, and whether it was cut."""

    rows: list[list[float | None]]
    shape: tuple[int, ...]

    @property
    def size(self) -> tuple[int, int]:
        return len(self.rows), len(self.rows[0]) if self.rows else 0

    def values(self) -> list[float]:
        return [v for row in self.rows for v in row if v is not None and math.isfinite(v)]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value.strip().lower() in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
        return float(value.strip().lower().replace("infinity", "inf"))
    return None


def to_matrix(value: Any) -> Matrix | str:
    """`value` as a Matrix, or why it cannot be drawn (e.g. "a 3-D array", "not an array")."""
    if not isinstance(value, (list, tuple)):
        number = _number(value)
        return Matrix([[number]], ()) if number is not None or value is None else "not an array (%s)" % (
            str(value)[:60])
    if not value:
        return "an empty array"
    if all(not isinstance(v, (list, tuple)) for v in value):
        return Matrix([[_number(v) for v in value]], (len(value),))
    if all(isinstance(v, (list, tuple)) for v in value):
        width = len(value[0])
        if any(len(row) != width for row in value):
            return "rows of different lengths"
        if any(isinstance(v, (list, tuple)) for row in value for v in row):
            return "an array of 3 or more dimensions"
        if width == 0:
            return "an empty array"
        return Matrix([[_number(v) for v in row] for row in value], (len(value), width))
    return "a mix of numbers and lists"


def _colour(t: float, stops: Sequence[tuple[float, tuple[int, int, int]]]) -> str:
    t = min(1.0, max(-1.0, t))
    for (t0, c0), (t1, c1) in zip(stops, stops[1:]):
        if t <= t1:
            share = (t - t0) / (t1 - t0)
            rgb = [round(a + (b - a) * share) for a, b in zip(c0, c1)]
            return "#%02x%02x%02x" % tuple(rgb)
    return "#%02x%02x%02x" % stops[-1][1]


def _short(value: float | None) -> str:
    if value is None:
        return "—"
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    size = abs(value)
    if size == 0:
        return "0"
    if size >= 1e4 or size < 1e-3:
        return ("%.0e" % value).replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")
    if size >= 100:
        return "%.0f" % value
    return ("%.3g" if size >= 1 else "%.2g") % value


def _shape(shape: tuple[int, ...]) -> str:
    return "(%s)" % ",".join(str(n) for n in shape) if shape else "a number"


@dataclass
class Cell:
    value: float | None
    fill: str
    text: str
    tip: str
    dark: bool


def _grid_svg(cells: list[list[Cell]], label: str) -> str:
    """An SVG grid of `cells` (already cut to MAX_SIDE)."""
    rows, cols = len(cells), len(cells[0]) if cells else 0
    size = 52 if cols <= 6 else 36 if cols <= 12 else 14
    font = 11 if size == 52 else 8
    show_text = size >= 36
    pad = 1
    width, height = cols * size + 2 * pad, rows * size + 2 * pad
    out = ['<svg class="heatmap" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">'
           % (width, height, width, height, esc(label)), "<title>%s</title>" % esc(label)]
    for r, row in enumerate(cells):
        for c, cell in enumerate(row):
            x, y = pad + c * size, pad + r * size
            out.append('<g><title>%s</title><rect x="%d" y="%d" width="%d" height="%d" fill="%s" stroke="#ffffff"'
                       ' stroke-width="1"/>' % (esc(cell.tip), x, y, size, size, cell.fill))
            if show_text:
                out.append('<text x="%.1f" y="%.1f" font-size="%d" text-anchor="middle" dominant-baseline="central"'
                           ' font-family="ui-monospace, Menlo, Consolas, monospace" fill="%s">%s</text>'
                           % (x + size / 2, y + size / 2, font, "#ffffff" if cell.dark else "#1d2330",
                              esc(cell.text)))
            out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def _value_cells(matrix: Matrix, scale: float, name: str) -> list[list[Cell]]:
    cells = []
    for r, row in enumerate(matrix.rows[:MAX_SIDE]):
        line = []
        for c, value in enumerate(row[:MAX_SIDE]):
            tip = "%s[%d,%d] = %r" % (name, r, c, value) if value is not None else "%s[%d,%d]: not a number" % (
                name, r, c)
            if value is None or not math.isfinite(value):
                line.append(Cell(value, "#7a7f8a", _short(value), tip, True))
                continue
            t = value / scale if scale > 0 else 0.0
            line.append(Cell(value, _colour(t, _DIVERGING), _short(value), tip, abs(t) > 0.6))
        cells.append(line)
    return cells


def _ratio_cells(got: Matrix, expected: Matrix, tiny: float) -> tuple[list[list[Cell]], list[float]]:
    cells, ratios = [], []
    for r, (grow, erow) in enumerate(zip(got.rows[:MAX_SIDE], expected.rows[:MAX_SIDE])):
        line = []
        for c, (g, e) in enumerate(zip(grow[:MAX_SIDE], erow[:MAX_SIDE])):
            if g is None or e is None or not math.isfinite(g) or not math.isfinite(e) or abs(e) <= tiny:
                line.append(Cell(None, _BLANK, "÷0" if e is not None and abs(e) <= tiny else "—",
                                 "[%d,%d]: no ratio (expected is 0 or not a number)" % (r, c), False))
                continue
            ratio = g / e
            ratios.append(ratio)
            tip = "got/expected [%d,%d] = %r" % (r, c, ratio)
            if ratio <= 0:
                line.append(Cell(ratio, _NEGATIVE_RATIO, _short(ratio), tip, False))
            else:
                t = math.log2(ratio) / 3.0
                line.append(Cell(ratio, _colour(t, _RATIO), _short(ratio), tip, abs(t) > 0.6))
        cells.append(line)
    return cells, ratios


def _difference(got: Matrix, expected: Matrix, transpose: bool) -> Matrix:
    rows = got.rows if not transpose else [list(col) for col in zip(*got.rows)]
    out: list[list[float | None]] = []
    for grow, erow in zip(rows, expected.rows):
        out.append([g - e if g is not None and e is not None else None for g, e in zip(grow, erow)])
    return Matrix(out, expected.shape)


def _scale(*matrices: Matrix) -> float:
    return max((abs(v) for m in matrices for v in m.values()), default=0.0)


def _figure(title: str, svg: str) -> str:
    return "<figure><figcaption>%s</figcaption>%s</figure>" % (title, svg)


def _cut_note(matrix: Matrix) -> str:
    rows, cols = matrix.size
    if rows <= MAX_SIDE and cols <= MAX_SIDE:
        return ""
    return ' <span class="muted">(the first %d of %d rows and %d of %d columns)</span>' % (
        min(rows, MAX_SIDE), rows, min(cols, MAX_SIDE), cols)


def _same(a: Matrix, b: Matrix) -> bool:
    scale = _scale(a, b) or 1.0
    return all(x is not None and y is not None and abs(x - y) <= RELATIVE_SAME * scale
               for ra, rb in zip(a.rows, b.rows) for x, y in zip(ra, rb))


def _ratio_caption(ratios: list[float]) -> str:
    if not ratios:
        return ""
    ordered = sorted(ratios)
    median = ordered[len(ordered) // 2]
    if all(abs(r - median) <= 1e-3 * abs(median) for r in ratios):
        if abs(median - 1) <= 1e-3:
            return ""
        return "got ÷ expected is %s in every cell: got = %s × expected." % (_short(median), _short(median))
    return "got ÷ expected varies from %s to %s." % (_short(ordered[0]), _short(ordered[-1]))


def compare_panels(name: str, expected: Any, got: Any) -> str:
    """HTML for one quantity: expected and got side by side on one scale, then their
    difference and ratio when the shapes allow, with a caption describing the pictures."""
    exp, gotm = to_matrix(expected), to_matrix(got)
    if isinstance(exp, str) or isinstance(gotm, str):
        parts = []
        for label, parsed in (("expected", exp), ("got", gotm)):
            if isinstance(parsed, str):
                parts.append('<p class="caption">%s %s: %s</p>' % (label, esc(name), esc(parsed)))
            else:
                parts.append(_figure("%s %s %s" % (label, esc(name), _shape(parsed.shape)),
                                     _grid_svg(_value_cells(parsed, _scale(parsed), name), label + " " + name)))
        return '<div class="evidence">%s</div>' % "".join(parts)
    scale = _scale(exp, gotm)
    panels = [
        _figure("expected %s %s%s" % (esc(name), _shape(exp.shape), _cut_note(exp)),
                _grid_svg(_value_cells(exp, scale, name), "expected %s" % name)),
        _figure("got %s %s%s" % (esc(name), _shape(gotm.shape), _cut_note(gotm)),
                _grid_svg(_value_cells(gotm, scale, name), "got %s" % name)),
    ]
    captions = []
    if exp.size == gotm.size:
        diff = _difference(gotm, exp, transpose=False)
        panels.append(_figure("got − expected", _grid_svg(_value_cells(diff, _scale(diff), "got − expected"),
                                                             "difference %s" % name)))
        ratio_cells, ratios = _ratio_cells(gotm, exp, 1e-12 * (scale or 1.0))
        panels.append(_figure("got ÷ expected", _grid_svg(ratio_cells, "ratio %s" % name)))
        transposed = [list(col) for col in zip(*gotm.rows)]
        if exp.size[0] == exp.size[1] > 1 and not _same(gotm, exp) and _same(Matrix(transposed, exp.shape), exp):
            captions.append("got is expected mirrored along its diagonal: got = expectedᵀ.")
        captions.append(_ratio_caption(ratios))
    elif exp.size == gotm.size[::-1]:
        diff = _difference(gotm, exp, transpose=True)
        panels.append(_figure("gotᵀ − expected", _grid_svg(_value_cells(diff, _scale(diff), "gotᵀ − expected"),
                                                              "difference of the transpose %s" % name)))
        captions.append("got has shape %s where %s is expected: the transposed shape%s." % (
            _shape(gotm.shape), _shape(exp.shape), " (and gotᵀ = expected)" if _same(
                Matrix([list(col) for col in zip(*gotm.rows)], exp.shape), exp) else ""))
    else:
        captions.append("got has shape %s, expected %s: no cell-by-cell comparison." % (
            _shape(gotm.shape), _shape(exp.shape)))
    caption = " ".join(c for c in captions if c)
    return '<div class="evidence">%s</div>%s' % (
        "".join(panels), '<p class="caption">%s</p>' % esc(caption) if caption else "")


def value_panel(name: str, value: Any) -> str:
    """One input drawn on its own scale (or why it cannot be)."""
    parsed = to_matrix(value)
    if isinstance(parsed, str):
        return '<p class="caption">%s: %s</p>' % (esc(name), esc(parsed))
    return _figure("%s %s%s" % (esc(name), _shape(parsed.shape), _cut_note(parsed)),
                   _grid_svg(_value_cells(parsed, _scale(parsed), name), name))


def _named(evidence: dict[str, Any], key: str) -> dict[str, Any]:
    value = evidence.get(key)
    return value if isinstance(value, dict) else {}


def evidence_html(evidence: dict[str, Any]) -> str:
    """The counterexample's pictures: each expected/got quantity compared, then the inputs (in
    a collapsed section). Empty when there is nothing to draw."""
    expected, got, inputs = (_named(evidence, key) for key in ("expected", "got", "inputs"))
    names = list(expected) + [n for n in got if n not in expected]
    out = []
    for name in names:
        if name in expected and name in got:
            out.append("<h4>%s</h4>%s" % (esc(name), compare_panels(str(name), expected[name], got[name])))
        elif name in expected:
            out.append("<h4>%s</h4><p class=\"caption\">expected, but the submission returned no %s</p>%s" % (
                esc(name), esc(name), '<div class="evidence">%s</div>' % value_panel("expected " + str(name),
                                                                                     expected[name])))
        else:
            out.append("<h4>%s</h4>%s" % (esc(name), '<div class="evidence">%s</div>' % value_panel(
                "got " + str(name), got[name])))
    if inputs:
        out.append('<details class="inputs"><summary>the inputs of this example (%d)</summary>'
                   '<div class="evidence">%s</div></details>'
                   % (len(inputs), "".join(value_panel(str(name), value) for name, value in inputs.items())))
    return "".join(out)

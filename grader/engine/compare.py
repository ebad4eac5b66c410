"""Compare a student's value with the expected one and name the mistake (a diagnosis code).

Values arrive as float64 numpy arrays (or `NotArray` when the student returned something
else). Closeness is relative: ||got - exp|| <= rtol * ||exp|| + atol * sqrt(size), the
relative error ||got - exp|| / ||exp|| with a floor for values near zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..model.codes import Code
from ..model.values import Absent, NotArray


@dataclass(frozen=True)
class Tolerance:
    """Relative bound `rtol` and per-entry absolute floor `atol` (units of the value)."""

    rtol: float = 1e-4
    atol: float = 1e-6


@dataclass
class Diagnosis:
    """The submission is wrong: one diagnosis `code` and a plain-words `message`.

    `name` is the value concerned; `factor` is set for `scaled` (got = factor * expected);
    `ratio` is the least-squares ratio got / expected where one exists (any value code);
    `about_example` is False when the example does not matter (e.g. "not implemented yet");
    `others` holds the diagnoses of further wrong values judged alongside this one;
    `location` ({"file", "line"}) is where in the submission it went wrong, when known;
    `values` the judged values ({"expected": {name: array}, "got": {name: value}}, set by
    `judge`) and `call` the last call into the worker before it (task, arguments), which the
    engine turns into the counterexample's evidence and a reproduction script."""

    code: Code
    message: str
    name: str | None = None
    factor: float | None = None
    ratio: float | None = None
    about_example: bool = True
    others: list = field(default_factory=list)
    location: dict | None = None
    values: dict | None = None
    call: tuple | None = None


def returned_none_hint(got: object, function: str) -> str:
    """" (f returned None: ...)" when a student value is None, else ""."""
    if isinstance(got, NotArray) and got.description == "None":
        return " (%s returned None: not implemented yet, or a missing return?)" % function
    return ""


def shape_text(shape: tuple) -> str:
    """(3,2) for a matrix, (3,) for a 1-D array, "a scalar" for 0-D."""
    if len(shape) == 0:
        return "a scalar"
    if len(shape) == 1:
        return "(%d,)" % shape[0]
    return "(" + ",".join(str(s) for s in shape) + ")"


def tolerance_bound(expected: np.ndarray, tol: Tolerance) -> float:
    """The largest ||got - expected|| that still counts as right."""
    return tol.rtol * float(np.linalg.norm(expected)) + tol.atol * math.sqrt(max(expected.size, 1))


def is_close(got: np.ndarray, expected: np.ndarray, tol: Tolerance) -> bool:
    """Same shape, all finite, and within the tolerance."""
    if got.shape != expected.shape or not np.all(np.isfinite(got)):
        return False
    return float(np.linalg.norm(got - expected)) <= tolerance_bound(expected, tol)


def relative_error(got: np.ndarray, expected: np.ndarray) -> float:
    scale = max(float(np.linalg.norm(expected)), 1e-300)
    return float(np.linalg.norm(got - expected)) / scale


def fitted_factor(got: np.ndarray, expected: np.ndarray) -> float | None:
    """The least-squares c in got ~ c * expected, or None when expected is zero."""
    denominator = float(np.vdot(expected, expected))
    if denominator <= 1e-300 or not np.all(np.isfinite(got)):
        return None
    return float(np.vdot(got, expected)) / denominator


def _g(value: float | np.ndarray) -> str:
    return "%.6g" % (float(value) + 0.0)


def _worst_entry(got: np.ndarray, expected: np.ndarray) -> str:
    if got.ndim == 0:
        return "got %s, expected %s" % (_g(got), _g(expected))
    diff = np.abs(got - expected)
    index = np.unravel_index(int(np.argmax(diff)), diff.shape)
    return "largest difference at index %s: got %s, expected %s" % (
        tuple(int(i) for i in index), _g(got[index]), _g(expected[index]))


def describe_value_error(got: np.ndarray, expected: np.ndarray) -> str:
    """Relative error where the truth is not zero, the absolute one where it is."""
    if not np.any(expected):
        return "expected all zeros, largest |got| is %s; %s" % (_g(np.max(np.abs(got))), _worst_entry(got, expected))
    return "relative error %.3g; %s" % (relative_error(got, expected), _worst_entry(got, expected))


def is_simple_factor(c: float) -> bool:
    """A ratio a formula would produce (2, 1/2, 1/50, 5/2), not an arbitrary number."""
    from fractions import Fraction

    fraction = Fraction(c).limit_denominator(100)
    return abs(fraction.numerator) <= 100 and abs(float(fraction) - c) <= 1e-5 * abs(c)


def _same_shape(name: str, got: np.ndarray, expected: np.ndarray, tol: Tolerance) -> Diagnosis | None:
    if not np.all(np.isfinite(got)) and np.all(np.isfinite(expected)):
        bad = int(np.size(got) - np.count_nonzero(np.isfinite(got)))
        kinds = "NaN" if np.isnan(got).any() else "inf"
        return Diagnosis(code="nonfinite", name=name, message="%s contains %s (%d of %d entries) where the true"
                         " value is finite" % (name, kinds, bad, got.size))
    if is_close(got, expected, tol):
        return None
    if (got.ndim == 2 and got.shape[0] == got.shape[1] and got.shape[0] > 1
            and not is_close(expected.T, expected, tol) and is_close(got, expected.T, tol)):
        return Diagnosis(code="transposed", name=name, message="%s is transposed: it equals the expected %s matrix"
                         " transposed" % (name, shape_text(expected.shape)))
    factor = fitted_factor(got, expected)
    if is_close(got, -expected, tol) and float(np.linalg.norm(expected)) > 0:
        return Diagnosis(code="sign", name=name, ratio=-1.0,
                         message="%s has the wrong sign: it equals minus the expected value" % name)
    if (factor is not None and abs(factor) > 1e-12 and is_close(got, factor * expected, tol)
            and (is_simple_factor(factor) or (np.count_nonzero(expected) > 1 and abs(factor - 1) > 0.01))):
        return Diagnosis(code="scaled", name=name, message="%s is scaled: it equals %s times the expected value"
                         % (name, format_factor(factor)), factor=factor, ratio=factor)
    return Diagnosis(code="wrong_values", name=name, ratio=factor,
                     message="%s has wrong values (%s)" % (name, describe_value_error(got, expected)))


def format_factor(c: float) -> str:
    """A factor in words a student recognises: 0.5, 2, 1/6, 5/2, -3."""
    from fractions import Fraction

    if c == 0:
        return "0"
    fraction = Fraction(c).limit_denominator(1000)
    if abs(float(fraction) - c) <= 1e-4 * abs(c):
        if fraction.denominator == 1:
            return str(fraction.numerator)
        if abs(fraction.numerator) == 1 or fraction.denominator <= 16:
            return "%d/%d" % (fraction.numerator, fraction.denominator)
    return "%.6g" % c


def diagnose(name: str, got: object, expected: np.ndarray, tol: Tolerance) -> Diagnosis | None:
    """None when `got` matches `expected`; otherwise the single most specific diagnosis."""
    if isinstance(got, NotArray) or not isinstance(got, np.ndarray):
        what = got.description if isinstance(got, NotArray) else type(got).__name__
        return Diagnosis(code="not_array", name=name, message="%s is %s, not an array of numbers" % (name, what))
    if got.shape == expected.shape:
        return _same_shape(name, got, expected, tol)
    if got.ndim == 2 and expected.ndim == 2 and got.shape == expected.shape[::-1]:
        inner = _same_shape(name, got.T, expected, tol)
        message = "%s has shape %s, the transpose of the expected %s" % (
            name, shape_text(got.shape), shape_text(expected.shape))
        if inner is None:
            return Diagnosis(code="transposed", name=name, message=message + ", and transposed it is correct")
        message += "; even transposed it is wrong (%s)" % inner.message.split(": ", 1)[-1]
        return Diagnosis(code="shape", name=name, message=message)
    message = "%s has shape %s; expected %s" % (name, shape_text(got.shape), shape_text(expected.shape))
    if got.size == expected.size:
        flat = got.reshape(expected.shape)
        if is_close(flat, expected, tol):
            message += " (the values are right, only the shape is not)"
    elif (expected.ndim == 2 and expected.shape[0] == expected.shape[1] and got.size == expected.shape[0]
          and is_close(got.reshape(-1), np.diag(expected).copy(), tol)):
        message += ": it looks like the diagonal of the %s Jacobian, which must be returned whole" % (
            shape_text(expected.shape))
    return Diagnosis(code="shape", name=name, message=message)


def fit_scale_law(samples: list[tuple[dict, float]], dims: tuple[str, ...]) -> tuple[float, dict] | None:
    """Find c = a * prod(dim ** e) with e in {-1, 0, 1} that fits every (dims, c) sample.

    Returns (a, {dim: e} for e != 0), preferring the fewest dimensions, or None."""
    import itertools

    base, c0 = samples[0]
    best = None
    for exps in itertools.product((-1, 0, 1), repeat=len(dims)):
        law = {k: e for k, e in zip(dims, exps) if e}
        a = c0 / math.prod(base[k] ** e for k, e in law.items())
        fits = all(abs(a * math.prod(d[k] ** e for k, e in law.items()) - c) <= 1e-3 * abs(c) for d, c in samples)
        if fits and (best is None or len(law) < len(best[1])):
            best = (a, law)
    return best


def law_text(a: float, law: dict) -> str:
    """"B*K/50", "1/B", "K/2", "2": the factor as a formula in the dimensions."""
    from fractions import Fraction

    fraction = Fraction(a).limit_denominator(1000)
    constant = None if abs(float(fraction) - a) > 1e-4 * abs(a) else fraction
    up = [k for k, e in law.items() if e > 0]
    down = [k for k, e in law.items() if e < 0]
    numerator = "*".join(up)
    if constant is None:
        numerator = "%.4g" % a + ("*" + numerator if numerator else "")
        denominator = "*".join(down)
    else:
        if constant.numerator != 1 or not numerator:
            numerator = str(constant.numerator) + ("*" + numerator if numerator else "")
        denominator = "*".join(([str(constant.denominator)] if constant.denominator != 1 else []) + down)
    if not denominator:
        return numerator
    return "%s/%s" % (numerator, "(%s)" % denominator if "*" in denominator else denominator)


def widened(tol: Tolerance, slack: float, size: int) -> Tolerance:
    """`tol` with `slack` added to the bound of a value of `size` entries."""
    if slack <= 0:
        return tol
    return Tolerance(tol.rtol, tol.atol + slack / math.sqrt(max(size, 1)))


def judge(items: list[tuple[str, object, np.ndarray]], tol: Tolerance, annotate=None,
          slack: dict[str, float] | None = None) -> Diagnosis | None:
    """Compare (name, got, expected) in order; return the first mismatch, naming the others.

    `annotate(diagnosis, got, expected) -> str` may append context (expected shape in
    symbols, layout advice) to each diagnosis message; `slack` adds to a value's bound (by
    name) what float32 arithmetic cannot avoid on this example."""
    failures = []
    for name, got, expected in items:
        found: Diagnosis | None
        if isinstance(got, Absent):
            found = Diagnosis("missing", "%s is missing: %s" % (name, got.description), name)
        else:
            found = diagnose(name, got, expected, widened(tol, (slack or {}).get(name, 0.0), expected.size))
            if found is None:
                continue
        if annotate is not None:
            found.message += annotate(found, got, expected)
        failures.append(found)
    if not failures:
        return None
    first = failures[0]
    first.values = {"expected": {name: expected for name, _, expected in items},
                    "got": {name: got for name, got, _ in items}}
    first.others = failures[1:]
    if first.others:
        first.message += "; also: " + ", ".join("%s (%s)" % (f.name, f.code) for f in first.others)
    return first

"""Plain-text pieces every report format shares."""

from __future__ import annotations

from typing import Any

from ...model.results import CheckResult, GradeReport, format_points


def answer_lines(check: CheckResult) -> list[str]:
    """For a written answer that did not pass (its details): the answer as read, rendered back
    in LaTeX, and the expected one in the sheet's notation, each with its shape; for a check
    pending review, the extracted snippet and the points at stake. Empty for other checks."""
    details = check.details
    if check.status == "pass" or not details:
        return []
    lines = []
    snippet = details.get("snippet") if isinstance(details.get("snippet"), dict) else None
    where = " (line %s)" % snippet["line"] if snippet and snippet.get("line") else ""
    if details.get("got_latex"):
        shape = " %s" % details["got_shape"] if details.get("got_shape") else ""
        lines.append("yours%s: %s%s" % (where, details["got_latex"], shape))
    elif snippet and snippet.get("text"):
        text = " ".join(str(snippet["text"]).split())
        lines.append("answer%s: %s" % (where, text[:300] + (" ..." if len(text) > 300 else "")))
    if details.get("expected_latex"):
        shape = " %s" % details["expected_shape"] if details.get("expected_shape") else ""
        lines.append("expected: %s%s" % (details["expected_latex"], shape))
    if check.status == "review":
        lines.append("pending review: %s points for a person to decide (grader review)" % format_points(
            check.max_score))
    return lines


def components_text(check: CheckResult) -> str:
    """"credit per value: dJdW1 transposed (0 of 0.69), dJdb1 right (0.69 of 0.69), ..." for a
    check with components that did not pass; "" otherwise, and for a check whose every component
    failed as the whole did (an exception: nothing to add)."""
    if check.status == "pass" or not check.components:
        return ""
    if all(c.status != "pass" and c.code == check.code for c in check.components):
        return ""
    return "credit per value: " + ", ".join("%s %s (%s of %s)" % (
        c.name, "right" if c.status == "pass" else c.code, format_points(c.score), format_points(c.max_score))
        for c in check.components)


def failure_text(check: CheckResult) -> str:
    """A failed check's diagnosis, the written answer against the expected one, the credit of
    each component, the failing example's values, the replay command and (bounded) student
    output, as plain text."""
    lines = ["[%s] %s" % (check.code, check.full_message)]
    lines += answer_lines(check)
    credit = components_text(check)
    if credit:
        lines.append(credit)
    if check.evidence:
        lines.append("the failing example:")
        lines += evidence_lines(check.evidence)
    if check.replay:
        lines.append("replay: %s" % check.replay)
    if check.output.strip():
        lines.append("printed by the submission:\n%s" % check.output.strip()[:1000])
    return "\n".join(lines)


def pending_text(report: GradeReport) -> str:
    """"N points pending review (k checks)", or "" when nothing is pending."""
    pending = [c for c in report.checks if c.status == "review" and c.max_score > 0]
    if not pending:
        return ""
    return "%s points pending review (%d check%s a person decides: grader review)" % (
        format_points(report.pending_review), len(pending), "" if len(pending) == 1 else "s")


FULL_ENTRIES = 36
"""A value with at most this many entries (and at most 2 dimensions) is shown in full."""

WRONG_AS = {
    "transposed": "is transposed", "sign": "has the wrong sign", "scaled": "is scaled", "shape": "has the wrong shape",
    "wrong_values": "has wrong values", "not_array": "is not an array of numbers", "nonfinite": "is not finite",
    "missing": "is missing", "exception": "is not computed (an exception)", "timeout": "is not computed (a timeout)",
    "crash": "is not computed (a crash)", "autograd_used": "is forfeited (autograd)",
}


def _number(value: object) -> float:
    if isinstance(value, str):
        return float(value.replace("infinity", "inf"))
    return float(value)  # type: ignore[arg-type]


def _as_array(value: object) -> Any:
    """`value` (evidence data) as a float numpy array, or None when it is not numbers."""
    import numpy as np

    def numbers(v: object) -> object:
        return [numbers(x) for x in v] if isinstance(v, list) else _number(v)

    if isinstance(value, str) and value.lower() not in ("nan", "inf", "-inf"):
        return None
    try:
        return np.array(numbers(value), dtype=float)
    except (TypeError, ValueError):
        return None


def _shape(array: Any) -> str:
    """(3,2), (3,) or "a scalar", as the grader's messages write shapes."""
    if array.ndim == 0:
        return "a scalar"
    return "(%s%s)" % (",".join(str(s) for s in array.shape), "," if array.ndim == 1 else "")


def value_text(value: object, width: int = 76) -> str:
    """A value of the evidence for a person: small ones in full (4 significant digits), large
    ones summarised (shape, range, norm); a string for a value that is not an array."""
    import numpy as np

    array = _as_array(value)
    if array is None:
        return str(value)[:200]
    if array.size <= FULL_ENTRIES and array.ndim <= 2:
        return np.array2string(array, precision=4, suppress_small=True, max_line_width=width, floatmode="maxprec")
    finite = array[np.isfinite(array)]
    if not finite.size:
        return "%d entries, none finite" % array.size
    return "%d entries: min %.4g, max %.4g, norm %.4g" % (array.size, finite.min(), finite.max(),
                                                            float(np.linalg.norm(finite)))


def difference_text(got: object, expected: object, width: int = 76) -> str:
    """got - expected (in full or summarised with its largest entry), or why there is none."""
    import numpy as np

    a, b = _as_array(got), _as_array(expected)
    if a is None or b is None:
        return "none: got is not an array of numbers"
    if a.shape != b.shape:
        return "none: got is %s, expected %s" % (_shape(a), _shape(b))
    diff = a - b
    if diff.size <= FULL_ENTRIES and diff.ndim <= 2:
        return value_text(diff.tolist(), width)
    index = np.unravel_index(int(np.nanargmax(np.abs(diff))), diff.shape) if diff.size else ()
    return "%s; largest |difference| %.4g at %s" % (value_text(diff.tolist(), width), abs(float(diff[index])),
                                                    tuple(int(i) for i in index))


def _block(label: str, text: str, indent: str) -> list[str]:
    lines = text.splitlines() or [""]
    if len(lines) == 1 and len(label) + len(lines[0]) + len(indent) + 3 <= 78:
        return ["%s%s = %s" % (indent, label, lines[0])]
    return ["%s%s =" % (indent, label)] + ["%s  %s" % (indent, line) for line in lines]


def evidence_lines(evidence: dict | None, indent: str = "  ") -> list[str]:
    """The counterexample's inputs, then expected / got / difference of each judged value, as
    lines of at most about 78 columns (small values in full, large ones summarised)."""
    if not isinstance(evidence, dict):
        return []
    width = 74 - len(indent)
    lines = []
    inputs = evidence.get("inputs") or {}
    if inputs:
        lines.append("%sinputs:" % indent)
        for name, value in inputs.items():
            array = _as_array(value)
            shape = " %s" % _shape(array) if array is not None else ""
            lines += _block("%s%s" % (name, shape), value_text(value, width), indent + "  ")
    expected, got = evidence.get("expected") or {}, evidence.get("got") or {}
    for name in expected:
        lines.append("%s%s:" % (indent, name))
        for label, value in (("expected", expected[name]), ("got", got.get(name))):
            array = _as_array(value)
            shape = " %s" % _shape(array) if array is not None else ""
            lines += _block(label + shape, value_text(value, width), indent + "  ")
        lines += _block("difference (got - expected)", difference_text(got.get(name), expected[name], width),
                        indent + "  ")
    return lines


def failure_signature(check: CheckResult) -> tuple[tuple[str, str], ...] | None:
    """What a failed check with components found wrong ((component, code) pairs), for grouping
    identical failures; None for a check without components or one that did not fail."""
    if check.status != "fail" or not check.components:
        return None
    return tuple((c.name, str(c.code)) for c in check.components if c.status != "pass")


def _wrong_phrase(names: list[str], code: str) -> str:
    """"dJdW1 is transposed", "dJdW1, dJdb1 and dJdW2 are scaled"."""
    phrase = WRONG_AS.get(code, "is wrong (%s)" % code)
    if len(names) == 1:
        return "%s %s" % (names[0], phrase)
    verb, _, rest = phrase.partition(" ")
    return "%s and %s %s %s" % (", ".join(names[:-1]), names[-1], {"is": "are", "has": "have"}.get(verb, verb), rest)


def group_text(checks: list[CheckResult], of_question: int, prefix: str) -> str:
    """"dJdW1 is transposed in all 9 checks (...); dJdb1, dJdW2 and dJdb2 are right" for checks
    that failed identically (the same failure_signature)."""
    signature = failure_signature(checks[0]) or ()
    by_code: dict[str, list[str]] = {}
    for name, code in signature:
        by_code.setdefault(code, []).append(name)
    wrong = "; ".join(_wrong_phrase(names, code) for code, names in by_code.items())
    ids = [c.id[len(prefix):].strip("[]") for c in checks]
    where = ("in all %d checks" % len(checks)) if len(checks) == of_question else (
        "in %d of %d checks" % (len(checks), of_question))
    right = [c.name for c in checks[0].components if c.status == "pass"]
    text = "%s %s (%s)" % (wrong, where, ", ".join(ids))
    if right:
        text += "; %s %s right" % (", ".join(right), "is" if len(right) == 1 else "are")
    return text


def grouped(checks: list[CheckResult]) -> list[list[CheckResult]]:
    """The checks in order, identical failures (same failure_signature) gathered into one group
    at the place of the first; every other check a group of its own."""
    groups: list[list[CheckResult]] = []
    by_signature: dict[tuple, list[CheckResult]] = {}
    for check in checks:
        signature = failure_signature(check)
        if signature and signature in by_signature:
            by_signature[signature].append(check)
            continue
        group = [check]
        if signature:
            by_signature[signature] = group
        groups.append(group)
    return groups

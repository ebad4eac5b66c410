"""Random sheets made of the pieces real sheets use: reading never raises, never fails inside."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.assignments.hw1.answers.document import build_document
from grader.assignments.hw1.answers.extract import SheetReader
from grader.assignments.hw1.answers.intake import SourceText
from grader.assignments.hw1.answers.model import DEFAULT_LIMITS, Sheet, SheetFormat, empty_items

PIECES = [
    "## 1.2", "### (a)", "### (c)", "## 1.3", "**(b)**", "1.2.a:", "% -- 1.2.c --", "\\subsubsection{}",
    "\\section{1.3}", "\\begin{align}", "\\end{align}", "\\begin{aligned}", "\\\\", "&", "&=", "=", "$$", "$",
    "\\[", "\\]", "`", "|", "---", "\\frac{\\partial l}{\\partial W^{(1)}}", "\\frac", "{", "}", "(", ")",
    "[", "]", "\\left(", "\\right)", "_{ij}", "^T", "z_1", "z^{(1)}", "\\hat{y}", "∂ℓ/∂ŷ", "dL/dW_1",
    "W1 <- W1 - lr * g", "\\leftarrow", ":=", "\\newcommand{\\a}[1]{#1 \\a}", "\\a{x}", "\\def\\b{\\b}",
    "\\eqref{eq:x}", "\\label{eq:x}", "\\text{where}", "Nothing changes", "is the same as before", "except",
    "the gradients", "Jacobians", "\\begin{cases}", "\\end{cases}", "\\begin{tabular}{cc}", "\\end{tabular}",
    "\\item[(c)]", "\\begin{enumerate}", "> ", "- ", "1. ", "\n", "\n\n", " ", "σ(z_1)", "\\max(z_1, 0)",
    "s_1 = W_1 x + b_1", "a_1 = f(s_1)", "\\delta_2 = 2(\\hat y - y)^T", "0", ", ", ";",
]


def _read(text: str, fmt: SheetFormat) -> Sheet:
    source = SourceText(path=Path("theory." + fmt), format=fmt, text=text)
    sheet = Sheet(path="theory." + fmt, format=fmt, items=empty_items())
    SheetReader(sheet, build_document(source, DEFAULT_LIMITS), DEFAULT_LIMITS).read()
    return sheet


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=60), st.sampled_from(["md", "tex", "txt"]))
def test_random_sheets_are_read_without_an_internal_error(pieces: list[str], fmt: SheetFormat):
    sheet = _read(" ".join(pieces), fmt)
    assert len(sheet.items) == 33
    for item in sheet.items.values():
        assert item.mentioned == (item.chosen is not None)
        assert item.chosen is None or item.chosen in item.candidates or item.carry_over is not None

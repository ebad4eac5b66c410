"""Segmentation: every way a sheet marks which question a block answers, and what is ignored."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.assignments.hw1.answers.document import build_document
from grader.assignments.hw1.answers.intake import SourceText
from grader.assignments.hw1.answers.model import SheetFormat
from grader.assignments.hw1.answers.segment import Placed, is_question_text, parse_marker, segment


def _placed(text: str, fmt: SheetFormat = "md") -> list[Placed]:
    source = SourceText(path=Path("theory." + fmt), format=fmt, text=text)
    return segment(build_document(source))


def _place_of(placed: list[Placed], needle: str) -> tuple[str | None, str | None, str]:
    """(item question, part, ignored) of the first content block containing `needle`."""
    for entry in placed:
        if entry.block.kind not in ("heading", "comment", "list_item") and needle in entry.block.text:
            return entry.item_question, entry.part, entry.ignored
    raise AssertionError(f"{needle!r} not found")


@pytest.mark.parametrize("title, question, part", [
    ("1.2 Regression Task", "q1_2", None),
    ("1.2.a", "q1_2", "a"),
    ("1.2 (b) Forward pass", "q1_2", "b"),
    ("1.2.c Backward", "q1_2", "c"),
    ("Q1.3 c)", "q1_3", "c"),
    ("1.3(b): BCE", "q1_3", "b"),
    ("(d)", None, "d"),
    ("Solution a)", None, "a"),
    ("Part (c)", None, "c"),
    ("Problem 2", "q1_3", None),
    ("1.1 Two-Layer Neural Nets", "q1_1", None),
    ("1. Training loop", "q1_2", "a"),
    ("2. Forward pass", "q1_2", "b"),
    ("Backward pass", "q1_2", "c"),
    ("Jacobians", "q1_2", "d"),
    ("5. Classification with sigmoids", "q1_3", "a"),
    ("Binary cross-entropy", "q1_3", "b"),
    ("6. Why ReLU", "q1_3", "c"),
])
def test_markers(title: str, question: str | None, part: str | None):
    marker = parse_marker(title)
    assert marker is not None
    assert (marker.question, marker.part) == (question, part)


@pytest.mark.parametrize("title", ["1.2 a simple regression", "Homework 1: Backpropagation", "Notes", "1.3 Binary"])
def test_not_a_part(title: str):
    marker = parse_marker(title)
    assert marker is None or marker.part is None


def test_handout_headings():
    placed = _placed("## 1.2 Regression\n### (a)\nA1 $W_1 = 0$\n### (d)\nD1\n## 1.3 Classification\n### (b)\nB3\n")
    assert _place_of(placed, "A1")[:2] == ("q1_2", "a")
    assert _place_of(placed, "D1")[:2] == ("q1_2", "d")
    assert _place_of(placed, "B3")[:2] == ("q1_3b", "b")


def test_bold_labels_and_restarting_letters_without_question_headings():
    placed = _placed("**(a)** A\n\n**(b)** B\n\n**(c)** C\n\n**(d)** D\n\n**(a)** E\n\n**(c)** F\n")
    assert _place_of(placed, "A")[:2] == ("q1_2", "a")
    assert _place_of(placed, "D")[:2] == ("q1_2", "d")
    assert _place_of(placed, "E")[:2] == ("q1_3a", "a")
    assert _place_of(placed, "F")[:2] == ("q1_3c", "c")


def test_numbered_list_items_under_a_question_are_its_parts():
    text = ("#### 1.2\n1. **Question one, asked at some length here.**\n\n   answer one\n"
            "2. **Question two, asked at some length here.**\n\n   answer two\n"
            "#### 1.3\n1. first\n2. second\n3. third\n")
    placed = _placed(text)
    assert _place_of(placed, "answer one") == ("q1_2", "a", "")
    assert _place_of(placed, "answer two") == ("q1_2", "b", "")
    assert _place_of(placed, "Question two")[2] == "question text"
    assert _place_of(placed, "third")[:2] == ("q1_3c", "c")


def test_steps_enumerated_inside_a_part_do_not_change_the_part():
    placed = _placed("## 1.2\n### (a)\n1. zero\n2. forward\n3. loss\n4. backward\n5. step\n### (b)\nforward table\n")
    assert _place_of(placed, "backward")[:2] == ("q1_2", "a")
    assert _place_of(placed, "forward table")[:2] == ("q1_2", "b")


def test_problem_numbers_mean_questions_only_when_the_sheet_does_not_number_them():
    placed = _placed("# Problem 1\nA\n## 1.2\nB\n## 1.3\nC\n")
    assert _place_of(placed, "A")[0] is None
    placed = _placed("# Problem 1\n**(a)** A\n# Problem 2\n**(a)** C\n")
    assert _place_of(placed, "A")[:2] == ("q1_2", "a")
    assert _place_of(placed, "C")[:2] == ("q1_3a", "a")


def test_topical_titles_and_their_sub_topics():
    text = ("# Backprop by hand\n## 1. Training loop\nT\n## 2. Forward pass\nF\n## 5. Sigmoid outputs\nS\n"
            "### Gradients\nG\n## 7. Why ReLU\nR\n")
    placed = _placed(text)
    assert _place_of(placed, "T")[:2] == ("q1_2", "a")
    assert _place_of(placed, "F")[:2] == ("q1_2", "b")
    assert _place_of(placed, "S")[:2] == ("q1_3a", "a")
    gradients = next(p for p in placed if p.block.text == "G")
    assert (gradients.item_question, gradients.topic) == ("q1_3a", "gradients")
    assert _place_of(placed, "R")[:2] == ("q1_3c", "c")


def test_empty_latex_subsubsections_labelled_by_comments():
    text = ("\\section{Homework}\n\\subsection{Regression}\n"
            "\\subsubsection{}\n% -- 1.2.a --\nAAA\n"
            "\\subsubsection{}\n% -- 1.2.c --\nCCC\n"
            "\\subsubsection{}\nDDD\n"
            "\\subsection{Classification}\n\\subsubsection{}\n% -- 1.3.b --\nBBB\n")
    placed = _placed(text, "tex")
    assert _place_of(placed, "AAA")[:2] == ("q1_2", "a")
    assert _place_of(placed, "CCC")[:2] == ("q1_2", "c")
    assert _place_of(placed, "DDD")[:2] == ("q1_2", "d")  # untitled: the next part
    assert _place_of(placed, "BBB")[:2] == ("q1_3b", "b")


def test_latex_enumerate_items_with_and_without_labels():
    text = ("\\section*{1.2}\n\\begin{enumerate}\n\\item first\n\\item second\n\\end{enumerate}\n"
            "\\section*{1.3}\n\\begin{enumerate}\n\\item[(c)] third\n\\end{enumerate}\n")
    placed = _placed(text, "tex")
    assert _place_of(placed, "second")[:2] == ("q1_2", "b")
    assert _place_of(placed, "third")[:2] == ("q1_3c", "c")


def test_plain_labels_at_the_start_of_a_line_are_stripped():
    placed = _placed("1.2.a: W1 <- W1 - lr * (dL/dW1)^T\n1.2.b:\nz1 = W1 x + b1\n1.3(c): ReLU is better\n", "txt")
    first = next(p for p in placed if "W1 <-" in p.block.text)
    assert (first.item_question, first.part) == ("q1_2", "a")
    assert first.parts[0].text == "W1 <- W1 - lr * (dL/dW1)^T"
    assert _place_of(placed, "z1 = W1")[:2] == ("q1_2", "b")
    assert _place_of(placed, "ReLU")[:2] == ("q1_3c", "c")


def test_pasted_question_text_and_empty_tables_are_ignored():
    text = ("## 1.2\n> **(b)** *Write the inputs and outputs of each layer for one example.*\n\n"
            "| Layer | Input | Output |\n|---|---|---|\n| $\\text{Linear}_1$ | | |\n| $f$ | | |\n\n"
            "| Layer | Input | Output |\n|---|---|---|\n| $\\text{Linear}_1$ | $x$ | $W_1 x + b_1$ |\n\n"
            "**Name and mathematically describe the steps, please.**\n\nmy answer\n")
    placed = _placed(text)
    reasons = [(p.block.kind, p.ignored) for p in placed if p.ignored in ("question text", "empty table")]
    assert reasons == [("paragraph", "question text"), ("table", "empty table"), ("paragraph", "question text")]
    assert _place_of(placed, "my answer") == ("q1_2", "b", "")
    filled = [p for p in placed if p.block.kind == "table" and not p.ignored]
    assert len(filled) == 1 and filled[0].part == "b"


def test_short_bold_titles_are_not_question_text():
    block = build_document(SourceText(Path("t.md"), "md", "**Forward pass**\n")).blocks[0]
    assert not is_question_text(block)

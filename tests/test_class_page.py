"""The class page of an example class built from the bundled submissions: seven students as they
hand in (two whole submissions, a notebook, a folder inside a folder, a copy with renamed
variables, a syntax error, a folder with nothing to grade), a roster, graded once.

The page's outline is compared with tests/snapshots/class_page.txt (regenerate it after an
intended change with `UPDATE_SNAPSHOTS=1 python -m pytest tests/test_class_page.py`); its facts
are checked against the reports; in Chromium it and every student's page load cleanly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader.engine.assignment import find_assignment
from grader.engine.grading import GradeOptions, Grading
from grader.faces.batch import grade_in_process
from grader.faces.formats import RenderOptions
from grader.faces.formats.html import write_pages
from grader.faces.roster import parse_roster
from grader.faces.similarity import FLAG_COVERAGE, assignment_templates, class_similarity

from .browser import load, needs_chromium
from .conftest import REFERENCE, SUBMISSIONS
from .report_examples import FALL_2022

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

SNAPSHOT = Path(__file__).parent / "snapshots" / "class_page.txt"
SIMILARITY = Path(__file__).parent / "similarity"
ROSTER = """folder,student_id,name,login
ada,N01,"Lovelace, Ada",al1
bob,N02,"Babbage, Charles",cb2
cy,N03,"Hopper, Grace",gh3
dee,N04,"Noether, Emmy",en4
eve,N05,"Germain, Sophie",sg5
fay,N06,"Somerville, Mary",ms6
gus,N07,"Kovalevskaya, Sofia",sk7
hal,N08,"Agnesi, Maria",ma8
"""


def _notebook(source: str) -> str:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# HW1\n"]},
             {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 1,
              "source": ["!pip install torch\n"]}]
    cells += [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
               "source": chunk.splitlines(True)} for chunk in source.split("\n\n\n")]
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})


def build_class(root: Path) -> Path:
    """The example class folder (see the module docstring)."""
    klass = root / "class"
    files = {
        "ada": {"mlp.py": SUBMISSIONS / "correct" / "mlp.py", "theory.py": SUBMISSIONS / "correct" / "theory.py"},
        "bob": {"mlp.py": SUBMISSIONS / "mlp_dW1_no_transpose" / "mlp.py", "theory.py": REFERENCE / "theory.py"},
        "cy": {"mlp.py": SUBMISSIONS / "mlp_mse_missing_2" / "mlp.py",
               "theory.py": SUBMISSIONS / "theory_dl_dyhat_column" / "theory.py"},
        "dee": {"theory.py": FALL_2022 / "theory.py"},
        "eve": {"submission/hw1/mlp.py": SIMILARITY / "renamed_copy_mlp.py"},
        "fay": {"mlp.py": SUBMISSIONS / "mlp_syntax_error" / "mlp.py"},
    }
    for student, copies in files.items():
        for target, source in copies.items():
            (klass / student / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, klass / student / target)
    (klass / "dee" / "mlp.ipynb").write_text(_notebook((SIMILARITY / "original_mlp.py").read_text()))
    (klass / "gus").mkdir()
    (klass / "gus" / "notes.txt").write_text("I will hand it in tomorrow\n")
    return klass


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("example_class")
    klass = build_class(root)
    paths = sorted(str(p) for p in klass.iterdir())
    assignment = find_assignment("hw1")

    def grade_one(path: str):
        return Grading(path, GradeOptions(max_examples=2)).run()

    reports = [grade_in_process(path, grade_one, 0, "hw1") for path in paths]
    similarity = class_similarity(paths, [p.filename for p in assignment.parts], assignment_templates(assignment))
    options = RenderOptions(roster=parse_roster(ROSTER), item="Homework 1: Backpropagation", similarity=similarity)
    out = root / "report"
    written = write_pages(out, reports, options)
    return {"klass": klass, "reports": reports, "similarity": similarity, "out": out, "written": written,
            "index": (out / "index.html").read_text()}


class Outline(HTMLParser):
    """The page's text, one block per line, table cells joined by " | ", without code regions
    (<pre>), example messages (class "message"), the style and the script."""

    BLOCKS = {"p", "h1", "h2", "h3", "h4", "tr", "li", "div", "section", "summary", "table", "details", "header",
              "figcaption", "ul"}
    SKIP = {"pre", "script", "style", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool]] = []

    def _skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "meta", "line", "rect", "img", "input"):
            return
        classes = (dict(attrs).get("class") or "").split()
        self.stack.append((tag, tag in self.SKIP or "message" in classes))
        if tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" | ")
        if tag == "svg" and dict(attrs).get("class") == "histogram":
            self.parts.append("[histogram: %s]\n" % dict(attrs).get("aria-label"))

    def handle_endtag(self, tag):
        if any(opened == tag for opened, _ in self.stack):
            while self.stack and self.stack.pop()[0] != tag:
                pass
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skipping() and not any(tag == "svg" for tag, _ in self.stack):
            self.parts.append(data)

    def text(self) -> str:
        lines = (re.sub(r"\s+", " ", line).strip(" |") for line in "".join(self.parts).split("\n"))
        return "\n".join(line for line in lines if line) + "\n"


def outline(html_text: str, klass: Path) -> str:
    parser = Outline()
    parser.feed(html_text.replace(str(klass), "CLASS"))
    return parser.text()


def test_the_class_page_matches_its_snapshot(graded):
    text = outline(graded["index"], graded["klass"])
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(text)
    assert text == SNAPSHOT.read_text(), ("the class page changed; if that is intended, regenerate the snapshot with"
                                          " UPDATE_SNAPSHOTS=1 python -m pytest tests/test_class_page.py")


def test_the_class_page_says_what_the_reports_say(graded):
    reports, index = graded["reports"], graded["index"]
    by_name = {Path(r.submission).name: r for r in reports}
    graded_reports = [r for r in reports if r.error is None]
    bins = [0] * 11
    for report in graded_reports:
        percent = report.percent()
        bins[10 if percent >= 100 - 1e-9 else int(percent // 10)] += 1
    (label,) = re.findall(r'<svg class="histogram"[^>]*aria-label="([^"]*)"', index)
    assert [int(n) for n in re.findall(r"%: (\d+)", label)] == bins
    assert "not graded" in index and by_name["gus"].error and "it holds: notes.txt" in by_name["gus"].error
    assert any("graded the folder submission/hw1/" in n for n in by_name["eve"].notices)
    assert any("mlp.ipynb graded as mlp.py" in n for n in by_name["dee"].notices)
    assert by_name["dee"].penalties == [], "a notebook standing in for mlp.py draws no format penalty"
    for report in reports:
        link = "students/%s.html" % Path(report.submission).name
        assert 'href="%s"' % link in index and (graded["out"] / link).is_file()
    assert "Agnesi, Maria" not in index, "a roster student without a folder is not a row"


def test_copies_are_flagged_and_independent_work_is_not(graded):
    flagged = {(Path(p.a).name, Path(p.b).name): {f.file for f in p.files if f.coverage >= FLAG_COVERAGE}
               for p in graded["similarity"].flagged}
    # bob's, cy's and fay's mlp.py are edits of one file (the examples' common base), cy's theory.py
    # an edit of ada's, eve's mlp.py a renamed copy of the one in dee's notebook; nothing else is shared
    assert flagged == {("bob", "cy"): {"mlp.py"}, ("bob", "fay"): {"mlp.py"}, ("cy", "fay"): {"mlp.py"},
                       ("ada", "cy"): {"theory.py"}, ("dee", "eve"): {"mlp.py"}}
    assert "Flagged pairs" in graded["index"]


@needs_chromium
def test_every_page_loads_cleanly_in_a_browser(graded):
    for path in graded["written"]:
        loaded = load(path)
        assert loaded.console == [], (path, loaded.console)
        assert "</main>" in loaded.output
    index = load(graded["out"] / "index.html").output
    assert '<svg class="histogram"' in index and 'id="similarity"' in index

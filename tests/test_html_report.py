"""`--format html`: the page of one submission and the one-file class page, read as a browser
would parse them (html.parser), with reports built from the oracle (tests/report_examples.py),
hostile text in every field, and one report from a real grading (which carries no evidence).

What a person sees in a real browser is tested in test_browser.py.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import stat
from html.parser import HTMLParser

import numpy as np
import pytest

from grader.faces import formats
from grader.faces.batch import error_report
from grader.faces.formats import RenderOptions
from grader.faces.formats.heatmap import MAX_SIDE, compare_panels, to_matrix
from grader.faces.formats.html import evidence_of
from grader.faces.roster import parse_roster
from grader.model.results import CheckResult, GradeReport, QuestionResult, format_points

from .conftest import SUBMISSIONS, run_cli
from .report_examples import HOSTILE, example_report, transposed_backward


class Page(HTMLParser):
    """Every start tag with its attributes, the text, and the contents of <style> and <script>."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.raw: dict[str, list[str]] = {"style": [], "script": []}
        self._inside: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in self.raw:
            self._inside = tag

    def handle_endtag(self, tag):
        if tag == self._inside:
            self._inside = None

    def handle_data(self, data):
        if self._inside:
            self.raw[self._inside].append(data)
        else:
            self.text.append(data)

    def all(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    @property
    def content(self) -> str:
        return "".join(self.text)


def _svg_cells(svg_html: str) -> list[list[str]]:
    """The fill colours of a heatmap SVG's cells, as rows (read from the rect positions)."""
    cells: dict[tuple[float, float], str] = {}
    for x, y, fill in re.findall(r'<rect x="(\d+)" y="(\d+)" width="\d+" height="\d+" fill="(#[0-9a-f]{6})"',
                                 svg_html):
        cells[(float(y), float(x))] = fill
    rows: dict[float, list[tuple[float, str]]] = {}
    for (y, x), fill in cells.items():
        rows.setdefault(y, []).append((x, fill))
    return [[fill for _, fill in sorted(row)] for _, row in sorted(rows.items())]


def _panels(html_text: str) -> dict[str, str]:
    """Each heatmap's SVG, keyed by its aria-label (e.g. "expected dJdW1")."""
    return dict(re.findall(r'<svg class="heatmap"[^>]*aria-label="([^"]*)">(.*?)</svg>', html_text))


# -- safety --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile_page() -> str:
    return formats.render("html", [example_report(hostile=True)])


def test_student_text_never_becomes_markup(hostile_page):
    page = Page(hostile_page)
    assert len(page.all("script")) == 1, "only the page's own script"
    assert not page.all("img") and not page.all("a", href="https://evil.example/t")
    for tag, attrs in page.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert "style" not in attrs, (tag, attrs)
    shown = HOSTILE.replace("\u202e", "\ufffd").replace("\x1b", "\ufffd")
    assert page.content.count(shown) >= 8, "the text is shown, as text, in every field"
    assert "\u202e" not in hostile_page and "\x1b" not in hostile_page


def test_nothing_is_loaded_and_the_policy_allows_only_the_pages_own_style_and_script(hostile_page):
    page = Page(hostile_page)
    for tag, attrs in page.tags:
        assert "src" not in attrs, (tag, attrs)
        href = attrs.get("href")
        assert href is None or href.startswith("#") or not re.match(r"^[a-z][a-z0-9+.-]*:", href, re.I), href
    (csp,) = [a["content"] for a in page.all("meta") if a.get("http-equiv") == "Content-Security-Policy"]
    assert csp.startswith("default-src 'none';")
    for kind in ("style", "script"):
        (raw,) = page.raw[kind]
        digest = base64.b64encode(hashlib.sha256(raw.encode()).digest()).decode()
        assert "%s-src 'sha256-%s'" % (kind, digest) in csp
    assert page.all("meta", name="viewport"), "readable on a phone"


# -- one submission --------------------------------------------------------------------------------

def test_the_page_shows_score_penalty_questions_and_every_failure():
    report = example_report()
    page = Page(formats.render("html", [report]))
    text = page.content
    final, maximum = format_points(report.final_score), format_points(report.max_score)
    assert "%s / %s · %.1f%%" % (final, maximum, report.percent()) in text
    assert "raw score %s / %s before penalties" % (format_points(report.score), maximum) in text
    assert "penalty −%s" % format_points(report.penalties[0].points) in text
    for check in report.checks:
        assert check.id in text
    for check in [c for c in report.checks if c.status != "pass"]:
        assert check.message in text
    assert "where to look: mlp.py, line 88" in text
    assert "replay it with the grader:" in text and report.checks[2].replay in text
    assert "run me in your folder" in text, "the repro script"
    assert "debug: shapes (3, 3)" in text, "what the submission printed"
    assert "B=2" in text and "loss=mse" in text, "the counterexample's structure"
    details = page.all("details")
    assert any("open" in attrs for attrs in details), "the first failure of each kind is open"


def test_a_transposed_gradient_shows_the_expected_picture_mirrored():
    evidence, expected_dJdW1 = transposed_backward()
    panels = _panels(compare_panels("dJdW1", evidence["expected"]["dJdW1"], evidence["got"]["dJdW1"]))
    expected, got = _svg_cells(panels["expected dJdW1"]), _svg_cells(panels["got dJdW1"])
    assert len(expected) == len(got) == 3 and expected != got
    assert got == [list(column) for column in zip(*expected)], "the same colours, mirrored along the diagonal"
    difference = np.array(evidence["got"]["dJdW1"]) - expected_dJdW1
    assert np.allclose(difference, -difference.T), "got - expected is antisymmetric for a transpose"
    html_text = compare_panels("dJdW1", evidence["expected"]["dJdW1"], evidence["got"]["dJdW1"])
    assert "got is expected mirrored along its diagonal" in html_text


def test_a_scaled_gradient_shows_one_uniform_ratio():
    report = example_report()
    (check,) = [c for c in report.checks if c.code == "scaled"]
    html_text = compare_panels("dJdy_hat", check.details["evidence"]["expected"]["dJdy_hat"],
                               check.details["evidence"]["got"]["dJdy_hat"])
    ratio = _svg_cells(_panels(html_text)["ratio dJdy_hat"])
    assert len({fill for row in ratio for fill in row}) == 1, "one colour: a uniform ratio"
    assert "got ÷ expected is 6 in every cell: got = 6 × expected." in html_text
    minus = compare_panels("J", [[1.0, -2.0]], [[-1.0, 2.0]])
    assert "is -1 in every cell" in minus and len({f for r in _svg_cells(_panels(minus)["ratio J"]) for f in r}) == 1


def test_a_column_for_a_row_shows_the_transposed_shape_and_its_difference():
    html_text = compare_panels("dl_dyhat", [[0.5, -1.25]], [[0.5], [-1.25]])
    panels = _panels(html_text)
    assert len(_svg_cells(panels["expected dl_dyhat"])) == 1 and len(_svg_cells(panels["got dl_dyhat"])) == 2
    assert "the transposed shape (and gotᵀ = expected)" in html_text
    assert {f for r in _svg_cells(panels["difference of the transpose dl_dyhat"]) for f in r} == {"#f7f7f7"}


def test_values_that_are_not_matrices_are_named_not_drawn():
    assert to_matrix([[1, 2], [3]]) == "rows of different lengths"
    assert to_matrix([[[1.0]]]) == "an array of 3 or more dimensions"
    assert to_matrix([]) == "an empty array"
    assert to_matrix("None").startswith("not an array")
    matrix = to_matrix([["nan", "inf"], [None, 2]])
    assert not isinstance(matrix, str) and matrix.rows[1] == [None, 2.0] and np.isnan(matrix.rows[0][0])
    html_text = compare_panels("y_hat", [[1.0, 2.0]], {"type": "NoneType"})
    assert "got y_hat: not an array" in html_text and "expected y_hat" in html_text


def test_a_large_matrix_is_cut_and_says_so():
    big = np.arange(40 * 30, dtype=float).reshape(40, 30)
    html_text = compare_panels("W", big.tolist(), (big * 2).tolist())
    assert len(_svg_cells(_panels(html_text)["expected W"])) == MAX_SIDE
    assert "the first %d of 40 rows and %d of 30 columns" % (MAX_SIDE, MAX_SIDE) in html_text


def test_a_written_answer_shows_the_students_expression_beside_the_expected_one():
    page = Page(formats.render("html", [example_report()]))
    (block,) = [i for i, (tag, attrs) in enumerate(page.tags) if tag == "div" and attrs.get("class") == "written"]
    text = page.content
    assert r"\frac{\partial \ell}{\partial W^{(1)}} = \delta_1 x^\top" in text
    assert r"x \frac{\partial \ell}{\partial z_1}" in text
    assert text.index("your answer") < text.index("expected", text.index("your answer")) and block
    assert "to review" in text, "a written answer a human must decide"


@pytest.mark.slow
def test_a_report_without_evidence_from_a_real_grading_still_renders(grade):
    report = grade(SUBMISSIONS / "mlp_dW1_no_transpose", only=["mlp.backward"], max_examples=3)
    failed = [c for c in report.checks if c.status != "pass" and c.max_score > 0]
    assert failed
    html_text = formats.render("html", [report])
    text = Page(html_text).content
    for check in failed:
        assert check.full_message in text and check.replay in text
    with_evidence = [c for c in failed if evidence_of(c) is not None]
    if with_evidence:  # a grader whose failed checks carry evidence draws it
        assert len(_panels(html_text)) >= 2 * len(with_evidence)
    else:
        assert 'class="heatmap"' not in html_text


def test_a_submission_that_was_not_graded_says_why():
    text = Page(formats.render("html", [error_report("class/bob", 0, "nothing to grade in class/bob: ...")])).content
    assert "Not graded" in text and "nothing to grade in class/bob" in text and "not graded" in text


def test_roster_names_appear_on_the_students_page():
    roster = parse_roster("folder,student_id,name\nada,N123,\"Lovelace, Ada\"\n")
    text = Page(formats.render("html", [example_report("class/ada")], RenderOptions(roster=roster))).content
    assert "Lovelace, Ada" in text and "N123" in text


# -- several submissions in one file -------------------------------------------------------------

def test_several_submissions_make_one_file_with_the_class_page_and_unique_anchors():
    reports = [example_report("class/ada"), example_report("class/bob"), error_report("class/cy", 0, "empty")]
    html_text = formats.render("html", reports)
    page = Page(html_text)
    ids = [attrs["id"] for _, attrs in page.tags if "id" in attrs]
    assert len(ids) == len(set(ids)), "every anchor is unique in the file"
    links = [attrs["href"] for attrs in page.all("a") if attrs.get("href", "").startswith("#s-")]
    assert set(links) == {"#s-1", "#s-2", "#s-3"} and {"s-1", "s-2", "s-3"} <= set(ids)
    text = page.content
    assert "Class report" in text and "Final scores" in text and "Most common diagnoses" in text
    assert "Not graded" in text and "empty" in text


def test_the_class_page_counts_diagnoses_per_student_and_question():
    def report(name: str, codes: list[str]) -> GradeReport:
        checks = [CheckResult(id="mlp.backward[%d]" % i, question="mlp.backward", title="", status="fail",
                              score=0.0, max_score=1.0, code=code, message="msg %s" % code)  # type: ignore[arg-type]
                  for i, code in enumerate(codes)]
        checks.append(CheckResult(id="mlp.forward[x]", question="mlp.forward", title="", status="pass", score=1.0,
                                  max_score=1.0))
        return GradeReport("0.1.0", "hw1", "class/" + name, 0, [QuestionResult("mlp.backward", "B", checks[:-1]),
                                                                 QuestionResult("mlp.forward", "F", checks[-1:])])

    reports = [report("ada", ["transposed", "transposed", "sign"]), report("bob", ["transposed"]),
               report("cy", ["sign"]), report("dee", [])]
    html_text = formats.render("html", reports)
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td><span class="badge code">(\w+)</span> in <code>([^<]+)'
                      r"</code>.*?</td><td>(.*?)</td></tr>", html_text)
    found = {(code, question): (int(count), re.findall(r'<a href="#s-\d+">([^<]+)</a>', who))
             for count, code, question, who in rows}
    assert found == {("transposed", "mlp.backward"): (2, ["ada", "bob"]), ("sign", "mlp.backward"): (2, ["ada", "cy"])}
    assert "3 of 4" in Page(html_text).content, "three of four students lost points on mlp.backward"


@pytest.mark.cli
@pytest.mark.slow
def test_the_command_line_writes_a_folder_of_pages_or_one_file(tmp_path):
    klass = tmp_path / "class"
    shutil.copytree(SUBMISSIONS / "correct", klass / "ada")
    shutil.copytree(SUBMISSIONS / "mlp_dW1_no_transpose", klass / "bob")
    common = ["--each", str(klass), "--only", "mlp.backward", "--max-examples", "1", "--sandbox", "none",
              "--fail-under", "0"]
    old = os.umask(0o022)
    try:
        folder = run_cli("grade", *common, "--format", "html", "-o", str(tmp_path / "pages"))
        single = run_cli("grade", *common, "--format", "html", "-o", str(tmp_path / "class.html"))
    finally:
        os.umask(old)
    assert folder.returncode == 0 and single.returncode == 0, folder.stderr + single.stderr
    pages = sorted(p.relative_to(tmp_path / "pages").as_posix() for p in (tmp_path / "pages").rglob("*.html"))
    assert pages == ["index.html", "students/ada.html", "students/bob.html"]
    assert "wrote %s (3 pages)" % (tmp_path / "pages" / "index.html") in folder.stderr
    for page in (tmp_path / "pages").rglob("*.html"):
        assert stat.S_IMODE(page.stat().st_mode) == 0o644
    index = (tmp_path / "pages" / "index.html").read_text()
    assert 'href="students/bob.html"' in index and 'id="similarity"' in index
    assert 'href="../index.html"' in (tmp_path / "pages" / "students" / "bob.html").read_text()
    one = (tmp_path / "class.html").read_text()
    assert 'href="#s-2"' in one and one.count("<html") == 1

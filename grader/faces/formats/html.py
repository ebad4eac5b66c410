"""HTML: a self-contained web page per submission, and a class page for several.

`render(reports, options)` gives one document: for one submission its report; for several the
class page (`html_class`) followed by every student's report in the same file, linked by
anchors. `write_pages(folder, reports, options)` writes a folder instead: `index.html` (the
class page, or the one report) and `students/<folder name>.html` per submission, linked.

A student's report holds the score (raw, penalties, final), the notices, a table of the
questions, then per question its failed checks, each with its diagnosis, code location, the
shrunk example's structure, the counterexample's heatmaps when the check carries evidence
(expected, got, difference, ratio; the inputs collapsed), a written answer's expression beside
the expected one, what the submission printed, the replay command and the repro script; the
checks that passed are listed collapsed. Every piece of text from the submission is escaped
(`html_page.esc`); the page loads nothing (see `html_page`).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ...model.results import CheckResult, GradeReport, QuestionResult
from ..output import safe_file_stem, write_folder
from ..roster import folder_name
from . import RenderOptions
from .heatmap import evidence_html
from .html_page import bar, esc, page, points

MAX_LATEX = 4000


def evidence_of(check: CheckResult) -> dict[str, Any] | None:
    """The check's counterexample evidence ({"inputs", "expected", "got"}) if it carries one."""
    for value in (getattr(check, "evidence", None), check.details.get("evidence")):
        if isinstance(value, dict) and (value.get("expected") or value.get("got")):
            return value
    return None


def repro_of(check: CheckResult) -> str | None:
    """The check's standalone reproduction script, if any."""
    for value in (getattr(check, "repro", None), check.details.get("repro")):
        if isinstance(value, str) and value.strip():
            return value
    return None


def written_of(check: CheckResult) -> tuple[str, str] | None:
    """(the student's expression, the expected one) in LaTeX, for a written-answer item."""
    found = []
    for key in ("got_latex", "expected_latex"):
        value = getattr(check, key, None) or check.details.get(key)
        found.append(value if isinstance(value, str) else "")
    return (found[0], found[1]) if any(found) else None


def _unicode_reading(latex: str) -> str:
    """A plain reading of a LaTeX expression (pylatexenc when installed), or ""."""
    try:
        reader = importlib.import_module("pylatexenc.latex2text")
    except ImportError:
        return ""
    try:
        return str(reader.LatexNodes2Text(math_mode="text").latex_to_text(latex[:MAX_LATEX])).strip()
    except Exception:  # noqa: BLE001 - a reading is a courtesy: student LaTeX that breaks the parser gets none
        return ""


def _status_badge(status: str) -> str:
    label = {"pass": "passed", "fail": "failed", "error": "error", "review": "to review"}.get(status, status)
    return '<span class="badge %s">%s</span>' % (esc(status), esc(label))


def _location(check: CheckResult) -> str:
    where = check.location or {}
    if not where.get("file"):
        return ""
    line = where.get("line")
    return '<p class="meta">where to look: <code>%s</code>%s</p>' % (
        esc(where["file"]), ", line %s" % esc(line) if line else "")


def _counterexample(check: CheckResult) -> str:
    if not check.counterexample:
        return ""
    chips = "".join("<li>%s=%s</li>" % (esc(k), esc(v)) for k, v in check.counterexample.items())
    return '<p class="meta">the smallest failing example:</p><ul class="chips">%s</ul>' % chips


def _written(check: CheckResult) -> str:
    pair = written_of(check)
    if pair is None:
        return ""
    cells = []
    for title, latex in (("your answer", pair[0]), ("expected", pair[1])):
        reading = _unicode_reading(latex) if latex else ""
        cells.append('<div><h4>%s</h4><pre class="latex">%s</pre>%s</div>' % (
            title, esc(latex or "(none found)"), '<p class="caption">%s</p>' % esc(reading) if reading else ""))
    return '<div class="written">%s</div>' % "".join(cells)


def check_card(check: CheckResult, open_: bool, prefix: str = "") -> str:
    """A failed (or to-review) check: summary line, diagnosis and everything that explains it."""
    parts = ['<details class="check status-%s" id="%s"%s><summary><span class="check-head">%s'
             '<span class="badge code">%s</span><span class="id">%s</span><span class="muted">%s / %s</span>'
             "</span></summary>" % (esc(check.status), esc(prefix + _anchor(check.id)), " open" if open_ else "",
                                     _status_badge(check.status), esc(check.code or check.status), esc(check.id),
                                     points(check.score), points(check.max_score))]
    if check.title:
        parts.append('<p class="meta">%s</p>' % esc(check.title))
    parts.append('<p class="message">%s</p>' % esc(check.full_message or "(no message)"))
    parts.append(_location(check))
    parts.append(_counterexample(check))
    evidence = evidence_of(check)
    if evidence is not None:
        parts.append('<h3>the counterexample</h3>%s' % evidence_html(evidence))
    parts.append(_written(check))
    if check.output.strip():
        parts.append("<details><summary>what the submission printed</summary><pre>%s</pre></details>"
                     % esc(check.output.strip()[:4000]))
    if check.replay:
        parts.append('<p class="meta">replay it with the grader:</p><pre class="cmd">%s</pre>' % esc(check.replay))
    repro = repro_of(check)
    if repro is not None:
        parts.append("<details><summary>a standalone script that reproduces it (run it in your submission folder)"
                     "</summary><pre>%s</pre></details>" % esc(repro))
    parts.append("</details>")
    return "".join(parts)


def _anchor(text: str) -> str:
    return "c-" + "".join(ch if ch.isalnum() else "-" for ch in text)


def _question(question: QuestionResult, prefix: str) -> str:
    failed = [c for c in question.checks if c.status != "pass"]
    passed = [c for c in question.checks if c.status == "pass"]
    out = ['<section class="question" id="%s"><h2>%s</h2><p class="meta"><code>%s</code> · %s / %s points · %d of %d'
           " checks passed</p>" % (esc(prefix + _anchor(question.id)), esc(question.title or question.id),
                                   esc(question.id), points(question.score), points(question.max_score),
                                   len(passed), len(question.checks))]
    shown_codes: set[str] = set()
    for check in failed:
        key = str(check.code)
        out.append(check_card(check, key not in shown_codes, prefix))
        shown_codes.add(key)
    if passed:
        out.append('<details><summary>%d check%s passed</summary><ul class="passed-list">%s</ul></details>' % (
            len(passed), "" if len(passed) == 1 else "s",
            "".join('<li><code>%s</code> <span class="muted">%s</span></li>' % (esc(c.id), esc(c.title))
                    for c in passed)))
    out.append("</section>")
    return "".join(out)


def _overview(report: GradeReport, prefix: str) -> str:
    rows = []
    for q in report.questions:
        passed = sum(c.status == "pass" for c in q.checks)
        share = q.score / q.max_score if q.max_score else float(passed == len(q.checks))
        rows.append('<tr><td><a href="#%s">%s</a><br><code class="muted">%s</code></td><td class="num">%s / %s</td>'
                    '<td class="num">%d / %d</td><td>%s</td></tr>'
                    % (esc(prefix + _anchor(q.id)), esc(q.title or q.id), esc(q.id), points(q.score),
                       points(q.max_score), passed, len(q.checks), bar(share)))
    return ('<section><h2>Questions</h2><div class="table-wrap"><table><thead><tr><th>question</th>'
            '<th class="num">points</th><th class="num">checks passed</th><th>share</th></tr></thead><tbody>%s'
            "</tbody></table></div></section>" % "".join(rows))


def _headline(report: GradeReport, options: RenderOptions) -> str:
    student = options.roster.find(report.submission) if options.roster else None
    who = ""
    if student is not None and (student.name or student.student_id):
        who = '<p class="meta">%s%s</p>' % (esc(student.name), " · %s" % esc(student.student_id)
                                             if student.student_id else "")
    failed = sum(c.status in ("fail", "error") for c in report.checks)
    if report.error:
        status = '<span class="badge error">not graded</span>'
    elif report.all_passed:
        status = '<span class="badge pass">every check passed</span>'
    else:
        status = '<span class="badge fail">%d check%s to fix</span>' % (failed, "" if failed == 1 else "s")
    penalties = "".join('<p class="notice penalty">penalty −%s: %s</p>' % (points(p.points), esc(p.reason))
                        for p in report.penalties)
    raw = ('<p class="meta">raw score %s / %s before penalties</p>' % (points(report.score), points(report.max_score))
           if report.penalties else "")
    if report.pending_review:
        raw += ('<p class="meta review">%s points pending review (a person decides them; the percentage is of'
                ' the points graded so far)</p>' % points(report.pending_review))
    return ('<header class="top"><h1>%s</h1>%s'
            '<p class="meta">%s · backprop-grader %s · grading seed %s · sandbox %s</p>'
            '<p class="score">%s <small>/ %s · %.1f%%</small></p><p>%s</p>%s%s</header>'
            % (esc(folder_name(report.submission)), who, esc(report.assignment), esc(report.grader_version),
               esc(report.seed), esc(report.sandbox), points(report.final_score), points(report.max_score),
               report.percent(), status, penalties, raw))


def report_body(report: GradeReport, options: RenderOptions, back: str = "", prefix: str = "") -> str:
    """One submission's report (the inside of a page or of a section of the class file, whose
    anchors then start with `prefix`)."""
    out = ['<nav class="back"><a href="%s">← the class page</a></nav>' % esc(back) if back else "",
           _headline(report, options)]
    if report.error:
        out.append('<section><h2>Not graded</h2><p class="message">%s</p></section>' % esc(report.error))
    if report.notices:
        out.append("<section><h2>Notices</h2>%s</section>" % "".join(
            '<p class="notice">%s</p>' % esc(notice) for notice in report.notices))
    if report.questions:
        out.append(_overview(report, prefix))
        out += [_question(q, prefix) for q in report.questions]
    return "".join(out)


def report_page(report: GradeReport, options: RenderOptions, back: str = "") -> str:
    return page("%s — backprop-grader" % folder_name(report.submission), report_body(report, options, back))


def render(reports: list[GradeReport], options: RenderOptions | None = None) -> str:
    """One HTML document: the report of one submission, or the class page followed by every
    student's report (linked by anchors)."""
    from .html_class import class_body

    options = options or RenderOptions()
    if len(reports) == 1:
        return report_page(reports[0], options)
    anchors = {r.submission: "#s-%d" % number for number, r in enumerate(reports, start=1)}
    sections = "".join('<article class="student" id="s-%d">%s</article>' % (
        number, report_body(r, options, "#top", "s%d-" % number)) for number, r in enumerate(reports, start=1))
    body = '<div id="top"></div>' + class_body(reports, options, anchors) + sections
    return page("Class report — backprop-grader", body)


def write_pages(folder: str | Path, reports: list[GradeReport], options: RenderOptions | None = None) -> list[Path]:
    """Write the reports as a folder of pages (see the module docstring); returns the paths."""
    from .html_class import class_page

    options = options or RenderOptions()
    if len(reports) == 1:
        return write_folder(folder, {"index.html": report_page(reports[0], options)})
    taken: set[str] = {"index"}
    links = {r.submission: "students/%s.html" % safe_file_stem(folder_name(r.submission), taken) for r in reports}
    files = {links[r.submission]: report_page(r, options, back="../index.html") for r in reports}
    files["index.html"] = class_page(reports, options, links)
    return write_folder(folder, files)

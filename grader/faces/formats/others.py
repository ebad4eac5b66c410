"""Report formats for other tools: JUnit XML, Gradescope results.json, Markdown, GitHub
Actions workflow commands, CSV. Each renders `GradeReport`s; none runs student code.

Student-provided text (printed output, exception messages) only ever appears escaped for
the target format: XML-escaped, JSON-encoded, inside Markdown code spans, or percent-encoded
in workflow commands so that it cannot start a command line of its own.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import xml.etree.ElementTree as ET

from .results import CheckResult, GradeReport, format_points

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
GITHUB_ANNOTATION_LIMIT = 10


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("?", text)


def failure_text(check: CheckResult) -> str:
    """A failed check's diagnosis, replay command and (bounded) student output, as plain text."""
    lines = ["[%s] %s" % (check.code, check.full_message)]
    if check.replay:
        lines.append("replay: %s" % check.replay)
    if check.output.strip():
        lines.append("printed by the submission:\n%s" % check.output.strip()[:1000])
    return "\n".join(lines)


# -- JUnit ---------------------------------------------------------------------------------

def render_junit(reports: list[GradeReport]) -> str:
    """One <testsuite> per submission, one <testcase> per check (classname = question id)."""
    suites = ET.Element("testsuites", name="backprop-grader")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for report in reports:
        checks = report.checks
        failures = sum(c.status == "fail" for c in checks)
        errors = sum(c.status == "error" for c in checks) + (1 if report.error else 0)
        tests = len(checks) + (1 if report.error else 0)
        suite = ET.SubElement(suites, "testsuite", name=_xml_text(report.submission), tests=str(tests),
                              failures=str(failures), errors=str(errors), skipped="0",
                              time="%.3f" % report.duration_s)
        properties = ET.SubElement(suite, "properties")
        for key, value in (("score", format_points(report.score)), ("max_score", format_points(report.max_score)),
                           ("final_score", format_points(report.final_score)), ("seed", str(report.seed)),
                           ("sandbox", report.sandbox)):
            ET.SubElement(properties, "property", name=key, value=value)
        for penalty in report.penalties:
            ET.SubElement(properties, "property", name="penalty." + penalty.policy,
                          value=_xml_text("-%s: %s" % (format_points(penalty.points), penalty.reason)))
        if report.not_run:
            ET.SubElement(properties, "property", name="not_run.checks", value=str(report.not_run.get("checks", 0)))
            ET.SubElement(properties, "property", name="not_run.points",
                          value=format_points(float(report.not_run.get("points", 0.0))))
        for notice in report.notices:
            ET.SubElement(properties, "property", name="notice", value=_xml_text(notice))
        if report.error:
            case = ET.SubElement(suite, "testcase", classname="grader", name="grading")
            ET.SubElement(case, "error", message=_xml_text(report.error), type="grader").text = _xml_text(report.error)
        for check in checks:
            case = ET.SubElement(suite, "testcase", classname=check.question, name=check.id, time="0")
            if check.status != "pass":
                tag = "failure" if check.status == "fail" else "error"
                summary = _xml_text("[%s] %s" % (check.code, check.full_message))[:500]
                element = ET.SubElement(case, tag, message=summary, type=str(check.code))
                element.text = _xml_text(failure_text(check))
        for key in totals:
            totals[key] += int(suite.get(key))
    for key, value in totals.items():
        suites.set(key, str(value))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


# -- Gradescope ----------------------------------------------------------------------------

GRADESCOPE_VISIBILITY = {"visible": "visible", "hidden": "hidden", "after_due_date": "after_due_date",
                         "after_published": "after_published"}


def gradescope_results(report: GradeReport) -> dict:
    """results.json per Gradescope's autograder specification; the score is the final one."""
    tests = []
    for number, check in enumerate(report.checks, start=1):
        tests.append({
            "name": check.id,
            "number": str(number),
            "score": round(check.score, 4),
            "max_score": round(check.max_score, 4),
            "status": "passed" if check.status == "pass" else "failed",
            "output": check.title if check.status == "pass" else failure_text(check),
            "visibility": GRADESCOPE_VISIBILITY.get(check.visibility, "visible"),
            "tags": [check.question] + ([check.code] if check.code else []),
        })
    lines = ["Score %s / %s (seed %d, sandbox %s)." % (
        format_points(report.score), format_points(report.max_score), report.seed, report.sandbox)]
    for penalty in report.penalties:
        lines.append("Penalty -%s: %s" % (format_points(penalty.points), penalty.reason))
    if report.penalties:
        lines.append("Final score %s (raw %s)." % (format_points(report.final_score), format_points(report.score)))
    lines += report.notices
    if report.error:
        lines.append("The grader could not grade this submission: %s" % report.error)
    return {
        "score": round(report.final_score, 4),
        "execution_time": round(report.duration_s, 3),
        "output": "\n".join(lines),
        # Plain text everywhere: student text (messages, prints) must never be read as HTML or Markdown.
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "stdout_visibility": "hidden",
        "visibility": "visible",
        "extra_data": {"raw_score": round(report.score, 4), "max_score": round(report.max_score, 4),
                       "final_score": round(report.final_score, 4),
                       "penalties": [p.to_json() for p in report.penalties], "not_run": report.not_run,
                       "error": report.error, "grader_version": report.grader_version},
        "tests": tests,
    }


def render_gradescope(reports: list[GradeReport]) -> str:
    return json.dumps(gradescope_results(reports[0]), indent=2) + "\n"


# -- Markdown ------------------------------------------------------------------------------

_ANY_LINE_BREAK = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell: one line, no cell separators, no HTML, no links
    or images (student text could otherwise put a link or a tracking image in a PR comment)."""
    text = _ANY_LINE_BREAK.sub(" ", text)
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
    return text.replace("[", "\\[").replace("]", "\\]")


def _code(text: str) -> str:
    text = _ANY_LINE_BREAK.sub(" ", text).replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    return "%s %s %s" % (fence, text, fence) if fence == "``" else "`%s`" % text


def render_markdown(reports: list[GradeReport]) -> str:
    """A summary fit for a pull-request comment or a job summary."""
    out = []
    for report in reports:
        status = "passed" if report.all_passed else "failed"
        out.append("## backprop-grader: %s — %s / %s (%s)\n" % (
            _md(report.submission), format_points(report.final_score), format_points(report.max_score), status))
        for penalty in report.penalties:
            out.append("- **Penalty** −%s: %s" % (format_points(penalty.points), _md(penalty.reason)))
        if report.penalties:
            out.append("- Raw score %s, final %s\n" % (format_points(report.score), format_points(report.final_score)))
        for notice in report.notices:
            out.append("> %s\n" % _md(notice))
        if report.error:
            out.append("**Not graded:** %s\n" % _md(report.error))
        out.append("| Question | Points | Passed |")
        out.append("|---|---:|---:|")
        for q in report.questions:
            passed = sum(c.status == "pass" for c in q.checks)
            out.append("| %s %s | %s / %s | %d / %d |" % (_code(q.id), _md(q.title), format_points(q.score),
                                                          format_points(q.max_score), passed, len(q.checks)))
        failed = [c for c in report.checks if c.status != "pass"]
        if failed:
            out.append("\n<details><summary>%d failed checks</summary>\n" % len(failed))
            out.append("| Check | Code | Diagnosis |")
            out.append("|---|---|---|")
            for check in failed:
                diagnosis = _md(check.full_message)
                if check.replay:
                    diagnosis += "<br>replay: " + _code(check.replay)
                out.append("| %s | %s | %s |" % (_code(check.id), _code(str(check.code)), diagnosis))
            out.append("\n</details>")
        out.append("")
    return "\n".join(out) + "\n"


# -- GitHub Actions --------------------------------------------------------------------------

# Characters some readers take as line breaks besides \n and \r; never let them through.
_LINE_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _gh_data(text: str) -> str:
    """Text safe as a workflow command's message: it can never end the line it is on."""
    text = _LINE_BREAKS.sub(" ", text)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def _gh_path(submission: str, name: str) -> str:
    """`name` inside the submission folder as a path relative to the repository (the workspace)."""
    path = os.path.normpath(os.path.join(submission, name))
    workspace = os.environ.get("GITHUB_WORKSPACE")
    base = os.path.abspath(workspace) if workspace else os.getcwd()
    absolute = os.path.abspath(path)
    if absolute == base or absolute.startswith(base.rstrip(os.sep) + os.sep):
        path = os.path.relpath(absolute, base)
    return path.replace(os.sep, "/")


def _location(check: CheckResult) -> tuple[str, int | None]:
    """Where to annotate: the check's location, else the file its question belongs to."""
    if check.location and check.location.get("file"):
        try:
            return str(check.location["file"]), int(check.location.get("line") or 1)
        except (TypeError, ValueError):
            return str(check.location["file"]), None
    return check.question.split(".", 1)[0] + ".py", None


def render_github(reports: list[GradeReport]) -> str:
    """`::error` workflow commands at the failing student functions, one per place and kind of
    mistake (the costliest first, at most 10 per submission), and a `::notice` with the score.

    Every piece of text is encoded so that nothing a submission prints or raises can start a
    workflow command of its own."""
    out = []
    for report in reports:
        if report.error:
            out.append("::error title=%s::%s" % (_gh_property("backprop-grader: not graded"), _gh_data(
                "%s could not be graded: %s" % (report.submission, report.error))))
        for notice in report.notices:
            out.append("::notice title=%s::%s" % (_gh_property("backprop-grader"), _gh_data(notice)))
        groups: dict[tuple, list[CheckResult]] = {}
        for check in report.checks:
            if check.status != "pass":
                groups.setdefault(_location(check) + (check.code,), []).append(check)
        ordered = sorted(groups.items(), key=lambda item: -sum(c.max_score for c in item[1]))
        for (filename, line, code), checks in ordered[:GITHUB_ANNOTATION_LIMIT]:
            checks = sorted(checks, key=lambda c: -c.max_score)
            first = checks[0]
            props = ["file=" + _gh_property(_gh_path(report.submission, filename))]
            if line is not None:
                props.append("line=%d" % line)
            if len(checks) == 1:
                title = "%s [%s]" % (first.id, code)
            else:
                questions = list(dict.fromkeys(c.question for c in checks))
                title = "%s: %d checks [%s]" % (", ".join(questions), len(checks), code)
            props.append("title=" + _gh_property(title))
            message = failure_text(first)
            if len(checks) > 1:
                message += "\nchecks failing here: " + ", ".join(c.id for c in checks)
            out.append("::error %s::%s" % (",".join(props), _gh_data(message)))
        if len(ordered) > GITHUB_ANNOTATION_LIMIT:
            hidden = sum(len(checks) for _, checks in ordered[GITHUB_ANNOTATION_LIMIT:])
            out.append("::warning title=%s::%s" % (_gh_property("backprop-grader"), _gh_data(
                "%d more failed checks are not annotated; the job summary lists every one" % hidden)))
        for penalty in report.penalties:
            out.append("::warning title=%s::%s" % (_gh_property("backprop-grader: penalty"), _gh_data(
                "-%s: %s" % (format_points(penalty.points), penalty.reason))))
        out.append("::notice title=%s::%s" % (_gh_property("backprop-grader"), _gh_data(
            "%s: %s / %s" % (report.submission, format_points(report.final_score), format_points(report.max_score)))))
    return "\n".join(out) + "\n"


# -- CSV -----------------------------------------------------------------------------------

CSV_POLICIES = ("format", "late")


def render_csv(reports: list[GradeReport]) -> str:
    """One row per submission: totals, each policy's penalty in its own column, the checks not
    run (--public), and each question's points."""
    question_ids: list[str] = []
    for report in reports:
        for q in report.questions:
            if q.id not in question_ids:
                question_ids.append(q.id)
    policies = list(CSV_POLICIES) + sorted({p.policy for r in reports for p in r.penalties} - set(CSV_POLICIES))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["submission", "final_score", "score", "max_score", "percent"]
                    + ["%s_penalty" % name for name in policies]
                    + ["penalties", "checks_passed", "checks", "not_run_checks", "not_run_points", "sandbox", "seed",
                       "duration_s", "error"] + question_ids)
    for report in reports:
        by_id = {q.id: q for q in report.questions}
        points = {name: sum(p.points for p in report.penalties if p.policy == name) for name in policies}
        not_run = report.not_run or {}
        writer.writerow(
            [_csv_cell(report.submission), format_points(report.final_score), format_points(report.score),
             format_points(report.max_score), "%.1f" % report.percent()]
            + [format_points(points[name]) for name in policies]
            + [_csv_cell("; ".join(p.reason for p in report.penalties)),
               sum(c.status == "pass" for c in report.checks), len(report.checks),
               not_run.get("checks", "") if report.not_run else "",
               format_points(float(not_run.get("points", 0.0))) if report.not_run else "",
               report.sandbox, report.seed, "%.2f" % report.duration_s, _csv_cell(report.error or "")]
            + [format_points(by_id[q].score) if q in by_id else "" for q in question_ids])
    return buffer.getvalue()


def _csv_cell(text: str) -> str:
    """Text that a spreadsheet will not run as a formula (OWASP's CSV injection advice)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

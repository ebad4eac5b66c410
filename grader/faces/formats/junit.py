"""JUnit XML (GitLab, Jenkins): one <testsuite> per submission, one <testcase> per check.

Student text appears only XML-escaped, with characters XML cannot hold replaced."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ...model.results import GradeReport, format_points
from .text import failure_text

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("?", text)


def render(reports: list[GradeReport]) -> str:
    """One <testsuite> per submission, one <testcase> per check (classname = question id)."""
    suites = ET.Element("testsuites", name="backprop-grader")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for report in reports:
        checks = report.checks
        failures = sum(c.status == "fail" for c in checks)
        errors = sum(c.status == "error" for c in checks) + (1 if report.error else 0)
        skipped = sum(c.status == "review" for c in checks)
        tests = len(checks) + (1 if report.error else 0)
        suite = ET.SubElement(suites, "testsuite", name=_xml_text(report.submission), tests=str(tests),
                              failures=str(failures), errors=str(errors), skipped=str(skipped),
                              time="%.3f" % report.duration_s)
        properties = ET.SubElement(suite, "properties")
        for key, value in (("score", format_points(report.score)), ("max_score", format_points(report.max_score)),
                           ("pending_review", format_points(report.pending_review)),
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
            if check.status == "review":  # a person decides: neither passed nor failed
                summary = _xml_text("pending review: " + check.full_message)[:500]
                ET.SubElement(case, "skipped", message=summary).text = _xml_text(failure_text(check))
            elif check.status != "pass":
                tag = "failure" if check.status == "fail" else "error"
                summary = _xml_text("[%s] %s" % (check.code, check.full_message))[:500]
                element = ET.SubElement(case, tag, message=summary, type=str(check.code))
                element.text = _xml_text(failure_text(check))
        for key in totals:
            totals[key] += int(suite.get(key) or 0)
    for key, total in totals.items():
        suites.set(key, str(total))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"



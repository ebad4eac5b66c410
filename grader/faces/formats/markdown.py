"""Markdown: a summary fit for a pull-request comment or a job summary.

Student text is escaped: one line per cell, no HTML, no links or images. Each failure (one per
group of identical ones) is shown in detail in a collapsed block: where to look, the smallest
example, its values (inputs; expected, got, difference) and the replay command, as fenced text."""

from __future__ import annotations

import re

from ...model.results import CheckResult, GradeReport, format_points
from .text import answer_lines, grouped, pending_text

_ANY_LINE_BREAK = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


# What GitHub turns into a notification or a link by itself: @mentions (and e-mail addresses),
# issue and pull-request references (#12, GH-12, owner/repo#12) and bare URLs.
_LIVE = re.compile(r"(?:https?|ftp|file)://[^\s`\\]+|www\.[^\s`\\]+|[\w.-]*@[\w.-]+"
                   r"|(?:[\w.-]+/[\w.-]+)?#\d+|\bGH-\d+", re.IGNORECASE)


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell: one line, no cell separators, no HTML (nor
    entities), no links or images (student text could otherwise put a link or a tracking image
    in a PR comment), and no @mention, #reference or bare URL (each is shown as code, which
    GitHub leaves alone: a submission cannot notify anyone or link anywhere)."""
    text = _ANY_LINE_BREAK.sub(" ", text)
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("&", "&amp;").replace("<", "&lt;")
    text = text.replace("[", "\\[").replace("]", "\\]").replace("`", "\\`")
    return _LIVE.sub(lambda match: "`%s`" % match.group(), text)


def _code(text: str) -> str:
    text = _ANY_LINE_BREAK.sub(" ", text).replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    return "%s %s %s" % (fence, text, fence) if fence == "``" else "`%s`" % text


def _diagnosis(check: CheckResult) -> str:
    """A check's message, its written answer against the expected one, and its replay command."""
    diagnosis = _md(check.full_message)
    for line in answer_lines(check):
        label, _, rest = line.partition(": ")
        diagnosis += "<br>%s: %s" % (_md(label), _md(rest))
    if check.replay:
        diagnosis += "<br>replay: " + _code(check.replay)
    return diagnosis


def _fenced(lines: list[str]) -> str:
    """Lines as a fenced block whose fence no line can close (longer than any backtick run)."""
    longest = max((len(run) for line in lines for run in re.findall("`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return "%s text\n%s\n%s" % (fence, "\n".join(_ANY_LINE_BREAK.sub(" ", line) for line in lines), fence)


def _details(report: GradeReport) -> list[str]:
    """A collapsed block per failure in detail (one per group of identical failures)."""
    from .table import detail_lines

    out = []
    for question in report.questions:
        for group in grouped(question.checks):
            check = group[0]
            if check.status not in ("fail", "error") or not (check.evidence or check.replay):
                continue
            lines = [line for line, _ in detail_lines(check, len(group) - 1)]
            out.append("\n<details><summary>%s in detail</summary>\n" % _code(check.id))
            out.append(_fenced(lines[1:]))
            out.append("\n</details>")
    return out


def render(reports: list[GradeReport]) -> str:
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
        pending = pending_text(report)
        if pending:
            out.append("- **%s**; the percentage is of the points graded so far\n" % _md(pending))
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
        failed = [c for c in report.checks if c.status not in ("pass", "review")]
        review = [c for c in report.checks if c.status == "review" and c.max_score > 0]
        for checks, summary in ((failed, "%d failed checks"), (review, "%d checks pending review")):
            if not checks:
                continue
            out.append("\n<details><summary>%s</summary>\n" % (summary % len(checks)))
            out.append("| Check | Code | Diagnosis |")
            out.append("|---|---|---|")
            out.extend("| %s | %s | %s |" % (_code(c.id), _code(str(c.code)), _diagnosis(c)) for c in checks)
            out.append("\n</details>")
        out.extend(_details(report))
        out.append("")
    return "\n".join(out) + "\n"



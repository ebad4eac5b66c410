"""The terminal table (rich): a section per question, a row per check, the failures in detail,
then the total.

Checks with components that failed identically (the same wrong values with the same codes)
share one row ("dJdW1 is transposed in all 11 checks ..."); the JSON keeps every check. Below
the table each failure (one per such group) shows where to look, the smallest example, its
values (inputs; expected, got and their difference: small values in full, large ones
summarised) and its replay command on a line of its own, never wrapped, so that it can be
copied from an 80-column terminal. Colour appears only on a terminal, and never when NO_COLOR
is set (rich honours both).
"""

from __future__ import annotations

import io
import os
import sys
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ...model.results import CheckResult, GradeReport, QuestionResult, format_points
from .text import answer_lines, evidence_lines, group_text, grouped, pending_text

STATUS_STYLE = {"pass": "green", "fail": "red", "error": "yellow", "review": "cyan"}


def make_console(stream: TextIO | None = None) -> Console:
    """Colour and styles only on a terminal, and none at all when NO_COLOR is set."""
    stream = stream or sys.stdout
    plain = bool(os.environ.get("NO_COLOR"))
    return Console(
        file=stream, highlight=False, emoji=False, no_color=plain or None,
        color_system=None if plain else "auto",
        force_terminal=False if plain else None,
        width=None if stream.isatty() else max(120, int(os.environ.get("COLUMNS", "0") or 0)),
    )


def _points(score: float, max_score: float) -> str:
    return "%s/%s" % (format_points(score), format_points(max_score))


def _diagnosis(check: CheckResult) -> Text:
    if check.status == "pass":
        text = Text(check.title, style="dim")
        if check.notes:
            text.append("\n" + " ".join(check.notes))
        return text
    text = Text()
    text.append("[%s] " % check.code, style="bold")
    text.append(check.to_json()["message"])
    for line in answer_lines(check):
        label, _, rest = line.partition(": ")
        text.append("\n%s: " % label, style="dim")
        text.append(rest)
    if check.output.strip():
        shown = check.output.strip()
        text.append("\nprinted: ", style="dim")
        text.append(shown[:300] + (" ..." if len(shown) > 300 else ""))
    return text


def _group_diagnosis(group: list[CheckResult], question: QuestionResult) -> Text:
    """One row for checks that failed identically."""
    of_question = sum(1 for c in question.checks if c.components)
    text = Text()
    text.append("[%s] " % group[0].code, style="bold")
    text.append(group_text(group, of_question, question.id))
    return text


def _plain(console: Console, text: str, style: str = "") -> None:
    """A line printed as it is: never wrapped (a command stays whole), never cropped."""
    console.print(Text(text, style=style), soft_wrap=True, crop=False)


def detail_lines(check: CheckResult, more: int = 0) -> list[tuple[str, str]]:
    """(line, style) of a failure in detail: where, the example, its values, the replay command."""
    lines = [("%s%s" % (check.id, " (and %d more failing the same way)" % more if more else ""), "bold")]
    where = check.location or {}
    if where.get("file"):
        lines.append(("  where to look: %s, line %s" % (where["file"], where.get("line", "?")), ""))
    if check.counterexample:
        lines.append(("  smallest failing example: " + ", ".join(
            "%s=%s" % (k, v) for k, v in check.counterexample.items()), ""))
    for component in check.components:
        if component.status != "pass" and component.counterexample and component.counterexample != check.counterexample:
            lines.append(("  %s fails first for: %s" % (component.name, ", ".join(
                "%s=%s" % (k, v) for k, v in component.counterexample.items())), "dim"))
    lines += [(line, "") for line in evidence_lines(check.evidence)]
    if check.replay:
        lines.append(("  replay it with the grader (the grading seed is its --seed):", "dim"))
        lines.append(("    " + check.replay, ""))
    if check.repro:
        lines.append(("  a standalone script reproduces it: \"repro\" in --format json, or the HTML page", "dim"))
    return lines


def _print_details(report: GradeReport, console: Console) -> None:
    """Each failure (one per group of identical ones) in detail, below the table."""
    shown = [(group[0], len(group) - 1) for question in report.questions for group in grouped(question.checks)
             if group[0].status in ("fail", "error") and (group[0].replay or group[0].evidence)]
    if not shown:
        return
    console.print()
    _plain(console, "Failures in detail", "bold")
    for check, more in shown:
        console.print()
        for line, style in detail_lines(check, more):
            _plain(console, line, style)
    console.print()


def render_terminal(report: GradeReport, console: Console) -> None:
    """The human report: one table with a section per question, then the total."""
    console.print(
        "[bold]backprop-grader %s[/] - %s - %s - grading seed %d - sandbox %s"
        % (escape(report.grader_version), escape(report.assignment), escape(report.submission),
           report.seed, escape(report.sandbox)))
    for notice in report.notices:
        console.print("[yellow]note:[/] " + escape(notice))
    if report.error:
        console.print("[bold red]not graded:[/] " + escape(report.error))
        return
    table = Table(show_lines=False, expand=False, pad_edge=False)
    table.add_column("Check", no_wrap=True)
    table.add_column("Result", no_wrap=True)
    table.add_column("Points", justify="right", no_wrap=True)
    table.add_column("Diagnosis", overflow="fold")
    for question in report.questions:
        table.add_section()
        table.add_row(Text(question.id, style="bold"), "", Text(_points(question.score, question.max_score),
                      style="bold"), Text(question.title, style="bold"))
        for group in grouped(question.checks):
            check = group[0]
            label = check.id[len(question.id):] + (" +%d" % (len(group) - 1) if len(group) > 1 else "")
            diagnosis = _diagnosis(check) if len(group) == 1 else _group_diagnosis(group, question)
            table.add_row(
                Text("  " + label),
                Text(check.status, style=STATUS_STYLE.get(check.status, "")),
                _points(sum(c.score for c in group), sum(c.max_score for c in group)),
                diagnosis,
            )
    console.print(table)
    _print_details(report, console)
    checks = report.checks
    passed = sum(c.status == "pass" for c in checks)
    style = "green" if report.all_passed else "red"
    for penalty in report.penalties:
        console.print("[yellow]penalty -%s:[/] %s" % (format_points(penalty.points), escape(penalty.reason)))
    if report.penalties:
        console.print("raw score %s / %s" % (format_points(report.score), format_points(report.max_score)))
    console.print(
        "[bold %s]Score %s / %s (%.1f%%)[/] - %d of %d checks passed - %d examples - %.1f s"
        % (style, format_points(report.final_score), format_points(report.max_score), report.percent(), passed,
           len(checks), sum(c.examples for c in checks), report.duration_s))
    pending = pending_text(report)
    if pending:
        console.print("[bold cyan]%s[/]; the percentage is of the %s points graded so far" % (
            escape(pending), format_points(report.max_score - report.pending_review)))
    if report.not_run and report.not_run.get("checks"):
        console.print("[bold yellow]Not run here: %d hidden checks worth %s more points[/] (of %s in all); the final"
                      " grade includes them" % (report.not_run["checks"], format_points(report.not_run["points"]),
                                                format_points(report.max_score + report.not_run["points"])))


def render(reports: list[GradeReport]) -> str:
    """The tables as plain text (no colour, 120 columns), e.g. for a file."""
    buffer = io.StringIO()
    console = Console(file=buffer, no_color=True, width=120, highlight=False)
    for report in reports:
        render_terminal(report, console)
    return buffer.getvalue()

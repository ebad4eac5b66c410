"""The terminal table (rich): a section per question, a row per check, then the total.

Colour appears only on a terminal, and never when NO_COLOR is set (rich honours both).
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

from ...model.results import CheckResult, GradeReport, format_points
from .text import answer_lines, pending_text

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
    if check.replay:
        text.append("\nreplay: ", style="dim")
        text.append(check.replay)
    if check.output.strip():
        shown = check.output.strip()
        text.append("\nprinted: ", style="dim")
        text.append(shown[:300] + (" ..." if len(shown) > 300 else ""))
    return text


def render_terminal(report: GradeReport, console: Console) -> None:
    """The human report: one table with a section per question, then the total."""
    console.print(
        "[bold]backprop-grader %s[/] - %s - %s - seed %d - sandbox %s"
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
        for check in question.checks:
            table.add_row(
                Text("  " + check.id[len(question.id):]),
                Text(check.status, style=STATUS_STYLE.get(check.status, "")),
                _points(check.score, check.max_score),
                _diagnosis(check),
            )
    console.print(table)
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

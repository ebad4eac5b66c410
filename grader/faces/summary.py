"""The class summary: one screen for a batch instead of every student's table.

`class_summary(reports)` computes it (plain data, tested without a terminal); `render_summary`
prints it with rich: how many were graded, taken from the results file or could not be graded,
the score distribution, how many students failed each check, and the most common diagnoses
with how many students have each.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..model.results import GradeReport

if TYPE_CHECKING:
    from rich.console import Console

BINS = 10
"""The score distribution's bars: 0-10%, 10-20%, ..., 90-100% (100% in the last)."""
TOP_CHECKS = 12
TOP_DIAGNOSES = 8


@dataclass
class ClassSummary:
    """Counts over the graded reports of a batch (a report with `error` counts only in `errors`)."""

    total: int
    graded: int
    cached: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    percents: list[float] = field(default_factory=list)
    bins: list[int] = field(default_factory=lambda: [0] * BINS)
    check_failures: list[tuple[str, int, str]] = field(default_factory=list)
    """(check id, students who failed it, its most common code), most failed first."""
    diagnoses: list[tuple[str, str, int]] = field(default_factory=list)
    """(code, the diagnosis in general words, students who have it), most common first."""
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def median(self) -> float | None:
        return statistics.median(self.percents) if self.percents else None

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.percents) if self.percents else None


_NUMBER = re.compile(r"(?<![A-Za-z_\d])-?\d+(\.\d+)?(e-?\d+)?")


def general_diagnosis(message: str) -> str:
    """A failed check's message without what is particular to one student: the example it failed
    for, the line it was found at, numbers ("#"). Two students with the same mistake match."""
    text = message.split("; it already fails for")[0].split("; it failed for")[0]
    text = re.sub(r"\(at [^)]*\)", "", text)
    text = _NUMBER.sub("#", text)
    return " ".join(text.split())[:160]


def class_summary(reports: list[GradeReport], total: int | None = None, cached: int = 0,
                  interrupted: bool = False, seconds: float = 0.0) -> ClassSummary:
    graded = [r for r in reports if r.error is None]
    summary = ClassSummary(total=len(reports) if total is None else total, graded=len(graded), cached=cached,
                           interrupted=interrupted, seconds=seconds)
    summary.errors = [(r.submission, r.error or "") for r in reports if r.error is not None]
    summary.percents = [r.percent() for r in graded]
    for percent in summary.percents:
        summary.bins[min(BINS - 1, max(0, int(percent // (100 / BINS))))] += 1
    failed: Counter[str] = Counter()
    codes: dict[str, Counter[str]] = {}
    diagnoses: Counter[tuple[str, str]] = Counter()
    for report in graded:
        seen: set[tuple[str, str]] = set()
        for check in report.checks:
            if check.status in ("pass", "review") or check.max_score <= 0:
                continue
            failed[check.id] += 1
            codes.setdefault(check.id, Counter())[check.code or check.status] += 1
            seen.add((check.code or check.status, general_diagnosis(check.message)))
        diagnoses.update(seen)  # a student counts once per diagnosis, however many checks show it
    summary.check_failures = [(check, count, codes[check].most_common(1)[0][0])
                              for check, count in sorted(failed.items(), key=lambda item: (-item[1], item[0]))]
    summary.diagnoses = [(code, text, count)
                         for (code, text), count in sorted(diagnoses.items(), key=lambda item: (-item[1], item[0]))]
    return summary


def render_summary(summary: ClassSummary, console: Console) -> None:
    """One screen: counts, score distribution, failures per check, the most common diagnoses."""
    from rich.markup import escape
    from rich.table import Table

    done = summary.graded + len(summary.errors)
    head = "Class summary: %d submission%s" % (summary.total, "" if summary.total == 1 else "s")
    parts = ["%d graded" % (summary.graded - summary.cached)]
    if summary.cached:
        parts.append("%d cached (unchanged since the results file's run)" % summary.cached)
    if summary.errors:
        parts.append("%d could not be graded" % len(summary.errors))
    if summary.interrupted:
        parts.append("interrupted: %d not graded" % (summary.total - done))
    console.print("[bold]%s[/bold] - %s%s" % (head, ", ".join(parts),
                                             " - %.1f s" % summary.seconds if summary.seconds else ""))
    if summary.percents:
        console.print("score: median %.1f%%, mean %.1f%%, min %.1f%%, max %.1f%%" % (
            summary.median or 0.0, summary.mean or 0.0, min(summary.percents), max(summary.percents)))
        widest = max(summary.bins) or 1
        for index, count in enumerate(summary.bins):
            low = index * 100 // BINS
            label = "%3d-%d%%" % (low, low + 100 // BINS)
            console.print("  %-8s %-40s %d" % (label, "#" * round(40 * count / widest), count), highlight=False)
    if summary.check_failures:
        table = Table(title="Checks failed (students)", title_justify="left", show_edge=False)
        table.add_column("Check")
        table.add_column("Students", justify="right")
        table.add_column("Most common")
        for check, count, code in summary.check_failures[:TOP_CHECKS]:
            table.add_row(escape(check), str(count), escape(code))
        console.print(table)
        if len(summary.check_failures) > TOP_CHECKS:
            console.print("  ... and %d more checks failed by someone" % (len(summary.check_failures) - TOP_CHECKS))
    if summary.diagnoses:
        table = Table(title="Most common diagnoses", title_justify="left", show_edge=False)
        table.add_column("Students", justify="right")
        table.add_column("Code")
        table.add_column("Diagnosis", overflow="fold")
        for code, text, count in summary.diagnoses[:TOP_DIAGNOSES]:
            table.add_row(str(count), escape(code), escape(text))
        console.print(table)
    for submission, error in summary.errors[:5]:
        console.print("could not grade %s: %s" % (escape(Path(submission).name or submission), escape(error)),
                      highlight=False)
    if len(summary.errors) > 5:
        console.print("... and %d more that could not be graded" % (len(summary.errors) - 5))
    console.print("full per-student tables: add --details", style="dim")

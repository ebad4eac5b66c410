"""CSV: one row per submission (a class's grades).

The header is stable: `HEADER_START`, one `<policy>_penalty` column per course policy
(`format`, `late`, then any other alphabetically), `HEADER_END`, then one column per question
id in the rubric's order. `student_id` and `student_name` come from `--roster` (empty without
one, or for a folder the roster does not name).
"""

from __future__ import annotations

import csv
import io

from ...model.results import GradeReport, format_points
from . import RenderOptions

CSV_POLICIES = ("format", "late")
HEADER_START = ("submission", "student_id", "student_name", "final_score", "score", "max_score", "percent",
                "pending_review")
HEADER_END = ("penalties", "checks_passed", "checks", "not_run_checks", "not_run_points", "sandbox", "seed",
              "duration_s", "error")


def render(reports: list[GradeReport], options: RenderOptions | None = None) -> str:
    """One row per submission: the roster's id and name, totals (percent of the points graded;
    `pending_review` the points a person must still decide), each policy's penalty in its own
    column, the checks not run (--public), and each question's points."""
    roster = options.roster if options else None
    question_ids: list[str] = []
    for report in reports:
        for q in report.questions:
            if q.id not in question_ids:
                question_ids.append(q.id)
    policies = list(CSV_POLICIES) + sorted({p.policy for r in reports for p in r.penalties} - set(CSV_POLICIES))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(HEADER_START) + ["%s_penalty" % name for name in policies] + list(HEADER_END) + question_ids)
    for report in reports:
        by_id = {q.id: q for q in report.questions}
        points = {name: sum(p.points for p in report.penalties if p.policy == name) for name in policies}
        not_run = report.not_run or {}
        student = roster.find(report.submission) if roster else None
        writer.writerow(
            [_csv_cell(report.submission), _csv_cell(student.student_id if student else ""),
             _csv_cell(student.name if student else ""), format_points(report.final_score),
             format_points(report.score), format_points(report.max_score), "%.1f" % report.percent(),
             format_points(report.pending_review)]
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

"""Brightspace (D2L): a grades import file (Grades > Enter Grades > Import).

Columns `OrgDefinedId`, `Username` (when the roster has logins), `<item> Points Grade` (the
grade item named by `--gradebook-item`, default the rubric's title; it must match the item's
name in Brightspace) and `End-of-Line Indicator`, whose cells hold `#`. Ids and usernames
start with `#`, as Brightspace's own export writes them, so that a spreadsheet keeps leading
zeros; Brightspace drops the mark on import. The roster gives `student_id` (OrgDefinedId)
and/or `login` (Username). Grades are final scores in points; see `gradebook` for the rows
left out.
"""

from __future__ import annotations

import csv
import io

from ...errors import UsageError
from ...model.results import GradeReport, format_points
from . import RenderOptions
from .gradebook import item_name, rows


def _marked(value: str) -> str:
    return "#" + value if value else ""


def render(reports: list[GradeReport], options: RenderOptions) -> str:
    roster = options.roster
    if roster is None:
        raise UsageError("--format brightspace needs --roster FILE (which student handed in which folder)")
    with_login = "login" in roster.has
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["OrgDefinedId"] + (["Username"] if with_login else [])
                    + ["%s Points Grade" % item_name(reports, options), "End-of-Line Indicator"])
    for student, report in rows(reports, roster):
        if not (student.student_id or student.login):
            continue
        writer.writerow([_marked(student.student_id)] + ([_marked(student.login)] if with_login else [])
                        + [format_points(report.final_score), "#"])
    return buffer.getvalue()

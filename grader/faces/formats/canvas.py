"""Canvas: a gradebook import file (Grades > Import in a Canvas course).

Columns `Student, ID, SIS User ID, SIS Login ID, Section`, then the assignment column named by
`--gradebook-item` (default: the rubric's title; write "Name (12345)" with the assignment's
Canvas id to fill an existing assignment whatever its name). The second row is Canvas's own
"    Points Possible" row (four leading spaces, as Canvas exports it) with the rubric's maximum:
Canvas sets the assignment's points possible to it. Canvas finds each student by ID, SIS User
ID, SIS Login ID or name, so the roster gives `canvas_id`, `student_id`, `login` or `name`
(at least one). Grades are final scores in points; see `gradebook` for the rows left out.
"""

from __future__ import annotations

import csv
import io

from ...errors import UsageError
from ...model.results import GradeReport, format_points
from . import RenderOptions
from .gradebook import item_name, points_possible, rows

IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


def render(reports: list[GradeReport], options: RenderOptions) -> str:
    if options.roster is None:
        raise UsageError("--format canvas needs --roster FILE (which student handed in which folder)")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*IDENTITY, item_name(reports, options)])
    writer.writerow(["    Points Possible", "", "", "", "", format_points(points_possible(reports))])
    for student, report in rows(reports, options.roster):
        writer.writerow([student.name, student.canvas_id, student.student_id, student.login, student.section,
                         format_points(report.final_score)])
    return buffer.getvalue()

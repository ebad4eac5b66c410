"""What the LMS import formats (canvas, brightspace) share: which rows go in, and the warnings
an instructor needs before importing.

A row is written for each graded submission whose folder the roster names; the grade is the
final score (after penalties) in points. A submission that could not be graded, or that the
roster does not name, gets no row (an empty cell could erase a grade already entered), and
`warnings` says so, as it does for students with no submission.
"""

from __future__ import annotations

from ...model.results import GradeReport
from ..roster import Roster, Student, folder_name
from . import RenderOptions


def item_name(reports: list[GradeReport], options: RenderOptions) -> str:
    """The gradebook item (assignment column) the grades go to."""
    return options.item or next((r.assignment for r in reports if r.assignment), "grade")


def points_possible(reports: list[GradeReport]) -> float:
    """The most points a graded submission could earn (the rubric's maximum)."""
    return max((r.max_score for r in reports if r.error is None), default=0.0)


def rows(reports: list[GradeReport], roster: Roster) -> list[tuple[Student, GradeReport]]:
    """(student, report) for every graded submission the roster names, in the reports' order."""
    found = []
    for report in reports:
        student = roster.find(report.submission)
        if student is not None and report.error is None:
            found.append((student, report))
    return found


def warnings(reports: list[GradeReport], roster: Roster, lms: bool = True) -> list[str]:
    """What an instructor must know about the roster: folders it does not name, submissions
    not graded (`lms`: they get no row in an import file), students without a submission."""
    out = []
    unknown, absent = roster.unmatched([r.submission for r in reports])
    suffix = " (no grade row)" if lms else ""
    if unknown:
        out.append("roster: %d submission folder%s not in %s%s: %s" % (
            len(unknown), "" if len(unknown) == 1 else "s", roster.source, suffix,
            ", ".join(folder_name(s) for s in unknown[:10]) + (", ..." if len(unknown) > 10 else "")))
    errors = [r for r in reports if r.error is not None and roster.find(r.submission) is not None]
    if errors and lms:
        out.append("roster: %d submission%s could not be graded%s: %s" % (
            len(errors), "" if len(errors) == 1 else "s", suffix,
            ", ".join(folder_name(r.submission) for r in errors[:10])))
    if absent:
        out.append("roster: %d student%s without a submission folder%s: %s" % (
            len(absent), "" if len(absent) == 1 else "s", suffix,
            ", ".join(s.name or s.student_id or s.login or s.folder for s in absent[:10])
            + (", ..." if len(absent) > 10 else "")))
    return out

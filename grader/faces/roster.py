"""A class roster: which student handed in which submission folder (`--roster FILE`).

The roster is a CSV file (UTF-8, a byte-order mark is fine) with a header row. Column names are
matched without regard to case, spaces, hyphens or underscores; each column has a few names
(the first is the documented one), so that an LMS export can serve as a roster:

- `folder` (also: submission, directory): the submission folder's name (its last part);
- `student_id` (sis_user_id, orgdefinedid, student_number): the institution's id (Canvas's
  "SIS User ID", Brightspace's "OrgDefinedId");
- `name` (student, student_name, full_name): the student's name ("Last, First" for Canvas);
- `login` (sis_login_id, username, netid): the login (Canvas's "SIS Login ID", Brightspace's
  "Username");
- `canvas_id` (id): Canvas's own user id (the "ID" column of its gradebook export);
- `section`: the section (Canvas's "Section"); `email`: an e-mail address.

A submission folder is matched by its name against `folder`; a roster without a `folder`
column is matched on `login`, else on `student_id` (folders named by login, as GitHub
Classroom and most LMS downloads do). Exact match first, then ignoring case. Rows that are
empty, or Canvas's "Points Possible" row, are skipped. Two rows that claim the same folder are
an error.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path, PurePath

from ..errors import UsageError

ALIASES: dict[str, tuple[str, ...]] = {
    "folder": ("folder", "submission", "directory", "submission_folder"),
    "student_id": ("student_id", "sis_user_id", "orgdefinedid", "org_defined_id", "student_number"),
    "name": ("name", "student", "student_name", "full_name"),
    "login": ("login", "sis_login_id", "username", "user_name", "netid"),
    "canvas_id": ("canvas_id", "id"),
    "section": ("section",),
    "email": ("email", "e_mail"),
}
MAX_ROSTER_BYTES = 20 << 20


@dataclass(frozen=True)
class Student:
    """One roster row. Empty strings for what the roster does not give."""

    folder: str = ""
    student_id: str = ""
    name: str = ""
    login: str = ""
    canvas_id: str = ""
    section: str = ""
    email: str = ""


def folder_name(submission: str) -> str:
    """The folder name a report's `submission` (a path as given) is matched by."""
    return PurePath(submission).name or submission


def _key(header: str) -> str:
    return header.strip().lstrip("\ufeff").lower().replace(" ", "_").replace("-", "_")


class Roster:
    """Students keyed by the folder they handed in (see the module docstring)."""

    def __init__(self, students: Iterable[Student], key: str = "folder", source: str = "the roster") -> None:
        self.students = list(students)
        self.key = key
        self.source = source
        self._exact: dict[str, Student] = {}
        self._folded: dict[str, list[Student]] = {}
        for student in self.students:
            value = getattr(student, key)
            if not value:
                continue
            if value in self._exact:
                raise UsageError("%s: two rows have %s %r" % (source, key, value))
            self._exact[value] = student
            self._folded.setdefault(value.casefold(), []).append(student)

    def find(self, submission: str) -> Student | None:
        """The student whose folder is the last part of `submission`, or None."""
        name = folder_name(submission)
        if name in self._exact:
            return self._exact[name]
        folded = self._folded.get(name.casefold(), [])
        return folded[0] if len(folded) == 1 else None

    def unmatched(self, submissions: list[str]) -> tuple[list[str], list[Student]]:
        """(submissions no student has, students with no submission), in order."""
        found = {submission: self.find(submission) for submission in submissions}
        matched = {id(student) for student in found.values() if student is not None}
        return ([s for s, student in found.items() if student is None],
                [student for student in self.students if id(student) not in matched])

    @property
    def has(self) -> set[str]:
        """The columns some row fills."""
        return {f.name for f in fields(Student) if any(getattr(s, f.name) for s in self.students)}


def parse_roster(text: str, source: str = "the roster") -> Roster:
    """A Roster from CSV `text`; UsageError naming what is wrong."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        raise UsageError("%s is empty; it needs a header row (folder, student_id, name, ...)" % source)
    columns: dict[str, int] = {}
    for index, header in enumerate(rows[0]):
        normal = _key(header)
        for field_name, names in ALIASES.items():
            if normal in names and field_name not in columns:
                columns[field_name] = index
    key = next((k for k in ("folder", "login", "student_id") if k in columns), None)
    if key is None:
        raise UsageError("%s has none of the columns folder, login or student_id (its header: %s)"
                         % (source, ", ".join(rows[0])))
    students = []
    for row in rows[1:]:
        cells = {name: row[index].strip() if index < len(row) else "" for name, index in columns.items()}
        if not any(cells.values()) or cells.get("name", "").strip().lower() == "points possible":
            continue
        students.append(Student(**cells))
    return Roster(students, key, source)


def load_roster(path: str | Path) -> Roster:
    """The roster in the CSV file `path` (see the module docstring); UsageError when unreadable."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise UsageError("--roster %s cannot be read (%s)" % (path, exc.strerror or exc)) from None
    if len(data) > MAX_ROSTER_BYTES:
        raise UsageError("--roster %s is larger than %d MB" % (path, MAX_ROSTER_BYTES >> 20))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError("--roster %s is not UTF-8 text (save it as CSV UTF-8)" % path) from None
    try:
        return parse_roster(text, "--roster %s" % path)
    except csv.Error as exc:
        raise UsageError("--roster %s is not a valid CSV file (%s)" % (path, exc)) from None

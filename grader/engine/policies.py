"""Course policies from the rubric's [policies] table: format and lateness penalties.

[policies.format]: `penalty` is a fraction of the maximum score, deducted once when a
`required` file is missing or a file matches a `forbidden` glob (e.g. the course's own test
scripts). A required entry may list alternatives, "theory.py|theory.*": any file matching one
of them will do; a file the grader grades (e.g. a written sheet theory.ipynb) is never forbidden.
`notebooks` says what a notebook named like a required file (`mlp.ipynb` for
`mlp.py`) does: "accept" (the default: it is graded as that file and is no format problem),
"penalize" (graded, but it draws the format penalty) or "reject" (not graded; the globs decide).
[policies.late]: `windows` lists {hours, penalty} in increasing hours after the due date, each
penalty a fraction of the earned score; past the last window the submission is not accepted
(`after_last = "reject"`, the whole score) unless `after_last` is a fraction. Submission time
and due date come from Gradescope's submission_metadata.json or the command line; without them
no late penalty applies.
"""

from __future__ import annotations

import fnmatch
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from ..errors import PolicyError
from ..model.results import Penalty


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with its offset (Gradescope writes e.g. 2021-02-19T23:00:00.000000-05:00)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise PolicyError("%r is not an ISO 8601 date and time" % text) from None
    if moment.tzinfo is None:
        raise PolicyError("%r has no UTC offset; write e.g. 2021-02-19T23:00:00-05:00" % text)
    return moment


def read_gradescope_metadata(path: str | Path) -> tuple[datetime, datetime | None]:
    """(submission time, due date) from a Gradescope submission_metadata.json."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        created = data["created_at"]
        due = (data.get("assignment") or {}).get("due_date")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PolicyError("cannot read submission metadata %s (%s)" % (path, exc)) from None
    return parse_time(created), parse_time(due) if due else None


def submission_files(root: Path) -> list[str]:
    """Every file under `root` (the folder handed in, not the snapshot, which leaves some out)
    as a relative POSIX path: hidden files, caches (`__pycache__`, `node_modules`), files too
    large to grade and symlinks (whatever they point to) included; bounded like the snapshot's
    walk (depth and entries), without recursion."""
    from ..sandbox.snapshot import walk_files

    files, _ = walk_files(root)
    return sorted(path.relative_to(root).as_posix() for path in files)


NOTEBOOK_CHOICES = ("accept", "penalize", "reject")


@dataclass(frozen=True)
class FormatPolicy:
    """Deduct `penalty` (a fraction of the maximum) once when a `required` file is missing or a
    file matches a `forbidden` glob."""

    penalty: float = 0.0
    required: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    notebooks: str = "accept"


@dataclass(frozen=True)
class LateWindow:
    hours: float
    penalty: float


@dataclass(frozen=True)
class LatePolicy:
    """`windows` in increasing hours after the due date, each penalty a fraction of the earned
    score; past the last, `after_last`: "reject" (the whole score) or a fraction."""

    windows: tuple[LateWindow, ...] = ()
    after_last: float | Literal["reject"] = "reject"


@dataclass(frozen=True)
class Policies:
    format: FormatPolicy | None = None
    late: LatePolicy | None = None
    names: tuple[str, ...] = field(default=())


def _fraction(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise PolicyError("%s must be a fraction between 0 and 1, not %r" % (where, value))
    return float(value)


def _names(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise PolicyError("%s must be a list of file names or globs, not %r" % (where, value))
    return tuple(value)


def _table(value: Any, name: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PolicyError("%s must be a table" % name)
    unknown = set(value) - keys
    if unknown:
        raise PolicyError("%s has unknown keys %s" % (name, ", ".join(sorted(unknown))))
    return value


def _late(late: dict[str, Any]) -> LatePolicy:
    windows = late.get("windows", [])
    if not isinstance(windows, list):
        raise PolicyError("[policies.late] windows must be a list of {hours, penalty}")
    parsed = []
    for number, window in enumerate(windows, start=1):
        where = "[policies.late] window %d" % number
        if not isinstance(window, dict) or set(window) != {"hours", "penalty"}:
            raise PolicyError("%s must be {hours = H, penalty = P}, not %r" % (where, window))
        hours = window["hours"]
        if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not hours > 0:
            raise PolicyError("%s: hours must be a positive number, not %r" % (where, hours))
        parsed.append(LateWindow(float(hours), _fraction(window["penalty"], "%s: penalty" % where)))
    after = late.get("after_last", "reject")
    after_last: float | Literal["reject"] = "reject" if after == "reject" else _fraction(
        after, '[policies.late] after_last (a fraction or "reject")')
    return LatePolicy(tuple(sorted(parsed, key=lambda w: w.hours)), after_last)


def parse_policies(policies: Any) -> Policies:
    """The rubric's [policies] table, validated once; PolicyError names the wrong setting."""
    table = _table(policies, "[policies]", {"format", "late"})
    fmt = late = None
    if "format" in table:
        f = _table(table["format"], "[policies.format]", {"penalty", "required", "forbidden", "notebooks"})
        notebooks = f.get("notebooks", "accept")
        if notebooks not in NOTEBOOK_CHOICES:
            raise PolicyError("[policies.format] notebooks must be one of %s, not %r"
                              % (", ".join(NOTEBOOK_CHOICES), notebooks))
        fmt = FormatPolicy(_fraction(f.get("penalty", 0.0), "[policies.format] penalty"),
                           _names(f.get("required", []), "[policies.format] required"),
                           _names(f.get("forbidden", []), "[policies.format] forbidden"), notebooks)
    if "late" in table:
        late = _late(_table(table["late"], "[policies.late]", {"windows", "after_last"}))
    return Policies(fmt, late, tuple(table))


def _forbidden(path: str, pattern: str) -> bool:
    """A file matches a forbidden glob by its path in the submission or by its own name."""
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern)


def _handed_in(required: str, files: list[str]) -> bool:
    """Whether a file of the submission satisfies a required entry ("a.py" or "a.py|a.*")."""
    return any(fnmatch.fnmatchcase(name, choice) for choice in required.split("|") for name in files)


def format_penalty(policy: FormatPolicy | None, files: list[str], max_score: float,
                   graded: tuple[str, ...] = ()) -> Penalty | None:
    """One deduction (a fraction of the maximum) when a required file is missing or a forbidden
    file was submitted; None when the submission follows the format or there is no policy.
    `graded`: files the grader grades, never forbidden. A notebook standing in for a required
    file (`mlp.ipynb` for `mlp.py`) counts as that file unless the policy rejects notebooks; it
    is never a forbidden file then, and "penalize" charges it once."""
    if policy is None:
        return None
    stand_ins = {} if policy.notebooks == "reject" else {
        choice[:-3] + ".ipynb": choice for name in policy.required for choice in name.split("|")
        if choice.endswith(".py")}
    present = list(files) + [stand_ins[name] for name in files if name in stand_ins]
    problems = ["%s is missing" % name.replace("|", " or ") for name in policy.required
                if not _handed_in(name, present)]
    for name in files:
        if name in stand_ins and policy.notebooks == "penalize":
            problems.append("%s is a notebook, not %s (notebooks are graded but draw the format penalty)"
                            % (name, stand_ins[name]))
        elif name not in stand_ins and name not in graded and any(_forbidden(name, pattern)
                                                                    for pattern in policy.forbidden):
            problems.append("%s should not be submitted" % name)
    if not problems:
        return None
    return Penalty("format", policy.penalty * max_score, "format: %s (-%g%% of the maximum)" % (
        "; ".join(problems), 100 * policy.penalty))


def _how_long(hours: float) -> str:
    if hours < 1.0:
        minutes = max(1, math.ceil(hours * 60.0 - 1e-9))
        return "%d minute%s" % (minutes, "" if minutes == 1 else "s")
    return "%.1f hours" % hours


def late_penalty(policy: LatePolicy | None, submitted: datetime | None, due: datetime | None,
                 score: float) -> Penalty | None:
    """The deduction for a submission after the due date: the first window (in hours after the
    due date, inclusive) that holds it sets the fraction of the score; past the last window the
    submission is not accepted ("reject": the whole score) or loses `after_last`. None when on
    time (at the due date exactly included), without dates, or without a policy."""
    if policy is None or submitted is None or due is None:
        return None
    if submitted <= due:
        return None
    hours = (submitted - due).total_seconds() / 3600.0
    late = "submitted %s after the due date" % _how_long(hours)
    for window in policy.windows:
        if hours <= window.hours:
            return Penalty("late", window.penalty * score, "late: %s (-%g%% of the score, within %g hours)" % (
                late, 100 * window.penalty, window.hours))
    if policy.after_last == "reject":
        return Penalty("late", score, "late: %s, past the last late window: not accepted (score 0)" % late)
    return Penalty("late", policy.after_last * score, "late: %s, past the last late window (-%g%% of the score)" % (
        late, 100 * policy.after_last))

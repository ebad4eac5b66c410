"""Course policies from the rubric's [policies] table: format and lateness penalties.

[policies.format]: `penalty` is a fraction of the maximum score, deducted once when a
`required` file is missing or a file matches a `forbidden` glob (e.g. the course's own test
scripts). [policies.late]: `windows` lists {hours, penalty} in increasing hours after the due
date, each penalty a fraction of the earned score; past the last window the submission is
not accepted (`after_last = "reject"`, the whole score) unless `after_last` is a fraction.
Submission time and due date come from Gradescope's submission_metadata.json or the command
line; without them no late penalty applies.
"""

from __future__ import annotations

import fnmatch
import json
import math
from datetime import datetime
from pathlib import Path

from .results import Penalty


class PolicyError(Exception):
    """A policy in the rubric, or a date given for it, is invalid."""


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
    """Every file in the submission snapshot, as a relative POSIX path."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _fraction(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise PolicyError("%s must be a fraction between 0 and 1, not %r" % (where, value))
    return float(value)


def _names(value, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise PolicyError("%s must be a list of file names or globs, not %r" % (where, value))
    return value


def validate_policies(policies: dict) -> None:
    """Raise PolicyError, naming the setting, when the rubric's [policies] table is invalid."""
    if not isinstance(policies, dict):
        raise PolicyError("[policies] must be a table")
    unknown = set(policies) - {"format", "late"}
    if unknown:
        raise PolicyError("[policies] has unknown policies %s (known: format, late)" % ", ".join(sorted(unknown)))
    fmt = policies.get("format", {})
    if not isinstance(fmt, dict):
        raise PolicyError("[policies.format] must be a table")
    unknown = set(fmt) - {"penalty", "required", "forbidden"}
    if unknown:
        raise PolicyError("[policies.format] has unknown keys %s" % ", ".join(sorted(unknown)))
    _fraction(fmt.get("penalty", 0.0), "[policies.format] penalty")
    _names(fmt.get("required", []), "[policies.format] required")
    _names(fmt.get("forbidden", []), "[policies.format] forbidden")
    late = policies.get("late", {})
    if not isinstance(late, dict):
        raise PolicyError("[policies.late] must be a table")
    unknown = set(late) - {"windows", "after_last"}
    if unknown:
        raise PolicyError("[policies.late] has unknown keys %s" % ", ".join(sorted(unknown)))
    windows = late.get("windows", [])
    if not isinstance(windows, list):
        raise PolicyError("[policies.late] windows must be a list of {hours, penalty}")
    for number, window in enumerate(windows, start=1):
        where = "[policies.late] window %d" % number
        if not isinstance(window, dict) or set(window) != {"hours", "penalty"}:
            raise PolicyError("%s must be {hours = H, penalty = P}, not %r" % (where, window))
        hours = window["hours"]
        if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not hours > 0:
            raise PolicyError("%s: hours must be a positive number, not %r" % (where, hours))
        _fraction(window["penalty"], "%s: penalty" % where)
    after = late.get("after_last", "reject")
    if after != "reject":
        _fraction(after, '[policies.late] after_last (a fraction or "reject")')


def _forbidden(path: str, pattern: str) -> bool:
    """A file matches a forbidden glob by its path in the submission or by its own name."""
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern)


def format_penalty(policy: dict, files: list[str], max_score: float) -> Penalty | None:
    """One deduction (a fraction of the maximum) when a required file is missing or a forbidden
    file was submitted; None when the submission follows the format or there is no policy."""
    if not policy:
        return None
    validate_policies({"format": policy})
    problems = ["%s is missing" % name for name in policy.get("required", []) if name not in files]
    for name in files:
        if any(_forbidden(name, pattern) for pattern in policy.get("forbidden", [])):
            problems.append("%s should not be submitted" % name)
    if not problems:
        return None
    fraction = float(policy.get("penalty", 0.0))
    return Penalty("format", fraction * max_score, "format: %s (-%g%% of the maximum)" % (
        "; ".join(problems), 100 * fraction))


def _how_long(hours: float) -> str:
    if hours < 1.0:
        minutes = max(1, math.ceil(hours * 60.0 - 1e-9))
        return "%d minute%s" % (minutes, "" if minutes == 1 else "s")
    return "%.1f hours" % hours


def late_penalty(policy: dict, submitted: datetime | None, due: datetime | None, score: float) -> Penalty | None:
    """The deduction for a submission after the due date: the first window (in hours after the
    due date, inclusive) that holds it sets the fraction of the score; past the last window the
    submission is not accepted ("reject": the whole score) or loses `after_last`. None when on
    time (at the due date exactly included), without dates, or without a policy."""
    if not policy or submitted is None or due is None:
        return None
    validate_policies({"late": policy})
    if submitted <= due:
        return None
    hours = (submitted - due).total_seconds() / 3600.0
    late = "submitted %s after the due date" % _how_long(hours)
    for window in sorted(policy.get("windows", []), key=lambda w: float(w["hours"])):
        if hours <= float(window["hours"]):
            fraction = float(window["penalty"])
            return Penalty("late", fraction * score, "late: %s (-%g%% of the score, within %g hours)" % (
                late, 100 * fraction, float(window["hours"])))
    after = policy.get("after_last", "reject")
    if after == "reject":
        return Penalty("late", score, "late: %s, past the last late window: not accepted (score 0)" % late)
    return Penalty("late", float(after) * score, "late: %s, past the last late window (-%g%% of the score)" % (
        late, 100 * float(after)))

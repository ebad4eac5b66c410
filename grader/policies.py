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


def format_penalty(policy: dict, files: list[str], max_score: float) -> Penalty | None:
    if not policy:
        return None
    problems = ["%s is missing" % name for name in policy.get("required", []) if name not in files]
    for pattern in policy.get("forbidden", []):
        problems += ["%s should not be submitted" % f for f in files if fnmatch.fnmatch(f, pattern)]
    if not problems:
        return None
    fraction = float(policy.get("penalty", 0.0))
    return Penalty("format", fraction * max_score, "format: %s (-%g%% of the maximum)" % (
        "; ".join(problems), 100 * fraction))


def late_penalty(policy: dict, submitted: datetime | None, due: datetime | None, score: float) -> Penalty | None:
    if not policy or submitted is None or due is None or submitted <= due:
        return None
    hours = (submitted - due).total_seconds() / 3600.0
    late = "submitted %.1f hours after the due date" % hours
    for window in sorted(policy.get("windows", []), key=lambda w: float(w["hours"])):
        if hours <= float(window["hours"]):
            fraction = float(window["penalty"])
            return Penalty("late", fraction * score, "late: %s (-%g%% of the score, within %g hours)" % (
                late, 100 * fraction, float(window["hours"])))
    after = policy.get("after_last", "reject")
    if after == "reject":
        return Penalty("late", score, "late: %s, past the last late window: not accepted" % late)
    return Penalty("late", float(after) * score, "late: %s (-%g%% of the score)" % (late, 100 * float(after)))

"""Plain-text pieces every report format shares."""

from __future__ import annotations

from ...model.results import CheckResult


def failure_text(check: CheckResult) -> str:
    """A failed check's diagnosis, replay command and (bounded) student output, as plain text."""
    lines = ["[%s] %s" % (check.code, check.full_message)]
    if check.replay:
        lines.append("replay: %s" % check.replay)
    if check.output.strip():
        lines.append("printed by the submission:\n%s" % check.output.strip()[:1000])
    return "\n".join(lines)

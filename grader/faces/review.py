"""`grader review`: a person decides the checks the grader left pending, once per class.

Each submission's document parts are graded (nothing is run), and every check pending review
is shown with what a reviewer needs: the question, the answer as extracted (with its line),
the expected answer in the sheet's notation, the grader's reason and the points at stake.
Decisions (`pass`, `fail` or a number of points, and an optional comment) go to a decisions
file that `grader grade --decisions FILE` applies: interactively on a terminal, or with
`--set 'ID=pass|fail|POINTS'` in scripts. Without either, the pending checks are listed.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..engine.reviews import (DECISIONS_FILE, Decision, apply_decisions, decide, find_decision, load_decisions,
                              pending, record, save_decisions)
from ..errors import UsageError
from ..model.results import CheckResult, GradeReport, format_points
from .formats.text import answer_lines

if TYPE_CHECKING:
    from ..engine.grading import GradeOptions
    from ..engine.rubric import Rubric

PROMPT = "decision for %s: [p]ass, [f]ail, points 0-%s, [s]kip, [q]uit? "


def default_decisions(paths: list[Path], each: Path | None) -> Path:
    """reviews.toml beside the class folder: the parent of --each FOLDER, else of the first
    submission's parent folder."""
    folder = each if each is not None else paths[0].resolve().parent
    return folder.resolve().parent / DECISIONS_FILE


def parse_settings(values: list[str]) -> dict[str, str]:
    """--set 'ID=VALUE' options as {check id: value}; UsageError for a malformed one."""
    chosen = {}
    for item in values:
        check, sep, value = item.rpartition("=")
        if not sep or not check.strip() or not value.strip():
            raise UsageError("--set takes CHECK_ID=pass|fail|POINTS, e.g. --set 'answers.q1_3c[concept_why_relu]=pass'"
                             ", not %r" % item)
        chosen[check.strip()] = value.strip()
    return chosen


def describe(check: CheckResult, decided: Decision | None = None) -> list[str]:
    """What a reviewer needs to decide `check`, as lines of text."""
    question = check.details.get("question") or check.title
    lines = ["%s  (%s points)  %s" % (check.id, format_points(check.max_score), question),
             "  [%s] %s" % (check.code, check.full_message)]
    snippet = check.details.get("snippet")
    shown = answer_lines(check)
    if isinstance(snippet, dict) and snippet.get("text") and not check.details.get("got_latex"):
        text = " ".join(str(snippet["text"]).split())
        lines.append("  answer (line %s): %s" % (snippet.get("line", "?"), text[:4000]))
        shown = [line for line in shown if not line.startswith("answer")]
    if isinstance(snippet, dict) and snippet.get("context") and snippet.get("context") != snippet.get("text"):
        lines.append("  in context: %s" % " ".join(str(snippet["context"]).split())[:500])
    lines += ["  " + line for line in shown if not line.startswith("pending review")]
    if decided is not None:
        lines.append("  already decided: %s, %s points%s" % (decided.status, format_points(decided.points),
                                                             " (%s)" % decided.comment if decided.comment else ""))
    return lines


def review_report(report: GradeReport, decisions: list[Decision], chosen: dict[str, str], comment: str,
                  ask: Callable[[str], str] | None, out: TextIO) -> tuple[list[Decision], bool]:
    """Decisions after reviewing one report: from `chosen` (--set), else by asking (`ask`), else
    none (listing only). Returns the decisions and whether the reviewer asked to quit."""
    checks = pending(report)
    unknown = sorted(set(chosen) - {c.id for c in checks})
    if unknown:
        raise UsageError("%s has no check pending review named %s (pending: %s)" % (
            report.submission, ", ".join(unknown), ", ".join(c.id for c in checks) or "none"))
    print("%s: %d check%s pending review (%s points)" % (report.submission, len(checks), "" if len(checks) == 1
                                                          else "s", format_points(report.pending_review)), file=out)
    for check in checks:
        decided = find_decision(decisions, report, check)
        print("\n".join(describe(check, decided)), file=out)
        if check.id in chosen:
            decision = decide(report, check, chosen[check.id], comment)
        elif ask is not None:
            asked = _ask_decision(report, check, ask)
            if asked == "quit":
                return decisions, True
            if not isinstance(asked, Decision):
                continue
            decision = asked
        else:
            continue
        decisions = record(decisions, decision)
        print("  recorded: %s, %s points" % (decision.status, format_points(decision.points)), file=out)
    return decisions, False


def _ask_decision(report: GradeReport, check: CheckResult, ask: Callable[[str], str]) -> Decision | str:
    """A decision asked on the terminal (asked again until valid), or "skip" / "quit"."""
    prompt = PROMPT % (check.id, format_points(check.max_score))
    while True:
        value = ask(prompt).strip()
        if value.lower() in ("q", "quit"):
            return "quit"
        if value.lower() in ("s", "skip", ""):
            return "skip"
        try:
            decide(report, check, value)
        except UsageError as exc:
            prompt = "%s; %s" % (exc, PROMPT % (check.id, format_points(check.max_score)))
            continue
        return decide(report, check, value, ask("comment (optional): "))


def run_review(reports: list[GradeReport], path: Path, chosen: dict[str, str], comment: str,
               interactive: bool, out: TextIO = sys.stdout, ask: Callable[[str], str] = input) -> int:
    """Review every report, save the decisions to `path` when any were made; exit status 0."""
    decisions = load_decisions(path)
    before = list(decisions)
    for report in reports:
        if report.error:
            print("%s: not graded: %s" % (report.submission, report.error), file=out)
            continue
        decisions, stop = review_report(report, decisions, chosen, comment, ask if interactive else None, out)
        if stop:
            break
    if decisions != before:
        save_decisions(path, decisions)
        print("decisions saved to %s; apply them with: grader grade --decisions %s ..." % (path, path), file=out)
    elif not chosen and not interactive:
        print("record decisions with --set 'CHECK_ID=pass|fail|POINTS' (and --comment TEXT), or run on a terminal",
              file=out)
    return 0


def graded_for_review(path: str, rubric: Rubric, options: GradeOptions) -> GradeReport:
    """Grade the document parts of one submission (nothing is run), alternatives aside, with the
    decisions already made applied nowhere (they are shown beside each check instead)."""
    from ..engine.grading import Grading

    documents = [p.module for p in rubric.assignment.parts if p.kind == "document"]
    if not documents:
        raise UsageError("the assignment %s has no part a person reviews" % rubric.assignment.name)
    alone = dataclasses.replace(rubric, alternatives=())
    return Grading(path, dataclasses.replace(options, only=documents, label=path), alone).run()


__all__ = ["apply_decisions", "default_decisions", "graded_for_review", "parse_settings", "run_review"]

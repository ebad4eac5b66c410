"""Grading results and their JSON form (result schema v1, DESIGN 6).

Scores are points (floats, rounded to 4 decimals in JSON); `duration_s` is wall seconds.
`score` is what the checks earned; course penalties (format, lateness) are listed apart under
`penalties` and give `final_score`, so the raw score is always kept beside the final one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

SCHEMA = 1
EXACT_KEY = "exact"


def format_points(value: float) -> str:
    """Points for people: at most two decimals, no trailing zeros (7.5, 10, 3.33)."""
    return ("%.2f" % value).rstrip("0").rstrip(".")


@dataclass
class CheckResult:
    """One check's verdict. `status` is pass|fail|error; `code` is None exactly when it passed.

    `location` is where in the submission to look ({"file", "line"}), found statically."""

    id: str
    question: str
    title: str
    status: str
    score: float
    max_score: float
    examples: int = 0
    code: str | None = None
    message: str = ""
    counterexample: dict | None = None
    replay: str | None = None
    output: str = ""
    visibility: str = "visible"
    location: dict | None = None
    notes: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    @property
    def full_message(self) -> str:
        return " ".join(part for part in [self.message] + self.notes if part)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "score": round(self.score, 4),
            "max_score": round(self.max_score, 4),
            "examples": self.examples,
            "code": self.code,
            "message": self.full_message,
            "counterexample": self.counterexample,
            "replay": self.replay,
            "output": self.output,
            "visibility": self.visibility,
            "location": self.location,
        }

    @classmethod
    def from_json(cls, data: dict, question: str) -> "CheckResult":
        return cls(
            id=data["id"], question=question, title=data.get("title", ""), status=data["status"],
            score=float(data["score"]), max_score=float(data["max_score"]), examples=int(data.get("examples", 0)),
            code=data.get("code"), message=data.get("message", ""), counterexample=data.get("counterexample"),
            replay=data.get("replay"), output=data.get("output", ""), visibility=data.get("visibility", "visible"),
            location=data.get("location"))


@dataclass
class QuestionResult:
    id: str
    title: str
    checks: list[CheckResult]

    @property
    def score(self) -> float:
        return sum(c.score for c in self.checks)

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.checks)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "score": round(self.score, 4),
            "max_score": round(self.max_score, 4),
            "checks": [c.to_json() for c in self.checks],
        }


@dataclass
class Penalty:
    """A course policy's deduction: `points` (positive, subtracted) and why."""

    policy: str
    points: float
    reason: str

    def to_json(self) -> dict:
        return {"policy": self.policy, "points": round(self.points, 4), "reason": self.reason}


@dataclass
class GradeReport:
    """The whole result for one submission."""

    grader_version: str
    assignment: str
    submission: str
    seed: int
    questions: list[QuestionResult]
    duration_s: float = 0.0
    sandbox: str = "none"
    notices: list[str] = field(default_factory=list)
    penalties: list[Penalty] = field(default_factory=list)
    not_run: dict | None = None
    error: str | None = None

    @property
    def score(self) -> float:
        return sum(q.score for q in self.questions)

    @property
    def max_score(self) -> float:
        return sum(q.max_score for q in self.questions)

    @property
    def final_score(self) -> float:
        return max(0.0, self.score - sum(p.points for p in self.penalties))

    @property
    def checks(self) -> list[CheckResult]:
        return [c for q in self.questions for c in q.checks]

    @property
    def all_passed(self) -> bool:
        """Graded, and every check that carries points passed (0-point checks only inform)."""
        return self.error is None and all(c.status == "pass" for c in self.checks if c.max_score > 0)

    def percent(self) -> float:
        """The final score as a percentage of the maximum (0 when the submission was not graded)."""
        if self.error is not None:
            return 0.0
        return 100.0 * self.final_score / self.max_score if self.max_score else 100.0

    def to_json(self, exact: bool = False) -> dict:
        """The schema-v1 object. With `exact`, it also carries every check's and penalty's
        unrounded points under "exact": a parent process that rebuilds a report from a child
        grader's JSON then scores it exactly as the child did (10/9 * 9 stays 10)."""
        data = {
            "schema": SCHEMA,
            "grader_version": self.grader_version,
            "assignment": self.assignment,
            "submission": self.submission,
            "seed": self.seed,
            "score": round(self.score, 4),
            "max_score": round(self.max_score, 4),
            "final_score": round(self.final_score, 4),
            "penalties": [p.to_json() for p in self.penalties],
            "duration_s": round(self.duration_s, 3),
            "sandbox": self.sandbox,
            "notices": self.notices,
            "not_run": self.not_run,
            "questions": [q.to_json() for q in self.questions],
        }
        if self.error is not None:
            data["error"] = self.error
        if exact:
            data[EXACT_KEY] = {"checks": [[c.score, c.max_score] for c in self.checks],
                               "penalties": [p.points for p in self.penalties]}
        return data

    def dumps(self, exact: bool = False) -> str:
        return json.dumps(self.to_json(exact), indent=2)

    @classmethod
    def from_json(cls, data: dict) -> "GradeReport":
        """Rebuild a report from its JSON form (e.g. one written by a child grader process),
        with its unrounded points where it carries them (see `to_json`)."""
        questions = [
            QuestionResult(q["id"], q.get("title", ""), [CheckResult.from_json(c, q["id"]) for c in q["checks"]])
            for q in data.get("questions", [])
        ]
        report = cls(
            grader_version=data.get("grader_version", ""), assignment=data.get("assignment", ""),
            submission=data.get("submission", ""), seed=int(data.get("seed", 0)), questions=questions,
            duration_s=float(data.get("duration_s", 0.0)), sandbox=data.get("sandbox", "none"),
            notices=list(data.get("notices", [])),
            penalties=[Penalty(p["policy"], float(p["points"]), p.get("reason", ""))
                       for p in data.get("penalties", [])],
            not_run=data.get("not_run"), error=data.get("error"))
        report._restore_exact(data.get(EXACT_KEY))
        return report

    def _restore_exact(self, exact: object) -> None:
        if not isinstance(exact, dict):
            return
        checks, penalties = exact.get("checks"), exact.get("penalties")
        if isinstance(checks, list) and len(checks) == len(self.checks):
            for check, (score, max_score) in zip(self.checks, checks):
                check.score, check.max_score = float(score), float(max_score)
        if isinstance(penalties, list) and len(penalties) == len(self.penalties):
            for penalty, points in zip(self.penalties, penalties):
                penalty.points = float(points)

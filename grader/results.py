"""Grading results and their JSON form (result schema v1, DESIGN 6).

Scores are points (floats, rounded to 4 decimals in JSON); `duration_s` is wall seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

SCHEMA = 1


@dataclass
class CheckResult:
    """One check's verdict. `status` is pass|fail|error; `code` is None exactly when it passed."""

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
    notes: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        message = self.message
        if self.notes:
            message = (message + " " if message else "") + " ".join(self.notes)
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "score": round(self.score, 4),
            "max_score": round(self.max_score, 4),
            "examples": self.examples,
            "code": self.code,
            "message": message,
            "counterexample": self.counterexample,
            "replay": self.replay,
            "output": self.output,
            "visibility": self.visibility,
        }


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

    @property
    def score(self) -> float:
        return sum(q.score for q in self.questions)

    @property
    def max_score(self) -> float:
        return sum(q.max_score for q in self.questions)

    @property
    def checks(self) -> list[CheckResult]:
        return [c for q in self.questions for c in q.checks]

    @property
    def all_passed(self) -> bool:
        return all(c.status == "pass" for c in self.checks)

    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 100.0

    def to_json(self) -> dict:
        return {
            "schema": SCHEMA,
            "grader_version": self.grader_version,
            "assignment": self.assignment,
            "submission": self.submission,
            "seed": self.seed,
            "score": round(self.score, 4),
            "max_score": round(self.max_score, 4),
            "duration_s": round(self.duration_s, 3),
            "sandbox": self.sandbox,
            "notices": self.notices,
            "questions": [q.to_json() for q in self.questions],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False)

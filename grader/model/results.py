"""Grading results and their JSON form (result schema 2).

Scores are points, kept exactly (floats, never rounded here: renderers round for people);
`duration_s` is wall seconds. `score` is what the checks earned; course penalties (format,
lateness) are listed apart under `penalties` and give `final_score`, so the raw score is
always kept beside the final one. A check in `review` scores 0 of its `max_score`: its points
are `pending_review`, neither earned nor lost, and `percent()` leaves them out.
`GradeReport.from_json(report.to_json())` gives back an equal report: a parent process
rebuilds a child grader's report without losing a point.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .codes import Code, Status, Visibility

SCHEMA = 2
"""2: status "review", the report's `pending_review` and each check's `details` (schema 1 had none of them);
later additions that a schema-2 reader may ignore: each check's `components`, `evidence` and `repro`."""


def format_points(value: float) -> str:
    """Points for people: at most two decimals, no trailing zeros (7.5, 10, 3.33)."""
    return ("%.2f" % value).rstrip("0").rstrip(".")


@dataclass
class ComponentResult:
    """One separately credited value of a check (e.g. dJdW1 of a backward check).

    A check with components earns the sum of its passing components' points: `max_score` is
    the check's points times `weight` over the weights of all its components. `status` is
    "pass" or "fail"; a failed component has its own `code`, `message` and `counterexample`
    (the smallest example on which that value was wrong)."""

    name: str
    weight: float
    status: Status
    score: float = 0.0
    max_score: float = 0.0
    code: Code | None = None
    message: str = ""
    counterexample: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "weight": self.weight, "status": self.status, "score": self.score,
                "max_score": self.max_score, "code": self.code, "message": self.message,
                "counterexample": self.counterexample}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ComponentResult:
        return cls(name=data["name"], weight=float(data.get("weight", 1.0)), status=data["status"],
                   score=float(data.get("score", 0.0)), max_score=float(data.get("max_score", 0.0)),
                   code=data.get("code"), message=data.get("message", ""), counterexample=data.get("counterexample"))


@dataclass
class CheckResult:
    """One check's verdict. `code` is None exactly when `status` is "pass".

    `location` is where in the submission to look ({"file", "line"}), found statically;
    `counterexample` the shrunk example's structure (dimensions, activations, seed...);
    `details` plain JSON data about the verdict (e.g. a written answer as read, the expected
    one and both shapes; what a reviewer needs); `components` the separately credited values
    (empty: the check is all or nothing); `evidence` the shrunk example's values as
    {"inputs", "expected", "got"}, each {name: nested list} (a value that is not an array is a
    string describing it, a non-finite number the string "nan", "inf" or "-inf"); `repro` a
    standalone script that rebuilds that example against the submission (exit 1: it fails)."""

    id: str
    question: str
    title: str
    status: Status
    score: float
    max_score: float
    examples: int = 0
    code: Code | None = None
    message: str = ""
    counterexample: dict[str, Any] | None = None
    replay: str | None = None
    output: str = ""
    visibility: Visibility = "visible"
    location: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    components: list[ComponentResult] = field(default_factory=list)
    evidence: dict[str, Any] | None = None
    repro: str | None = None

    def settle_components(self) -> None:
        """Make the components agree with a verdict set on the whole check (e.g. a forfeit):
        a passed check passes every component; a check that failed as a whole (its code names
        none of its failed components) fails every component with the check's code."""
        if self.status == "pass":
            for component in self.components:
                component.status, component.code, component.message = "pass", None, ""
            return
        failed = [c for c in self.components if c.status != "pass"]
        if failed and self.code in {c.code for c in failed}:
            return
        for component in self.components:
            component.status, component.code, component.message = "fail", self.code, self.message

    @property
    def full_message(self) -> str:
        return " ".join(part for part in [self.message, *self.notes] if part)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "score": self.score,
            "max_score": self.max_score,
            "examples": self.examples,
            "code": self.code,
            "message": self.full_message,
            "counterexample": self.counterexample,
            "replay": self.replay,
            "output": self.output,
            "visibility": self.visibility,
            "location": self.location,
            "details": self.details,
            "components": [c.to_json() for c in self.components],
            "evidence": self.evidence,
            "repro": self.repro,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], question: str) -> CheckResult:
        return cls(
            id=data["id"], question=question, title=data.get("title", ""), status=data["status"],
            score=float(data["score"]), max_score=float(data["max_score"]), examples=int(data.get("examples", 0)),
            code=data.get("code"), message=data.get("message", ""), counterexample=data.get("counterexample"),
            replay=data.get("replay"), output=data.get("output", ""), visibility=data.get("visibility", "visible"),
            location=data.get("location"), details=dict(data.get("details") or {}),
            components=[ComponentResult.from_json(c) for c in data.get("components") or []],
            evidence=data.get("evidence"), repro=data.get("repro"))


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

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "score": self.score,
            "max_score": self.max_score,
            "checks": [c.to_json() for c in self.checks],
        }


@dataclass
class Penalty:
    """A course policy's deduction: `points` (positive, subtracted) and why."""

    policy: str
    points: float
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "points": self.points, "reason": self.reason}


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
    not_run: dict[str, Any] | None = None
    error: str | None = None

    @property
    def score(self) -> float:
        return sum(q.score for q in self.questions)

    @property
    def max_score(self) -> float:
        return sum(q.max_score for q in self.questions)

    @property
    def pending_review(self) -> float:
        """Points of the checks a person must still decide (status "review")."""
        return sum((c.max_score for c in self.checks if c.status == "review"), 0.0)

    @property
    def final_score(self) -> float:
        return max(0.0, self.score - sum(p.points for p in self.penalties))

    @property
    def checks(self) -> list[CheckResult]:
        return [c for q in self.questions for c in q.checks]

    @property
    def all_passed(self) -> bool:
        """Graded, and every check that carries points passed or awaits a person's review
        (0-point checks only inform; pending points are neither passed nor failed)."""
        return self.error is None and all(c.status in ("pass", "review") for c in self.checks if c.max_score > 0)

    def percent(self) -> float:
        """The final score as a percentage of the points graded so far, the maximum less the
        points pending review (0 when the submission was not graded)."""
        if self.error is not None:
            return 0.0
        graded = self.max_score - self.pending_review
        return 100.0 * self.final_score / graded if graded > 0 else 100.0

    def to_json(self) -> dict[str, Any]:
        """The schema-2 object, with every number exact."""
        data: dict[str, Any] = {
            "schema": SCHEMA,
            "grader_version": self.grader_version,
            "assignment": self.assignment,
            "submission": self.submission,
            "seed": self.seed,
            "score": self.score,
            "max_score": self.max_score,
            "final_score": self.final_score,
            "pending_review": self.pending_review,
            "penalties": [p.to_json() for p in self.penalties],
            "duration_s": self.duration_s,
            "sandbox": self.sandbox,
            "notices": self.notices,
            "not_run": self.not_run,
            "questions": [q.to_json() for q in self.questions],
        }
        if self.error is not None:
            data["error"] = self.error
        return data

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GradeReport:
        """Rebuild a report from its JSON form (e.g. one written by a child grader process)."""
        questions = [
            QuestionResult(q["id"], q.get("title", ""), [CheckResult.from_json(c, q["id"]) for c in q["checks"]])
            for q in data.get("questions", [])
        ]
        return cls(
            grader_version=data.get("grader_version", ""), assignment=data.get("assignment", ""),
            submission=data.get("submission", ""), seed=int(data.get("seed", 0)), questions=questions,
            duration_s=float(data.get("duration_s", 0.0)), sandbox=data.get("sandbox", "none"),
            notices=list(data.get("notices", [])),
            penalties=[Penalty(p["policy"], float(p["points"]), p.get("reason", ""))
                       for p in data.get("penalties", [])],
            not_run=data.get("not_run"), error=data.get("error"))

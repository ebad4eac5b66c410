"""The rubric (points, weights, tolerances, course settings) and how it turns verdicts into points.

A rubric is a TOML file; the default is the instructor's `reference/hw1/rubric.toml`, shipped
inside the wheel as `grader/rubrics/hw1.toml`. A question's points are split over its checks
in proportion to their weights (default 1 each; a weight of 0 makes a check informational).
A check earns its whole share when it passes and nothing otherwise.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .compare import Tolerance
from .policies import PolicyError, validate_policies

SETTINGS_DEFAULTS = {
    "seed": 0,
    "call_timeout_s": 5.0,
    "import_timeout_s": 20.0,
    "submission_timeout_s": 600.0,
    "loss_convention": "mean",
    "layout": "numerator",
}
SETTING_CHOICES = {
    "loss_convention": ("mean", "half_batch_mean"),
    "layout": ("numerator", "mixed"),
}


VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


class RubricError(Exception):
    """The rubric file is missing or invalid; the message says where."""


def default_rubric_path() -> Path:
    """The packaged rubric, or the repository's reference rubric in a source checkout."""
    packaged = resources.files("grader").joinpath("rubrics/hw1.toml")
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "reference" / "hw1" / "rubric.toml"


@dataclass
class QuestionRubric:
    id: str
    title: str
    points: float
    max_examples: int | None = None
    weights: dict[str, float] = field(default_factory=dict)
    visibility: dict[str, str] = field(default_factory=dict)


@dataclass
class Rubric:
    assignment: str
    title: str
    questions: dict[str, QuestionRubric]
    settings: dict
    tolerances: dict[str, Tolerance]
    policies: dict = field(default_factory=dict)
    path: Path | None = None

    def weight(self, question: str, local_id: str) -> float:
        q = self.questions.get(question)
        return float(q.weights.get(local_id, 1.0)) if q else 1.0

    def visibility(self, question: str, local_id: str) -> str:
        q = self.questions.get(question)
        if q is None:
            return "visible"
        return q.visibility.get(local_id, q.visibility.get("*", "visible"))

    def tolerance(self, part: str) -> Tolerance:
        return self.tolerances.get(part, Tolerance())

    def is_default(self) -> bool:
        """True when this rubric's file says exactly what the packaged default says (so that
        a replay command need not name it, e.g. on Gradescope)."""
        try:
            return self.path is not None and self.path.read_bytes() == default_rubric_path().read_bytes()
        except OSError:
            return False


def load_rubric(path: Path | None = None) -> Rubric:
    """Read and validate a rubric TOML file."""
    path = path or default_rubric_path()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RubricError("rubric file %s does not exist" % path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RubricError("rubric file %s is not valid TOML: %s" % (path, exc)) from None
    settings = dict(SETTINGS_DEFAULTS)
    for key, value in data.get("settings", {}).items():
        if key not in SETTINGS_DEFAULTS:
            raise RubricError("%s: unknown setting %r (known: %s)" % (path, key, ", ".join(SETTINGS_DEFAULTS)))
        if key in SETTING_CHOICES and value not in SETTING_CHOICES[key]:
            raise RubricError("%s: setting %s = %r; choose one of %s" % (path, key, value, SETTING_CHOICES[key]))
        settings[key] = value
    questions = {}
    for qid, q in data.get("questions", {}).items():
        try:
            questions[qid] = QuestionRubric(
                id=qid,
                title=str(q.get("title", qid)),
                points=float(q["points"]),
                max_examples=int(q["max_examples"]) if "max_examples" in q else None,
                weights={k: float(v) for k, v in q.get("weights", {}).items()},
                visibility={k: str(v) for k, v in q.get("visibility", {}).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RubricError("%s: question %s is incomplete or invalid (%s)" % (path, qid, exc)) from None
        if questions[qid].points < 0 or any(w < 0 for w in questions[qid].weights.values()):
            raise RubricError("%s: question %s has negative points or weights" % (path, qid))
    tolerances = {
        part: Tolerance(rtol=float(t.get("rtol", 1e-4)), atol=float(t.get("atol", 1e-6)))
        for part, t in data.get("tolerance", {}).items()
    }
    try:
        validate_policies(data.get("policies", {}))
    except PolicyError as exc:
        raise RubricError("%s: %s" % (path, exc)) from None
    return Rubric(
        assignment=str(data.get("assignment", "hw1")),
        title=str(data.get("title", "")),
        questions=questions,
        settings=settings,
        tolerances=tolerances,
        policies=dict(data.get("policies", {})),
        path=Path(path),
    )


def allocate_points(rubric: Rubric, question: str, local_ids: list[str]) -> dict[str, float]:
    """Each check's share of the question's points, proportional to its weight."""
    q = rubric.questions.get(question)
    if q is None:
        return {lid: 0.0 for lid in local_ids}
    weights = {lid: rubric.weight(question, lid) for lid in local_ids}
    total = sum(weights.values())
    if total <= 0:
        return {lid: 0.0 for lid in local_ids}
    return {lid: q.points * w / total for lid, w in weights.items()}

"""The rubric: points, weights, tolerances, settings and course policies, parsed once.

A rubric is a TOML file naming its `assignment` (default: the grader's own, whose rubric is
the default file). A question's points are split over its checks in proportion to their
weights (1 unless listed; 0 keeps a check in the report without points); a check earns its
whole share when it passes. A check with components (e.g. the four gradients of a backward
check) splits its share over them by `component_weights` (1 unless listed), and earns the
shares of the components that pass. Settings the engine knows (seed, deadlines, variant) are typed
here; the rest belong to the assignment, which parses them into its own typed settings.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PolicyError, RubricError
from ..model.codes import VISIBILITIES, Visibility
from .assignment import DEFAULT_ASSIGNMENT, Assignment, find_assignment
from .compare import Tolerance
from .policies import Policies, parse_policies


@dataclass(frozen=True)
class EngineSettings:
    """Settings every assignment has. Times are seconds."""

    seed: int = 0
    call_timeout_s: float = 5.0
    import_timeout_s: float = 20.0
    submission_timeout_s: float = 600.0
    variant: str = ""


ENGINE_KEYS = ("seed", "call_timeout_s", "import_timeout_s", "submission_timeout_s", "variant")


@dataclass
class QuestionRubric:
    id: str
    title: str
    points: float
    max_examples: int | None = None
    weights: dict[str, float] = field(default_factory=dict)
    visibility: dict[str, Visibility] = field(default_factory=dict)
    component_weights: dict[str, float] = field(default_factory=dict)


@dataclass
class Rubric:
    """A loaded rubric. `assignment_settings` is the assignment's own typed settings object."""

    assignment: Assignment
    title: str
    questions: dict[str, QuestionRubric]
    settings: EngineSettings
    assignment_settings: Any
    tolerances: dict[str, Tolerance]
    policies: Policies = field(default_factory=Policies)
    path: Path | None = None
    raw_settings: dict[str, Any] = field(default_factory=dict)
    alternatives: tuple[tuple[str, ...], ...] = ()
    """Groups of parts that stand in for each other (engine.documents.drop_absent_alternatives)."""

    def weight(self, question: str, local_id: str) -> float:
        q = self.questions.get(question)
        return float(q.weights.get(local_id, 1.0)) if q else 1.0

    def component_weight(self, question: str, component: str) -> float:
        """The weight of a check's component (e.g. "dJdW1") within each check of `question`."""
        q = self.questions.get(question)
        return float(q.component_weights.get(component, 1.0)) if q else 1.0

    def visibility(self, question: str, local_id: str) -> Visibility:
        q = self.questions.get(question)
        if q is None:
            return "visible"
        return q.visibility.get(local_id, q.visibility.get("*", "visible"))

    def tolerance(self, part: str) -> Tolerance:
        return self.tolerances.get(part, Tolerance())

    def is_default(self) -> bool:
        """True when this rubric's file says exactly what the grader's default rubric says (so
        that a replay command need not name it, e.g. on Gradescope)."""
        try:
            return self.path is not None and self.path.read_bytes() == default_rubric_path().read_bytes()
        except OSError:
            return False

    def with_variant(self, variant: str) -> Rubric:
        """This rubric with another variant (e.g. `--variant fa22`); RubricError if unknown."""
        where = str(self.path or "the rubric")
        table = dict(self.raw_settings, variant=variant)
        engine, assignment_settings = _parse_settings(self.assignment, table, where)
        return Rubric(self.assignment, self.title, self.questions, engine, assignment_settings, self.tolerances,
                      self.policies, self.path, table, self.alternatives)


def default_rubric_path() -> Path:
    """The default assignment's packaged rubric."""
    return find_assignment(DEFAULT_ASSIGNMENT).default_rubric()


def _parse_settings(assignment: Assignment, table: dict[str, Any], where: str) -> tuple[EngineSettings, Any]:
    variant = table.get("variant", assignment.default_variant)
    if assignment.variants and variant not in assignment.variants:
        raise RubricError("%s: variant %r is not one of %s" % (where, variant, ", ".join(assignment.variants)))
    try:
        engine = EngineSettings(
            seed=int(table.get("seed", 0)),
            call_timeout_s=float(table.get("call_timeout_s", 5.0)),
            import_timeout_s=float(table.get("import_timeout_s", 20.0)),
            submission_timeout_s=float(table.get("submission_timeout_s", 600.0)),
            variant=str(variant),
        )
    except (TypeError, ValueError) as exc:
        raise RubricError("%s: [settings] has a value of the wrong type (%s)" % (where, exc)) from None
    own = {k: v for k, v in table.items() if k not in ENGINE_KEYS}
    try:
        return engine, assignment.parse_settings(own, engine.variant)
    except RubricError as exc:
        raise RubricError("%s: %s" % (where, exc)) from None


def _question(qid: str, q: Any, where: str) -> QuestionRubric:
    try:
        question = QuestionRubric(
            id=qid,
            title=str(q.get("title", qid)),
            points=float(q["points"]),
            max_examples=int(q["max_examples"]) if "max_examples" in q else None,
            weights={k: float(v) for k, v in q.get("weights", {}).items()},
            visibility={k: str(v) for k, v in q.get("visibility", {}).items()},  # type: ignore[misc]
            component_weights={k: float(v) for k, v in q.get("component_weights", {}).items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RubricError("%s: question %s is incomplete or invalid (%s)" % (where, qid, exc)) from None
    if question.points < 0 or any(w < 0 for w in [*question.weights.values(), *question.component_weights.values()]):
        raise RubricError("%s: question %s has negative points or weights" % (where, qid))
    bad = sorted(v for v in question.visibility.values() if v not in VISIBILITIES)
    if bad:
        raise RubricError("%s: [questions.%s.visibility] has %s; choose from %s" % (
            where, qid, ", ".join(bad), ", ".join(VISIBILITIES)))
    return question


def load_rubric(path: Path | None = None, variant: str | None = None) -> Rubric:
    """Read and validate a rubric TOML file (default: the default assignment's), optionally
    under another `variant` than the one it names."""
    path = Path(path or default_rubric_path())
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RubricError("rubric file %s does not exist" % path) from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RubricError("rubric file %s is not valid TOML: %s" % (path, exc)) from None
    assignment = find_assignment(str(data.get("assignment", DEFAULT_ASSIGNMENT)))
    table = dict(data.get("settings", {}))
    if variant is not None:
        table["variant"] = variant
    engine, assignment_settings = _parse_settings(assignment, table, where)
    questions = {qid: _question(qid, q, where) for qid, q in data.get("questions", {}).items()}
    try:
        tolerances = {part: Tolerance(rtol=float(t.get("rtol", 1e-4)), atol=float(t.get("atol", 1e-6)))
                      for part, t in data.get("tolerance", {}).items()}
    except (TypeError, ValueError, AttributeError) as exc:
        raise RubricError("%s: [tolerance] is invalid (%s)" % (where, exc)) from None
    try:
        policies = parse_policies(data.get("policies", {}))
    except PolicyError as exc:
        raise RubricError("%s: %s" % (where, exc)) from None
    return Rubric(assignment=assignment, title=str(data.get("title", "")), questions=questions, settings=engine,
                  assignment_settings=assignment_settings, tolerances=tolerances, policies=policies, path=path,
                  raw_settings=table, alternatives=_alternatives(data.get("alternatives", []), assignment, where))


def _alternatives(value: Any, assignment: Assignment, where: str) -> tuple[tuple[str, ...], ...]:
    """`alternatives = [["theory", "answers"]]`: groups of at least two of the assignment's parts."""
    parts = {p.module for p in assignment.parts}
    if not isinstance(value, list) or not all(isinstance(g, list) and len(g) >= 2 and all(isinstance(p, str)
                                                                                           for p in g) for g in value):
        raise RubricError("%s: alternatives must be a list of groups of part names, e.g. [[\"theory\", \"answers\"]]"
                          % where)
    unknown = sorted({p for group in value for p in group} - parts)
    if unknown:
        raise RubricError("%s: alternatives name unknown part(s) %s (parts: %s)" % (
            where, ", ".join(unknown), ", ".join(sorted(parts))))
    return tuple(tuple(group) for group in value)


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

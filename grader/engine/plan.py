"""What a rubric asks to run: every part's checks with their weights, visibility and example
counts, validated against the rubric, and the selection of --only / --public."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import RubricError, UnknownSelector
from .checks import CheckSpec, PartSpec
from .rubric import Rubric, allocate_points


def matches(selector: str, check: CheckSpec) -> bool:
    """--only SELECTOR: a check id, a question id, or a prefix of ids (e.g. a part, "mlp")."""
    return check.id == selector or check.question == selector or check.id.startswith(selector)


@dataclass
class Plan:
    """The parts of the rubric's assignment (in report order), each with its planned checks."""

    rubric: Rubric
    parts: list[PartSpec]

    @property
    def checks(self) -> list[CheckSpec]:
        return [c for part in self.parts for c in part.checks]

    def validate_selectors(self, selectors: list[str]) -> None:
        """UnknownSelector for a selector that matches no check."""
        checks = self.checks
        for selector in selectors:
            if not any(matches(selector, c) for c in checks):
                questions = sorted({c.question for c in checks})
                example = checks[0].id if checks else "part.question[check]"
                raise UnknownSelector("--only %r matches no question or check; questions are %s (a check id looks"
                                      " like %s)" % (selector, ", ".join(questions), example))

    def points_of(self, check: CheckSpec) -> float:
        """The points `check` is worth among its question's checks."""
        siblings = [c.local_id for c in self.checks if c.question == check.question]
        return allocate_points(self.rubric, check.question, siblings)[check.local_id]


def plan(rubric: Rubric, max_examples: int | None = None) -> Plan:
    """Every check of every part under `rubric` (imports the parts' checks); RubricError when
    the rubric does not fit them."""
    parts = []
    for info in rubric.assignment.parts:
        part: PartSpec = info.load(rubric.assignment_settings)
        for check in part.checks:
            check.weight = rubric.weight(check.question, check.local_id)
            check.visibility = rubric.visibility(check.question, check.local_id)
            question = rubric.questions.get(check.question)
            override = max_examples or (question.max_examples if question else None)
            if override and check.max_examples > 1:
                check.max_examples = int(override)
        parts.append(part)
    result = Plan(rubric, parts)
    validate_rubric(result)
    return result


def validate_rubric(planned: Plan) -> None:
    """RubricError for a rubric that does not fit the assignment's checks: an unknown or a
    missing question, a weight or visibility for a check that does not exist, a component
    weight for a component no check of the question has, a tolerance for
    an unknown part (a typo must not silently move points)."""
    rubric, checks = planned.rubric, planned.checks
    where = rubric.path or "the rubric"
    questions = {c.question for c in checks}
    unknown = sorted(set(rubric.questions) - questions)
    if unknown:
        raise RubricError("%s: unknown question(s) %s (known: %s)" % (where, ", ".join(unknown), ", ".join(
            sorted(questions))))
    missing = sorted(questions - set(rubric.questions))
    if missing:
        raise RubricError("%s: no points given for question(s) %s" % (where, ", ".join(missing)))
    for qid, question in rubric.questions.items():
        local = {c.local_id for c in checks if c.question == qid}
        tables: tuple[tuple[str, set[str], set[str]], ...] = (
            ("weights", set(question.weights), set()), ("visibility", set(question.visibility), {"*"}))
        for table, keys, extra in tables:
            wrong = sorted(keys - local - extra)
            if wrong:
                raise RubricError("%s: [questions.%s.%s] names no check: %s (checks: %s)" % (
                    where, qid, table, ", ".join(wrong), ", ".join(sorted(local))))
        components = {name for c in checks if c.question == qid for name in c.components}
        wrong = sorted(set(question.component_weights) - components)
        if wrong:
            raise RubricError("%s: [questions.%s.component_weights] names no component: %s (components: %s)" % (
                where, qid, ", ".join(wrong), ", ".join(sorted(components)) or "none"))
    names = {part.name for part in planned.parts}
    if set(rubric.tolerances) - names:
        raise RubricError("%s: [tolerance] names unknown part(s) %s (parts: %s)" % (
            where, ", ".join(sorted(set(rubric.tolerances) - names)), ", ".join(sorted(names))))

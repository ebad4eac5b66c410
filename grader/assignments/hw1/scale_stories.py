"""Why a HW1 value is c times the truth: the likely causes of scale errors, as data.

A `scaled` failure is re-run at other sizes and its factor fitted to a law
c = a * prod(dim ** e) (`grader.engine.compare.fit_scale_law`). Each `Story` here names one
cause in a student's words, for one kind of value (`role`) and one law. Roles: "loss_value"
(J), "loss_gradient" (dJ/dy_hat), "backward" (parameter gradients given dJ/dy_hat), "theory"
(theory.py's loss and gradients). A value's stories speak of values, a derivative's of
derivatives, and a story about one loss (`loss`, e.g. the 2 of the derivative of the squared
error) is told only for that loss. The law is relative to what the role's stories assume
(torch's mean for the practical losses); `scale_story(role, baseline)` shifts it first when
the rubric's convention differs (e.g. "half_batch_mean" is K/2 times torch's mean).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

LOSS_ROLES = frozenset({"loss_value", "loss_gradient"})


@dataclass(frozen=True)
class Story:
    """`text` explains a factor `constant` * prod(dim ** e for (dim, e) in `law`) for the
    `roles` (and only for the loss `loss`, when set). A `constant` of None matches any 1/N
    with N a whole number >= 2, and `text` may then say {n}."""

    roles: frozenset[str]
    law: tuple[tuple[str, int], ...]
    constant: float | None
    text: str
    loss: str | None = None


STORIES = (
    Story(frozenset({"loss_gradient"}), (), 0.5,
          "a factor 2 is missing (the derivative of (y_hat - y)^2 is 2 (y_hat - y))", "mse"),
    Story(frozenset({"loss_gradient"}), (), 0.5, "half the expected gradient: a factor 1/2 that does not belong"),
    Story(frozenset({"loss_value"}), (), 0.5,
          "half the expected value: a factor 1/2 that this loss does not have"),
    Story(LOSS_ROLES, (), 2.0, "there is an extra factor 2"),
    Story(LOSS_ROLES, (("B", 1), ("K", 1)), 1.0,
          "the 1/(B*K) of the mean is missing: summed where torch averages over all B*K entries"),
    Story(LOSS_ROLES, (("B", 1), ("K", 1)), None, "a constant 1/{n} is hard-coded where 1/(B*K) is due"),
    Story(LOSS_ROLES, (("K", 1),), 1.0,
          "averaged over the batch only: the 1/K of the mean over the outputs is missing"),
    Story(LOSS_ROLES, (("K", 1),), 0.5,
          "it matches the 'half_batch_mean' convention (1/2 * squared error summed over outputs,"
          " averaged over the batch) of an earlier offering, not torch's mean over all B*K entries", "mse"),
    Story(LOSS_ROLES, (("B", 1),), 1.0, "averaged over the outputs only: the 1/B of the batch mean is missing"),
    Story(LOSS_ROLES, (("B", -1), ("K", -1)), 1.0, "divided by B*K once too often"),
    Story(LOSS_ROLES, (), 1.0,
          "it matches the 'mean' convention of torch's MSELoss (the mean over all B*K entries), not the"
          " convention this rubric asks for", "mse"),
    Story(frozenset({"backward"}), (("B", -1),), 1.0,
          "averaged over the batch where the sum is due: dJdy_hat already carries the loss's 1/B"),
    Story(frozenset({"backward"}), (("B", -1), ("K", -1)), 1.0,
          "divided by B*K: backward applies the loss's mean again, but dJdy_hat already carries it"
          " (backward must use dJdy_hat exactly as given)"),
    Story(frozenset({"backward"}), (("B", 1),), 1.0, "multiplied by the batch size B"),
    Story(frozenset({"backward"}), (), 0.5, "a factor 1/2 that does not belong there"),
    Story(frozenset({"backward"}), (), 2.0, "an extra factor 2"),
    Story(frozenset({"theory"}), (("K", 1),), 1.0, "the 1/K of the mean over the K outputs is missing"),
    Story(frozenset({"theory"}), (("K", -1),), 1.0, "divided by K where no 1/K belongs"),
    Story(frozenset({"theory"}), (), 0.5, "a factor 2 is missing"),
    Story(frozenset({"theory"}), (), 2.0, "there is an extra factor 2"),
)

HANDOUT_BATCH_NOTE = {50: " (50 = the handout's batch of 10 times its 5 outputs)"}
"""Constants a student may have copied from the handout's own example, and where they come from."""


def _is(a: float, value: float) -> bool:
    return abs(a - value) <= 1e-4 * abs(value)


def _told(story: Story, a: float) -> str | None:
    if story.constant is not None:
        return story.text if _is(a, story.constant) else None
    if not 0 < a < 1:
        return None
    n = round(1 / a)
    if n < 2 or not _is(1 / a, n):
        return None
    return story.text.format(n=n) + HANDOUT_BATCH_NOTE.get(n, "")


def explain(a: float, law: dict[str, int], role: str, baseline: tuple[float, dict[str, int]] = (1.0, {}),
            loss: str | None = None) -> str | None:
    """The cause of a factor a * prod(dim ** law[dim]) for a value of `role` (of the loss
    `loss`, when known), or None when no story fits. `baseline` is the expected value as a
    multiple of what the stories assume."""
    a *= baseline[0]
    shifted = {dim: law.get(dim, 0) + baseline[1].get(dim, 0) for dim in set(law) | set(baseline[1])}
    key = tuple(sorted((dim, e) for dim, e in shifted.items() if e))
    for story in STORIES:
        if role in story.roles and story.law == key and math.isfinite(a) and story.loss in (None, loss):
            told = _told(story, a)
            if told is not None:
                return told
    return None


def scale_story(role: str, baseline: tuple[float, dict[str, int]] = (1.0, {}), loss: str | None = None
                ) -> Callable[[float, dict[str, int]], str | None]:
    """A CheckSpec.scale_story for values of `role` (of the loss `loss`) under the baseline."""

    def story(a: float, law: dict[str, int]) -> str | None:
        return explain(a, law, role, baseline, loss)

    return story

"""Semester variants are data: --variant (or the rubric's `variant`) changes which activations and
loss conventions the checks use, never the checks' code."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from grader.assignments.hw1.variants import VARIANTS
from grader.engine.plan import plan
from grader.engine.rubric import load_rubric
from grader.errors import RubricError

from .conftest import DEFAULT_RUBRIC, REFERENCE, SUBMISSIONS, lost

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

THEORY = dict(only=["theory"], call_timeout_s=2)


def test_a_fall_2022_theory_py_scores_full_marks_under_fa22_and_the_2021_key_does_not(grade) -> None:
    fa22 = grade(SUBMISSIONS / "correct_fa22", variant="fa22", **THEORY)
    assert lost(fa22) == {}
    assert fa22.score == fa22.max_score == 50
    key = grade(REFERENCE, variant="fa22", **THEORY)
    assert key.score < key.max_score
    raised = [c for c in key.checks if c.code == "exception"]
    assert raised and all("5relu" in c.message for c in raised)
    assert lost(grade(REFERENCE, **THEORY)) == {}, "the 2021 key is right for the 2021 text"


def test_fa22_examples_use_five_relu_in_1_2_and_tanh_in_1_3() -> None:
    checks = {c.id: c for c in plan(load_rubric(variant="fa22")).checks}
    assert checks["theory.backward[regression]"].title == "1.2: f=5relu, g=identity, MSE"
    assert checks["theory.backward[classification-mse]"].title == "1.3a: f=tanh, g=sigmoid, MSE"
    assert _drawn(checks["theory.backward[regression]"].strategy) == {"5relu"}
    assert _drawn(checks["theory.backward[classification-mse]"].strategy) == {"tanh"}
    assert _drawn(checks["theory.forward[grid]"].strategy) == set(VARIANTS["fa22"].theory_activations)


def _drawn(strategy) -> set[str]:
    """The activations f that `strategy`'s examples use."""
    seen: set[str] = set()

    @settings(max_examples=100, derandomize=True, database=None, deadline=None)
    @given(strategy)
    def collect(scenario) -> None:
        seen.add(scenario.f)

    collect()
    return seen


def test_fa20_grades_the_practical_mse_as_half_the_squared_error_over_the_batch(grade) -> None:
    options = dict(only=["mlp.mse_loss"], call_timeout_s=2)
    assert lost(grade(SUBMISSIONS / "mlp_half_batch_mean", variant="fa20", **options)) == {}
    assert lost(grade(SUBMISSIONS / "correct", variant="fa20", **options)) == {"mlp.mse_loss": {"scaled"}}


def test_the_rubric_names_the_variant_and_the_command_line_overrides_it(tmp_path: Path) -> None:
    rubric = tmp_path / "rubric.toml"
    rubric.write_text(DEFAULT_RUBRIC.read_text().replace('variant = "sp21"', 'variant = "fa22"'))
    assert load_rubric(rubric).settings.variant == "fa22"
    assert load_rubric(rubric, "sp21").settings.variant == "sp21"
    assert load_rubric(rubric).assignment_settings.variant.theory_cases["regression"].f == ("5relu",)


def test_an_explicit_loss_convention_wins_over_the_variants(tmp_path: Path) -> None:
    rubric = tmp_path / "rubric.toml"
    rubric.write_text(DEFAULT_RUBRIC.read_text().replace('variant = "sp21"',
                                                         'variant = "fa20"\nloss_convention = "mean"'))
    assert load_rubric(rubric).assignment_settings.loss_convention == "mean"
    assert load_rubric(variant="fa20").assignment_settings.loss_convention == "half_batch_mean"


def test_an_unknown_variant_is_a_usage_error(cli) -> None:
    with pytest.raises(RubricError):
        load_rubric(variant="sp99")
    done = cli("grade", str(SUBMISSIONS / "correct"), "--variant", "sp99")
    assert done.returncode == 2
    assert "variant 'sp99' is not one of sp21, fa20, fa22" in done.stderr


def test_replay_commands_keep_the_variant(grade) -> None:
    report = grade(REFERENCE, variant="fa22", **THEORY)
    failed = [c for c in report.checks if c.replay]
    assert failed and all("--variant fa22" in c.replay for c in failed)


def test_the_students_starter_names_what_each_variant_passes() -> None:
    from grader.engine.assignment import find_assignment

    hw1 = find_assignment("hw1")
    theory = hw1.resource(hw1.starter_files["theory.py"]).read_text()
    assert "5relu" in theory and "fa22" in theory

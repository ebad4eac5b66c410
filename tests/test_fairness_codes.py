"""Honest codes: `sign` and `scaled` only where the law holds on every probe (other draws,
both BCE labels, other sizes), value checks explained in terms of values and derivative
checks in terms of derivatives, "not implemented yet?" only where nothing is computed."""

from __future__ import annotations

import pytest

from grader.assignments.hw1.scale_stories import STORIES, explain

from .conftest import REFERENCE, SUBMISSIONS


def _check(grade, name: str, check: str, seed: int):
    report = grade(SUBMISSIONS / name, only=[check], seed=seed)
    return {c.id: c for c in report.checks}[check]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_minus_the_truth_at_one_label_only_is_not_a_sign_error(grade, seed):
    """dJdy_hat = 1/y_hat is minus the truth where y = 1 and no multiple of it where y = 0."""
    check = _check(grade, "mlp_bce_grad_reciprocal", "mlp.bce_loss[gradient]", seed)
    assert check.code == "wrong_values", check.message
    assert "minus the expected value" in check.message and "no sign error explains every probe" in check.message


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_ratio_that_holds_for_one_output_only_is_not_scaled(grade, seed):
    """J = ||(y_hat - y)(y_hat - y)^T|| / K is B times the truth for K = 1 only (these seeds
    shrink to B=2, K=1, where the ratio is exactly 2)."""
    check = _check(grade, "mlp_mse_outer_norm", "mlp.mse_loss[value]", seed)
    assert check.code == "wrong_values", check.message
    assert "least-squares ratio" in check.message
    assert "scaled" not in check.message and "across sizes" not in check.message


@pytest.mark.slow
def test_a_real_sign_error_and_a_real_scale_law_still_stand(grade):
    sign = _check(grade, "mlp_bce_wrong_sign", "mlp.bce_loss[gradient]", 0)
    assert sign.code == "sign"
    scaled = _check(grade, "mlp_mse_missing_2", "mlp.mse_loss[gradient]", 0)
    assert scaled.code == "scaled" and "factor 2 is missing" in scaled.message


def test_value_stories_speak_of_values_and_loss_specific_stories_of_their_loss():
    for story in STORIES:
        if "loss_value" in story.roles and "loss_gradient" not in story.roles:
            assert "derivative" not in story.text and "gradient" not in story.text, story.text
        if "(y_hat - y)^2" in story.text or "squared error" in story.text or "MSELoss" in story.text:
            assert story.loss == "mse", story.text
    assert "derivative" in (explain(0.5, {}, "loss_gradient", loss="mse") or "")
    assert "(y_hat - y)^2" not in (explain(0.5, {}, "loss_gradient", loss="bce") or "")
    assert "derivative" not in (explain(0.5, {}, "loss_value", loss="mse") or "")


@pytest.mark.slow
def test_a_half_loss_value_is_explained_as_a_value(grade, tmp_path):
    source = (REFERENCE / "mlp.py").read_text().replace(
        "return (diff * diff).sum() / count, 2.0 * diff / count",
        "return 0.5 * (diff * diff).sum() / count, 2.0 * diff / count")
    (tmp_path / "mlp.py").write_text(source)
    check = {c.id: c for c in grade(tmp_path, only=["mlp.mse_loss[value]"]).checks}["mlp.mse_loss[value]"]
    assert check.code == "scaled" and "half the expected value" in check.message
    assert "derivative" not in check.message


@pytest.mark.slow
def test_not_implemented_only_when_nothing_is_computed(grade, tmp_path):
    """An implemented forward whose output is 0 on the one-entry shrunk example (identity
    centred over the outputs: zero for K = 1 only) is not "not implemented"; a backward that
    leaves every gradient at zero is."""
    source = (REFERENCE / "mlp.py").read_text().replace(
        "        return z, torch.ones_like(z)",
        "        return z - z.mean(dim=-1, keepdim=True), torch.ones_like(z)")
    (tmp_path / "mlp.py").write_text(source)
    check = grade(tmp_path, only=["mlp.forward[relu-identity]"]).checks[0]
    assert check.code == "wrong_values" and "got 0," in check.message
    assert "not implemented" not in check.message
    none = grade(SUBMISSIONS / "mlp_returns_none", only=["mlp.backward[relu-identity]"])
    assert "(all zeros: MLP.backward not implemented yet?)" in none.checks[0].message

"""Adversarial submissions, second round: attacks on what the grader reveals and on what it reads.

Each test builds its attack folder (from tests/attacks/round2/ or in tmp_path), grades it and
asserts what a determined student cannot get: a lookup table of recorded answers earns nothing
under a grading secret, and no secret-derived seed, input or printed output reaches a report.
Expected grades are computed by grading (the reference, or the same table on public examples),
never written down.
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from grader.engine.grading import PRIVATE_ONLY, GradeOptions, Grading
from grader.engine.runner import check_seed
from grader.engine.secret import content_hash, read_secret, submission_key
from grader.errors import UsageError
from grader.model.results import GradeReport

from .conftest import REFERENCE, SUBMISSIONS, run_cli

ROUND2 = Path(__file__).resolve().parent / "attacks" / "round2"
SECRET = b"course-secret-0123456789abcdef"
THEORY = dict(seed=0, max_examples=3, sandbox="none", only=["theory"])


def _grade(path: Path, **options) -> GradeReport:
    return Grading(path, GradeOptions(**options)).run()


@pytest.fixture(scope="module")
def lookup_table(tmp_path_factory) -> dict:
    """The table attack, recorded from one public run of the correct key, then replayed."""
    base = tmp_path_factory.mktemp("lookup")
    recorder = base / "recorder"
    shutil.copytree(ROUND2 / "attack_lookup_table", recorder)
    shutil.copy(REFERENCE / "theory.py", recorder / "_tkey.py")
    recorded = base / "recorded.jsonl"
    (recorder / "_record_to.txt").write_text(str(recorded))
    honest = _grade(recorder, **THEORY)
    table = base / "table"
    table.mkdir()
    shutil.copy(recorder / "theory.py", table / "theory.py")
    shutil.copy(recorded, table / "_table.jsonl")
    keys = {json.loads(line)["key"] for line in recorded.read_text().splitlines()}
    return {"honest": honest, "table": table, "keys": keys, "public": _grade(table, **THEORY),
            "private": _grade(table, **THEORY, secret=SECRET)}


def test_a_lookup_table_scores_on_public_examples_and_nothing_under_a_secret(lookup_table) -> None:
    honest, public, private = lookup_table["honest"], lookup_table["public"], lookup_table["private"]
    assert honest.max_score > 0 and honest.score == honest.max_score
    assert public.score >= 0.9 * honest.score, "the recorded table replays the public examples"
    assert private.max_score == public.max_score
    assert private.score <= 0.1 * private.max_score, "no recording holds the private examples"


def test_nothing_derived_from_the_secret_reaches_the_report(lookup_table) -> None:
    private = lookup_table["private"]
    text = private.dumps()
    printed = set(re.findall(r"input ([0-9a-f]{64})", text))
    assert printed <= lookup_table["keys"], "only inputs of public examples may be shown"
    assert private.seed == 0
    assert SECRET.decode() not in text and SECRET.hex() not in text
    failed = [c for c in private.checks if c.status != "pass"]
    assert failed
    for check in failed:
        assert check.message == PRIVATE_ONLY
        assert check.counterexample is None and check.replay is None and check.output == ""
    assert any("examples: private" in notice for notice in private.notices)


def test_a_failure_on_public_examples_is_shown_with_its_public_replay() -> None:
    """Under a secret, a check that also fails publicly shows the public example and replay."""
    options = dict(seed=0, max_examples=10, sandbox="none", only=["mlp.bce_loss[saturated]"])
    public = _grade(SUBMISSIONS / "mlp_bce_no_clamp", **options)
    private = _grade(SUBMISSIONS / "mlp_bce_no_clamp", **options, secret=SECRET)
    (shown,), (expected,) = private.checks, public.checks
    assert expected.status == "fail"
    assert (shown.status, shown.code, shown.message, shown.counterexample, shown.replay) == (
        expected.status, expected.code, expected.message, expected.counterexample, expected.replay)
    assert "--seed 0" in (shown.replay or "")


def test_a_correct_submission_keeps_its_grade_under_a_secret() -> None:
    options = dict(seed=0, max_examples=3, sandbox="none", only=["theory", "mlp.forward"])
    public = _grade(SUBMISSIONS / "correct", **options)
    private = _grade(SUBMISSIONS / "correct", **options, secret=SECRET)
    assert public.score == public.max_score > 0
    assert private.score == private.max_score == public.max_score


def test_private_seeds_depend_on_the_secret_the_submission_and_the_check(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for folder, text in ((first, "x = 1\n"), (second, "x = 2\n")):
        folder.mkdir()
        (folder / "theory.py").write_text(text)
    key_a, key_b = submission_key(SECRET, content_hash(first)), submission_key(SECRET, content_hash(second))
    other_secret = submission_key(b"another-secret-0123456789", content_hash(first))
    seeds = {check_seed(0, "theory.loss[mse]", key) for key in (key_a, key_b, other_secret)}
    seeds |= {check_seed(0, "theory.loss[bce]", key_a), check_seed(0, "theory.loss[mse]")}
    assert len(seeds) == 5
    assert check_seed(7, "theory.loss[mse]", key_a) == check_seed(0, "theory.loss[mse]", key_a)
    assert content_hash(first) == content_hash(first)


def test_the_secret_comes_from_a_file_or_the_environment(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("  from-the-file-0123456789\n")
    assert read_secret(secret_file, {"GRADER_SECRET": "from-the-environment-0123"}) == b"from-the-file-0123456789"
    assert read_secret(None, {"GRADER_SECRET": "from-the-environment-0123"}) == b"from-the-environment-0123"
    assert read_secret(None, {}) is None
    with pytest.raises(UsageError, match="16 to"):
        read_secret(None, {"GRADER_SECRET": "short"})
    with pytest.raises(UsageError, match="cannot be read"):
        read_secret(tmp_path / "missing", {})


def test_the_command_line_grades_on_private_examples_and_prints_none_of_them(lookup_table, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET)
    table = str(lookup_table["table"])
    common = ["grade", table, "--only", "theory", "--max-examples", "3", "--sandbox", "none"]
    done = run_cli(*common, "--format", "json", "--secret-file", str(secret_file))
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["score"] == lookup_table["private"].score
    assert set(re.findall(r"input ([0-9a-f]{64})", done.stdout + done.stderr)) <= lookup_table["keys"]
    shown = run_cli(*common, env={**_environment(), "GRADER_SECRET": SECRET.decode()})
    assert "examples: private" in shown.stdout and "fails on private examples only" in shown.stdout
    assert SECRET.decode() not in shown.stdout + shown.stderr


def _environment() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "GRADER_SECRET"}


def test_each_gradescope_bundle_gets_its_own_secret(tmp_path: Path) -> None:
    secrets_found = []
    for name in ("one.zip", "two.zip"):
        done = run_cli("export", "gradescope", str(tmp_path / name))
        assert done.returncode == 0, done.stderr
        with zipfile.ZipFile(tmp_path / name) as bundle:
            info = bundle.getinfo("grading_secret")
            assert stat.S_IMODE(info.external_attr >> 16) == 0o600
            secrets_found.append(bundle.read(info).decode().strip())
            script = bundle.read("run_autograder").decode()
        assert '--secret-file "$ROOT/source/grading_secret"' in script
    assert all(re.fullmatch("[0-9a-f]{64}", s) for s in secrets_found)
    assert secrets_found[0] != secrets_found[1]

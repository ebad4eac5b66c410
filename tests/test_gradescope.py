"""`grader export gradescope OUT.zip` and the bundle's run_autograder, run in a folder laid out like
Gradescope's /autograder; hidden checks (the rubric's visibility) with --public and in
Gradescope's results.

Every results.json is validated against tests/schemas/gradescope_results.schema.json (written
from Gradescope's autograder specification) and compared with `grader grade --format json`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import pytest

from .conftest import DEFAULT_RUBRIC, SUBMISSIONS

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "gradescope_results.schema.json").read_text())
DUE = "2021-02-19T23:00:00.000000-05:00"
ON_TIME = "2021-02-19T20:15:00.123456-05:00"
LATE = "2021-02-20T10:00:00.000000-05:00"
VISIBILITY = {"theory.backward": {"grid": "after_due_date"}, "mlp.hygiene": {"*": "hidden"},
              "theory.sgd_step": {"square": "after_published"}}


def _rubric(path: Path) -> Path:
    """The reference rubric with hidden checks, and 2 examples per check to keep the bundle quick."""
    text = DEFAULT_RUBRIC.read_text()
    text, count = re.subn(r"(?m)^(points = \d+)$", r"\1\nmax_examples = 2", text)
    assert count == len(tomllib.loads(text)["questions"])
    for question, table in VISIBILITY.items():
        text += '\n[questions."%s".visibility]\n' % question
        text += "".join('"%s" = "%s"\n' % item for item in table.items())
    path.write_text(text)
    return path


def _metadata(path: Path, created_at: str) -> Path:
    path.write_text(json.dumps({"id": 123456, "created_at": created_at, "assignment": {
        "due_date": DUE, "late_due_date": None, "title": "HW1", "total_points": "100.0"},
        "users": [{"email": "student@example.com", "id": 1, "name": "Student"}], "previous_submissions": []}))
    return path


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def _autograder_root(base: Path, bundle: Path, name: str, submission: Path | None, created_at: str) -> Path:
    """A folder laid out as Gradescope lays out /autograder for one submission."""
    root = base / name
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(bundle) as archive:
        for info in archive.infolist():
            target = Path(archive.extract(info, root / "source"))
            mode = info.external_attr >> 16
            if mode:
                target.chmod(stat.S_IMODE(mode))
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    if submission is None:
        (root / "submission").mkdir()
    else:
        shutil.copytree(submission, root / "submission")
    _metadata(root / "submission_metadata.json", created_at)
    return root


def _run_autograder(root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), GRADER_PYTHON=sys.executable)
    return subprocess.run(["bash", str(root / "run_autograder")], capture_output=True, text=True, cwd=root,
                          env=env, timeout=600)


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("gradescope")
    rubric = _rubric(base / "rubric.toml")
    bundle = base / "autograder.zip"
    exported = _cli(["export", "gradescope", str(bundle), "--rubric", str(rubric)], base)
    assert exported.returncode == 0, exported.stderr
    correct = SUBMISSIONS / "correct"
    roots = {"on_time": _autograder_root(base, bundle, "on_time", correct, ON_TIME),
             "late": _autograder_root(base, bundle, "late", correct, LATE),
             "empty": _autograder_root(base, bundle, "empty", None, ON_TIME)}
    late_meta = _metadata(base / "late_metadata.json", LATE)
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = {name: pool.submit(_run_autograder, root) for name, root in roots.items()}
        cli = {
            "truth": pool.submit(_cli, ["grade", str(correct), "--rubric", str(rubric), "--metadata", str(late_meta),
                                        "--format", "json"], base),
            "public": pool.submit(_cli, ["grade", str(correct), "--rubric", str(rubric), "--public", "--format",
                                         "json"], base),
            "public_table": pool.submit(_cli, ["grade", str(correct), "--rubric", str(rubric), "--public"], base),
        }
        done = {name: future.result() for name, future in {**runs, **cli}.items()}
    for name in roots:
        assert done[name].returncode == 0, done[name].stderr
    results = {name: json.loads((root / "results" / "results.json").read_text()) for name, root in roots.items()}
    truth = json.loads(done["truth"].stdout)
    return {"base": base, "bundle": bundle, "rubric": rubric, "results": results, "truth": truth, "runs": done}


def _checks(report: dict) -> list[dict]:
    return [c for q in report["questions"] for c in q["checks"]]


def _num(value: float) -> str:
    return ("%.2f" % value).rstrip("0").rstrip(".")


# -- the bundle --------------------------------------------------------------------------------

def test_bundle_holds_executable_scripts_the_rubric_and_the_grader(setup):
    with zipfile.ZipFile(setup["bundle"]) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        assert archive.read("rubric.toml").decode() == setup["rubric"].read_text()
    for script in ("setup.sh", "run_autograder"):
        assert script in infos, "Gradescope needs it at the root of the zip"
        mode = infos[script].external_attr >> 16
        assert stat.S_ISREG(mode) and mode & 0o111 == 0o111
    package = Path(__import__("grader").__file__).parent
    shipped = {p.relative_to(package).as_posix() for p in package.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert {name.removeprefix("grader/") for name in infos if name.startswith("grader/")} == shipped
    assert archive_text(setup["bundle"], "grader/assignments/hw1/rubric.toml") == DEFAULT_RUBRIC.read_text()


def archive_text(bundle, name: str) -> str:
    with zipfile.ZipFile(bundle) as archive:
        return archive.read(name).decode()


def test_scripts_are_valid_bash_that_install_and_run_the_grader(setup):
    source = setup["base"] / "on_time" / "source"
    for script in ("setup.sh", "run_autograder"):
        check = subprocess.run(["bash", "-n", str(source / script)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        assert (source / script).read_text().startswith("#!/usr/bin/env bash\n")
    setup_sh = (source / "setup.sh").read_text()
    assert "pip install" in setup_sh and "torch" in setup_sh and "bubblewrap" in setup_sh
    run = (source / "run_autograder").read_text()
    assert "-m grader grade" in run and "--format gradescope" in run and "results/results.json" in run
    assert "submission_metadata.json" in run


# -- run_autograder ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["on_time", "late", "empty"])
def test_results_json_follows_gradescopes_specification(setup, name):
    jsonschema.validate(setup["results"][name], SCHEMA)


def test_on_time_submission_scores_what_grader_grade_scores(setup):
    results, truth = setup["results"]["on_time"], setup["truth"]
    assert results["score"] == pytest.approx(truth["score"], abs=1e-3), "on time: the raw score, no penalty"
    assert results["extra_data"]["penalties"] == []
    checks = _checks(truth)
    assert [t["name"] for t in results["tests"]] == [c["id"] for c in checks]
    for test, check in zip(results["tests"], checks):
        assert test["score"] == pytest.approx(check["score"], abs=1e-3)
        assert test["max_score"] == pytest.approx(check["max_score"], abs=1e-3)
        assert test["status"] == ("passed" if check["status"] == "pass" else "failed")


def test_each_test_carries_its_rubric_visibility(setup):
    results = setup["results"]["on_time"]
    expected = {}
    for test in results["tests"]:
        question, local = re.fullmatch(r"([a-z_.]+)\[(.+)\]", test["name"]).groups()
        table = VISIBILITY.get(question, {})
        expected[test["name"]] = table.get(local, table.get("*", "visible"))
    assert {t["name"]: t["visibility"] for t in results["tests"]} == expected
    assert set(expected.values()) == {"visible", "hidden", "after_due_date", "after_published"}
    assert {c["id"]: c["visibility"] for c in _checks(setup["truth"])} == expected


def test_late_submission_gets_the_late_penalty_line_and_a_lower_score(setup):
    late, on_time, truth = setup["results"]["late"], setup["results"]["on_time"], setup["truth"]
    (penalty,) = truth["penalties"]
    assert penalty["policy"] == "late"
    assert late["score"] == pytest.approx(truth["final_score"], abs=1e-3)
    assert late["score"] < on_time["score"]
    assert late["extra_data"]["raw_score"] == pytest.approx(on_time["score"], abs=1e-3)
    lines = late["output"].splitlines()
    assert "Penalty -%s: %s" % (_num(penalty["points"]), penalty["reason"]) in lines
    assert "11.0 hours after the due date" in penalty["reason"]


def test_empty_submission_still_gets_a_valid_results_json_with_score_0(setup):
    results = setup["results"]["empty"]
    assert results["score"] == 0 and results["tests"] == []
    assert "could not grade" in results["output"] and "mlp.py" in results["output"]


def test_run_autograder_writes_a_results_json_even_when_the_grader_cannot_start(setup, tmp_path):
    root = _autograder_root(tmp_path, setup["bundle"], "broken", SUBMISSIONS / "correct", ON_TIME)
    (root / "source" / "rubric.toml").write_text("this is [ not toml")
    result = _run_autograder(root)
    assert result.returncode == 0
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    assert results["score"] == 0 and "autograder failed" in results["output"]


# -- hidden checks and --public ------------------------------------------------------------------

def test_public_runs_only_visible_checks_and_says_what_it_left_out(setup):
    result = setup["runs"]["public"]
    assert result.returncode == 0, result.stderr
    public, truth = json.loads(result.stdout), setup["truth"]
    hidden = [c for c in _checks(truth) if c["visibility"] != "visible"]
    assert hidden
    assert public["not_run"]["checks"] == len(hidden)
    assert public["not_run"]["points"] == pytest.approx(sum(c["max_score"] for c in hidden), abs=1e-3)
    visible = {c["id"]: (c["status"], c["score"]) for c in _checks(truth) if c["visibility"] == "visible"}
    assert {c["id"]: (c["status"], c["score"]) for c in _checks(public)} == visible
    assert public["max_score"] == pytest.approx(truth["max_score"] - public["not_run"]["points"], abs=1e-3)
    (notice,) = [n for n in public["notices"] if n.startswith("--public")]
    assert "%d hidden checks" % len(hidden) in notice
    assert truth["not_run"] is None


def test_public_terminal_notice_says_how_many_checks_and_points_were_not_run(setup):
    result = setup["runs"]["public_table"]
    assert result.returncode == 0, result.stderr
    public = json.loads(setup["runs"]["public"].stdout)
    notices = [line for line in result.stdout.splitlines() if line.startswith("note: --public")]
    assert len(notices) == 1
    found = re.search(r"(\d+) hidden checks worth ([\d.]+) points were not run", notices[0])
    assert int(found[1]) == public["not_run"]["checks"]
    assert float(found[2]) == pytest.approx(public["not_run"]["points"], abs=0.01)
    assert "mlp.hygiene" not in result.stdout and "mlp.backward" in result.stdout
    # the last lines, where the score is, say it too: no "100%" without the hidden points
    (summary,) = [line for line in result.stdout.splitlines() if line.startswith("Not run here:")]
    assert "%d hidden checks" % public["not_run"]["checks"] in summary

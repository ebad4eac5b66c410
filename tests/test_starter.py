"""`grader init DIR`: the student starter folder, its GitHub Actions workflow (valid, installs the
grader, runs the documented command, and that command behaves on the untouched starter), and
its refusal to overwrite without --force.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

FILES = ["mlp.py", "theory.py", "theory.md", "README.md", ".github/workflows/grade.yml"]
DOCUMENTED = "grader grade . --format github"


def _run(args: list[str], cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600, env=env)


def _run_command(argv: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """`argv` as a shell step would run it: the installed `grader` console script of this Python."""
    script = shutil.which(argv[0], path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    assert script, "the grader console script is installed with the package"
    return subprocess.run([script, *argv[1:]], capture_output=True, text=True, cwd=cwd, timeout=600, env=env)


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _template(name: str) -> str:
    from grader.engine.assignment import find_assignment

    hw1 = find_assignment("hw1")
    return hw1.resource(hw1.starter_files[name]).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def starter(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("init") / "hw1"
    result = _run(["init", str(folder)])
    assert result.returncode == 0, result.stderr
    assert sorted(_tree(folder)) == sorted(FILES)
    for name in FILES:
        assert "wrote %s" % (folder / name) in result.stdout
    return folder


@pytest.fixture(scope="module")
def workflow(starter) -> dict:
    return yaml.safe_load((starter / ".github" / "workflows" / "grade.yml").read_text())


def test_files_are_the_packaged_templates(starter):
    for name in FILES:
        assert (starter / name).read_text() == _template(name)


def test_workflow_is_valid_and_triggers_on_push_and_pull_request(workflow):
    assert isinstance(workflow, dict) and workflow.get("name")
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    (job,) = workflow["jobs"].values()
    assert job["runs-on"].startswith("ubuntu")
    for step in job["steps"]:
        assert set(step) & {"uses", "run"}
        assert set(step) <= {"name", "uses", "run", "with", "env", "if", "id", "shell"}, step


def test_workflow_installs_the_grader_and_runs_the_documented_command(workflow, starter):
    (job,) = workflow["jobs"].values()
    runs = [step["run"] for step in job["steps"] if "run" in step]
    uses = [step["uses"] for step in job["steps"] if "uses" in step]
    assert any(u.startswith("actions/checkout@") for u in uses)
    assert any(u.startswith("actions/setup-python@") for u in uses)
    env = dict(workflow.get("env", {}), **job.get("env", {}))
    installs = [line for run in runs for line in run.splitlines() if line.strip().startswith("pip install")]
    resolved = [line.replace("$GRADER_PACKAGE", env.get("GRADER_PACKAGE", "$GRADER_PACKAGE")) for line in installs]
    assert any("backprop-grader" in line for line in resolved), installs
    assert any(line.startswith("pip install torch") for line in installs)
    install_at = next(i for i, run in enumerate(runs) if "pip install" in run)
    grade_at = next(i for i, run in enumerate(runs) if run.strip() == DOCUMENTED)
    assert install_at < grade_at
    readme = (starter / "README.md").read_text()
    assert DOCUMENTED in readme and "grader grade ." in readme


@pytest.fixture(scope="module")
def graded_starter(starter, workflow, tmp_path_factory) -> dict:
    """The workflow's own grade command run in the starter folder (as the job would, with a step
    summary file), and the same folder graded as a table and as JSON; concurrently."""
    (job,) = workflow["jobs"].values()
    (command,) = [step["run"].strip() for step in job["steps"] if "run" in step and "grader grade" in step["run"]]
    argv = shlex.split(command)
    assert argv[:2] == ["grader", "grade"]
    summary = tmp_path_factory.mktemp("summary") / "summary.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env.update(GITHUB_STEP_SUMMARY=str(summary), GITHUB_ACTIONS="true")
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {"github": pool.submit(_run_command, argv, starter, env),
                   "table": pool.submit(_run, ["grade", str(starter)]),
                   "json": pool.submit(_run, ["grade", str(starter), "--format", "json"])}
        done = {name: future.result() for name, future in futures.items()}
    done["summary"] = summary.read_text() if summary.exists() else ""
    return done


def test_the_workflow_command_fails_with_not_implemented_annotations(graded_starter):
    result = graded_starter["github"]
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error ")]
    assert 1 <= len(errors) <= 10
    assert all("not implemented yet" in line for line in errors[:5])
    assert all("file=mlp.py" in line or "file=theory.py" in line for line in errors)
    assert "Traceback" not in result.stdout + result.stderr
    assert "| Question | Points | Passed |" in graded_starter["summary"]


def test_the_untouched_starter_scores_zero_without_a_traceback(graded_starter):
    report = json.loads(graded_starter["json"].stdout)
    checks = [c for q in report["questions"] for c in q["checks"]]
    assert report["score"] == 0 and report["final_score"] == 0 and report["max_score"] > 0
    assert not report["penalties"], "the starter has the expected files and nothing forbidden"
    assert checks and all(c["status"] != "pass" for c in checks)
    assert [c["id"] for c in checks if c["max_score"] and "not implemented yet" not in c["message"]] == []
    # the untouched written sheet: every item missing (not wrong, not for review), shown at 0 points
    # beside theory.py, which counts (the rubric's alternatives)
    sheet = [c for c in checks if c["id"].startswith("answers.")]
    assert len(sheet) == 33 and all((c["status"], c["code"], c["max_score"]) == ("fail", "missing", 0) for c in sheet)
    assert any("theory.py counts" in notice for notice in report["notices"])
    for name in ("json", "table", "github"):
        result = graded_starter[name]
        assert result.returncode == 1
        assert "Traceback" not in result.stdout + result.stderr
        assert 'File "' not in result.stdout + result.stderr
    assert "Score 0 / %s" % ("%g" % report["max_score"]) in graded_starter["table"].stdout


def test_init_refuses_to_overwrite_without_force(tmp_path):
    folder = tmp_path / "mine"
    (folder / ".github" / "workflows").mkdir(parents=True)
    (folder / "mlp.py").write_text("my own work\n")
    (folder / "notes.txt").write_text("keep me\n")
    before = _tree(folder)
    result = _run(["init", str(folder)])
    assert result.returncode == 2
    assert "--force" in result.stderr and "mlp.py" in result.stderr and "Traceback" not in result.stderr
    assert _tree(folder) == before, "nothing is written when anything would be overwritten"
    forced = _run(["init", str(folder), "--force"])
    assert forced.returncode == 0, forced.stderr
    after = _tree(folder)
    assert after["notes.txt"] == b"keep me\n"
    for name in FILES:
        assert after[name].decode() == _template(name)


def test_init_into_a_file_or_over_a_folder_is_refused(tmp_path):
    target = tmp_path / "a_file"
    target.write_text("x")
    result = _run(["init", str(target)])
    assert result.returncode == 2 and "not a folder" in result.stderr
    folder = tmp_path / "odd"
    (folder / "mlp.py").mkdir(parents=True)
    result = _run(["init", str(folder), "--force"])
    assert result.returncode == 2 and "mlp.py" in result.stderr and "Traceback" not in result.stderr
    assert not (folder / "theory.py").exists()


def test_init_replaces_a_symlink_not_the_file_it_points_to(tmp_path):
    elsewhere = tmp_path / "precious.py"
    elsewhere.write_text("precious\n")
    folder = tmp_path / "linked"
    folder.mkdir()
    (folder / "mlp.py").symlink_to(elsewhere)
    assert _run(["init", str(folder)]).returncode == 2
    assert _run(["init", str(folder), "--force"]).returncode == 0
    assert elsewhere.read_text() == "precious\n"
    assert not (folder / "mlp.py").is_symlink() and (folder / "mlp.py").read_text() == _template("mlp.py")

"""Incremental, resumable batch results (--results), shards (--shard, grader merge) and the class
summary. The command-line tests grade a small class for real; the rest use synthetic reports."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.errors import UsageError
from grader.faces import batch
from grader.faces.results import (ResultsStore, in_shard, merge_results, parse_shard, read_results, run_key,
                                  shard_of, submission_key)
from grader.faces.summary import class_summary, general_diagnosis, render_summary
from grader.model.results import CheckResult, GradeReport, QuestionResult
from grader.sandbox.snapshot import remove_tree

from .conftest import ROOT, SUBMISSIONS

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

FAST = ["--sandbox", "none", "--only", "mlp.forward", "--max-examples", "1", "--timeout", "30"]


def _report(path: str, passed: bool, code: str = "wrong_values", message: str = "y_hat is wrong") -> GradeReport:
    check = CheckResult(id="mlp.forward[relu-relu]", question="mlp.forward", title="x",
                        status="pass" if passed else "fail", score=1.0 if passed else 0.0, max_score=1.0,
                        code=None if passed else code, message="" if passed else message)
    return GradeReport(grader_version="t", assignment="hw1", submission=path, seed=0,
                       questions=[QuestionResult("mlp.forward", "Forward", [check])])


def _class(base: Path, names: list[str]) -> list[str]:
    for name in names:
        folder = base / name
        folder.mkdir(parents=True)
        (folder / "mlp.py").write_text("# %s\n" % name)
    return [str(base / name) for name in names]


# -- the results store -------------------------------------------------------------------------

def test_a_rerun_skips_unchanged_submissions_and_regrades_a_changed_one(tmp_path):
    paths = _class(tmp_path / "class", ["ann", "bob", "cy"])
    graded: list[str] = []

    def grade_one(path: str) -> GradeReport:
        graded.append(path)
        return _report(path, passed=True)

    def run() -> batch.BatchOutcome:
        store = ResultsStore(tmp_path / "results.jsonl")
        key = run_key({"seed": 0})
        keys = {p: submission_key(key, p) for p in paths}
        try:
            return batch.grade_class(paths, grade_one, [], 1, 0, 10.0, False, "hw1", store, keys)
        finally:
            store.close()

    first = run()
    assert graded == paths and first.cached == 0 and len(read_results(tmp_path / "results.jsonl")) == 3
    graded.clear()
    second = run()
    assert graded == [] and second.cached == 3
    assert [r.submission for r in second.reports] == paths
    (Path(paths[1]) / "mlp.py").write_text("# bob, corrected\n")
    graded.clear()
    third = run()
    assert graded == [paths[1]] and third.cached == 2
    assert len(read_results(tmp_path / "results.jsonl")) == 4  # one line per grading, appended


def test_the_key_follows_content_options_and_the_folder(tmp_path):
    paths = _class(tmp_path, ["ann", "bob"])
    base = run_key({"seed": 0, "secret": "digest-a"})
    assert submission_key(base, paths[0]) == submission_key(base, paths[0])
    assert submission_key(base, paths[0]) != submission_key(base, paths[1])  # same content, another folder
    assert submission_key(run_key({"seed": 1, "secret": "digest-a"}), paths[0]) != submission_key(base, paths[0])
    assert submission_key(run_key({"seed": 0, "secret": "digest-b"}), paths[0]) != submission_key(base, paths[0])
    before = submission_key(base, paths[0])
    (Path(paths[0]) / "theory.md").write_text("an answer\n")
    assert submission_key(base, paths[0]) != before
    (Path(paths[0]) / "theory.md").unlink()
    (Path(paths[0]) / "__pycache__").mkdir()
    (Path(paths[0]) / "__pycache__" / "mlp.cpython-311.pyc").write_bytes(b"\0")
    assert submission_key(base, paths[0]) == before


def test_the_key_sees_what_the_format_policy_sees_and_survives_a_deep_tree(tmp_path):
    """A Jupyter checkpoint is a notebook the format policy may forbid, so it changes the key;
    a folder tree deeper than Python's recursion limit still gets a key (the grader's bounded
    walk, not a recursive one)."""
    paths = _class(tmp_path, ["ann"])
    base = run_key({"seed": 0})
    before = submission_key(base, paths[0])
    (Path(paths[0]) / ".ipynb_checkpoints").mkdir()
    (Path(paths[0]) / ".ipynb_checkpoints" / "mlp-checkpoint.ipynb").write_text("{}")
    assert submission_key(base, paths[0]) != before
    deep = tmp_path / "deep"
    deep.mkdir()
    here = os.getcwd()
    try:
        os.chdir(deep)
        for _ in range(1200):
            os.mkdir("d")
            os.chdir("d")
        Path("mlp.py").write_text("x = 1\n")
    finally:
        os.chdir(here)
    try:
        assert submission_key(base, str(deep)) != submission_key(base, paths[0])
    finally:
        remove_tree(deep)  # deeper than shutil.rmtree (and pytest's clean-up) can recurse


def test_an_error_report_is_kept_but_never_reused_and_a_torn_line_is_ignored(tmp_path):
    file = tmp_path / "r.jsonl"
    store = ResultsStore(file)
    store.append("ann", "k1", _report("ann", True))
    store.append("bob", "k2", batch.error_report("bob", 0, "grading did not finish within 9 s"))
    store.close()
    with open(file, "a", encoding="utf-8") as handle:
        handle.write('{"folder": "cy", "key": "k3", "rep')  # a write cut short by a kill
    store = ResultsStore(file)
    assert store.cached("ann", "k1") is not None
    assert store.cached("ann", "other key") is None
    assert store.cached("bob", "k2") is None
    assert store.cached("cy", "k3") is None
    store.append("cy", "k3", _report("cy", False))
    store.close()
    assert [e.folder for e in read_results(file)] == ["ann", "bob", "cy"]


# -- shards and merge ----------------------------------------------------------------------------

def test_shards_cover_the_class_once_and_stay_put_as_it_grows():
    folders = ["class/student%03d" % i for i in range(60)]
    shards = [in_shard(folders, index, 4) for index in range(4)]
    assert sorted(sum(shards, [])) == sorted(folders)
    assert all(shards), "every shard gets some of 60 folders"
    grown = folders + ["class/late%02d" % i for i in range(10)]
    assert all(set(in_shard(grown, i, 4)) >= set(shards[i]) for i in range(4))
    assert shard_of("/mnt/a/class/student001", 4) == shard_of("class/student001/", 4)  # by the folder's name


@pytest.mark.parametrize("text", ["4/4", "-1/4", "1/0", "a/b", "3"])
def test_a_bad_shard_is_a_usage_error(text):
    with pytest.raises(UsageError):
        parse_shard(text)


def test_merged_shards_equal_the_whole_class(tmp_path):
    folders = ["class/s%02d" % i for i in range(12)]
    whole = [_report(f, passed=i % 3 != 0) for i, f in enumerate(folders)]
    files = []
    for index in range(3):
        store = ResultsStore(tmp_path / ("shard%d.jsonl" % index))
        for report in whole:
            if shard_of(report.submission, 3) == index:
                store.append(report.submission, "k", report)
        store.close()
        files.append(tmp_path / ("shard%d.jsonl" % index))
    merged, overlapping = merge_results(files)
    assert overlapping == []
    assert [r.to_json() for r in merged] == [r.to_json() for r in whole]
    merged, overlapping = merge_results(files + [files[0]])
    assert overlapping == sorted(r.submission for r in whole if shard_of(r.submission, 3) == 0)


def _cli(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env=_env())


def _env() -> dict[str, str]:
    env = dict(os.environ, COLUMNS="160")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


@pytest.mark.cli
def test_grader_merge_writes_one_report_of_every_shard(tmp_path):
    folders = ["class/s%02d" % i for i in range(6)]
    for index in range(2):
        store = ResultsStore(tmp_path / ("shard%d.jsonl" % index))
        for folder in in_shard(folders, index, 2):
            store.append(folder, "k", _report(folder, passed=folder.endswith("0")))
        store.close()
    result = _cli(["merge", "shard0.jsonl", "shard1.jsonl", "--format", "csv", "-o", "grades.csv"], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "grades.csv").read_text())))
    assert [row["submission"] for row in rows] == folders
    assert "Class summary: 6 submissions" in result.stdout
    missing = _cli(["merge", "nothere.jsonl"], tmp_path)
    assert missing.returncode == 2 and "no such results file" in missing.stderr


# -- the class summary ---------------------------------------------------------------------------

def test_the_summary_counts_students_per_check_and_per_diagnosis():
    reports = [_report("a", True), _report("b", False, "transposed", "dJdW1 is transposed; it failed for B=2"),
               _report("c", False, "transposed", "dJdW1 is transposed; it failed for B=5"),
               _report("d", False), batch.error_report("e", 0, "nothing to grade")]
    summary = class_summary(reports, cached=1)
    assert summary.graded == 4 and summary.errors == [("e", "nothing to grade")]
    assert summary.check_failures == [("mlp.forward[relu-relu]", 3, "transposed")]
    assert summary.diagnoses[0] == ("transposed", "dJdW1 is transposed", 2)
    assert sum(summary.bins) == 4 and summary.bins[-1] == 1 and summary.bins[0] == 3
    from rich.console import Console

    console = Console(file=io.StringIO(), width=120)
    render_summary(summary, console)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "Class summary: 5 submissions" in text and "1 cached" in text and "could not grade e" in text


def test_a_diagnosis_in_general_words():
    assert general_diagnosis("J is scaled: it equals 0.5 times the expected value; it already fails for B=1") == (
        "J is scaled: it equals # times the expected value")
    assert general_diagnosis("mlp.py raised ValueError (at mlp.py:12 in forward: x)") == "mlp.py raised ValueError"


# -- the command line: resume, interruption ------------------------------------------------------

@pytest.mark.slow
@pytest.mark.cli
def test_resume_from_the_command_line(tmp_path):
    for name in ("ann", "bob"):
        shutil.copytree(SUBMISSIONS / "correct", tmp_path / "class" / name)
    args = ["grade", "--each", "class", *FAST, "--results", "r.jsonl", "--format", "csv", "-o", "grades.csv"]
    first = _cli(args, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Class summary: 2 submissions - 2 graded" in first.stdout and "backprop-grader" not in first.stdout
    before = (tmp_path / "grades.csv").read_text()
    (tmp_path / "class" / "bob" / "mlp.py").write_text((tmp_path / "class" / "bob" / "mlp.py").read_text() + "\n")
    second = _cli(args + ["--details"], tmp_path)
    assert second.returncode == 0, second.stderr
    assert "1 graded, 1 cached" in second.stdout
    assert second.stdout.count("backprop-grader") == 2  # --details: every table too
    assert len(read_results(tmp_path / "r.jsonl")) == 3
    rows = [row["submission"] for row in csv.DictReader(io.StringIO((tmp_path / "grades.csv").read_text()))]
    assert rows == ["class/ann", "class/bob"] and before.splitlines()[0] == (tmp_path / "grades.csv").read_text(
        ).splitlines()[0]


@pytest.mark.slow
@pytest.mark.cli
@pytest.mark.parametrize("jobs, how", [("1", "sigterm"), ("2", "sigterm"), ("2", "ctrl-c")])
def test_sigterm_mid_batch_keeps_finished_results_and_writes_the_report(tmp_path, jobs, how):
    """SIGTERM to the grader, or Ctrl-C (SIGINT to the whole process group: the child graders get
    it too), once one submission has finished."""
    names = ["s%d" % i for i in range(6)]
    for name in names:
        shutil.copytree(SUBMISSIONS / "correct", tmp_path / "class" / name)
    results = tmp_path / "r.jsonl"
    child = subprocess.Popen([sys.executable, "-m", "grader", "grade", "--each", "class", *FAST, "--jobs", jobs,
                              "--results", "r.jsonl", "--format", "csv", "-o", "grades.csv"],
                             cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        waited = 0.0
        while not (results.exists() and results.read_text().count("\n") >= 1) and child.poll() is None:
            time.sleep(0.1)
            waited += 0.1
            assert waited < 300, "no submission finished"
        if how == "sigterm":
            child.send_signal(signal.SIGTERM)
        else:
            os.killpg(child.pid, signal.SIGINT)
        _, stderr = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    finished = read_results(results)
    assert 1 <= len(finished) < len(names), "queued submissions were cancelled: %s" % stderr[-2000:]
    assert child.returncode == 2 and "interrupted: %d of 6 submissions finished" % len(finished) in stderr
    assert all(entry.report.error is None for entry in finished)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "grades.csv").read_text())))
    assert sorted(row["submission"] for row in rows) == sorted(entry.folder for entry in finished)
    # resuming grades only the rest
    rerun = _cli(["grade", "--each", "class", *FAST, "--jobs", jobs, "--results", "r.jsonl", "--format", "json",
                  "-o", "all.json"], tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert "%d cached" % len(finished) in rerun.stdout
    assert [r["submission"] for r in json.loads((tmp_path / "all.json").read_text())] == [
        "class/%s" % n for n in names]


@pytest.mark.slow
@pytest.mark.cli
def test_shards_from_the_command_line_grade_the_class_once(tmp_path):
    """Every folder of a class in exactly one of two shards' results files; merged, the whole
    class in order (folders with nothing to grade: fast, and error reports are kept too)."""
    names = ["s%02d" % i for i in range(8)]
    for name in names:
        (tmp_path / "class" / name).mkdir(parents=True)
    for index in range(2):
        result = _cli(["grade", "--each", "class", "--shard", "%d/2" % index, "--results", "shard%d.jsonl" % index,
                       "--sandbox", "none"], tmp_path)
        assert result.returncode == 2 and "Traceback" not in result.stderr  # nothing to grade: errors
    shards = [[e.folder for e in read_results(tmp_path / ("shard%d.jsonl" % i))] for i in range(2)]
    assert not set(shards[0]) & set(shards[1])
    assert sorted(shards[0] + shards[1]) == ["class/%s" % n for n in names]
    merged = _cli(["merge", "shard0.jsonl", "shard1.jsonl", "--format", "json", "-o", "all.json"], tmp_path)
    assert merged.returncode == 2  # the merged report holds submissions that could not be graded
    assert [r["submission"] for r in json.loads((tmp_path / "all.json").read_text())] == [
        "class/%s" % n for n in names]
    empty = next(i for i in range(50) if not in_shard(["class/%s" % n for n in names], i, 50))
    none = _cli(["grade", "--each", "class", "--shard", "%d/50" % empty, "--results", "none.jsonl"], tmp_path)
    assert none.returncode == 0 and "holds none of the submissions" in none.stderr
    assert (tmp_path / "none.jsonl").read_text() == ""

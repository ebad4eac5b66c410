"""The isolation tiers (--sandbox bwrap | user | none): which one `auto` picks, what the report
says about it, and attacks on what each tier must protect.

Each attack here is a submission folder in tests/tier_attacks/, graded through the command
line under every tier available on this machine (a tier that is not available is skipped,
saying why).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader.errors import SandboxUnavailable
from grader.sandbox.jail import TIERS, resolve_mode, tier_notice

from .conftest import HAVE_BWRAP, HAVE_USER_TIER, NO_BWRAP_REASON, NO_USER_TIER_REASON, REFERENCE, ROOT

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

TIER_ATTACKS = Path(__file__).resolve().parent / "tier_attacks"
AVAILABLE = {"bwrap": HAVE_BWRAP, "user": HAVE_USER_TIER, "none": True}
REASONS = {"bwrap": NO_BWRAP_REASON, "user": NO_USER_TIER_REASON, "none": ""}


def tier_params(tiers: tuple[str, ...] = TIERS) -> list:
    """One pytest param per tier, skipped (with the reason) where the tier is not available."""
    return [pytest.param(tier, id=tier, marks=[pytest.mark.skipif(not AVAILABLE[tier], reason=REASONS[tier])])
            for tier in tiers]


def test_auto_picks_the_strongest_available_tier() -> None:
    strongest = next(tier for tier in TIERS if AVAILABLE[tier])
    assert resolve_mode("auto") == strongest
    for tier in TIERS:
        if AVAILABLE[tier]:
            assert resolve_mode(tier) == tier
        else:
            with pytest.raises(SandboxUnavailable):
                resolve_mode(tier)
    with pytest.raises(SandboxUnavailable):
        resolve_mode("chroot")


def test_weaker_tiers_say_so_in_the_report() -> None:
    assert tier_notice("bwrap") is None
    assert "unprivileged user id" in (tier_notice("user") or "")
    assert "NOT ISOLATED" in (tier_notice("none") or "")


def stage_attack(name: str, folder: Path, extra: dict[str, str] | None = None) -> Path:
    """folder/sub: the attack's files, the honest key they import (_key.py), the honest theory.py
    and `extra` files."""
    submission = folder / "sub"
    shutil.copytree(TIER_ATTACKS / name, submission)
    shutil.copy(REFERENCE / "mlp.py", submission / "_key.py")
    shutil.copy(REFERENCE / "theory.py", submission / "theory.py")
    for file, text in (extra or {}).items():
        (submission / file).write_text(text)
    return submission


def grade_cli(submission: Path, tier: str, cwd: Path, *args: str, pythonpath: Path = ROOT,
              out_format: str = "json") -> tuple[subprocess.CompletedProcess, Path]:
    """Grade `submission` through `python -m grader` (the grader package found on `pythonpath`)."""
    out = cwd / "report.out"
    env = dict(os.environ, PYTHONPATH=str(pythonpath), HYPOTHESIS_STORAGE_DIRECTORY=str(cwd / "hypothesis"))
    done = subprocess.run(
        [sys.executable, "-m", "grader", "grade", str(submission), "--format", out_format, "-o", str(out),
         "--sandbox", tier, "--seed", "0", "--max-examples", "2", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    return done, out


def tree_state(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("tier", tier_params())
def test_submission_cannot_rewrite_the_report_format(tier: str, tmp_path: Path) -> None:
    """attack_rewrite_grader appends a forged `render` to the installed report formats at import.
    The grader imports every module before student code runs, so the report is its own under
    every tier; only without a sandbox can the attack write the install at all."""
    install = Path(tempfile.mkdtemp(prefix="bpg-install-"))
    try:
        os.chmod(install, 0o755)  # where a real install lies: readable by everyone, writable by root
        shutil.copytree(ROOT / "grader", install / "grader", ignore=shutil.ignore_patterns("__pycache__"))
        submission = stage_attack("attack_rewrite_grader", tmp_path, {"_install.txt": str(install / "grader")})
        before = tree_state(install)
        cwd = tmp_path / "cwd"
        cwd.mkdir()
        done, out = grade_cli(submission, tier, cwd, "--only", "mlp.bce_loss", "--only", "mlp.mse_loss",
                              pythonpath=install, out_format="gradescope")
        assert done.returncode == 1, done.stderr  # graded, and not every check passed
        text = out.read_text()
        assert "FORGED" not in text and "FORGED" not in done.stderr
        data = json.loads(text)
        bce = [t for t in data["tests"] if t["name"].startswith("mlp.bce_loss")]
        assert bce and all(t["score"] == 0 < t["max_score"] for t in bce)
        assert data["score"] < sum(t["max_score"] for t in data["tests"])
        assert "sandbox %s" % tier in data["output"]
        if tier == "none":  # the attack did run and write: only the preloading kept the report honest
            assert "FORGED" in (install / "grader" / "faces" / "formats" / "gradescope.py").read_text()
        else:
            assert tree_state(install) == before
            assert not (install / "sitecustomize.py").exists()
    finally:
        shutil.rmtree(install, ignore_errors=True)


def look_around(tier: str, tmp_path: Path) -> tuple[dict, str, Path]:
    """Grade attack_look_around under `tier`; returns what it found, what the report shows of its
    printed output (and the grader's stderr), and the original submission folder."""
    results = tmp_path / "cwd"
    results.mkdir()
    os.chmod(tmp_path, 0o755)  # reachable, as a class folder usually is: only permissions keep it safe
    submission = stage_attack("attack_look_around", tmp_path, {
        "_install.txt": str(ROOT / "grader"), "_results.txt": str(results)})
    (submission / "_original.txt").write_text(str(submission))
    before = tree_state(tmp_path)
    done, out = grade_cli(submission, tier, results, "--only", "mlp.bce_loss[value]")
    assert done.returncode == 1, done.stderr
    text = out.read_text()
    data = json.loads(text)
    outputs = [c["output"] for q in data["questions"] for c in q["checks"]]
    found = json.loads(next(o for o in outputs if "look_around " in o).split("look_around ", 1)[1].splitlines()[0])
    after = tree_state(tmp_path)
    after.pop(str(out.relative_to(tmp_path)))
    assert after == before, "the attack wrote outside its scratch space"
    assert not any(found["wrote"].values()), found["wrote"]
    assert data["sandbox"] == tier
    return found, "\n".join(outputs) + done.stderr, submission


def _rubric_text() -> str:
    """A line of the packaged rubric that no report prints."""
    lines = (ROOT / "grader" / "assignments" / "hw1" / "rubric.toml").read_text().splitlines()
    return next(line for line in lines if line.startswith("#") and len(line) > 30)


@pytest.mark.parametrize("tier", tier_params(("bwrap",)))
def test_nothing_to_read_inside_bubblewrap(tier: str, tmp_path: Path) -> None:
    """No sandbox command line, no mount table with the snapshot's host path, no package data."""
    found, text, submission = look_around(tier, tmp_path)
    for key in ("init", "parent", "mounts"):
        assert found[key] == "<FileNotFoundError>", (key, found[key])
    assert "<" in found["rubric"] and _rubric_text() not in text
    for leak in ("bwrap", "--ro-bind", "backprop-grader-", str(ROOT), str(tmp_path)):
        assert leak not in text, leak
    assert found["uid"] == 65534


@pytest.mark.parametrize("tier", tier_params(("user",)))
def test_user_tier_identity_and_environment(tier: str, tmp_path: Path) -> None:
    """Under the user tier the worker runs under a uid of its own, in no group of anyone's, with
    the scrubbed environment and a private home; it writes nothing outside it (see look_around)."""
    from grader.sandbox.jail import worker_env
    from grader.sandbox.tiers import is_worker_uid

    found, text, _ = look_around(tier, tmp_path)
    assert is_worker_uid(found["uid"]) and is_worker_uid(found["gid"]) and found["uid"] != found["gid"]
    assert found["groups"] == []
    assert set(found["env"]) <= set(worker_env()) | {"PWD", "LC_CTYPE"}
    assert found["home_mode"] == "0o700"


# -- resources of a worker as a whole -----------------------------------------------------------

MEMFD_HOG = '''
import os

HELD = []
block = b"\\1" * (15 << 20)  # under the file size limit
for number in range(100):  # 1.5 GiB in memory files: outside the address space, not outside the cgroup
    fd = os.memfd_create("hog%d" % number)
    os.write(fd, block)
    HELD.append(fd)
print("held %d MiB in memory files" % (len(HELD) * 15))


def loss(y, y_hat, kind):
    return 0.0
'''


@pytest.mark.parametrize("tier", tier_params())
def test_memory_files_count_against_the_workers_memory(tier: str, tmp_path: Path) -> None:
    """A worker may address 1 GiB; memory files (memfd) are not in its address space, but its
    cgroup counts them: holding 1.5 GiB of them gets the worker killed."""
    from grader.sandbox.jail import ProcessJail
    from grader.sandbox.process import SandboxConfig, WorkerSession, WorkerSpec, default_limits
    from grader.sandbox.snapshot import take_snapshot

    if "memory" not in ProcessJail.bounded():
        pytest.skip("no writable memory cgroup here: only per-process limits apply (the report says so)")
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "theory.py").write_text(MEMFD_HOG)
    snapshot = take_snapshot(folder, ["theory.py"])
    config = SandboxConfig(mode=tier, load_timeout_s=60.0, limits=dict(default_limits(), address_space_bytes=1 << 30))
    session = WorkerSession(snapshot.root, WorkerSpec("theory", inspect=("loss",)), config)
    try:
        result = session.load()
        assert not result.ok and result.code == "crash", (result.code, result.message, result.output)
        assert "held" not in result.output
    finally:
        session.close()
        snapshot.cleanup()


def test_each_worker_gets_its_own_bounded_cgroup() -> None:
    """Where cgroups are writable, a worker's cgroup holds its memory, process and CPU bounds."""
    from grader.sandbox.jail import ProcessJail, WorkerResources

    if not ProcessJail.hierarchies():
        pytest.skip("no writable cgroup hierarchy here: only per-process limits apply (the report says so)")
    resources = WorkerResources(memory_bytes=3 << 30, max_pids=17, cpus=0.5)
    jail = ProcessJail(17, resources=resources)
    try:
        files = {path.name: path for cgroup in jail.cgroups for path in cgroup.iterdir()}
        bounded = ProcessJail.bounded()
        assert jail.enforced == bounded
        if "pids" in bounded:
            assert files["pids.max"].read_text().strip() == "17"
        if "memory" in bounded:
            name = "memory.max" if "memory.max" in files else "memory.limit_in_bytes"
            assert int(files[name].read_text()) == 3 << 30
        if "cpu" in bounded:
            text = files["cpu.max"].read_text().split() if "cpu.max" in files else [
                files["cpu.cfs_quota_us"].read_text().strip(), files["cpu.cfs_period_us"].read_text().strip()]
            assert int(text[0]) * 2 == int(text[1])
    finally:
        jail.kill_all(os.getpid())  # with cgroups: kills what is in them (nothing)
    assert not any(cgroup.exists() for cgroup in jail.cgroups)


# -- deployments ----------------------------------------------------------------------------------

def test_jobs_default_to_the_cpu_cores() -> None:
    from grader.faces.cli import build_parser, default_jobs

    assert build_parser().parse_args(["grade", "."]).jobs is None
    assert default_jobs() == len(os.sched_getaffinity(0))


def _workflow_pins() -> tuple[str, list[str]]:
    """The torch requirement and the other pins the starter workflow installs."""
    text = (ROOT / "grader" / "assignments" / "hw1" / "templates" / "grade.yml.tmpl").read_text()
    installs = [line.strip().split()[2:] for line in text.splitlines() if line.strip().startswith("pip install")]
    torch = next(words[0] for words in installs if words[0].startswith("torch"))
    pins = next(words for words in installs if words[0].startswith("numpy"))
    return torch, pins


def test_deployments_pin_the_versions_the_tests_run_with() -> None:
    """Gradescope's setup.sh and the starter workflow install every dependency at the exact
    version this test suite runs with, so the examples never change between image builds."""
    from importlib.metadata import version

    from grader.faces.gradescope_export import PINNED_REQUIREMENTS, SETUP_SH, TORCH_REQUIREMENT

    for requirement in PINNED_REQUIREMENTS + (TORCH_REQUIREMENT,):
        name, _, pinned = requirement.partition("==")
        assert pinned and version(name).split("+")[0] == pinned, requirement
    assert " ".join(PINNED_REQUIREMENTS) in SETUP_SH and TORCH_REQUIREMENT in SETUP_SH
    torch, pins = _workflow_pins()
    assert torch == TORCH_REQUIREMENT and tuple(pins) == PINNED_REQUIREMENTS


def test_the_starter_workflow_caches_pip_and_enables_bubblewrap_on_ubuntu_24_04() -> None:
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((ROOT / "grader" / "assignments" / "hw1" / "templates" / "grade.yml.tmpl").read_text())
    (job,) = workflow["jobs"].values()
    setup = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/setup-python@"))
    assert setup["with"]["cache"] == "pip" and setup["with"]["cache-dependency-path"] == ".github/workflows/grade.yml"
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "kernel.apparmor_restrict_unprivileged_userns=0" in runs and "install -y -qq bubblewrap" in runs
    assert "git+https://" in (ROOT / "grader" / "assignments" / "hw1" / "templates" / "grade.yml.tmpl").read_text()


STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "%(log)s"
%(body)s
"""


def test_gradescope_setup_installs_python_3_11_where_the_image_has_3_10(tmp_path: Path) -> None:
    """setup.sh run on an image whose python3 is 3.10 (Ubuntu 22.04; the system's commands are
    stand-ins that log what they are asked): it installs python3.11 from the distribution, makes
    the venv with it, installs the pinned versions and locks the bundle away from other users."""
    from grader.faces.gradescope_export import PINNED_REQUIREMENTS, SETUP_SH

    bin_dir, root, log = tmp_path / "bin", tmp_path / "autograder", tmp_path / "log"
    bin_dir.mkdir()
    (root / "source").mkdir(parents=True)
    pip = STUB % {"log": log, "body": "exit 0"}
    venv = 'mkdir -p "$3/bin"; printf %s "$PIP" > "$3/bin/python"; /bin/chmod +x "$3/bin/python"'
    stubs = {"apt-get": "exit 0", "python3": "exit 1", "python3.11": venv, "chmod": "exit 0"}
    for name, body in stubs.items():
        (bin_dir / name).write_text(STUB % {"log": log, "body": body})
        (bin_dir / name).chmod(0o755)
    env = {"PATH": "%s:/usr/bin:/bin" % bin_dir, "AUTOGRADER_ROOT": str(root), "PIP": pip}
    done = subprocess.run(["bash", "-c", SETUP_SH], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = log.read_text().splitlines()
    assert "apt-get install -y -qq python3.11 python3.11-venv" in lines
    assert "python3.11 -m venv %s/venv" % root in lines
    assert any(line == "python -m pip install -q " + " ".join(PINNED_REQUIREMENTS) for line in lines), lines
    assert "chmod -R go-rwx %s/source" % root in lines


@pytest.mark.slow
def test_gradescope_replays_are_relative(tmp_path: Path) -> None:
    """run_autograder grades from inside the submission: every replay a student sees starts with
    `grader grade .`, and no path of the autograder's folder shows."""
    from grader.faces.gradescope_export import RUN_AUTOGRADER

    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    shutil.copytree(ROOT / "grader", root / "source" / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "grader" / "assignments" / "hw1" / "rubric.toml", root / "source" / "rubric.toml")
    shutil.copytree(ROOT / "submissions" / "mlp_bce_wrong_sign", root / "submission")
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), GRADER_PYTHON=sys.executable,
               HYPOTHESIS_STORAGE_DIRECTORY=str(tmp_path / "hypothesis"))
    env.pop("PYTHONPATH", None)
    done = subprocess.run(["bash", "-c", RUN_AUTOGRADER], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    text = (root / "results" / "results.json").read_text()
    results = json.loads(text)
    replays = [line.strip() for t in results["tests"] for line in t["output"].splitlines() if "replay:" in line]
    assert replays and all(line.startswith("replay: grader grade . --only") for line in replays), replays
    assert str(root) not in text


def test_the_user_tier_works_where_the_grader_is_root() -> None:
    """Graded as root (CI, a container, Gradescope), the user tier must be available, or the
    adversarial suite silently skips it: say what to fix."""
    if os.geteuid() != 0:
        pytest.skip("the user tier needs a grader running as root; this test runs as uid %d" % os.geteuid())
    assert HAVE_USER_TIER, NO_USER_TIER_REASON


def test_a_grader_install_others_can_write_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The user tier protects the install only where other users cannot write it: the report
    warns otherwise."""
    from grader.sandbox import jail
    from grader.sandbox.tiers import writable_by_others

    open_folder = tmp_path / "site" / "grader"
    open_folder.mkdir(parents=True)
    os.chmod(tmp_path / "site", 0o777)
    monkeypatch.setattr(jail, "PACKAGE_DIR", open_folder)
    assert writable_by_others([open_folder]) == [str(tmp_path / "site")]
    assert "WARNING: the grader's install is writable by other users (%s" % (tmp_path / "site") in (
        tier_notice("user") or "")

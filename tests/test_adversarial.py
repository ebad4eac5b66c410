"""Adversarial submissions: one folder per attack in tests/attacks/attack_*.

Each attack is graded the way a student would submit it: the attack folder is copied into a
fresh test folder (with the honest reference file for the part it does not attack, and a fresh
copy of the reference key its honest functions import), next to sentinel files the sandbox must
not touch: a canary file, a sibling submission, and a working folder for the command line.
Three things are asserted for every attack:

(a) the grade is what the honest part of the code earns: each check the attack forges scores
    0, every other check exactly what the reference key scores with the same options (the
    expectation is computed by grading the reference, never written down);
(b) the grader finishes normally within a bound -- in-process it returns a report that renders
    as JSON and as the terminal table; on the command line it exits 0 or 1;
(c) nothing outside the sandbox changed: every file and folder under the test folder is
    byte-for-byte the same (except the report the grader was asked to write), and no process the
    submission started is alive afterwards (a dead, unreaped zombie counts as dead);
(d) under a sandbox, the next submission graded by the same process -- by the same warm
    templates, as in a batch -- is untouched: an honest one scores what the reference does.

The templates that fork the workers live as long as the test process, so every attack is
graded by templates that have already served earlier attacks: the suite runs as a batch would.

Every attack runs under each isolation tier whose protection it tests (bwrap, user, none; a
tier not available here is skipped, saying why). Attacks that write or signal outward run only
sandboxed (bubblewrap or the user tier: they refuse to act elsewhere, and without a sandbox
those protections do not exist -- see the README's security model); the network attack only
inside bubblewrap (the user tier leaves the network open).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

from grader.engine.grading import GradeOptions, Grading
from grader.faces.formats.json_report import render as render_json
from grader.faces.formats.table import render_terminal
from grader.sandbox.jail import ProcessJail, process_tree
from grader.sandbox.process import SandboxConfig
from grader.sandbox.template import template_fds, template_pids

from .conftest import HAVE_BWRAP, HAVE_USER_TIER, NO_USER_TIER_REASON, REFERENCE, ROOT, run_cli

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

ATTACK_FOLDERS = Path(__file__).resolve().parent / "attacks"

MODES = ["bwrap", "user", "none"]
SANDBOXED = ["bwrap", "user"]
SKIPS = {"bwrap": pytest.mark.bwrap,
         "user": pytest.mark.skipif(not HAVE_USER_TIER, reason=NO_USER_TIER_REASON)}
OPTIONS = dict(seed=0, max_examples=2, call_timeout_s=5.0, import_timeout_s=12.0, submission_timeout_s=120.0)
BOUND_S = 150.0
# Copied into each staged attack (not committed twice): the reference answers it may import.
KEY_FILES = {"_key.py": REFERENCE / "mlp.py", "_tkey.py": REFERENCE / "theory.py"}


@dataclass(frozen=True)
class Attack:
    """`forged`: selectors (part, question id or check id) of the checks that must score 0;
    `only`: the checks graded (to keep the suite fast; every selected check is asserted);
    `modes`: "both" (the protection holds with --sandbox none too: run under every tier),
    "sandboxed" (bubblewrap and the user tier protect), "bwrap" (only bubblewrap protects), "any"
    (the protection does not depend on the sandbox: run once, in bubblewrap when installed);
    `forged_without_bwrap`: what is forged under the other tiers instead; `codes`: the only codes the
    forged checks may fail with;
    `printed`: text the attack prints, proving it ran."""

    name: str
    forged: tuple[str, ...]
    only: tuple[str, ...]
    modes: str = "bwrap"
    codes: frozenset[str] | None = None
    printed: str | None = None
    forged_without_bwrap: tuple[str, ...] | None = None
    options: tuple = ()


ATTACKS = [
    # lying objects
    Attack("attack_ndarray_liar", ("theory.forward", "theory.loss"), ("theory", "mlp.mse_loss"), modes="any",
           codes=frozenset({"wrong_values"})),
    # (a hygiene check is earned only where the function it watches is right: a lying forward
    # forfeits forward_inputs_unchanged too)
    Attack("attack_tensor_liar", ("mlp.forward", "mlp.hygiene[deterministic]", "mlp.hygiene[forward_inputs_unchanged]"),
           ("mlp", "theory.loss"), modes="any",
           codes=frozenset({"wrong_values", "nondeterministic"})),
    Attack("attack_shifting_array", ("mlp.mse_loss",), ("mlp", "theory.loss"), modes="any",
           codes=frozenset({"not_array"})),
    Attack("attack_float_subclass", ("theory.loss",), ("theory", "mlp.mse_loss"), modes="any",
           codes=frozenset({"wrong_values"})),
    # monkeypatching numpy, torch, builtins
    Attack("attack_patch_numpy", ("theory.forward",), ("theory", "mlp.mse_loss"), modes="any",
           codes=frozenset({"wrong_values"})),
    Attack("attack_patch_torch", ("mlp.mse_loss",), ("mlp", "theory.loss"), modes="any",
           codes=frozenset({"wrong_values"})),
    Attack("attack_patch_builtins", ("mlp.forward", "mlp.hygiene[forward_inputs_unchanged]"), ("mlp", "theory.loss"),
           modes="any",
           codes=frozenset({"wrong_values"})),
    # the worker's protocol
    Attack("attack_forged_frames", ("mlp.forward", "mlp.bce_loss"),
           ("mlp.forward", "mlp.mse_loss", "mlp.bce_loss", "mlp.backward[relu-sigmoid]", "theory.loss"),
           modes="any", codes=frozenset({"wrong_values", "crash"})),
    Attack("attack_malformed_frames", ("mlp",),
           ("mlp.forward[relu-relu]", "mlp.mse_loss[value]", "mlp.bce_loss[value]", "mlp.backward[relu-relu]",
            "mlp.backward[end_to_end-mse]", "mlp.hygiene[clear_grad_and_cache]", "mlp.hygiene[deterministic]",
            "theory.loss"),
           modes="any", codes=frozenset({"crash", "timeout"}), options=(("call_timeout_s", 2.0),)),
    Attack("attack_oversized_frames",
           ("mlp.forward", "mlp.mse_loss", "mlp.bce_loss", "mlp.backward", "mlp.hygiene[clear_grad_and_cache]"),
           ("mlp.forward[relu-relu]", "mlp.mse_loss[value]", "mlp.bce_loss[value]", "mlp.backward[relu-relu]",
            "mlp.hygiene[clear_grad_and_cache]", "theory.loss"),
           modes="any", codes=frozenset({"crash"})),
    # exits and kills, at import and inside a call
    Attack("attack_exit_import", ("mlp",), ("mlp.forward", "mlp.mse_loss", "theory"), modes="both",
           codes=frozenset({"import_error"})),
    Attack("attack_os_exit_import", ("theory",), ("theory", "mlp.mse_loss"), modes="both",
           codes=frozenset({"crash"})),
    Attack("attack_kill_parent_import", (), ("mlp.forward", "mlp.mse_loss", "theory.loss"), modes="both",
           codes=frozenset({"crash", "import_error"}), forged_without_bwrap=("mlp",)),
    Attack("attack_exit_in_call",
           ("mlp.mse_loss", "mlp.bce_loss", "mlp.hygiene[clear_grad_and_cache]", "mlp.hygiene[deterministic]"),
           ("mlp.forward[relu-relu]", "mlp.mse_loss", "mlp.bce_loss[value]", "mlp.backward[relu-sigmoid]",
            "mlp.hygiene[clear_grad_and_cache]", "mlp.hygiene[deterministic]", "theory.loss"),
           modes="both", codes=frozenset({"exception", "crash"})),
    Attack("attack_kill_everything", ("mlp.bce_loss",),
           ("mlp.forward[relu-relu]", "mlp.mse_loss", "mlp.bce_loss[value]", "theory.loss"), modes="sandboxed",
           codes=frozenset({"crash"})),
    # resource abuse
    Attack("attack_infinite_import", ("theory",), ("theory", "mlp.mse_loss"), modes="both",
           codes=frozenset({"timeout"}), options=(("import_timeout_s", 2.0),)),
    Attack("attack_allocate", ("mlp.bce_loss",),
           ("mlp.forward", "mlp.mse_loss", "mlp.bce_loss", "mlp.backward[relu-relu]", "theory.loss"),
           modes="both", codes=frozenset({"exception"}), printed="blocks of 256 MiB before the limit"),
    # 200 forks of a process that has imported torch take 15-20 s on a busy 2-core machine
    Attack("attack_fork_many", (), ("mlp.forward", "mlp.mse_loss", "mlp.bce_loss", "theory.loss"), modes="both",
           printed="spawned ", options=(("import_timeout_s", 60.0),)),
    Attack("attack_print_flood", (), ("mlp.forward", "mlp.mse_loss", "theory.loss"), modes="both"),
    Attack("attack_many_files", (),
           ("mlp.forward", "mlp.mse_loss", "mlp.bce_loss", "mlp.backward[relu-relu]", "theory.loss"),
           modes="any", printed="held "),
    Attack("attack_network", ("mlp.bce_loss",), ("mlp.mse_loss", "mlp.bce_loss", "theory.loss"),
           codes=frozenset({"wrong_values"}), printed="reached: []"),
]
BY_NAME = {a.name: a for a in ATTACKS}


def _params(attacks: list[Attack]):
    out = []
    for attack in attacks:
        modes = {"both": MODES, "sandboxed": SANDBOXED, "bwrap": ["bwrap"],
                 "any": ["bwrap" if HAVE_BWRAP else "none"]}[attack.modes]
        for mode in modes:
            marks = [SKIPS[mode]] if mode in SKIPS else []
            out.append(pytest.param(attack.name, mode, id="%s-%s" % (attack.name, mode), marks=marks))
    return out


def selected(selector: str, check_id: str) -> bool:
    """Whether `selector` (a part, a question id or a check id) picks `check_id`."""
    question = check_id.split("[")[0]
    return check_id == selector or question == selector or question.startswith(selector + ".")


@pytest.fixture(scope="session")
def reference_scores() -> dict[str, float]:
    """{check id: score} of the reference key graded with this module's seed and example count."""
    folder = Path(tempfile.mkdtemp(prefix="adversarial-reference-"))
    try:
        for name in ("mlp.py", "theory.py"):
            shutil.copy(REFERENCE / name, folder / name)
        sandbox = "bwrap" if HAVE_BWRAP else "none"
        report = Grading(folder, GradeOptions(sandbox=sandbox, seed=OPTIONS["seed"],
                                              max_examples=OPTIONS["max_examples"])).run()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert report.all_passed, "the reference key must pass every check"
    return {c.id: c.score for c in report.checks}  # exact, as the JSON report has it


@dataclass
class Stage:
    root: Path
    submission: Path
    marker: str
    cwd: Path

    def state(self, ignore: tuple[Path, ...] = ()) -> dict[str, object]:
        """Every file (its bytes) and folder under the test folder, except `ignore`."""
        found: dict[str, object] = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            for name in dirnames:
                found[os.path.relpath(os.path.join(dirpath, name), self.root)] = "<dir>"
            for name in filenames:
                path = Path(dirpath, name)
                if path in ignore:
                    continue
                found[os.path.relpath(path, self.root)] = path.read_bytes()
        return found


def stage(name: str, tmp_path: Path, port: int | None = None) -> Stage:
    """tmp_path/class/attack (the attack, with the honest reference part it does not replace),
    tmp_path/class/sibling (another student's correct submission), tmp_path/canary.txt and
    tmp_path/cwd (the command line's working folder, with a Gradescope-style results/)."""
    marker = "adv-%s-%s" % (name.replace("attack_", "").replace("_", "-"), uuid.uuid4().hex[:10])
    submission = tmp_path / "class" / "attack"
    shutil.copytree(ATTACK_FOLDERS / name, submission)
    for key, source in KEY_FILES.items():  # the honest answers an attack builds on
        shutil.copy(source, submission / key)
    for part in ("mlp.py", "theory.py"):
        if not (submission / part).exists():
            shutil.copy(REFERENCE / part, submission / part)
    (submission / "_marker.txt").write_text(marker + "\n")
    if port is not None:
        (submission / "_port.txt").write_text("%d\n" % port)
    sibling = tmp_path / "class" / "sibling"
    sibling.mkdir()
    (sibling / "mlp.py").write_text("# sibling-canary %s\n" % marker + (REFERENCE / "mlp.py").read_text())
    (tmp_path / "canary.txt").write_text("canary %s\n" % marker)
    cwd = tmp_path / "cwd"
    (cwd / "results").mkdir(parents=True)
    (cwd / "result.json").write_text('{"canary": "%s"}\n' % marker)
    return Stage(tmp_path, submission, marker, cwd)


def _zombie(pid: str) -> bool:
    try:
        with open("/proc/%s/stat" % pid, "rb") as handle:
            stat = handle.read()
        return stat[stat.rindex(b")") + 2:].split()[0] == b"Z"
    except (OSError, ValueError, IndexError):
        return True


def survivors(marker: str, wait_s: float = 5.0) -> list[str]:
    """Live processes whose command line carries `marker` (waits up to `wait_s` for them to go)."""
    needle = marker.encode()
    end = time.monotonic() + wait_s
    while True:
        alive = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as handle:
                    cmdline = handle.read()
            except OSError:
                continue
            if needle in cmdline and not _zombie(entry):
                alive.append("%s %s" % (entry, cmdline.replace(b"\0", b" ").decode(errors="replace")[:120]))
        if not alive or time.monotonic() > end:
            return alive
        time.sleep(0.1)


def live_children() -> list[int]:
    """This test process's descendants that are still alive (zombies excluded), but for the
    warm-worker templates themselves, which outlive a grading on purpose: a worker they forked,
    or anything such a worker started, is still counted."""
    kept = template_pids() | {os.getpid()}
    return sorted(p for p in process_tree(os.getpid()) - kept if not _zombie(str(p)))


def open_fds() -> int:
    """File descriptors this test process holds, but for the templates' channels."""
    return len(os.listdir("/proc/self/fd")) - template_fds()


def check_scores(attack: Attack, checks: list[dict], mode: str, expected: dict[str, float]) -> None:
    """(a): forged checks score 0 (with an allowed code), every other check as `expected` (the
    reference's scores)."""
    forged = attack.forged_without_bwrap if mode != "bwrap" and attack.forged_without_bwrap is not None \
        else attack.forged
    wanted = {cid for cid in expected if any(selected(s, cid) for s in attack.only)}
    assert {c["id"] for c in checks} == wanted
    for check in checks:
        cid = check["id"]
        if any(selected(s, cid) for s in forged):
            assert check["score"] == 0, "%s is forged and must score 0: %s" % (cid, check)
            if check["max_score"] > 0:
                assert check["status"] != "pass", check
                if attack.codes:
                    assert check["code"] in attack.codes, check
        else:
            assert check["score"] == pytest.approx(expected[cid], abs=1e-9), \
                "%s is honest and must score what the reference does: %s" % (cid, check)


def grade_in_process(stage_: Stage, attack: Attack, mode: str):
    options = dict(OPTIONS, **dict(attack.options))
    started = time.monotonic()
    report = Grading(stage_.submission, GradeOptions(sandbox=mode, only=list(attack.only), **options)).run()
    elapsed = time.monotonic() - started
    # (b): finished within the bound, and the report renders
    assert elapsed < BOUND_S
    assert report.error is None
    data = json.loads(render_json([report]))
    render_terminal(report, Console(file=io.StringIO(), width=120, force_terminal=True, color_system="standard"))
    return report, data


NEXT_ONLY = ["mlp.forward[relu-relu]", "mlp.mse_loss[value]", "theory.loss"]


def check_next_submission(tmp_path: Path, mode: str, reference_scores: dict[str, float]) -> None:
    """(d): an honest submission graded right after the attack, by this same process and its
    templates, scores exactly what the reference does."""
    honest = tmp_path / "next"
    honest.mkdir()
    for part in ("mlp.py", "theory.py"):
        shutil.copy(REFERENCE / part, honest / part)
    report = Grading(honest, GradeOptions(sandbox=mode, only=NEXT_ONLY, **OPTIONS)).run()
    assert report.error is None
    scores = {c.id: c.score for c in report.checks}
    assert scores == {cid: reference_scores[cid] for cid in scores} and len(scores) >= len(NEXT_ONLY), scores


@pytest.mark.parametrize("name,mode", _params(ATTACKS))
def test_attack(name: str, mode: str, tmp_path: Path, reference_scores: dict[str, float]) -> None:
    attack = BY_NAME[name]
    listener = None
    if name == "attack_network":
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
    stage_ = stage(name, tmp_path, port=listener.getsockname()[1] if listener else None)
    before = stage_.state()
    fds = open_fds()
    try:
        report, data = grade_in_process(stage_, attack, mode)
        # (a)
        checks = [c for q in data["questions"] for c in q["checks"]]
        check_scores(attack, checks, mode, reference_scores)
        if attack.printed:
            assert any(attack.printed in c["output"] for c in checks), "the attack did not run as designed"
        if mode != "bwrap":
            assert any("sandbox: %s" % mode in n for n in report.notices)
        # (c)
        assert survivors(stage_.marker) == []
        assert live_children() == []
        assert stage_.state() == before
        assert open_fds() <= fds
        if mode != "none":  # (d)
            check_next_submission(tmp_path, mode, reference_scores)
        if listener is not None:
            with pytest.raises(BlockingIOError):
                listener.accept()
    finally:
        if listener is not None:
            listener.close()
    printed = " ".join(c["output"] for c in checks)
    if name == "attack_fork_many" and ProcessJail._cgroup_base() is not None:
        # a pids cgroup bounds the processes while they run (without one they are only killed after)
        assert int(re.search(r"spawned (\d+) of 200", printed).group(1)) < 200
    if name == "attack_many_files":
        assert int(re.search(r"held (\d+) descriptors", printed).group(1)) <= SandboxConfig().limits["open_files"]
    if name == "attack_print_flood":
        assert all(len(c["output"]) <= 2200 for c in checks)
        assert len(json.dumps(data)) < 200_000


# -- attacks that need the command line or two gradings -------------------------------------

CLI_OPTIONS = ["--seed", "0", "--max-examples", "2", "--timeout", "5"]


def sandboxed_params(tiers: list[str] = SANDBOXED) -> list:
    return [pytest.param(tier, id=tier, marks=[SKIPS[tier]]) for tier in tiers]


def _readable_by_others(path: Path) -> bool:
    """Whether an unprivileged user could read `path` (every folder on the way searchable)."""
    return all(os.stat(p).st_mode & 0o005 == 0o005 for p in [path, *path.parents] if p.is_dir())


READ_SECRETS_TIERS = [pytest.param("bwrap", id="bwrap", marks=[SKIPS["bwrap"]]),
                      pytest.param("user", id="user", marks=[SKIPS["user"], pytest.mark.skipif(
                          _readable_by_others(REFERENCE), reason="the user tier keeps out only what file permissions "
                          "keep out, and this checkout (with the key in reference/) is readable by every user")])]


def cli_env(tmp_path: Path, **extra: str) -> dict:
    """The command line's environment. Hypothesis keeps a cache in .hypothesis/ under the
    current folder unless told otherwise; that write is the grader's own, not the submission's
    (see test_grader_leaves_its_working_folder_alone), so it goes elsewhere here."""
    return dict(os.environ, HYPOTHESIS_STORAGE_DIRECTORY=str(tmp_path.parent / "hypothesis-cache"), **extra)


def _cli_checks(path: Path) -> list[dict]:
    data = json.loads(path.read_text())
    return [c for q in data["questions"] for c in q["checks"]]


@pytest.mark.cli
@pytest.mark.parametrize("tier", sandboxed_params())
def test_attack_write_outputs(tier: str, tmp_path: Path, reference_scores: dict[str, float]) -> None:
    """Forged results written to the -o target, the current folder and a Gradescope-style
    results/results.json, during grading and from a detached process that waits until after."""
    attack = Attack("attack_write_outputs", ("mlp.bce_loss",), ("mlp.mse_loss", "mlp.bce_loss", "theory.loss"),
                    codes=frozenset({"wrong_values"}))
    stage_ = stage(attack.name, tmp_path)
    target = stage_.cwd / "results" / "results.json"
    before = stage_.state()
    only = [arg for selector in attack.only for arg in ("--only", selector)]
    started = time.monotonic()
    done = run_cli("grade", str(stage_.submission), "--format", "json", "-o", str(target), *only, *CLI_OPTIONS,
                   "--sandbox", tier, cwd=stage_.cwd, timeout=BOUND_S, env=cli_env(tmp_path))
    assert time.monotonic() - started < BOUND_S
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    time.sleep(2.0)  # a surviving background writer rewrites every 0.5 s
    checks = _cli_checks(target)
    assert "by attack_write_outputs" not in target.read_text()
    check_scores(attack, checks, tier, reference_scores)
    # it did try -- inside the sandbox, where all it may write is its own throwaway space
    assert any("sandboxed: True; tried" in c["output"] for c in checks)
    assert survivors(stage_.marker) == []
    assert stage_.state(ignore=(target,)) == before


@pytest.mark.cli
@pytest.mark.parametrize("tier", READ_SECRETS_TIERS)
def test_attack_read_secrets(tier: str, tmp_path: Path, reference_scores: dict[str, float]) -> None:
    """The key, a sibling submission, the grader's source and its environment stay out of reach:
    nothing the attack could copy is found and nothing secret reaches the report."""
    attack = Attack("attack_read_secrets", ("mlp.bce_loss",), ("mlp.mse_loss", "mlp.bce_loss", "theory.loss"),
                    codes=frozenset({"wrong_values"}))
    stage_ = stage(attack.name, tmp_path)
    secret = "s3cr3t-%s" % uuid.uuid4().hex
    env = cli_env(tmp_path, BACKPROP_TEST_SECRET=secret, GRADER_API_TOKEN=secret)
    target = tmp_path / "out" / "report.json"
    target.parent.mkdir()
    before = stage_.state()
    only = [arg for selector in attack.only for arg in ("--only", selector)]
    done = run_cli("grade", str(stage_.submission), "--format", "json", "-o", str(target), *only, *CLI_OPTIONS,
                   "--sandbox", tier, cwd=stage_.cwd, timeout=BOUND_S, env=env)
    assert done.returncode == 1, done.stderr
    text = target.read_text()
    checks = _cli_checks(target)
    check_scores(attack, checks, tier, reference_scores)
    printed = " ".join(c["output"] for c in checks)
    assert "searched" in printed, "the attack did not run"
    assert int(re.search(r"searched (\d+) entries", printed).group(1)) > 1000
    for leak in (secret, "sibling-canary", "Instructor's key", str(ROOT), "reference/hw1"):
        assert leak not in text and leak not in done.stdout and leak not in done.stderr, leak
    assert "env: []" in printed and "stole a key: False" in printed
    assert survivors(stage_.marker) == []
    assert stage_.state(ignore=(target,)) == before


@pytest.mark.parametrize("tier", sandboxed_params())
def test_attack_edit_own_files(tier: str, tmp_path: Path, reference_scores: dict[str, float]) -> None:
    """A submission that rewrites its own files while it is graded changes neither this
    grading (fresh workers import the snapshot as it was) nor the folder, so a regrade agrees."""
    attack = Attack("attack_edit_own_files", ("mlp.mse_loss", "mlp.bce_loss"),
                    ("mlp.forward[relu-relu]", "mlp.mse_loss[value]", "mlp.bce_loss", "theory.loss"),
                    codes=frozenset({"crash", "wrong_values"}))
    stage_ = stage(attack.name, tmp_path)
    before = stage_.state()
    first = grade_in_process(stage_, attack, tier)[1]
    checks = [c for q in first["questions"] for c in q["checks"]]
    check_scores(attack, checks, tier, reference_scores)
    assert any("sandboxed: True" in c["output"] for c in checks)
    assert stage_.state() == before
    second = grade_in_process(stage_, attack, tier)[1]
    for data in (first, second):
        data.pop("duration_s")
        # The attack prints the folders it tried: the snapshot's path differs per grading (the user
        # tier's snapshot, a warm template's slot under bubblewrap).
        if tier == "user" or SandboxConfig().warm:
            for question in data["questions"]:
                for check in question["checks"]:
                    check.pop("output")
    assert first == second
    assert survivors(stage_.marker) == []


def test_every_attack_folder_is_tested() -> None:
    folders = {p.name for p in ATTACK_FOLDERS.iterdir() if p.is_dir() and p.name.startswith("attack_")}
    tested = set(BY_NAME) | {"attack_write_outputs", "attack_read_secrets", "attack_edit_own_files"}
    assert folders == tested
    assert len(folders) >= 15
    for folder in folders:
        source = "".join(p.read_text() for p in (ATTACK_FOLDERS / folder).glob("*.py") if not p.name.startswith("_"))
        assert source.lstrip().startswith('"""ATTACK'), "%s must say what it attacks and what to expect" % folder
        assert "Expected" in source


@pytest.mark.cli
def test_grader_leaves_its_working_folder_alone(tmp_path: Path) -> None:
    """Grading writes the report it was asked for and nothing else where it runs."""
    folder = tmp_path / "sub"
    folder.mkdir()
    for name in ("mlp.py", "theory.py"):
        shutil.copy(REFERENCE / name, folder / name)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"}
    done = run_cli("grade", str(folder), "--only", "theory.loss", "--only", "mlp.mse_loss", "--max-examples", "2",
                   "--format", "json", "-o", str(tmp_path / "report.json"), cwd=cwd, env=env, timeout=BOUND_S)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in cwd.iterdir()) == []

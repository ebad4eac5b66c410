"""Bad input gets a clear error and nothing is lost.

A path that cannot be graded at all (missing, a file, an empty folder, nothing gradeable in it)
exits 2 with one `grader: error:` line. A submission with one broken file is still graded: the
broken part's checks carry a precise message (the file, and the line where there is one) and
the other part gets its full marks; the command exits 1. Never a grader traceback.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from grader.sandbox.snapshot import take_snapshot

from .conftest import HAVE_USER_TIER, REFERENCE, run_cli

MLP = (REFERENCE / "mlp.py").read_text()
THEORY = (REFERENCE / "theory.py").read_text()
ONLY = ["--only", "mlp.forward[relu-relu]", "--only", "mlp.backward[relu-relu]", "--only", "theory.loss",
        "--max-examples", "1", "--seed", "0"]


def _no_traceback(done) -> None:
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert "internal error" not in done.stderr


# -- paths that cannot be graded: exit 2 ---------------------------------------------------

def _unreadable_cases(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    (tmp_path / "a_file.py").write_text(MLP)
    (tmp_path / "empty").mkdir()
    unrelated = tmp_path / "unrelated"
    unrelated.mkdir()
    (unrelated / "notes.txt").write_text("my homework is in another castle\n")
    both_folders = tmp_path / "both_folders"
    (both_folders / "mlp.py").mkdir(parents=True)
    (both_folders / "theory.py").mkdir()
    return {
        "missing": (tmp_path / "no_such_folder", "no_such_folder does not exist"),
        "file": (tmp_path / "a_file.py", "a_file.py is a file, not a folder; pass the folder that holds mlp.py and"
                                          " theory.py"),
        "empty": (tmp_path / "empty", "nothing to grade in %s: the submission has no mlp.py; the submission has no"
                                      " theory.py" % (tmp_path / "empty")),
        "unrelated": (unrelated, "the submission has no mlp.py; the submission has no theory.py"),
        "both_folders": (both_folders, "mlp.py in the submission is not a regular file (a folder); theory.py in the"
                                       " submission is not a regular file (a folder)"),
    }


@pytest.mark.parametrize("case", ["missing", "file", "empty", "unrelated", "both_folders"])
def test_ungradeable_path_exits_2_with_one_line(cli, case: str, tmp_path: Path) -> None:
    path, message = _unreadable_cases(tmp_path)[case]
    out = tmp_path / "report.json"
    done = cli("grade", str(path), "--format", "json", "-o", str(out))
    assert done.returncode == 2
    _no_traceback(done)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == ["grader: error: " + lines[0].removeprefix("grader: error: ")]
    assert message in lines[0]


# -- one broken file: graded, exit 1 -------------------------------------------------------

def _write(folder: Path, mlp: str | bytes | None = MLP, theory: str | bytes | None = THEORY) -> None:
    folder.mkdir(parents=True)
    for name, text in (("mlp.py", mlp), ("theory.py", theory)):
        if isinstance(text, bytes):
            (folder / name).write_bytes(text)
        elif text is not None:
            (folder / name).write_text(text)


SYNTAX_ERROR = "import torch\n\n\nclass MLP:\n    def forward(self, x)\n        return x\n"
WRONG_CONSTRUCTOR = MLP.replace(
    """        linear_1_in_features,
        linear_1_out_features,
        f_function,
        linear_2_in_features,
        linear_2_out_features,
        g_function,
    ):""",
    """        n, d, K, f="relu", g="identity"):
        linear_1_in_features, linear_1_out_features, f_function = n, d, f
        linear_2_in_features, linear_2_out_features, g_function = d, K, g""")
NO_BACKWARD = MLP[:MLP.index("    def backward(")] + MLP[MLP.index("def mse_loss("):]


def _build(case: str, folder: Path) -> None:
    if case == "mlp_is_a_folder":
        _write(folder, mlp=None)
        (folder / "mlp.py").mkdir()
        (folder / "mlp.py" / "__init__.py").write_text(MLP)
    elif case == "non_utf8":
        _write(folder, mlp=b"# -*- coding: utf-8 -*-\nimport torch\n" + b'LABEL = "r\xe9sum\xe9"\n')
    elif case == "syntax_error":
        _write(folder, mlp=SYNTAX_ERROR)
    elif case == "theory_syntax_error":
        _write(folder, theory=THEORY.replace("def loss(y, y_hat, kind):", "def loss(y, y_hat, kind)"))
    elif case == "wrong_constructor":
        _write(folder, mlp=WRONG_CONSTRUCTOR)
    elif case == "missing_methods":
        _write(folder, mlp=NO_BACKWARD)
    elif case == "symlink_outside":
        _write(folder, theory=None)
        (folder.parent / "someone_elses_theory.py").write_text(THEORY)
        os.symlink("../someone_elses_theory.py", folder / "theory.py")
    elif case == "symlink_loop":
        _write(folder, mlp=None)
        os.symlink("mlp.py", folder / "mlp.py")
    elif case == "dangling_symlink":
        _write(folder, mlp=None)
        os.symlink("my_mlp_v2.py", folder / "mlp.py")
    elif case == "fifo":
        _write(folder, mlp=None)
        os.mkfifo(folder / "mlp.py")
    elif case == "too_large":
        _write(folder, mlp=MLP + "\n# " + "x" * (6 << 20) + "\n")
    elif case == "nul_bytes":
        _write(folder, mlp=MLP.encode() + b"\n\x00\n")
    else:
        raise AssertionError(case)


# case -> (the broken part, the code of its checks, phrases its message must contain)
GRADED_CASES = {
    "mlp_is_a_folder": ("mlp", "missing", ["mlp.py in the submission is not a regular file (a folder)"]),
    "non_utf8": ("mlp", "import_error", ["SyntaxError", "not UTF-8 text", "mlp.py:3"]),
    "syntax_error": ("mlp", "import_error", ["SyntaxError", "expected ':'", "mlp.py:5", "def forward(self, x)"]),
    "theory_syntax_error": ("theory", "import_error", ["SyntaxError", "theory.py:", "def loss(y, y_hat, kind)"]),
    "wrong_constructor": ("mlp", "exception", ["MLP.__init__ raised TypeError", "unexpected keyword argument",
                                              "the constructor must accept linear_1_in_features"]),
    "missing_methods": ("mlp.backward", "missing", ["mlp.py has no MLP.backward"]),
    "symlink_outside": ("theory", "missing", ["theory.py is a symlink to ../someone_elses_theory.py, outside the"
                                              " submission folder; it was not followed"]),
    "symlink_loop": ("mlp", "missing", ["mlp.py", "a symlink that leads back to itself"]),
    "dangling_symlink": ("mlp", "missing", ["mlp.py", "a symlink to my_mlp_v2.py, which does not exist"]),
    "fifo": ("mlp", "missing", ["mlp.py in the submission is not a regular file (a special file)"]),
    "too_large": ("mlp", "missing", ["mlp.py is too large to grade", "up to 5 MB"]),
    "nul_bytes": ("mlp", "import_error", ["null bytes"]),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    """Every graded case in one command line run: {case: its report}, plus the run itself."""
    root = tmp_path_factory.mktemp("bad_input")
    folders = []
    for case in GRADED_CASES:
        folder = root / "class" / case
        _build(case, folder)
        folders.append(str(folder))
    out = root / "reports.json"
    done = run_cli("grade", *folders, "--format", "json", "-o", str(out), *ONLY, timeout=600)
    reports = {Path(r["submission"]).name: r for r in json.loads(out.read_text())}
    return {"run": done, "reports": reports}


@pytest.mark.cli
@pytest.mark.slow
def test_graded_cases_exit_1_without_traceback(graded) -> None:
    done = graded["run"]
    _no_traceback(done)
    assert done.returncode == 1, done.stderr
    assert set(graded["reports"]) == set(GRADED_CASES)
    assert all(r.get("error") is None for r in graded["reports"].values())


@pytest.mark.cli
@pytest.mark.slow
@pytest.mark.parametrize("case", list(GRADED_CASES))
def test_broken_file_gets_a_precise_message_and_the_rest_is_graded(case: str, graded) -> None:
    part, code, phrases = GRADED_CASES[case]
    report = graded["reports"][case]
    broken = [c for q in report["questions"] for c in q["checks"] if c["id"].startswith(part)]
    rest = [c for q in report["questions"] for c in q["checks"] if not c["id"].startswith(part)]
    assert broken and rest
    for check in broken:
        assert check["status"] != "pass" and check["score"] == 0
        assert check["code"] == code, check
        for phrase in phrases:
            assert phrase in check["message"], (phrase, check["message"])
    assert all(c["status"] == "pass" and c["score"] == c["max_score"] for c in rest), rest


def test_symlinks_out_of_the_submission_are_not_copied(tmp_path: Path) -> None:
    """A link to a file or folder outside is left out of the snapshot the worker sees."""
    folder = tmp_path / "sub"
    _write(folder)
    (tmp_path / "secret.txt").write_text("not yours\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "key.py").write_text("KEY = 1\n")
    os.symlink("../secret.txt", folder / "data.txt")
    os.symlink("/etc", folder / "etc")
    os.symlink("../secrets", folder / "lib")
    (folder / "inner").mkdir()
    (folder / "inner" / "helper.py").write_text("X = 1\n")
    os.symlink("inner/helper.py", folder / "helper.py")
    snapshot = take_snapshot(folder, ["mlp.py", "theory.py"])
    try:
        copied = sorted(str(p.relative_to(snapshot.root)) for p in snapshot.root.rglob("*"))
        assert copied == ["helper.py", "inner", "inner/helper.py", "mlp.py", "theory.py"]
    finally:
        snapshot.cleanup()
    assert not snapshot.root.exists()


def test_control_characters_in_names_do_not_reach_the_report(tmp_path: Path) -> None:
    """A file name or symlink target with terminal escape sequences is shown defanged."""
    folder = tmp_path / "sub"
    _write(folder, theory=None)
    os.symlink("../\x1b[2J\x1b[32mall tests passed\x1b[0m.py", folder / "theory.py")
    big = folder / ("\x1b[31mhuge\x1b[0m.bin")
    big.write_bytes(b"0" * ((5 << 20) + 1))
    snapshot = take_snapshot(folder, ["mlp.py", "theory.py"])
    try:
        texts = [snapshot.files["theory.py"].problem()] + snapshot.notices
    finally:
        snapshot.cleanup()
    assert len(texts) == 2
    for text in texts:
        assert "\x1b" not in text and "\ufffd" in text


def test_a_folder_full_of_files_is_bounded(tmp_path: Path) -> None:
    folder = tmp_path / "sub"
    _write(folder)
    many = folder / "data"
    many.mkdir()
    for i in range(2100):
        (many / ("f%04d.txt" % i)).write_text("x")
    snapshot = take_snapshot(folder, ["mlp.py", "theory.py"])
    try:
        kept = sum(1 for p in snapshot.root.rglob("*") if p.is_file())
        assert kept <= 2000 and snapshot.files["mlp.py"].ok and snapshot.files["theory.py"].ok
        assert len(snapshot.notices) == 1 and "skipped 102 files" in snapshot.notices[0]
    finally:
        snapshot.cleanup()
    shutil.rmtree(many)


# -- the sandbox option ----------------------------------------------------------------------

@pytest.mark.cli
@pytest.mark.slow
def test_sandbox_bwrap_without_bubblewrap_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "sub"
    _write(folder)
    bin_dir = tmp_path / "bin"  # a PATH with python but no bwrap
    bin_dir.mkdir()
    env = dict(os.environ, PATH=str(bin_dir))
    done = run_cli("grade", str(folder), "--sandbox", "bwrap", env=env, timeout=120)
    assert done.returncode == 2
    _no_traceback(done)
    assert "grader: error: --sandbox bwrap was requested but bubblewrap (bwrap) is not installed" in done.stderr


@pytest.mark.slow
def test_sandbox_auto_without_bubblewrap_falls_back_visibly(tmp_path: Path, monkeypatch) -> None:
    """Without bubblewrap, auto takes the user tier where it is available, else none; the
    report's first notice names the tier."""
    from grader.sandbox import jail as sandbox
    from grader.engine.grading import GradeOptions, Grading

    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    fallback = "user" if HAVE_USER_TIER else "none"
    assert sandbox.resolve_mode("auto") == fallback
    folder = tmp_path / "sub"
    _write(folder)
    report = Grading(folder, GradeOptions(only=["theory.loss[mse]"], max_examples=1)).run()
    assert report.sandbox == fallback
    assert report.notices[0].startswith("sandbox: %s" % fallback)


def test_a_bubblewrap_that_cannot_sandbox_is_not_used(tmp_path: Path, monkeypatch) -> None:
    """Installed is not enough (user namespaces may be off): auto falls back (to the user tier
    where it is available, else none), and an explicit --sandbox bwrap says why it cannot be
    honoured."""
    from grader.sandbox import jail as sandbox

    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: str(fake))
    monkeypatch.setattr(sandbox, "_PROBED", {})
    assert sandbox.resolve_mode("auto") == ("user" if HAVE_USER_TIER else "none")
    with pytest.raises(sandbox.SandboxUnavailable) as raised:
        sandbox.resolve_mode("bwrap")
    assert "cannot create its sandbox here (bwrap: setting up uid map: Permission denied)" in str(raised.value)
    assert sandbox.resolve_mode("none") == "none"

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
from grader.model.results import GradeReport, Penalty
from grader.sandbox.snapshot import remove_tree

from .conftest import HAVE_USER_TIER, NO_USER_TIER_REASON, REFERENCE, SUBMISSIONS, run_cli

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

ROUND2 = Path(__file__).resolve().parent / "attacks" / "round2"
TIERS = [pytest.param("bwrap", id="bwrap", marks=[pytest.mark.bwrap]),
         pytest.param("user", id="user", marks=[pytest.mark.skipif(not HAVE_USER_TIER, reason=NO_USER_TIER_REASON)]),
         pytest.param("none", id="none")]
"""Every isolation tier (one not available here is skipped, saying why)."""
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


@pytest.mark.parametrize("tier", TIERS)
def test_the_table_earns_nothing_under_a_secret_in_every_tier(lookup_table, tier: str) -> None:
    options = dict(THEORY, sandbox=tier)
    public, private = _grade(lookup_table["table"], **options), _grade(lookup_table["table"], **options, secret=SECRET)
    assert public.score >= 0.9 * lookup_table["honest"].score > 0
    assert private.score <= 0.1 * private.max_score
    assert set(re.findall(r"input ([0-9a-f]{64})", private.dumps())) <= lookup_table["keys"]


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


@pytest.mark.cli
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


@pytest.mark.cli
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


# -- no submission data crashes a report -----------------------------------------------------

QUICK = dict(seed=0, max_examples=2, sandbox="none")
TEXT_FORMATS = ("table", "json", "junit", "markdown", "github", "csv", "gradescope", "html")
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _rendered(report: GradeReport) -> dict[str, str]:
    """The report in every text format and on the terminal; each must encode as UTF-8."""
    import io

    from rich.console import Console

    from grader.faces import formats
    from grader.faces.formats.table import render_terminal

    texts = {name: formats.render(name, [report]) for name in TEXT_FORMATS}
    screen = io.StringIO()
    render_terminal(report, Console(file=screen, width=200, color_system=None))
    texts["terminal"] = screen.getvalue()
    for text in texts.values():
        text.encode("utf-8")
    return texts


def _no_forged_lines(text: str) -> None:
    """No line from submission data starts a workflow command or fakes the score line."""
    for line in text.splitlines():
        stripped = line.strip(" │|>*#-")
        assert not stripped.startswith(("::error::forged", "::add-mask::", "Score 100 / 100")), line


def _stage(folder: Path, files: dict[str, str | Path]) -> Path:
    folder.mkdir(parents=True)
    for name, content in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copy(content, target)
        else:
            target.write_text(content)
    return folder


@pytest.mark.parametrize("tier", TIERS)
def test_a_reply_whose_kind_is_a_list_is_a_crash_of_that_check_only(tmp_path: Path, tier: str) -> None:
    folder = tmp_path / "sub"
    shutil.copytree(ROUND2 / "attack_reply_kind_list", folder)
    shutil.copy(REFERENCE / "mlp.py", folder / "_key.py")
    shutil.copy(REFERENCE / "theory.py", folder / "theory.py")
    only = ["mlp.forward[relu-relu]", "mlp.mse_loss[value]", "theory.loss"]
    report = _grade(folder, **dict(QUICK, sandbox=tier), only=only)
    honest = _grade(SUBMISSIONS / "correct", **QUICK, only=only)
    by_id = {c.id: c for c in report.checks}
    assert (by_id["mlp.forward[relu-relu]"].status, by_id["mlp.forward[relu-relu]"].code) == ("fail", "crash")
    for check in honest.checks:
        if not check.id.startswith("mlp.forward"):
            assert by_id[check.id].score == check.score == check.max_score > 0
    _rendered(report)


def test_an_exception_reading_one_reply_costs_that_check_only(monkeypatch) -> None:
    from grader.engine import calls

    real = calls.decode_value

    def broken(value, arrays):
        if isinstance(value, dict) and "y_hat_after" in value:  # the reply of an mlp.loss call
            raise TypeError("unhashable type: 'list'")
        return real(value, arrays)

    only = ["mlp.mse_loss", "theory.loss[mse]"]
    honest = _grade(SUBMISSIONS / "correct", **QUICK, only=only)
    monkeypatch.setattr(calls, "decode_value", broken)
    report = _grade(SUBMISSIONS / "correct", **QUICK, only=only)
    crashed = {c.id for c in report.checks if c.code == "crash"}
    assert crashed and all("could not read what the worker sent" in c.message
                           for c in report.checks if c.id in crashed)
    for check in honest.checks:
        if check.id not in crashed:
            assert {c.id: c for c in report.checks}[check.id].score == check.score > 0


def test_one_part_failing_in_the_grader_never_costs_the_other_part(monkeypatch) -> None:
    real = Grading._run_checks

    def fragile(self, part, checks, file):
        if part.module == "theory":
            raise TypeError("unhashable type: 'list'")
        return real(self, part, checks, file)

    only = ["mlp.mse_loss[value]", "theory.loss"]
    honest = _grade(SUBMISSIONS / "correct", **QUICK, only=only)
    monkeypatch.setattr(Grading, "_run_checks", fragile)
    report = _grade(SUBMISSIONS / "correct", **QUICK, only=only)
    assert report.error is None
    for check in report.checks:
        if check.id.startswith("theory."):
            assert (check.status, check.code, check.score) == ("error", "crash", 0.0)
            assert "this part could not be graded" in check.message
        else:
            assert check.score == {c.id: c for c in honest.checks}[check.id].score > 0


def test_a_folder_tree_1200_levels_deep_is_graded_and_cleaned_up(tmp_path: Path) -> None:
    import os
    import tempfile

    folder = _stage(tmp_path / "deep", {"theory.py": REFERENCE / "theory.py"})
    current = os.open(folder, os.O_RDONLY)
    for _ in range(1200):  # relative steps: the whole path would exceed PATH_MAX
        os.mkdir("d", dir_fd=current)
        below = os.open("d", os.O_RDONLY, dir_fd=current)
        os.close(current)
        current = below
    os.close(os.open("deep.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=current))
    os.close(current)
    mine = "backprop-grader-%d-*" % os.getpid()
    before = {path for path in Path(tempfile.gettempdir()).glob(mine) if "-slots-" not in path.name}
    report = _grade(folder, **QUICK, only=["theory.loss"])
    assert report.error is None and report.score == report.max_score > 0
    assert any("levels deep were not looked at" in notice for notice in report.notices)
    after = {path for path in Path(tempfile.gettempdir()).glob(mine) if "-slots-" not in path.name}
    assert after == before, "the snapshot is removed (a warm template's folder of slots may stay)"
    _rendered(report)
    remove_tree(folder)  # deeper than shutil.rmtree (and pytest's clean-up) can recurse
    assert not folder.exists()


HOSTILE_TARGET = "x\n::error::forged\n::add-mask::secret\nScore 100 / 100\n\u202eevil"
HOSTILE_NAME = b"evil\xff\n::error::forged" + "\u202e".encode() + b".ipynb"


def _hostile_submission(folder: Path) -> Path:
    """A submission whose names and texts are built to break reports: a dangling mlp.py symlink
    with a multi-line target, a forbidden notebook whose name holds a non-UTF-8 byte, a line
    break and a bidi override, and a theory.py whose exception has a hostile type and message."""
    import os

    folder.mkdir(parents=True)
    os.symlink(HOSTILE_TARGET, folder / "mlp.py")
    with open(os.path.join(os.fsencode(folder), HOSTILE_NAME), "w") as notebook:
        notebook.write("{}")
    (folder / "theory.py").write_text(
        (REFERENCE / "theory.py").read_text()
        + "\n\ndef loss(y, y_hat, kind):\n"
          "    raise type('E\\n::error::forged', (Exception,), {})("
          "'@octocat see #12 https://evil.example \\n::add-mask::secret\\nScore 100 / 100\\u2066')\n")
    return folder


def test_hostile_names_and_messages_are_cleaned_for_every_format(tmp_path: Path) -> None:
    report = _grade(_hostile_submission(tmp_path / "sub"), **QUICK, only=["theory.loss", "mlp.forward"])
    texts = _rendered(report)
    assert report.penalties and "\\xff" in report.penalties[0].reason
    for name, text in texts.items():
        assert not set(text) & BIDI, name
        if name != "github":  # the github format's own commands start lines with "::", by design
            assert not any(line.lstrip().startswith("::") for line in text.splitlines()), name
        _no_forged_lines(text)
    failing = [c for c in report.checks if c.id.startswith("theory.loss")]
    assert failing and all(c.code == "exception" for c in failing)
    markdown = texts["markdown"]
    assert "`@octocat`" in markdown and "`#12`" in markdown and "`https://evil.example`" in markdown
    assert not re.search(r"(?<!`)@octocat", markdown) and not re.search(r"(?<![`/])https://evil", markdown)


@pytest.mark.cli
def test_a_class_csv_keeps_every_row_when_one_file_name_is_hostile(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    _hostile_submission(folder / "alice")
    _stage(folder / "bob", {"theory.py": REFERENCE / "theory.py"})
    import os

    os.mkdir(os.path.join(os.fsencode(folder), b"carol\xff\n::error::forged"))
    shutil.copy(REFERENCE / "theory.py", os.path.join(os.fsencode(folder), b"carol\xff\n::error::forged",
                                                      b"theory.py"))
    (folder / "dave").mkdir()  # nothing to grade: the error names both dangling symlinks
    os.symlink(HOSTILE_TARGET, folder / "dave" / "mlp.py")
    os.symlink(HOSTILE_TARGET + "2", folder / "dave" / "theory.py")
    out = tmp_path / "grades.csv"
    done = run_cli("grade", "--each", str(folder), "--format", "csv", "-o", str(out), "--only", "theory.loss",
                   "--max-examples", "2", "--sandbox", "none")
    assert done.returncode == 2, done.stderr  # dave was not graded
    rows = out.read_text(encoding="utf-8").splitlines()
    assert len(rows) == 5, rows
    assert "grader: error: nothing to grade" in done.stderr
    assert not any(line.startswith("::") for line in (done.stdout + done.stderr).splitlines())
    _no_forged_lines(done.stdout + done.stderr)


def test_a_report_a_format_cannot_render_becomes_that_submissions_error_row(monkeypatch) -> None:
    from grader.faces import formats
    from grader.faces.formats import csv_report

    good = GradeReport(grader_version="t", assignment="hw1", submission="good", seed=0, questions=[])
    bad = GradeReport(grader_version="t", assignment="hw1", submission="bad", seed=0, questions=[],
                      penalties=[Penalty("format", 1.0, "boom")])
    real = csv_report._csv_cell

    def fragile(text: str) -> str:
        if text == "boom":
            raise UnicodeEncodeError("utf-8", "bad", 0, 1, "surrogates not allowed")
        return real(text)

    monkeypatch.setattr(csv_report, "_csv_cell", fragile)
    rows = formats.render("csv", [good, bad]).splitlines()
    assert len(rows) == 3
    assert rows[1].startswith("good,")
    assert rows[2].startswith("bad,") and "could not write this submission's report" in rows[2]


# -- policy scans read what was handed in ----------------------------------------------------

def test_the_format_policy_sees_hidden_cached_large_and_symlinked_files(tmp_path: Path) -> None:
    import os

    folder = _stage(tmp_path / "sub", {"theory.py": REFERENCE / "theory.py", "mlp.py": REFERENCE / "mlp.py",
                                       "__pycache__/test1.py": "x = 1\n", "node_modules/pkg/test2.py": "x = 1\n",
                                       ".hidden/test3.py": "x = 1\n"})
    (folder / "big").mkdir()
    with open(folder / "big" / "test1.py", "wb") as big:
        big.truncate(6 << 20)  # over the snapshot's 5 MB per file
    os.symlink("theory.py", folder / "test2.py")
    report = _grade(folder, **QUICK, only=["theory.loss[mse]"])
    (penalty,) = [p for p in report.penalties if p.policy == "format"]
    for name in ("__pycache__/test1.py", "node_modules/pkg/test2.py", ".hidden/test3.py", "big/test1.py",
                 "test2.py should"):
        assert name in penalty.reason, name


def test_the_boundary_cleaning_is_one_line_printable_and_idempotent() -> None:
    from grader.model.text import clean_line, clean_name, clean_text

    hostile = "a\r\n::error::x\u2028b ::add-mask::y\u202ez\u2066\x1b[2J\x00 x[::2]\udcff"
    line = clean_line(hostile)
    assert "\n" not in line and "\r" not in line and not set(line) & BIDI and "\x1b" not in line
    assert "::error" not in line and "::add-mask" not in line and "x[::2]" in line and "\\xff" in line
    assert clean_line(line) == line and clean_text(clean_text(hostile)) == clean_text(hostile)
    assert clean_text("one\n::error::two\n").splitlines() == ["one", ": :error: :two"]
    assert clean_name(b"caf\xe9\n.py") == "caf\\xe9\\n.py"
    line.encode("utf-8")


def test_replies_are_checked_with_exact_types() -> None:
    from grader.sandbox.protocol import is_value, reply_problem

    honest = {"id": 1, "status": "ok", "output": "", "output_dropped": 0, "counters": {"autograd_calls": 0},
              "elapsed_s": 0.1, "result": {}}
    assert reply_problem(honest, "call") is None
    assert reply_problem(dict(honest, attrs={"forward": "callable"}), "load") is None
    for broken, op in [(dict(honest, id=True), "call"), (dict(honest, status=["ok"]), "call"),
                       (dict(honest, status="maybe"), "call"), (dict(honest, output=["x"]), "call"),
                       (dict(honest, counters={"a": [1]}), "call"), (dict(honest, counters=["a"]), "call"),
                       (dict(honest, status="exception", type=["X"]), "call"),
                       (dict(honest, status="exception", type="X", frames=[{"file": "a.py", "line": True}]), "call"),
                       (dict(honest, status="exception", type="X", frames=[["a.py"]]), "call"),
                       (dict(honest, attrs={"forward": ["callable"]}), "load"),
                       (dict(honest, attrs={"forward": "anything"}), "load")]:
        assert reply_problem(broken, op) is not None, broken
    assert not is_value({"t": ["array"], "i": 0}, 1)
    assert not is_value({"t": "array", "i": True}, 2)
    assert not is_value({"t": "other", "type": ["list"]}, 0)
    assert not is_value({"t": "seq", "len": [1], "items": []}, 0)
    assert is_value({"t": "seq", "type": "list", "len": 0, "items": []}, 0)


def test_child_graders_get_the_secret_file(tmp_path: Path) -> None:
    from grader.faces.cli import _child_args, build_parser

    secret_file = tmp_path / "secret"
    args = build_parser().parse_args(["grade", "--each", str(tmp_path), "--jobs", "2", "--secret-file",
                                      str(secret_file)])
    child = _child_args(args)
    assert child[child.index("--secret-file") + 1] == str(secret_file)

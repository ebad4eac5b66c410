"""Readable in an 80-column terminal: progress of a single submission on stderr, only when stderr
is a terminal, one line rewritten in place and erased when done."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

import pytest

from grader.faces.cli import progress_line

from .conftest import ROOT, SUBMISSIONS, run_cli

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

ONE_CHECK = ("grade", str(SUBMISSIONS / "correct"), "--only", "mlp.forward[relu-relu]", "--max-examples", "1")


def test_progress_is_one_line_rewritten_in_place_then_erased():
    stream = io.StringIO()
    show = progress_line(stream)
    show(1, 3, "mlp.forward[relu-relu]")
    show(3, 3, "mlp.hygiene[" + "x" * 200 + "]")
    text = stream.getvalue()
    assert "\n" not in text
    assert text.startswith("\rgrading 1/3: mlp.forward[relu-relu]")
    assert text.endswith("\r")
    assert all(len(segment) <= 200 for segment in text.split("\r")), "never wider than the terminal"


@pytest.mark.cli
def test_a_single_submission_shows_progress_on_a_terminal_only():
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run([sys.executable, "-m", "grader", *ONE_CHECK], stdout=subprocess.PIPE,
                                stderr=terminal, cwd=ROOT, timeout=300)
    finally:
        os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal's other end is closed: everything has been read
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    assert result.returncode == 0, result.stdout
    assert b"grading 1/1: mlp.forward[relu-relu]" in seen
    piped = run_cli(*ONE_CHECK)
    assert piped.returncode == 0 and "grading 1/1" not in piped.stderr

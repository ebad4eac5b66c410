"""Private examples: a course's grading secret, and the keys derived from it per submission.

Without a secret every check's examples come from the public grading seed (the rubric's or
--seed), so anyone can reproduce them. With a secret (`GRADER_SECRET`, or `--secret-file`),
each submission gets its own key, HMAC-SHA256(secret, content hash of what is graded), and each
check its own Hypothesis seed from that key and the check id (`runner.check_seed`). A table of
answers recorded from public runs, or from an earlier submission, names other inputs: any
change to the submission changes every example.

Contract: nothing derived from the secret leaves the grader. Reports carry the public seed; a
check that fails on private examples shows the failure found on public examples, or says that
the failure shows only on private ones (`engine.grading`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from ..errors import UsageError
from ..sandbox.snapshot import walk_files

SECRET_ENV = "GRADER_SECRET"
MIN_SECRET_BYTES = 16
MAX_SECRET_BYTES = 4096


def read_secret(path: Path | None, environ: dict[str, str] | None = None) -> bytes | None:
    """The grading secret: the contents of `path` when given, else the GRADER_SECRET variable,
    else None (public examples). Surrounding white space is ignored; UsageError when the file
    cannot be read or the secret is shorter than MIN_SECRET_BYTES."""
    environ = dict(os.environ) if environ is None else environ
    if path is not None:
        try:
            raw = path.read_bytes()[: MAX_SECRET_BYTES + 1]
        except OSError as exc:
            raise UsageError("--secret-file %s cannot be read (%s)" % (path, exc.strerror or exc)) from None
        where = "--secret-file %s" % path
    elif environ.get(SECRET_ENV):
        raw, where = environ[SECRET_ENV].encode("utf-8", "surrogateescape"), SECRET_ENV
    else:
        return None
    secret = raw.strip()
    if len(secret) < MIN_SECRET_BYTES or len(secret) > MAX_SECRET_BYTES:
        raise UsageError("%s: a grading secret must hold %d to %d bytes (e.g. `python -c \"import secrets;"
                         " print(secrets.token_hex(32))\"`)" % (where, MIN_SECRET_BYTES, MAX_SECRET_BYTES))
    return secret


def new_secret() -> str:
    """A fresh secret (64 hex digits) for a course or an exported bundle."""
    import secrets

    return secrets.token_hex(32)


def content_hash(root: Path) -> str:
    """SHA-256 over every regular file under `root` (relative path and contents, in path order):
    what the worker can see of the submission."""
    files, _ = walk_files(root)
    entries: list[tuple[bytes, str]] = []
    for file in files:
        if file.is_symlink() or not file.is_file():
            continue
        try:
            digest = hashlib.sha256(file.read_bytes()).hexdigest()
        except OSError:
            digest = "unreadable"
        entries.append((os.fsencode(os.path.relpath(file, root)), digest))
    whole = hashlib.sha256()
    for relative, digest in sorted(entries):
        whole.update(b"%d:%s:%s\n" % (len(relative), relative, digest.encode()))
    return whole.hexdigest()


def submission_key(secret: bytes, digest: str) -> bytes:
    """The key every check of one submission derives its private seed from."""
    return hmac.new(secret, b"backprop-grader/submission/" + digest.encode(), hashlib.sha256).digest()

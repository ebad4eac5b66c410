"""One root for every error the grader reports to its user.

`GraderError` and its subclasses are what a face (the command line, the pytest plugin, a
batch run) turns into a plain message and exit status 2: the request could not be carried
out (a usage mistake, an invalid rubric, a folder that cannot be graded, a sandbox that
cannot be used here). A student's mistake is never an exception: it is a check's verdict.

The wire protocol's own errors (`grader.sandbox.protocol.FrameError`, `FrameTimeout`) stay
outside this tree on purpose: that module also runs inside the sandbox, where the grader's
package is not visible. The sandbox wraps them into `WorkerFailure` at once.
"""

from __future__ import annotations


class GraderError(Exception):
    """Root of the grader's errors; `exit_status` is what the command line exits with."""

    exit_status = 2


class UsageError(GraderError):
    """A command line or option that cannot be carried out."""


class UnknownSelector(UsageError):
    """--only named no question, check or part."""


class RubricError(GraderError):
    """The rubric file is missing or invalid; the message says where."""


class PolicyError(RubricError):
    """A course policy in the rubric, or a date given for it, is invalid."""


class AssignmentNotFound(RubricError):
    """The rubric names an assignment that no installed plug-in provides."""


class SubmissionError(GraderError):
    """The path cannot be graded at all (does not exist, is not a folder, holds nothing to grade)."""


class SandboxUnavailable(GraderError):
    """The requested isolation cannot be used on this machine."""


class StarterExists(GraderError):
    """`grader init` would overwrite files and --force was not given."""


class InternalSignal(GraderError):
    """Base of the exceptions the engine uses for control flow inside one grading; never shown
    to a user as an error (a check turns them into a verdict)."""

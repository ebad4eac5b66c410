"""Assignments shipped with the grader, one folder each (see `grader.engine.assignment`)."""

"""The engine: runs an assignment's checks against a submission and scores them.

Imports the model and the sandbox below it, never a face; knows no assignment by name (it
finds them through `grader.engine.assignment`)."""

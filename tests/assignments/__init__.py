"""Assignments that exist only for the tests: proof that the engine grades more than HW1."""

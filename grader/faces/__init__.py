"""The faces: how people reach the engine (command line, batch grading, the pytest plugin,
the Gradescope export, the starter kit) and the report formats. Nothing below imports them."""

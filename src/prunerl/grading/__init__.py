"""Grading: the nbgrader course tooling and the hidden checks of the exercises."""

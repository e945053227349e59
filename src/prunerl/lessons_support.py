"""Compatibility for lessons saved before the course wing moved: ``prunerl.lessons_support`` is
``prunerl.course.lessons``."""
import importlib
import sys

sys.modules[__name__] = importlib.import_module("prunerl.course.lessons")


import pytest

from prunerl.runtime import quiet_tensorflow

quiet_tensorflow()


@pytest.fixture(scope="session")
def keras():
    import keras

    return keras


@pytest.fixture(scope="session")
def fx_course(tmp_path_factory):
    """The small fx_demo assignment (tests/fixtures/grading/sources/fx_demo.py) built as an nbgrader course, once
    per session: grading copies it into temporary courses and never changes it."""
    import shutil
    from pathlib import Path

    from prunerl.course.grading.build import build
    from prunerl.course.grading.layout import Layout

    repo = Path(__file__).resolve().parents[1]
    layout = Layout(tmp_path_factory.mktemp("fx_course"))
    layout.sources.mkdir(parents=True)
    shutil.copy2(repo / "autograder" / "nbgrader_config.py", layout.course / "nbgrader_config.py")
    shutil.copy2(repo / "tests" / "fixtures" / "grading" / "sources" / "fx_demo.py", layout.sources / "fx_demo.py")
    build(layout, log=lambda _m: None)
    return layout


@pytest.fixture(scope="session")
def build_check(tmp_path_factory):
    """`prunerl build --check` run once in a scratch checkout of the repository (tests/shared_runs.py)."""
    from shared_runs import BUILD_CHECK, run, scratch_checkout

    return run(BUILD_CHECK, scratch_checkout(tmp_path_factory.mktemp("build-check")))

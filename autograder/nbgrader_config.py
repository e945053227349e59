"""nbgrader configuration of the prunerl course (used by `nbgrader ...` run in this folder and by `prunerl grade`).

The root is this file's folder, so a copy of the course (``prunerl grade`` grades in private temporary copies)
works unchanged wherever it is put.
"""
import os

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "prunerl"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

# Per-cell wall-clock limit while autograding; a cell running longer is interrupted (KeyboardInterrupt in the
# kernel), recorded as a CellTimeoutError, and the remaining cells still run. `prunerl grade --timeout` overrides.
# `prunerl grade` also sets, per batch, the sandboxed kernel (Execute.kernel_name) and unix-socket transport
# (KernelManager.transport=ipc); plain `nbgrader autograde` run here runs learner code unsandboxed.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
# nbgrader zeroes a graded cell that writes anything to stderr (nbgrader/utils.py), so noise must stay out
# of cell outputs: with fd capture off, C-level log lines (TensorFlow, CUDA probes) go to the kernel's own stderr;
# Python warnings (e.g. NumPy 2's DeprecationWarning on np.array(keras_variable)) are ignored in the kernel.
# Keep equal to prunerl.course.grading.layout.KERNEL_ARGS (build and `prunerl check` run notebooks the same way).
c.Execute.extra_arguments = [
    "--IPKernelApp.capture_fd_output=False",
    "--InteractiveShellApp.exec_lines=import warnings; warnings.simplefilter('ignore')",
]
# A learner who deletes a test cell gets it back from the master copy (graded, never silently worth 0).
c.OverwriteCells.add_missing_cells = True
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Never copy jupytext sources, caches or grading output into release/ or feedback.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*", "*.py", "*.db", "*.db-journal",
]

# Per-course secret of the hidden checks: which thresholds, sparsities, layers and observation seeds they use is
# drawn from it (prunerl.course.grading.checker.params), so reading the open course does not give a check's inputs.
# Set your own before grading; the grader reads this line without executing the file.
c.PrunerlChecks.secret = "prunerl-open-course: replace me with your course's own secret"

"""Hidden checks of the graded exercises (torch and TensorFlow tracks): collectors that run in the kernel.

A locked cell at the top of every exercise notebook runs ``checks.setup(framework)`` before any learner code;
each hidden test cell calls one check, e.g. ``checks.threshold_masks(threshold_prune)``. The check runs the
learner's function on the inputs the grader drew for this learner and notebook and writes what it returned, as
plain data, into the records; ``prunerl.course.grading.checker`` (another process, which this package never
imports) decides. See :mod:`.harness` and :mod:`prunerl.course.grading.protocol`.
"""
from __future__ import annotations

from .ex1_threshold import (global_threshold, threshold_biases, threshold_conv, threshold_keys, threshold_masks,
                            threshold_ties, threshold_zeroes)
from .ex2_structured import (prune_conv_outputs, prune_conv_shapes, prune_input_unchanged, prune_outputs,
                             prune_shapes, prune_which, scores_conv, scores_mlp)
from .ex3_sparsify import csr_matmul, sparsify_format, sparsify_outputs, storage_bytes, to_csr, to_csr_edge
from .ex4_prune_agent import (finetune_masks, finetune_trains, sweep_returns, sweep_sparsity, sweep_table,
                              sweep_unchanged)
from .ex5_compare import (compare_gradual, compare_table, decide, decide_fair, plot, prune_global, prune_layerwise,
                          prune_random, prune_structured, schedule, schedule_hold, summary)
from .harness import setup

__all__ = ["setup", "threshold_keys", "threshold_masks", "threshold_zeroes", "threshold_ties",
           "threshold_biases", "threshold_conv", "global_threshold", "scores_mlp", "scores_conv", "prune_shapes",
           "prune_which", "prune_outputs", "prune_input_unchanged", "prune_conv_shapes", "prune_conv_outputs",
           "to_csr", "to_csr_edge", "csr_matmul", "sparsify_format", "sparsify_outputs", "storage_bytes",
           "sweep_table", "sweep_sparsity", "sweep_returns", "sweep_unchanged", "finetune_masks", "finetune_trains",
           "schedule", "schedule_hold", "prune_random", "prune_layerwise", "prune_global", "prune_structured",
           "compare_table", "compare_gradual", "summary", "decide", "decide_fair", "plot"]

"""The hidden checks of the exercises accept the reference solutions and reject known-wrong functions.

The reference solutions are the solution cells of the assignment's track of ``autograder/authored/<exercise>.py``,
run (with the locked set-up cell) in a fresh namespace; the wrong functions are the bugs learners actually write.
"""
from __future__ import annotations

import copy
from pathlib import Path

import jupytext
import numpy as np
import pytest

from prunerl.course.grading.layout import Layout

REPO = Path(__file__).resolve().parents[1]
LAYOUT = Layout(REPO)


def source(assignment: str):
    """The jupytext notebook of one track of an authored source."""
    return jupytext.reads(LAYOUT.source_text(assignment), fmt="py:percent")


def solutions(assignment: str) -> dict:
    """Run the set-up cell and every solution cell of an exercise source; return the namespace."""
    nb = source(assignment)
    namespace: dict = {"__name__": f"solutions_{assignment}"}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("grade_id") == "setup" or meta.get("solution")):
            exec(compile(cell.source, f"{assignment}:{meta.get('grade_id')}", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.fixture(scope="module")
def checks():
    import prunerl.course.grading.checker  # noqa: F401  (offers its judge to checks run here, by hand)
    from prunerl.course.grading import checks

    checks.setup("torch")
    return checks


@pytest.fixture(scope="module")
def ex1(checks):
    return solutions("ex1_threshold_torch")


def test_threshold_checks_accept_reference(checks, ex1):
    for check in (checks.threshold_keys, checks.threshold_masks, checks.threshold_zeroes, checks.threshold_ties,
                  checks.threshold_biases, checks.threshold_conv):
        check(ex1["threshold_prune"])
    checks.global_threshold(ex1["global_threshold"])


def test_threshold_checks_reject_ge_and_biases(checks, ex1):
    import torch

    def keeps_ties(model, threshold):
        masks = {}
        with torch.no_grad():
            for name, m in model.named_modules():
                if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
                    keep = m.weight.abs() >= threshold
                    m.weight.mul_(keep)
                    masks[f"{name}.weight"] = keep.numpy()
        return masks

    def prunes_biases(model, threshold):
        masks = ex1["threshold_prune"](model, threshold)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith("bias"):
                    p.mul_(p.abs() > threshold)
        return masks

    checks.threshold_masks(keeps_ties)  # no ties in real weights: only the tie check can see this bug
    with pytest.raises(AssertionError, match="== threshold were kept"):
        checks.threshold_ties(keeps_ties)
    with pytest.raises(AssertionError, match="biases must be left untouched"):
        checks.threshold_biases(prunes_biases)
    checks.threshold_zeroes(prunes_biases)


def test_global_threshold_rejects_layerwise(checks):
    import torch

    def layerwise(model, sparsity):
        return float(np.mean([torch.quantile(m.weight.detach().abs().flatten(), sparsity).item()
                              for m in model.modules() if isinstance(m, torch.nn.Linear)]))

    with pytest.raises(AssertionError, match="all layers pooled"):
        checks.global_threshold(layerwise)


def test_structured_checks(checks):
    import torch

    ns = solutions("ex2_structured_torch")
    checks.scores_mlp(ns["neuron_scores"])
    checks.scores_conv(ns["neuron_scores"])
    for check in (checks.prune_shapes, checks.prune_which, checks.prune_outputs, checks.prune_input_unchanged,
                  checks.prune_conv_shapes, checks.prune_conv_outputs):
        check(ns["prune_neurons"])

    def zeroes(model, layer, n):
        new = copy.deepcopy(model)
        module = [m for m in new.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))][layer]
        gone = torch.as_tensor(np.argsort(ns["neuron_scores"](model, layer), kind="stable")[:n])
        with torch.no_grad():
            module.weight[gone] = 0
            module.bias[gone] = 0
        return new

    with pytest.raises(AssertionError, match="removed, not zeroed"):
        checks.prune_shapes(zeroes)
    checks.prune_outputs(zeroes)
    checks.prune_which(zeroes)


def test_sparse_checks(checks):
    ns = solutions("ex3_sparsify_torch")
    checks.to_csr(ns["to_csr"])
    checks.to_csr_edge(ns["to_csr"])
    checks.csr_matmul(ns["csr_matmul"])
    checks.sparsify_format(ns["sparsify"])
    checks.sparsify_outputs(ns["sparsify"])
    checks.storage_bytes(ns["storage_bytes"], ns["sparsify"])

    def off_by_one(matrix):
        values, cols, ptr = ns["to_csr"](matrix)
        return values, cols, ptr[1:]

    with pytest.raises(AssertionError, match="row_ptr"):
        checks.to_csr(off_by_one)


def test_sweep_and_finetune_checks(checks):
    import torch

    import prunerl

    ns = solutions("ex4_prune_agent_torch")
    for check in (checks.sweep_table, checks.sweep_sparsity, checks.sweep_returns, checks.sweep_unchanged):
        check(ns["sparsity_sweep"])

    def cumulative(agent, env_id, sparsities, episodes, seed):
        import pandas as pd

        pruned, rows = copy.deepcopy(agent), []
        for s in sparsities:
            ns["global_magnitude_prune"](pruned, s)
            r = prunerl.evaluate(pruned, env_id, episodes=episodes, seed=seed)
            rows.append({"sparsity": s, "achieved_sparsity": prunerl.metrics.sparsity(pruned),
                         "mean_return": r.mean, "std_return": r.std})
        return pd.DataFrame(rows)

    with pytest.raises(AssertionError, match="achieved_sparsity"):
        checks.sweep_sparsity(cumulative)
    checks.sweep_returns(cumulative)

    def fake_evaluate(agent, env_id, sparsities, episodes, seed):
        prunerl.evaluate = lambda *a, **k: None
        return ns["sparsity_sweep"](agent, env_id, sparsities, episodes, seed)

    with pytest.raises(AssertionError, match="replaced"):
        checks.sweep_table(fake_evaluate)
    assert "evaluate" not in vars(prunerl)  # the check put the original back

    def not_held(agent, masks, env_id, steps, seed):
        with torch.no_grad():
            for name, p in agent.named_parameters():
                if name in masks:
                    p.mul_(torch.as_tensor(masks[name]))
        prunerl.finetune(agent, env_id, steps, seed=seed)
        return agent

    checks.finetune_masks(ns["finetune_pruned"])
    checks.finetune_trains(ns["finetune_pruned"])
    with pytest.raises(AssertionError, match="re-apply the masks"):
        checks.finetune_masks(not_held)


def test_compare_checks(checks):
    import prunerl.stats

    ns = solutions("ex5_compare_torch")
    checks.schedule(ns["polynomial_sparsity"])
    checks.schedule_hold(ns["polynomial_sparsity"])
    for check in (checks.prune_random, checks.prune_layerwise, checks.prune_global, checks.prune_structured):
        check(ns["prune"])
    checks.compare_table(ns["compare_strategies"], ns["prune"])
    checks.compare_gradual(ns["compare_strategies"])
    checks.summary(ns["summarize_comparison"])
    checks.decide(ns["decide"])
    checks.decide_fair(ns["decide"])
    checks.plot(ns["plot_comparison"])

    with pytest.raises(AssertionError, match="expected"):
        checks.schedule(lambda step, i, f, b, e, power=3: ns["polynomial_sparsity"](step, i, f, b, e, power=2))

    def layerwise_as_global(agent, strategy, sparsity, seed=0):
        return ns["prune"](agent, "layerwise_magnitude" if strategy == "global_magnitude" else strategy, sparsity, seed)

    with pytest.raises(AssertionError, match="one threshold for all layers"):
        checks.prune_global(layerwise_as_global)

    def one_shot_gradual(agent, env_id, strategies, sparsities, seeds, episodes, gradual_steps=2000):
        strategies = ["global_magnitude" if s == "gradual" else s for s in strategies]
        df = ns["compare_strategies"](agent, env_id, strategies, sparsities, seeds, episodes)
        df["strategy"] = df["strategy"].replace({"global_magnitude": "gradual"})
        return df

    with pytest.raises(AssertionError, match="prunerl.finetune"):
        checks.compare_gradual(one_shot_gradual)

    def normal_band(df, bar):
        out = ns["summarize_comparison"](df, bar)
        stats = df.groupby(["strategy", "sparsity"], sort=False)["mean_return"].agg(["mean", "std", "count"])
        half = (1.96 * stats["std"] / np.sqrt(stats["count"])).to_numpy()
        out["ci_low"], out["ci_high"] = stats["mean"].to_numpy() - half, stats["mean"].to_numpy() + half
        return out

    def iqm_bootstrap(df, bar):  # the course's earlier procedure
        from scipy.stats import bootstrap

        out = ns["summarize_comparison"](df, bar)
        groups = [g["mean_return"].to_numpy() for _, g in df.groupby(["strategy", "sparsity"], sort=False)]
        out["median"] = [prunerl.stats.iqm(x) for x in groups]
        out["ci_low"], out["ci_high"] = zip(*[bootstrap((x,), prunerl.stats.iqm, method="percentile", n_resamples=400,
                                                        random_state=0).confidence_interval for x in groups])
        return out

    for old_band in (normal_band, iqm_bootstrap):
        with pytest.raises(AssertionError, match="do not cover what they claim"):
            checks.summary(old_band)

    def by_row_order(df, a, b, sparsity):
        at = df[df["sparsity"] == sparsity]
        x, y = at[at["strategy"] == a]["mean_return"], at[at["strategy"] == b]["mean_return"]
        p = prunerl.stats.paired(x, y)
        winner = (a if p["low"] > 0 else b if p["high"] < 0 else None) if p["level"] >= 0.9 else None
        return {**p, "winner": winner}

    with pytest.raises(AssertionError, match="pair the rows by seed"):
        checks.decide(by_row_order)

    def any_budget(df, a, b, sparsity):
        return ns["decide"](df.assign(train_steps=0), a, b, sparsity)

    with pytest.raises(AssertionError, match="unequal budgets"):
        checks.decide_fair(any_budget)

    def mean_line(df):
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        for strategy, group in df.groupby("strategy"):
            means = group.groupby("sparsity")["mean_return"].mean()
            ax.plot(means.index, means.to_numpy(), label=strategy)
            ax.fill_between(means.index, means.to_numpy() - 1, means.to_numpy() + 1)
        return fig

    with pytest.raises(AssertionError, match="median over seeds"):
        checks.plot(mean_line)


def test_tensorflow_track_threshold(checks):
    ns = solutions("ex1_threshold_tf")
    try:
        checks.threshold_biases(ns["threshold_prune"])
        checks.global_threshold(ns["global_threshold"])

        def get_weights_bug(model, threshold):
            import keras

            masks = {}
            for layer in model.layers:
                if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
                    arrays = layer.get_weights()
                    masks[f"{layer.name}/kernel"] = np.abs(arrays[0]) > threshold
                    layer.set_weights([np.where(np.abs(a) > threshold, a, 0) for a in arrays])
            return masks

        with pytest.raises(AssertionError, match="biases must be left untouched"):
            checks.threshold_biases(get_weights_bug)
    finally:
        checks.setup("torch")


# ------------------------------------------------------------------------------------ grading mode: out of process

def run_graded(assignment: str, tmp: Path, overrides: dict | None = None, secret: str | None = "test-course") -> dict:
    """Run a source's code cells in this process as the grader's kernel would (collectors write records into the
    folder named by PRUNERL_CHECK_RECORDS, inputs read from the file beside it), then judge them with
    ``python -m prunerl.course.grading.checker``."""
    import json
    import os
    import subprocess
    import sys

    from prunerl.course.grading.checker import kernel_inputs, params as make_params
    from prunerl.course.grading.checks import harness

    course = tmp / "course"
    (course / "sources").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(f"c = get_config()\nc.PrunerlChecks.secret = {secret!r}\n")
    (course / "sources" / f"{assignment}.py").write_text(LAYOUT.source_text(assignment))
    (tmp / "records").mkdir()
    judge = make_params(assignment, course, "learner", "digest")
    cells = [(c.metadata.get("nbgrader", {}).get("grade_id"), c) for c in source(assignment).cells
             if c.cell_type == "code"]
    code = [(gid, (overrides or {}).get(gid, c.source)) for gid, c in cells]
    judge["cells"] = [text for gid, text in code if gid not in judge["locked"]]
    (tmp / "params.json").write_text(json.dumps(kernel_inputs(judge)))
    (tmp / "judge.json").write_text(json.dumps(judge))
    harness.STATE["params"] = None
    harness.CACHE.clear()
    namespace: dict = {"__name__": "__main__"}
    os.environ["PRUNERL_CHECK_RECORDS"] = str(tmp / "records")
    try:
        for gid, text in code:
            try:
                exec(compile(text, f"{assignment}:{gid}", "exec"), namespace)  # noqa: S102
            except Exception:  # noqa: BLE001, S110 (a failing cell is the checker's business, as in nbgrader)
                pass
    finally:
        del os.environ["PRUNERL_CHECK_RECORDS"]
        harness.STATE["params"] = None
    proc = subprocess.run([sys.executable, "-m", "prunerl.course.grading.checker", "judge", "--assignment", assignment,
                           "--params", str(tmp / "judge.json"), "--records", str(tmp / "records")],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def lost(verdict: dict) -> set[str]:
    return {g for g, r in verdict["tests"].items() if not r["passed"]}


def case_sections(assignment: str, case: str) -> dict:
    from test_grading_cases import CASES_DIR, parse_case

    return parse_case(CASES_DIR / assignment / f"{case}.py")


def test_records_carry_plain_data_only(tmp_path):
    from prunerl.course.grading import protocol as record

    class Sneaky(np.ndarray):
        def __eq__(self, other):
            return True

    for bad in (np.ones(3).view(Sneaky), np.array([object()]), object(), type("F", (float,), {})(1.0)):
        with pytest.raises(TypeError, match="plain data"):
            record.dumps({"x": bad})
    record.write(tmp_path, "ok", {"a": np.arange(3), "b": [1.5, "s", None, {"c": np.zeros((2, 2), bool)}]})
    back = record.read(tmp_path, "ok")
    assert type(back["a"]) is np.ndarray and back["a"].tolist() == [0, 1, 2]
    assert back["b"][3]["c"].dtype == bool
    np.save(tmp_path / "x.npy", np.array([{"pickled": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "forged.json").write_text('{"status": "done", "masks": {"__array__": "a0"}}')
    import zipfile

    with zipfile.ZipFile(tmp_path / "forged.npz", "w") as z:
        z.write(tmp_path / "x.npy", "a0.npy")
    assert "damaged" in record.read(tmp_path, "forged")  # an object array would need pickle: refused


def test_check_values_come_from_the_course_secret_and_the_learner(tmp_path):
    from prunerl.course.grading.checker.params import params, read_secret
    from prunerl.course.grading.protocol import check_key, draw

    config = tmp_path / "nbgrader_config.py"
    config.write_text('raise SystemExit("never executed")\nc = get_config()\nc.PrunerlChecks.secret = "abc"\n')
    assert read_secret(config) == "abc"
    assert read_secret(tmp_path / "missing.py") is None
    for exercise in ("ex1", "ex2", "ex3", "ex4", "ex5"):
        assert draw(exercise, "torch", "abc") == draw(exercise, "torch", "abc")
        assert draw(exercise, "torch", "abc") != draw(exercise, "torch", "another course")
        assert draw(exercise, "torch", check_key("abc", "alice", "nb1")) != draw(exercise, "torch",
                                                                                 check_key("abc", "bob", "nb1"))
        assert draw(exercise, "torch", check_key("abc", "alice", "nb1")) != draw(exercise, "torch",
                                                                                 check_key("abc", "alice", "nb2"))
    p = params("ex1_threshold_torch", REPO / "autograder", "alice", "nb1")
    assert p["tests"]["test_threshold_ties"] == ["threshold_ties"]
    secret = read_secret(REPO / "autograder" / "nbgrader_config.py")
    assert p["values"] == draw("ex1", "torch", check_key(secret, "alice", "nb1"))


def test_missing_started_or_forged_records_fail(tmp_path):
    from prunerl.course.grading.checker.judges import NEVER_RAN, NOT_FINISHED, judge_notebook
    from prunerl.course.grading import protocol as record
    from prunerl.course.grading.checker.params import params

    p = params("ex1_threshold_torch", REPO / "autograder")
    verdict = judge_notebook(p, tmp_path)
    assert all(not r["passed"] and r["message"] == NEVER_RAN for r in verdict["tests"].values())
    record.write(tmp_path, "threshold_keys", {"status": "started"})
    record.write(tmp_path, "threshold_masks", {"status": "done", "runs": "all good"})
    record.write(tmp_path, "threshold_biases", {"status": "done", "framework": "torch", "runs": [{"name": "x"}]})
    (tmp_path / "threshold_ties.json").write_text("{not json")
    tests = judge_notebook(p, tmp_path)["tests"]
    assert tests["test_threshold_keys"]["message"] == NOT_FINISHED
    assert not any(r["passed"] for r in tests.values())
    assert "damaged" in tests["test_threshold_ties"]["message"]


def test_checker_cli_bad_input_exits_2(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "prunerl.course.grading.checker", "judge", "--assignment", "x"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    proc = subprocess.run([sys.executable, "-m", "prunerl.course.grading.checker", "judge", "--batch",
                           str(tmp_path / "no")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_graded_out_of_process_solution_and_attacks(tmp_path):
    """ex1 (torch) through records and the checker process: the solution passes; a re-imported reference and
    comparison-faking masks get exactly what they earned."""
    from prunerl.course.grading.protocol import REVIEW

    solution = run_graded("ex1_threshold_torch", tmp_path / "solution")
    assert not lost(solution) and not solution["flags"], solution
    expected, sections = case_sections("ex1_threshold_torch", "hostile_reimported_reference")
    verdict = run_graded("ex1_threshold_torch", tmp_path / "reimport", sections)
    assert lost(verdict) == expected
    assert any("held for review" in f and "exec_module" in f for f in verdict["flags"])
    assert verdict["tests"]["test_threshold_keys"]["message"].startswith(REVIEW)
    expected, sections = case_sections("ex1_threshold_torch", "hostile_comparison_faking")
    assert lost(run_graded("ex1_threshold_torch", tmp_path / "faking", sections)) == expected


def test_checks_replaced_in_sys_modules_write_no_record(tmp_path, monkeypatch):
    """Whatever the kernel does to the checks module, the checker only sees records; none means no points."""
    import sys
    import types

    fake = types.SimpleNamespace(setup=lambda fw: None, threshold_keys=lambda fn: None)
    monkeypatch.setitem(sys.modules, "prunerl.course.grading.checks", fake)
    fake.threshold_keys(lambda model, t: {})
    from prunerl.course.grading.checker.judges import NEVER_RAN, judge_notebook
    from prunerl.course.grading.checker.params import params

    verdict = judge_notebook(params("ex1_threshold_torch", REPO / "autograder"), tmp_path)
    assert verdict["tests"]["test_threshold_keys"] == {"passed": False, "message": NEVER_RAN}


@pytest.mark.parametrize("case", ["converter_scipy", "converter_torch_sparse"])
def test_forbidden_converters_are_named(tmp_path, case):
    expected, sections = case_sections("ex3_sparsify_torch", case)
    verdict = run_graded("ex3_sparsify_torch", tmp_path, sections)
    assert lost(verdict) == expected
    message = verdict["tests"]["test_to_csr"]["message"]
    assert ("scipy.sparse" if case == "converter_scipy" else "to_sparse_csr") in message and "scores 0" in message


@pytest.mark.parametrize("assignment", ["ex1_threshold_torch", "ex2_structured_torch", "ex3_sparsify_torch",
                                        "ex4_prune_agent_torch", "ex5_compare_tf"])
def test_empty_forged_records_earn_nothing(tmp_path, assignment):
    """A kernel that writes 'done' records with every field present but no case in them gets no point."""
    from prunerl.course.grading.checker.judges import judge_notebook
    from prunerl.course.grading import protocol as record
    from prunerl.course.grading.checker.params import params

    p = params(assignment, REPO / "autograder")
    columns = ["strategy", "sparsity", "seed", "mean_return", "achieved_sparsity", "std_return", "n_seeds", "iqm",
               "ci_low", "ci_high", "band"]
    forged = {"status": "done", "framework": p["framework"], "tampered": [], "error": None,
              "runs": [], "values": [], "results": [], "pruned": [], "evaluations": [], "finetunes": [],
              "final": None, "figure": True, "returned": "Figure", "axes": 1, "lines": [], "bands": 0, "points": 0,
              "titles": [], "type": "dict", "masks": {}, "framework_ok": True, "weights": {}, "input_after": {},
              "table": {"type": "DataFrame", "columns": columns, "rows": 0,
                        "data": {c: np.zeros(0) for c in columns}}}
    for checks in p["tests"].values():
        for name in checks:
            record.write(tmp_path, name, forged)
    passed = [g for g, r in judge_notebook(p, tmp_path)["tests"].items() if r["passed"]]
    assert not passed, passed


def test_a_deflate_bomb_record_is_refused_before_it_is_inflated(tmp_path):
    """512 MiB of zeros in a half-MiB .npz: the checker reads the sizes the archive declares and decodes nothing."""
    import io
    import resource
    import zipfile

    from prunerl.course.grading import protocol

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (64 * 1024 ** 2,)})
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as z, \
            z.open("a0.npy", "w", force_zip64=True) as f:
        f.write(header.getvalue())
        for _ in range(512):
            f.write(bytes(1 << 20))
    (tmp_path / "bomb.json").write_text('{"status": "done", "x": {"__array__": "a0"}}')
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert "decode to more than" in protocol.read(tmp_path, "bomb")["damaged"]
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024  # KiB: nothing was inflated

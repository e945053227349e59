"""The framework seam (prunerl.backend) and the shape of the library's import graph.

The torch and Keras backends must do the same thing to the same agent: read, write, mask, clone and forward
real zoo agents in both frameworks and compare. The import graph is read from the source (ast, imports inside
functions included): no cycle among library modules, the library never reaches the course wing, pruning never
reaches the trainers.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import prunerl
from prunerl import backend as B
from prunerl import pruning, zoo

AGENTS = ("cartpole-dqn", "minigrid-ppo")
PACKAGE = Path(prunerl.__file__).resolve().parent
# Modules that may import the course wing: the wing itself, the CLI and the compatibility aliases.
COURSE_SIDE = ("prunerl.course", "prunerl.commands", "prunerl.cli", "prunerl.grading", "prunerl.lessons_support")


# ------------------------------------------------------------------------------------------------ the backends

def _observations(name: str, n: int = 64) -> np.ndarray:
    """Observations the agent meets: states along its own greedy episodes."""
    env = prunerl.make_env(zoo.card(name)["env_id"])
    model = prunerl.load_agent(name)
    obs, _ = env.reset(seed=0)
    seen = []
    while len(seen) < n:
        seen.append(obs)
        obs, _, terminated, truncated, _ = env.step(int(B.backend("torch").forward(model, obs[None]).argmax()))
        if terminated or truncated:
            obs, _ = env.reset(seed=len(seen))
    return np.stack(seen).astype(np.float32)


def _to_torch_layout(name: str, w: np.ndarray) -> tuple[str, np.ndarray]:
    """A prunable tensor's torch name and layout: Keras ``dense_i/kernel`` (in, out) is torch ``i.weight`` (out, in)."""
    if not name.endswith("/kernel"):
        return name, w
    index = name.split("/")[0].split("_")[-1]
    return f"{index}.weight", (w.T if w.ndim == 2 else w.transpose(3, 2, 0, 1))


@pytest.fixture(scope="module", params=AGENTS)
def agents(request, keras):
    name = request.param
    return name, {fw: prunerl.load_agent(name, fw) for fw in B.FRAMEWORKS}, _observations(name)


def test_backend_of_names_the_framework_and_refuses_anything_else(agents):
    _, models, _ = agents
    for fw, model in models.items():
        assert B.backend_of(model) is B.backend(fw) and B.framework_of(model) == fw
    assert B.find_backend(lambda obs: obs) is None and B.framework_of(lambda obs: obs) is None
    with pytest.raises(TypeError, match="torch module or a Keras model, got function"):
        B.backend_of(lambda obs: obs)
    with pytest.raises(ValueError, match="unknown framework 'jax'"):
        B.backend("jax")


def test_both_backends_read_the_same_network(agents):
    name, models, obs = agents
    torch_b, keras_b = B.backend("torch"), B.backend("tensorflow")
    spec_t, w_t = torch_b.spec_and_weights(models["torch"])
    spec_k, w_k = keras_b.spec_and_weights(models["tensorflow"])
    assert spec_t == spec_k == zoo.card(name)["spec"]
    assert w_t.keys() == w_k.keys()
    for k in w_t:
        np.testing.assert_array_equal(w_t[k], w_k[k], err_msg=k)
    prunable_k = dict(_to_torch_layout(k, w) for k, w in keras_b.prunable_weights(models["tensorflow"]).items())
    prunable_t = torch_b.prunable_weights(models["torch"])
    assert prunable_t.keys() == prunable_k.keys()
    assert all(np.array_equal(prunable_t[k], prunable_k[k]) for k in prunable_t)
    params_t, params_k = torch_b.all_parameters(models["torch"]), keras_b.all_parameters(models["tensorflow"])
    assert sum(p.size for p in params_t.values()) == sum(p.size for p in params_k.values())
    macs_t = [(macs, density) for _, macs, density in torch_b.layer_macs(models["torch"], None)]
    macs_k = [(macs, density) for _, macs, density in keras_b.layer_macs(models["tensorflow"], None)]
    assert macs_t == macs_k
    out_t, out_k = torch_b.forward(models["torch"], obs), keras_b.forward(models["tensorflow"], obs)
    assert out_t.dtype == out_k.dtype == np.float32
    assert out_t.shape == out_k.shape == (len(obs), spec_t["layers"][-1]["out"])
    np.testing.assert_allclose(out_k, out_t, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(out_k.argmax(1), out_t.argmax(1))


def test_write_mask_and_clone_round_trips_agree_across_frameworks(agents):
    _, models, obs = agents
    after = {}
    for fw, model in models.items():
        b = B.backend(fw)
        copy = b.clone(model)
        assert copy is not model and B.backend_of(copy) is b
        np.testing.assert_array_equal(b.forward(copy, obs), b.forward(model, obs))
        original = {k: w.copy() for k, w in b.prunable_weights(model).items()}
        # Write: halved tensors read back exactly, and the original is untouched (the clone is independent).
        b.set_prunable_weights(copy, {k: w * np.float32(0.5) for k, w in original.items()})
        for k, w in b.prunable_weights(copy).items():
            np.testing.assert_array_equal(w, original[k] * np.float32(0.5), err_msg=f"{fw} {k}")
        for k, w in b.prunable_weights(model).items():
            np.testing.assert_array_equal(w, original[k], err_msg=f"{fw} {k} changed through its clone")
        # Mask: exactly the False entries become zero, the others keep their bits.
        b.set_weights(copy, b.spec_and_weights(model)[1])
        masks = pruning.magnitude_masks(original, 0.6)
        b.apply_masks(copy, masks)
        for k, w in b.prunable_weights(copy).items():
            assert np.all(w[~masks[k]] == 0) and np.array_equal(w[masks[k]], original[k][masks[k]]), f"{fw} {k}"
        after[fw] = b.spec_and_weights(copy)[1]
        # Build from (spec, weights) in the other framework: the same function.
        other = B.backend("tensorflow" if fw == "torch" else "torch")
        twin = other.build(*b.spec_and_weights(copy))
        np.testing.assert_allclose(other.forward(twin, obs), b.forward(copy, obs), rtol=1e-5, atol=1e-5)
    assert after["torch"].keys() == after["tensorflow"].keys()
    for k in after["torch"]:  # the same masks, in each framework's layout, leave the same network
        np.testing.assert_array_equal(after["torch"][k], after["tensorflow"][k], err_msg=k)


def test_hold_masks_re_applies_the_masks_after_a_step(agents):
    _, models, _ = agents
    for model in models.values():
        b = B.backend_of(model)
        copy = b.clone(model)
        masks = pruning.prune(copy, "global_magnitude", 0.7)
        b.set_prunable_weights(copy, {k: w + np.float32(1.0) for k, w in b.prunable_weights(copy).items()})
        assert all(np.all(w != 0) for w in b.prunable_weights(copy).values())  # an optimizer step revived them
        pruning.hold_masks(masks)(copy, 1)
        for k, w in b.prunable_weights(copy).items():
            assert np.all(w[~masks[k]] == 0) and np.all(w[masks[k]] != 0), k


def test_keras_forward_runs_chains_layer_by_layer_and_only_when_bit_identical():
    """Every zoo agent's Keras twin is a chain: the fast forward gives model()'s exact outputs. A model with a
    branch is no chain and keeps model()."""
    import keras

    for name in zoo.RECIPES:
        model = prunerl.load_agent(name, framework="tensorflow")
        obs = np.random.default_rng(0).normal(size=(5, *model.inputs[0].shape[1:])).astype(np.float32)
        first, second = B.backend("tensorflow").forward(model, obs), B.backend("tensorflow").forward(model, obs[:2])
        assert B._KERAS_CHAINS[model], name
        assert np.array_equal(first, np.asarray(model(obs, training=False)))
        assert np.array_equal(second, np.asarray(model(obs[:2], training=False)))
    x = keras.Input((3,))
    h = keras.layers.Dense(3)(x)
    branched = keras.Model(x, keras.layers.Add()([x, keras.layers.Dense(3)(h)]))
    obs = np.ones((2, 3), np.float32)
    assert np.array_equal(B.backend("tensorflow").forward(branched, obs), np.asarray(branched(obs)))
    assert B._KERAS_CHAINS[branched] == []


def test_output_axis_follows_each_layout():
    assert B.output_axis("0.weight", 2) == 0 and B.output_axis("0.weight", 4) == 0
    assert B.output_axis("dense_0/kernel", 2) == 1 and B.output_axis("conv_0/kernel", 4) == 3


def test_quiet_tensorflow_fills_only_unset_variables():
    env = {"TF_CPP_MIN_LOG_LEVEL": "1"}
    from prunerl.runtime import TF_QUIET_ENV, quiet_tensorflow

    assert quiet_tensorflow(env) is env
    assert env == {"TF_CPP_MIN_LOG_LEVEL": "1", "TF_ENABLE_ONEDNN_OPTS": TF_QUIET_ENV["TF_ENABLE_ONEDNN_OPTS"]}
    assert TF_QUIET_ENV["TF_ENABLE_ONEDNN_OPTS"] == "0"  # oneDNN reorders float sums: kernel and checker must agree


def test_set_threads_sets_the_named_frameworks():
    import torch

    before = torch.get_num_threads()
    try:
        B.set_threads(1, ["torch"])
        assert torch.get_num_threads() == 1
        B.set_threads(0, ["torch"])  # never below one
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="unknown framework"):
        B.set_threads(1, ["jax"])


# ------------------------------------------------------------------------------- what each track imports (live)

def _imports_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, timeout=300, check=True)
    return set(out.stdout.split())


def test_the_tensorflow_track_never_imports_torch():
    modules = _imports_after(
        "import prunerl\nfrom prunerl import convert, metrics, pruning, structured\n"
        "m = prunerl.load_agent('minigrid-ppo', 'tensorflow')\n"
        "prunerl.evaluate(m, 'MiniGrid-DoorKey-5x5-v0', episodes=2)\n"
        "pruning.prune(m, 'l1_structured', 0.5); metrics.summary(m); structured.shrink(m); convert.clone(m)")
    assert "keras" in modules and "torch" not in modules


def test_listing_the_zoo_imports_no_framework():
    modules = _imports_after("from prunerl.cli import main\nassert main(['zoo', '--json']) == 0")
    assert not {"torch", "tensorflow", "keras"} & modules


# ------------------------------------------------------------------------------------- the import graph (static)

def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (PACKAGE.parent / rel).with_suffix(".py").is_file() or (PACKAGE.parent / rel / "__init__.py").is_file()


def _package_of(path: Path, name: str) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _imports(path: Path, parents: bool = True) -> set[str]:
    """Every prunerl module ``path`` imports anywhere in its body (functions included), relative ones resolved;
    ``parents``: with the packages that importing them runs first."""
    name = _module_name(path)
    package = _package_of(path, name)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found |= {f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base for a in node.names}
    found = {m for m in found if m == "prunerl" or m.startswith("prunerl.")}
    # Importing a.b.c runs a and a.b first; the importer's own packages are already running.
    own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    if parents:
        found |= {".".join(m.split(".")[:i]) for m in found for i in range(1, m.count(".") + 1)}
    return found - own - {name}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def _library(module: str) -> bool:
    return not any(module == side or module.startswith(side + ".") for side in COURSE_SIDE)


def _reach(graph: dict[str, set[str]], start: str) -> dict[str, str]:
    """Every module ``start`` imports directly or not, each with the module that imports it (for the path)."""
    seen, todo = {start: ""}, [start]
    while todo:
        m = todo.pop()
        for n in sorted(graph.get(m, ())):
            if n not in seen:
                seen[n] = m
                todo.append(n)
    return seen


def _path(seen: dict[str, str], end: str) -> str:
    chain = [end]
    while seen[chain[-1]]:
        chain.append(seen[chain[-1]])
    return " -> ".join(reversed(chain))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each as a sorted list."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_reader_sees_imports_inside_functions_and_relative_ones(graph):
    assert "prunerl.backend" in graph["prunerl.metrics"]  # top level, relative
    assert "prunerl.train" in graph["prunerl.recipes"]  # inside functions only
    assert {"prunerl.nets", "prunerl.zoo", "prunerl.train.dqn"} <= graph["prunerl.train"]  # from .. import nets
    assert "prunerl.compare" in graph["prunerl.commands.compare"]  # from ..compare import ...


def test_no_import_cycle_among_library_modules(graph):
    library = {m: {n for n in deps if _library(n)} for m, deps in graph.items() if _library(m)}
    cycles = _cycles(library)
    detail = ["; ".join(f"{m} -> {n}" for m in component for n in sorted(library[m] & set(component)))
              for component in cycles]
    assert not cycles, "import cycles among library modules (each line one cycle):\n  " + "\n  ".join(detail)


def test_the_library_never_imports_the_course_wing(graph):
    bad = []
    for m in filter(_library, graph):
        seen = _reach(graph, m)
        bad += [_path(seen, n) for n in seen if n == "prunerl.course" or n.startswith("prunerl.course.")]
    assert not bad, "library modules reaching the course wing:\n  " + "\n  ".join(sorted(bad))


def test_pruning_does_not_import_the_trainers(graph):
    seen = _reach(graph, "prunerl.pruning")
    bad = [_path(seen, n) for n in seen if n == "prunerl.train" or n.startswith("prunerl.train.")]
    assert not bad, "prunerl.pruning reaches the trainers:\n  " + "\n  ".join(bad)


def test_no_module_imports_one_that_imports_it_back():
    """Across the library AND the course wing: no pair of modules importing each other (a package importing its
    own submodules is how packages work, and importing a submodule is not importing its package here)."""
    direct = {_module_name(p): _imports(p, parents=False) for p in sorted(PACKAGE.rglob("*.py"))}
    pairs = sorted({tuple(sorted((a, b))) for a, deps in direct.items() for b in deps if a in direct.get(b, ())})
    assert not pairs, "modules importing each other:\n  " + "\n  ".join(f"{a} <-> {b}" for a, b in pairs)


def test_the_grading_wing_has_no_import_circle_and_the_kernel_side_never_imports_the_checker(graph):
    """The in-kernel collectors (checks) and the checker meet only in the neutral protocol module: no circle among
    grading modules, and nothing under checks/ reaches checker/ (the kernel never holds the oracles)."""
    wing = "prunerl.course.grading"
    files = sorted((PACKAGE / "course" / "grading").rglob("*.py"))
    direct = {_module_name(p): _imports(p, parents=False) for p in files}
    grading = {m: {n for n in deps if n.startswith(wing + ".")} for m, deps in direct.items()}
    cycles = _cycles(grading)
    assert not cycles, "import circles in the grading wing:\n  " + "\n  ".join(" -> ".join(c) for c in cycles)
    assert f"{wing}.protocol" in grading[f"{wing}.checks.harness"] and f"{wing}.protocol" in grading[
        f"{wing}.checker.judges"]
    bad = []
    for m in (m for m in graph if m.startswith(f"{wing}.checks")):
        seen = _reach(graph, m)
        bad += [_path(seen, n) for n in seen if n.startswith(f"{wing}.checker")]
    assert not bad, "the kernel side reaches the checker:\n  " + "\n  ".join(sorted(bad))

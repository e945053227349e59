"""Small helpers the lessons share (d2l-style: the lessons stay short, the plumbing lives here).

Framework-free unless a function says otherwise: a model is read as a spec plus PyTorch-layout NumPy weights
(:func:`prunerl.convert.spec_and_weights`), so :func:`hidden_activations` and the dormant-unit counters serve
a torch module and a Keras model alike. Nothing here imports TensorFlow unless it is handed a Keras model.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np

from prunerl.convert import clone, convert, set_weights, spec_and_weights  # noqa: F401  (lessons use them as L.clone, L.convert)
from prunerl.structured import shrink  # noqa: F401  (lessons use it as L.shrink)
from prunerl.backend import set_threads
from prunerl.runtime import quiet_tensorflow

# ----------------------------------------------------------------------------------------------- fast mode
FAST = os.environ.get("PRUNERL_FAST", "").strip().lower() not in ("", "0", "false", "no")


def pick(full, fast):
    """``fast`` when ``PRUNERL_FAST=1`` (a quick end-to-end run), else ``full``."""
    return fast if FAST else full


def quiet() -> None:
    """Lesson set-up: silence the noise lessons should not show (TF C++ logs, torch's sparse-beta warning) and
    run PyTorch and TensorFlow on one thread. Small agents gain nothing from more threads, on a shared machine
    extra threads spin and stall (small DQN updates ran many times slower with 2 threads beside a busy
    neighbour), and single-thread timings are the steady ones. Call it before importing torch or TF."""

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(var, "1")
    quiet_tensorflow()
    warnings.filterwarnings("ignore", message=".*[Ss]parse.*beta.*")
    warnings.filterwarnings("ignore", category=UserWarning, module="keras")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    set_threads(1)


def md(text: str) -> None:
    """Render Markdown in a notebook (prose whose numbers come from code); print it elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display

        if get_ipython() is not None:
            display(Markdown(text))
            return
    except ImportError:
        pass
    print(text)


# --------------------------------------------------------------------------------------- interview bank
def interview_card(lesson: int, follow_ups: bool = False) -> None:
    """Show the lesson's question and its 60-second answer from the interview bank (one source of truth)."""
    from .interview import question_for_lesson

    q = question_for_lesson(lesson)
    if not follow_ups:
        md(f"**Question.** {q['question']}\n\n**The 60-second answer.** {q['answer']}")
        return
    lines = ["**Follow-up questions an interviewer asks, with answers.**", ""]
    for item in q["follow_ups"]:
        lines += [f"- *{item['q']}* — {item['a']}"]
    lines += ["", "**Rubric (tick each point your answer made):** " + "; ".join(q["rubric"])]
    md("\n".join(lines))


# ------------------------------------------------------------------------------ models as spec + weights
_ACT = {"relu": lambda x: np.maximum(x, 0.0), "tanh": np.tanh}


def numpy_forward(spec: dict, weights: dict[str, np.ndarray], obs: np.ndarray, hidden: bool = False):
    """Forward pass in NumPy (float64); ``hidden=True`` returns the post-activation hidden outputs."""
    x = np.asarray(obs, dtype=np.float64)
    if len(spec["obs_shape"]) == 3:
        x = x.transpose(0, 3, 1, 2)  # NCHW, as the torch network sees it
    layers, outs = spec["layers"], []
    for i, layer in enumerate(layers):
        kind = layer["kind"]
        if kind == "linear":
            x = x @ weights[f"{i}.weight"].T.astype(np.float64) + weights[f"{i}.bias"]
        elif kind == "conv":
            k, s = layer["kernel"], layer.get("stride", 1)
            win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]
            x = np.einsum("nchwij,ocij->nohw", win, weights[f"{i}.weight"].astype(np.float64))
            x = x + weights[f"{i}.bias"][None, :, None, None]
        elif kind == "flatten":
            x = x.reshape(len(x), -1)
        else:
            x = _ACT[kind](x)
            outs.append(x)
    return outs if hidden else x


def hidden_activations(model, obs: np.ndarray) -> list[np.ndarray]:
    """Post-activation outputs of every hidden layer, one (batch, units[, H, W]) array per layer."""
    return numpy_forward(*spec_and_weights(model), obs, hidden=True)


def dormant_fraction(model, obs: np.ndarray, tau: float = 0.025) -> list[float]:
    """Sokar et al. (2023) tau-dormant units per hidden layer: unit i is dormant when
    E|h_i| / mean_k E|h_k| <= tau over the observations (conv filters: averaged over positions too)."""
    out = []
    for h in hidden_activations(model, obs):
        score = np.abs(h).reshape(h.shape[0], h.shape[1], -1).mean(axis=(0, 2))
        norm = score / max(score.mean(), 1e-12)
        out.append(float((norm <= tau).mean()))
    return out


def collect_observations(model, env_id: str, n: int = 2000, seed: int = 0,
                         epsilon: float = 0.0) -> np.ndarray:
    """Observations visited by ``model``'s greedy (``epsilon``-greedy) policy, ``n`` of them."""
    from prunerl.envs import make_env
    from prunerl.evaluation import greedy_policy

    env = make_env(env_id)
    act = greedy_policy(model, env.action_space.n)
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    out, episode = [], 0
    while len(out) < n:
        out.append(obs)
        a = int(act(obs[None])[0]) if rng.random() >= epsilon else int(rng.integers(env.action_space.n))
        obs, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            episode += 1
            obs, _ = env.reset(seed=seed + episode)
    env.close()
    return np.stack(out).astype(np.float32)


# --------------------------------------------------------------------------------- perturbed environments
PERTURBED_CARTPOLE = "prunerl/CartPolePerturbed-v0"


class ObservationNoise(gym.ObservationWrapper):
    """Gaussian noise of standard deviation ``std`` added to every observation, seeded by ``reset``."""

    def __init__(self, env, std: float):
        super().__init__(env)
        self.std, self.rng = std, np.random.default_rng(0)

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed + 7919)
        return super().reset(seed=seed, options=options)

    def observation(self, obs):
        return (obs + self.rng.normal(0.0, self.std, size=obs.shape)).astype(np.float32)


def perturb(env, **attributes):
    """Set physics attributes on ``env.unwrapped`` (e.g. CartPole ``length``, ``gravity``, ``masspole``),
    keeping CartPole's derived quantities consistent. Returns ``env``."""
    u = env.unwrapped
    for name, value in attributes.items():
        if not hasattr(u, name):
            raise AttributeError(f"{type(u).__name__} has no attribute {name!r}")
        setattr(u, name, value)
    if hasattr(u, "polemass_length"):
        u.total_mass = u.masspole + u.masscart
        u.polemass_length = u.masspole * u.length
    return env


def _make_perturbed_cartpole(length: float = 0.5, gravity: float = 9.8, masspole: float = 0.1,
                             obs_noise: float = 0.0, **kwargs):
    from gymnasium.envs.classic_control.cartpole import CartPoleEnv

    env = perturb(CartPoleEnv(**kwargs), length=length, gravity=gravity, masspole=masspole)
    return ObservationNoise(env, obs_noise) if obs_noise > 0 else env


def register_perturbed_envs() -> str:
    """Register ``prunerl/CartPolePerturbed-v0`` (kwargs ``length``, ``gravity``, ``masspole``, ``obs_noise``;
    500-step limit like CartPole-v1) so ``prunerl.evaluate(..., env_kwargs=...)`` can use it."""
    if PERTURBED_CARTPOLE not in gym.registry:
        # no passive env checker: a noisy observation may leave the nominal observation box, on purpose
        gym.register(PERTURBED_CARTPOLE, entry_point=_make_perturbed_cartpole, max_episode_steps=500,
                     reward_threshold=475.0, disable_env_checker=True)
    return PERTURBED_CARTPOLE


# ----------------------------------------------------------------------------------------------- training
def fresh_net(spec: dict, seed: int):
    """A freshly initialised torch network of ``spec`` (PyTorch's default init, seeded)."""
    import torch

    from prunerl.nets import build_torch

    torch.manual_seed(seed)
    return build_torch(spec)


def train_scratch(net, env_id: str, steps: int, seed: int = 0, callback=None, **hparams):
    """Train ``net`` from scratch with the zoo recipe for ``env_id`` (full exploration schedule), in place."""
    from prunerl.train import finetune

    hp = {"start_eps": 1.0, "learning_starts": min(1_000, max(steps // 10, 64))}
    hp.update(hparams)
    return finetune(net, env_id, steps, seed=seed, callback=callback, hparams=hp)


def finetune_best(model, env_id: str, steps: int, chunks: int = 4, seed: int = 0, callback=None,
                  episodes: int = 10, validation_seed: int = 10_000) -> list[float]:
    """Fine-tune in ``chunks`` pieces, evaluate after each on validation seeds (never the test seeds 0, 1..),
    and leave ``model`` with the best weights seen (the start included). RL fine-tuning is not monotone: a
    run can collapse, and keeping the best checkpoint is standard practice. Returns the validation returns."""
    from prunerl.evaluation import evaluate
    from prunerl.train import finetune

    def weights():
        return spec_and_weights(model)[1]

    history = [evaluate(model, env_id, episodes, seed=validation_seed).mean]
    best = (history[0], weights())
    for i in range(chunks):
        finetune(model, env_id, max(1, steps // chunks), seed=seed + i, callback=callback)
        history.append(evaluate(model, env_id, episodes, seed=validation_seed).mean)
        if history[-1] >= best[0]:
            best = (history[-1], weights())
    set_weights(model, best[1])
    return history


# ------------------------------------------------------------------------------------------------ timing
def single_thread() -> None:
    """Run torch (and TensorFlow, if imported and not yet started) on one thread: timings on a shared 2-core
    machine are far steadier that way. Call it before the first TensorFlow op."""
    set_threads(1)


def interleaved_latency(calls: dict, repeats: int = 30, number: int = 10, warmup: int = 3,
                        min_time: float | None = None) -> dict:
    """Median seconds per call of each ``calls[name]()``, timed in interleaved rounds so that background load
    hits every contender alike (the fair way to compare on a shared machine). With ``min_time``, each timing
    repeats a call at least ``number`` times and long enough to last ``min_time`` seconds (short calls are
    otherwise lost in timer and scheduling noise)."""
    import math
    import statistics
    import time

    counts = {}
    for name, call in calls.items():
        start = time.perf_counter()
        for _ in range(warmup):
            call()
        per_call = (time.perf_counter() - start) / max(warmup, 1)
        counts[name] = max(number, math.ceil(min_time / max(per_call, 1e-9))) if min_time else number
    timings = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            for _ in range(counts[name]):
                call()
            timings[name].append((time.perf_counter() - start) / counts[name])
    return {name: statistics.median(t) for name, t in timings.items()}


# ------------------------------------------------------------------------------------------------ figures
def show(fig, name: str) -> None:
    """Show a figure inline; also save it as ``$PRUNERL_FIGURES/<name>.png`` when that variable is set."""
    import matplotlib.pyplot as plt

    out = os.environ.get("PRUNERL_FIGURES")
    if out:
        os.makedirs(out, exist_ok=True)
        fig.savefig(os.path.join(out, f"{name}.png"), dpi=90, bbox_inches="tight")
    plt.show()


# ------------------------------------------------------------------------------------- per-layer L1 masks
def l1_layer_masks(model, ratios: dict[str, float]) -> dict[str, np.ndarray]:
    """L1-norm unit/filter masks (Li et al. 2017) with a fraction per named prunable tensor; others untouched.

    Unit scores are the L1 norms of incoming weights (torch rows / Keras columns, conv: in x kh x kw)."""
    from prunerl.metrics import prunable_weights

    masks = {}
    for name, w in prunable_weights(model).items():
        frac = ratios.get(name, 0.0)
        out_axis = w.ndim - 1 if name.endswith("/kernel") else 0
        scores = np.abs(np.moveaxis(w, out_axis, 0)).reshape(w.shape[out_axis], -1).sum(axis=1)
        keep = np.ones(scores.size, bool)
        keep[np.argsort(scores, kind="stable")[:round(frac * scores.size)]] = False
        shape = [1] * w.ndim
        shape[out_axis] = -1
        masks[name] = np.broadcast_to(keep.reshape(shape), w.shape).copy()
    return masks


# ------------------------------------------------------------------------- measured numbers for the claims page
RECORD_VAR = "PRUNERL_RECORD"
LESSONS_DIR = Path(__file__).resolve().parents[3] / "lessons"
_recorded: set[str] = set()


def lesson_fingerprint(path) -> str:
    """SHA-256 of a lesson's code cells from the first one using ``prunerl.course.lessons`` on: what produces its
    numbers. Markdown and any set-up cell above that one (e.g. an install cell) do not count."""
    import hashlib

    import jupytext

    code = [c.source for c in jupytext.read(path).cells if c.cell_type == "code"]
    start = next((i for i, src in enumerate(code) if "import lessons as L" in src), 0)
    return hashlib.sha256("\n# %%\n".join(code[start:]).encode()).hexdigest()


def record(lesson: str, **numbers: float) -> None:
    """Store numbers a lesson measured under ``lesson`` (its file stem) in the JSON file named by
    ``$PRUNERL_RECORD``, with the mode and the lesson's fingerprint; a no-op when the variable is unset.

    docs/claims.md quotes these numbers and a test checks the page against the file, so a claim's number always
    comes from a run of the lesson's current code. The first call in a process replaces the lesson's entry."""
    import json

    out = os.environ.get(RECORD_VAR)
    if not out:
        return
    out = Path(out)
    data = json.loads(out.read_text()) if out.exists() else {}
    if lesson not in _recorded:
        source = LESSONS_DIR / f"{lesson}.py"
        data[lesson] = {"mode": "fast" if FAST else "full", "numbers": {},
                        "fingerprint": lesson_fingerprint(source) if source.exists() else None}
        _recorded.add(lesson)
    data[lesson]["numbers"].update({k: float(v) for k, v in numbers.items()})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


# A number a page quotes from a lesson: "1.33×<!-- 06:masked_update_ratio -->" (a "%" after it: a fraction × 100).
QUOTED = (r"(?P<num>[-−]?\d[\d,]*(?:\.\d+)?)(?P<pct>\s?%)?(?P<x>×?)(?P<b>(?:\*\*)?)"
          r"<!--\s*(?P<lesson>\d\d):(?P<key>\w+)\s*-->")


def refresh_quoted_numbers(page, numbers) -> None:
    """Rewrite every number ``page`` (e.g. docs/claims.md) quotes from a lesson with the value recorded in the
    ``numbers`` JSON file (see :func:`record`), keeping the number of decimals the page shows."""
    import json
    import re

    page, data = Path(page), json.loads(Path(numbers).read_text())
    stems = {p.name[:2]: p.stem for p in LESSONS_DIR.glob("0*_*.py")}

    def fill(m):
        value = data[stems[m["lesson"]]]["numbers"][m["key"]] * (100 if m["pct"] else 1)
        shown = m["num"].replace(",", "").replace("−", "-")
        decimals = len(shown.split(".")[1]) if "." in shown else 0
        text = f"{abs(value):,.0f}" if decimals == 0 else f"{abs(value):.{decimals}f}"
        sign = "−" if float(f"{value:.{decimals}f}") < 0 else ""
        return f"{sign}{text}{m['pct'] or ''}{m['x']}{m['b']}<!-- {m['lesson']}:{m['key']} -->"

    page.write_text(re.sub(QUOTED, fill, page.read_text()))


# ---------------------------------------------------------------------------------------- running lessons
def execute_lesson(path, fast: bool = True, timeout: int = 900, figures_dir=None, record_to=None):
    """Execute a jupytext lesson headless (jupytext -> nbclient); returns ``(notebook, seconds)``.
    ``record_to``: a JSON file the lesson's :func:`record` calls write to.

    Raises ``nbclient.exceptions.CellExecutionError`` on the first failing cell."""
    import time

    import jupytext
    from nbclient import NotebookClient

    path = Path(path)
    nb = jupytext.read(path)
    env = {"PRUNERL_FAST": "1" if fast else "0",
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    if figures_dir is not None:
        env["PRUNERL_FIGURES"] = str(figures_dir)
    if record_to is not None:
        env[RECORD_VAR] = str(Path(record_to).resolve())  # the kernel runs in the lesson's folder
    start = time.perf_counter()
    resources = {"metadata": {"path": str(path.parent)}}
    # the settings go to the kernel alone (not os.environ), so lessons can execute side by side in threads
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources=resources).execute(env={**os.environ, **env})
    return nb, time.perf_counter() - start


def notebook_images(nb) -> int:
    """How many PNG figures a executed notebook displays."""
    return sum(1 for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
               if "image/png" in out.get("data", {}))

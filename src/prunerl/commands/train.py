"""``prunerl train NAME``: train a zoo agent from its recipe into a user folder (the shipped zoo stays as it is).

The lessons, exercises and grader load the agents shipped in the package zoo, so a retrained agent replaces
one only with ``--overwrite``, and only when it meets its return bar (it is trained in a temporary folder and
moved into the package zoo afterwards); a user folder gets the retrained agent whatever its return.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from ._args import nonneg_int, positive_int

USER_ZOO_ENV = "PRUNERL_ZOO_DIR"


def user_zoo_dir() -> Path:
    return Path(os.environ.get(USER_ZOO_ENV) or Path.home() / ".prunerl" / "zoo")


def add_arguments(parser) -> None:
    parser.add_argument("name", help="zoo agent to train, dense or sparse (see `prunerl zoo`)")
    parser.add_argument("--seed", type=nonneg_int, default=None, help="training seed (default: the recipe's)")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="environment steps (default: the recipe's)")
    parser.add_argument("--zoo-dir", default=None,
                        help=f"write the weight file and card here (default: ${USER_ZOO_ENV} or ~/.prunerl/zoo)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the agent shipped in the package zoo, only if the retrained one meets its bar")
    parser.add_argument("--time-dense", action="store_true",
                        help="sparse agents: also train the dense recipe (no files written) and compare the "
                             "two in process CPU time in the card")


def _fail(message: str) -> int:
    print(f"prunerl train: {message}", file=sys.stderr)
    return 2


def run(args) -> int:
    import shutil
    import tempfile

    from ..zoo import ZOO_DIR, UnknownAgentError, recipe, weight_path

    try:
        r = recipe(args.name)
    except UnknownAgentError as exc:
        return _fail(str(exc))
    into_package = args.overwrite or (args.zoo_dir and Path(args.zoo_dir).resolve() == ZOO_DIR.resolve())
    if into_package and weight_path(args.name).exists() and not args.overwrite:
        return _fail(f"{args.name} is shipped in the package zoo; pass --overwrite to replace it (only if the "
                     "retrained agent meets its bar) or --zoo-dir DIR to train a copy elsewhere")
    if r.pruning and not weight_path(r.pruning["base"]).exists():
        return _fail(f"{args.name} needs the dense agent {r.pruning['base']}; train it first")
    from ..recipes import train_agent

    target = ZOO_DIR if into_package else Path(args.zoo_dir) if args.zoo_dir else user_zoo_dir()
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="prunerl-train-") as tmp:
        # The package zoo is written only after the bar is met; a user folder gets the agent either way.
        info = train_agent(args.name, seed=args.seed, total_steps=args.steps,
                           zoo_dir=Path(tmp) if into_package else target, time_dense=args.time_dense)
        mean = info["eval"]["mean_return"]
        sparse = f" at {info['sparsity']['measured']:.1%} sparsity" if r.pruning else ""
        print(f"{args.name}: mean greedy return {mean:.2f} over 20 seeded episodes (bar {r.return_bar:g}){sparse} "
              f"after {info['env_steps']:,} steps in {info['train_seconds']:.0f} s")
        if mean < r.return_bar:
            where = "the shipped agent is unchanged" if into_package else f"written to {target} anyway"
            print(f"prunerl train: {args.name} missed its bar; {where}", file=sys.stderr)
            return 1
        if into_package:
            for path in Path(tmp).iterdir():
                shutil.move(str(path), target / path.name)
    print(f"written to {target}")
    return 0

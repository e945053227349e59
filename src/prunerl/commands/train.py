from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    parser.add_argument("name", help="zoo agent to train, dense or sparse (see `prunerl zoo`)")
    parser.add_argument("--seed", type=int, default=None, help="training seed (default: the recipe's)")
    parser.add_argument("--steps", type=int, default=None, help="environment steps (default: the recipe's)")
    parser.add_argument("--zoo-dir", default=None,
                        help="write the weight file and card here (default: the package zoo)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the agent shipped in the package zoo (refused without this flag)")
    parser.add_argument("--time-dense", action="store_true",
                        help="sparse agents: also train the dense recipe (no files written) and compare the "
                             "two in process CPU time in the card")


def run(args) -> int:
    from pathlib import Path

    from ..zoo import ZOO_DIR, UnknownAgentError, recipe, weight_path

    try:
        r = recipe(args.name)
    except UnknownAgentError as exc:
        print(f"prunerl: {exc}", file=sys.stderr)
        return 2
    zoo_dir = Path(args.zoo_dir) if args.zoo_dir else ZOO_DIR
    if zoo_dir.resolve() == ZOO_DIR.resolve() and weight_path(args.name).exists() and not args.overwrite:
        print(f"prunerl: {args.name} is shipped in the package zoo; pass --overwrite to replace it "
              "or --zoo-dir DIR to train a copy elsewhere", file=sys.stderr)
        return 2
    if r.pruning and not weight_path(r.pruning["base"]).exists():
        print(f"prunerl: {args.name} needs the dense agent {r.pruning['base']}; train it first", file=sys.stderr)
        return 2
    from ..train import train_agent

    info = train_agent(args.name, seed=args.seed, total_steps=args.steps, zoo_dir=zoo_dir, time_dense=args.time_dense)
    mean = info["eval"]["mean_return"]
    sparse = f" at {info['sparsity']['measured']:.1%} sparsity" if r.pruning else ""
    print(f"{args.name}: mean greedy return {mean:.2f} over 20 seeded episodes (bar {r.return_bar:g}){sparse} "
          f"after {info['env_steps']:,} steps in {info['train_seconds']:.0f} s")
    return 0 if mean >= r.return_bar else 1

from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    parser.add_argument("name", help="zoo agent to train (see `prunerl zoo`)")
    parser.add_argument("--seed", type=int, default=None, help="training seed (default: the recipe's)")
    parser.add_argument("--steps", type=int, default=None, help="environment steps (default: the recipe's)")
    parser.add_argument("--zoo-dir", default=None,
                        help="write the weight file and card here (default: the package zoo)")


def run(args) -> int:
    from ..train import train_agent
    from ..zoo import ZOO_DIR, UnknownAgentError, recipe

    try:
        bar = recipe(args.name).return_bar
    except UnknownAgentError as exc:
        print(f"prunerl: {exc}", file=sys.stderr)
        return 2
    info = train_agent(args.name, seed=args.seed, total_steps=args.steps, zoo_dir=args.zoo_dir or ZOO_DIR)
    mean = info["eval"]["mean_return"]
    print(f"{args.name}: mean greedy return {mean:.2f} over 20 seeded episodes (bar {bar:g}) "
          f"after {info['env_steps']:,} steps in {info['train_seconds']:.0f} s")
    return 0 if mean >= bar else 1

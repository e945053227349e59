"""``prunerl evaluate NAME``: a zoo agent's seeded greedy return, in either framework."""
from __future__ import annotations

import sys

from ._args import framework, nonneg_int, positive_int


def add_arguments(parser) -> None:
    parser.add_argument("name", help="zoo agent, e.g. cartpole-dqn (see `prunerl zoo`)")
    parser.add_argument("--framework", default="torch", type=framework,
                        help="torch or tensorflow (default: torch)")
    parser.add_argument("--episodes", type=positive_int, default=20, help="number of seeded episodes (default: 20)")
    parser.add_argument("--seed", type=nonneg_int, default=0, help="episode i is reset with seed + i (default: 0)")
    parser.add_argument("--json", action="store_true", help="print the summary and per-episode returns as JSON")


def run(args) -> int:
    import json

    from ..zoo import UnknownAgentError, WeightFileError, card, load_agent

    try:
        env_id = card(args.name)["env_id"]  # a bad name fails here, before torch or TensorFlow is imported
        model = load_agent(args.name, args.framework)
    except (UnknownAgentError, WeightFileError) as exc:
        print(f"prunerl evaluate: {exc}", file=sys.stderr)
        return 2
    from ..evaluation import evaluate

    result = evaluate(model, env_id, args.episodes, args.seed)
    if args.json:
        print(json.dumps({**result.summary(), "agent": args.name, "framework": args.framework,
                          "returns": result.returns.tolist()}, indent=2))
    else:
        print(f"{args.name} [{args.framework}] {result}")
    return 0

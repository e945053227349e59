from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    parser.add_argument("name", help="zoo agent, e.g. cartpole-dqn (see `prunerl zoo`)")
    parser.add_argument("--framework", default="torch", help="torch or tensorflow (default: torch)")
    parser.add_argument("--episodes", type=int, default=20, help="number of seeded episodes (default: 20)")
    parser.add_argument("--seed", type=int, default=0, help="episode i is reset with seed + i (default: 0)")
    parser.add_argument("--json", action="store_true", help="print the summary and per-episode returns as JSON")


def run(args) -> int:
    import json

    from ..evaluation import evaluate
    from ..zoo import FRAMEWORKS, UnknownAgentError, WeightFileError, card, load_agent

    if args.framework not in FRAMEWORKS:
        print(f"prunerl: unknown framework {args.framework!r}; choose one of {', '.join(FRAMEWORKS)}", file=sys.stderr)
        return 2
    try:
        model = load_agent(args.name, args.framework)
        env_id = card(args.name)["env_id"]
    except (UnknownAgentError, WeightFileError) as exc:
        print(f"prunerl: {exc}", file=sys.stderr)
        return 2
    result = evaluate(model, env_id, args.episodes, args.seed)
    if args.json:
        print(json.dumps({**result.summary(), "agent": args.name, "framework": args.framework,
                          "returns": result.returns.tolist()}, indent=2))
    else:
        print(f"{args.name} [{args.framework}] {result}")
    return 0

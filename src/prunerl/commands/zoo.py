"""``prunerl zoo``: the agent zoo as a table (or JSON) read from the cards alone; imports no framework."""
from __future__ import annotations


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print the cards as JSON")


def run(args) -> int:
    import json

    from rich.console import Console
    from rich.table import Table

    from ..zoo import list_agents

    rows = list_agents(sparse=True)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title="prunerl agent zoo (mean greedy return over 20 seeded episodes)")
    numeric = ("params", "sparsity", "return", "bar")
    for column in ("agent", "env", "algo", "network", "params", "sparsity", "return", "bar"):
        table.add_column(column, justify="right" if column in numeric else "left",
                         no_wrap=column in ("agent", "return"))
    for row in rows:
        if row.get("trained") is False:
            table.add_row(row["name"], row["env_id"], row["algorithm"].upper(), "-", "-", "-", "untrained",
                          f"{row['return_bar']:g}")
            continue
        widths = ["x".join(map(str, row["spec"]["obs_shape"]))]
        widths += [str(layer["out"]) for layer in row["spec"]["layers"] if "out" in layer]
        kinds = {layer["kind"] for layer in row["spec"]["layers"]}
        arch = ("CNN " if "conv" in kinds else "MLP ") + "-".join(widths)
        params = sum(layer["out"] * (layer["in"] * layer.get("kernel", 1) ** 2 + 1)
                     for layer in row["spec"]["layers"] if "out" in layer)
        # Sparsity of the prunable weights, as measured on the shipped file (recorded in the card).
        sparsity = f"{row['sparsity']['measured']:.1%}" if "sparsity" in row else "dense"
        table.add_row(row["name"], row["env_id"], row["algorithm"].upper(), arch, f"{params:,}", sparsity,
                      f"{row['eval']['mean_return']:.2f}", f"{row['return_bar']:g}")
    console = Console()
    if not console.is_terminal:  # a log or a pipe: do not squeeze the table into 80 columns
        console.width = 120
    console.print(table)
    return 0

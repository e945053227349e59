"""The README's numbers are the ones the repository produces."""
import re
from pathlib import Path

from prunerl import zoo

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_zoo_table_matches_the_cards():
    for name in zoo.RECIPES:
        row = next(line for line in README.splitlines() if line.startswith(f"| `{name}`"))
        quoted = float(re.split(r"\s*\|\s*", row)[5].replace("−", "-"))
        assert quoted == round(zoo.card(name)["eval"]["mean_return"], 2), name

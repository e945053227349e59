"""The course website: ``prunerl site`` builds a static folder from the lessons' cached executed notebooks, the
released exercises (task and contract only), the claims page and the benchmark results."""
from __future__ import annotations

# Where the course lives on GitHub: Colab badges open its notebooks, Colab's first cell installs from it.
REPOSITORY = "prunerl/prunerl"

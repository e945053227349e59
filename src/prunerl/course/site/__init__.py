"""The course website: ``prunerl site`` builds a static folder from the lessons' cached executed notebooks, the
released exercises (task and contract only), the claims page and the benchmark results."""
from __future__ import annotations

from ..colab import release, repository

# Where the course lives on GitHub ([project.urls] in pyproject.toml): Colab badges open its notebooks at the release
# tag of this version, and the first cell installs from there.
REPOSITORY = repository()
RELEASE = release()

"""Environment construction: one place that knows which wrappers an env id needs."""
from __future__ import annotations

import gymnasium as gym


def make_env(env_id: str, **kwargs) -> gym.Env:
    """``gym.make`` plus what the zoo's agents expect: MiniGrid envs give their 7x7x3 image only."""
    if env_id.startswith("MiniGrid"):
        import minigrid  # noqa: F401  (registers the MiniGrid ids)
        from minigrid.wrappers import ImgObsWrapper

        return ImgObsWrapper(gym.make(env_id, **kwargs))
    return gym.make(env_id, **kwargs)

"""Environment construction: one place that knows which wrappers an env id needs."""
from __future__ import annotations

import gymnasium as gym


# MinAtar registers no episode limit; a greedy Breakout agent that never misses would play forever.
MINATAR_MAX_STEPS = 10_000


def make_env(env_id: str, **kwargs) -> gym.Env:
    """``gym.make`` plus what the zoo's agents expect: MiniGrid envs give their 7x7x3 image only; MinAtar ids
    (``MinAtar/Breakout-v1``: the package's own gymnasium env, minimal action set, sticky actions 0.1) are
    registered on first use and stopped after :data:`MINATAR_MAX_STEPS` steps."""
    if env_id.startswith("MiniGrid"):
        import minigrid  # noqa: F401  (registers the MiniGrid ids)
        from minigrid.wrappers import ImgObsWrapper

        return ImgObsWrapper(gym.make(env_id, **kwargs))
    if env_id.startswith("MinAtar/"):
        if env_id not in gym.registry:
            from minatar.gym import register_envs

            register_envs()
        return gym.make(env_id, **{"max_episode_steps": MINATAR_MAX_STEPS, **kwargs})
    return gym.make(env_id, **kwargs)

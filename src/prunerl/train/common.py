"""What both trainers share: a progress bar and periodic greedy evaluation that keeps the best weights."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch

EVAL_SEED = 10_000  # evaluation during training never sees the seeds (0, 1, ...) the zoo is judged on
EVAL_EPISODES = 10


@dataclass
class TrainResult:
    actor: torch.nn.Module  # the best evaluated weights when evaluation ran, else the final ones
    optimizer_steps: int
    history: list[dict] = field(default_factory=list)  # {"step", "mean_return"} per evaluation
    critic: torch.nn.Module | None = None


class Tracker:
    """Advances a progress bar and, every ``eval_every`` env steps, evaluates the actor on validation seeds.

    The best evaluated weights are kept; ``select_when()`` (if given) says whether the current weights may be
    chosen at all (e.g. only once pruning has reached its final sparsity): until it does, nothing is evaluated.
    """

    def __init__(self, total_steps: int, env_id: str | None = None, eval_every: int | None = None,
                 progress: bool = True, description: str = "training", select_when=None,
                 episodes: int = EVAL_EPISODES):
        self.total, self.env_id, self.eval_every = total_steps, env_id, eval_every
        self.select_when, self.episodes = select_when, episodes
        self.history: list[dict] = []
        self.best: tuple[float, dict, dict | None] | None = None
        self.progress = None
        if progress:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeRemainingColumn(), TextColumn("{task.fields[note]}"))
            self.progress.start()
            self.task = self.progress.add_task(description, total=total_steps, note="")

    def update(self, step: int, actor: torch.nn.Module, critic: torch.nn.Module | None = None) -> None:
        selectable = self.select_when is None or self.select_when()
        if self.eval_every and selectable and (step % self.eval_every == 0 or step == self.total):
            from ..evaluation import evaluate

            mean = evaluate(actor, self.env_id, self.episodes, seed=EVAL_SEED).mean
            self.history.append({"step": step, "mean_return": mean})
            if self.best is None or mean >= self.best[0]:
                self.best = (mean, copy.deepcopy(actor.state_dict()), critic and copy.deepcopy(critic.state_dict()))
            if self.progress:
                self.progress.update(self.task, note=f"eval {mean:.1f} (best {self.best[0]:.1f})")
        if self.progress and (step % 100 == 0 or step == self.total):
            self.progress.update(self.task, completed=step)

    def result(self, actor: torch.nn.Module, optimizer_steps: int, critic=None) -> TrainResult:
        if self.progress:
            self.progress.stop()
        if self.best is not None:
            actor.load_state_dict(self.best[1])
            if critic is not None:
                critic.load_state_dict(self.best[2])
        return TrainResult(actor=actor, optimizer_steps=optimizer_steps, history=self.history, critic=critic)

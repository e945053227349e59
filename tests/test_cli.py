"""The command line as a user runs it: a real process, real output, real exit codes."""
import json
import subprocess
import sys

from prunerl import zoo


def prunerl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "prunerl.cli", *args], capture_output=True, text=True, timeout=600)


def test_help_everywhere():
    assert prunerl("--help").returncode == 0
    for command in ("zoo", "evaluate", "train"):
        out = prunerl(command, "--help")
        assert out.returncode == 0 and "usage: prunerl " + command in out.stdout


def test_zoo_lists_every_agent_with_its_return():
    out = prunerl("zoo")
    assert out.returncode == 0
    for name in zoo.RECIPES:
        assert name in out.stdout
        assert f"{zoo.card(name)['eval']['mean_return']:.2f}" in out.stdout


def test_evaluate_cartpole_in_tensorflow_meets_the_bar():
    out = prunerl("evaluate", "cartpole-dqn", "--framework", "tensorflow", "--episodes", "20", "--seed", "0", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["framework"] == "tensorflow" and result["episodes"] == 20 and len(result["returns"]) == 20
    assert result["mean_return"] >= 475


def test_unknown_agent_exits_non_zero_listing_the_agents():
    for args in (("evaluate", "pong-dqn"), ("train", "pong-dqn")):
        out = prunerl(*args)
        assert out.returncode != 0
        assert "unknown agent 'pong-dqn'" in out.stderr and all(n in out.stderr for n in zoo.RECIPES)


def test_unknown_framework_exits_non_zero():
    out = prunerl("evaluate", "cartpole-dqn", "--framework", "jax")
    assert out.returncode != 0 and "unknown framework 'jax'" in out.stderr


def test_train_writes_a_card_and_weights(tmp_path):
    out = prunerl("train", "cartpole-dqn", "--steps", "1500", "--zoo-dir", str(tmp_path))
    assert out.returncode == 1, "1,500 steps cannot reach the bar, and the exit code must say so"
    assert "bar 475" in out.stdout
    card = json.loads((tmp_path / "cartpole-dqn.json").read_text())
    assert card["env_steps"] == 1500 and (tmp_path / "cartpole-dqn.npz").exists()
    assert card["sha256"] == zoo.sha256(tmp_path / "cartpole-dqn.npz")

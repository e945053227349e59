"""The interactive modes driven through a pseudo-terminal with scripted keystrokes (as over SSH)."""
from __future__ import annotations

import json
import os
import sys

import pexpect

NOW = "2026-01-01T09:00:00+00:00"


def spawn(tmp_path, *args, timeout=60):
    env = dict(os.environ, TERM="dumb", NO_COLOR="1", COLUMNS="200", PYTHONIOENCODING="utf-8", LANG="C.UTF-8")
    env.pop("LC_ALL", None)
    child = pexpect.spawn(sys.executable, ["-m", "prunerl.cli", "interview", "--history", str(tmp_path / "h.json"),
                                           "--now", NOW, *args],
                          env=env, encoding="utf-8", timeout=timeout, dimensions=(50, 200), cwd=str(tmp_path))
    return child


def answer(child, *lines):
    for line in lines:
        child.sendline(line)
    child.sendline("")


def test_one_question_follow_ups_one_at_a_time_then_point_by_point(tmp_path):
    child = spawn(tmp_path, "--question", "where-applied", "--lang", "en")
    child.expect("Where is pruning applied in deep RL in practice")
    child.expect("an empty line ends the answer")
    answer(child, "Deployment on robots at batch 1,", "with a memory and latency budget.")
    child.expect(r"Follow-up 1/2:.*Why batch 1\?")
    # the second follow-up is not shown before the first one is answered
    assert "Follow-up 2/2" not in child.before + child.after
    answer(child, "one observation per control step")
    child.expect(r"Follow-up 2/2:.*prune or quantise first")
    answer(child, "quantise first")
    child.expect("Model answer")
    child.expect(r"\[1/4\] names deployment constraints.*made it\? \(y/n\) ")
    child.sendline("y")
    child.expect(r"\[2/4\].*\(y/n\) ")
    child.sendline("maybe")  # not an answer: asked again
    child.expect("please answer y or n")
    child.expect(r"\(y/n\) ")
    child.sendline("n")
    for reply in ("y", "n"):  # rubric points 3 and 4
        child.expect(r"\(y/n\) ")
        child.sendline(reply)
    child.expect(r"Follow-up 1/2: Why batch 1\?.*model answer: .*did your answer get it\? \(y/n\) ")
    child.sendline("y")
    child.expect(r"Follow-up 2/2: .*\(y/n\) ")
    child.sendline("n")
    child.expect(r"Score: 3/6 points \(50 %\)")
    child.expect(r"Next review: 2026-01-02 09:00 UTC \(FSRS rating Hard\)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    review = json.loads((tmp_path / "h.json").read_text())["reviews"][0]
    assert review["points"] == [True, False, True, False] and review["follow_ups"] == [True, False]
    assert review["answer"] == "Deployment on robots at batch 1,\nwith a memory and latency budget."


def test_mock_interview_in_chinese_with_a_time_limit(tmp_path):
    child = spawn(tmp_path, "--mock", "1", "--time-limit", "2", "--lang", "zh", "--question", "trap-l1-optimises")
    child.expect("第 1/1 题")
    child.expect("待检验的说法：基于L1范数的剪枝算法")
    child.expect("时间限制：2 秒")
    child.sendline("L1 范数剪枝只是排序")  # then silence: the clock runs out
    child.expect("时间到（2 秒）")
    child.expect("追问 1/1：")
    child.send("y")  # typed as the clock runs out, never entered: it must not answer the first rubric point
    child.expect("时间到（2 秒）")
    child.expect("参考答案")
    for reply in ("y", "是", "n", "否"):  # three rubric points, one follow-up
        child.expect(r"\(y/n\) ")
        child.sendline(reply)
        assert "请输入 y 或 n" not in child.before  # no stale keystrokes before the reply
    child.expect("得分：2/4 个要点（50 %）")
    child.expect("模拟面试总结")
    child.expect("最薄弱的主题：")
    child.expect("需要复习的课程：lessons/07_l1_norm_case.py § The criterion")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    review = json.loads((tmp_path / "h.json").read_text())["reviews"][0]
    assert review["answer"] == "L1 范数剪枝只是排序" and review["seconds"] >= 4


def test_asks_what_is_due_first(tmp_path):
    history = {"attempts": [{"id": "dormant-neurons", "score": 0, "seconds": 10, "answer": "",
                             "time": "2025-12-30T09:00:00+00:00"}]}
    (tmp_path / "h.json").write_text(json.dumps(history))
    child = spawn(tmp_path, "--lang", "en")
    child.expect("migrated from format 1")
    child.expect(r"\[dormant-neurons\]")  # failed two days ago, so due before any new question
    child.sendcontrol("d")  # end of input: stop without recording
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_an_empty_answer_is_asked_again_then_skipped(tmp_path):
    child = spawn(tmp_path, "--question", "where-applied", "--lang", "en")
    child.expect("an empty line ends the answer")
    child.sendline("")  # Enter at once: not taken silently
    child.expect(r"\(no answer yet: type it")
    child.sendline("")  # again: skipped, and said so
    child.expect(r"\(skipped: scored as an empty answer\)")
    child.expect(r"Follow-up 1/2: ")
    child.sendline("one observation per control step")
    child.sendline("")
    child.expect(r"Follow-up 2/2: ")
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()

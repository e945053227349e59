"""Terminal strings in English and Chinese; the default language comes from the locale."""
from __future__ import annotations

import os

STRINGS = {
    "en": {
        "colon": ": ", "question": "Question {n}/{total}", "lesson": "lesson", "difficulty": "difficulty",
        "claim": "Claim under test",
        "answer_prompt": "Answer in your own words; an empty line ends the answer.",
        "limit": "Time limit: {seconds} s.", "time_up": "Time is up ({seconds} s).", "took": "{seconds:.0f} s",
        "follow_up": "Follow-up {i}/{n}", "your_answer": "Your answer", "model_answer": "Model answer",
        "rubric": "Rubric: tick each point your answer made",
        "point_prompt": "  [{i}/{n}] {point}\n      made it? (y/n) ",
        "follow_up_check": "Follow-up {i}/{n}: {q}\n  model answer: {a}\n      did your answer get it? (y/n) ",
        "empty": "(no answer yet: type it, then an empty line; an empty line now skips the question)",
        "skipped": "(skipped: scored as an empty answer)",
        "yes_no": "  please answer y or n", "score": "Score: {got}/{total} points ({pct:.0f} %)",
        "next_due": "Next review: {due} (FSRS rating {rating})",
        "summary": "Mock interview summary", "weakest": "Weakest topics", "revisit": "Lessons to revisit",
        "total_time": "Total time: {seconds:.0f} s over {n} question(s)", "none": "none",
        "list_title": "Interview questions ({n}; due now {due}, never seen {new}) - history: {path}",
        "col_id": "id", "col_kind": "type", "col_lesson": "L", "col_due": "due",
        "col_retention": "recall", "col_reviews": "n", "col_last": "last",
        "new": "new", "due_now": "due now", "recorded": "{n} answer(s) recorded in {path}",
        "migrated": "History migrated from format 1 ({n} attempt(s)) to FSRS cards.",
        "no_tty": "no terminal: use --dry-run or --answers FILE",
        "nothing_due": "Nothing due; practising the question due soonest.",
        "history": "history: {path}",
        "coding_title": "Coding round: {title} ({minutes} min)",
        "coding_file": "Edit {path}, then press Enter here to run the checks (the clock is running).",
        "coding_dry": "Task written to {path} (dry run: no checks run).",
        "coding_time": "Time used: {used:.0f} s of {limit} s{over}", "over": " - over the limit",
        "coding_running": "Running the visible checks, then the hidden checks (prunerl grade)...",
        "test": "test", "visible": "visible", "hidden": "hidden", "passed": "passed", "failed": "failed",
        "not_run": "not run", "coding_result": "{passed}/{total} checks passed",
        "hidden_unavailable": "Hidden checks unavailable on this machine ({reason}): visible checks only.",
        "export_done": "Wrote {n} question(s) to {path}",
    },
    "zh": {
        "colon": "：", "question": "第 {n}/{total} 题", "lesson": "课程", "difficulty": "难度",
        "claim": "待检验的说法",
        "answer_prompt": "请用自己的话回答；输入空行结束回答。",
        "limit": "时间限制：{seconds} 秒。", "time_up": "时间到（{seconds} 秒）。", "took": "{seconds:.0f} 秒",
        "follow_up": "追问 {i}/{n}", "your_answer": "你的回答", "model_answer": "参考答案",
        "rubric": "评分要点：逐条勾选你的回答涵盖了哪些",
        "point_prompt": "  [{i}/{n}] {point}\n      是否做到？(y/n) ",
        "follow_up_check": "追问 {i}/{n}：{q}\n  参考答案：{a}\n      你答对了吗？(y/n) ",
        "empty": "（还没有回答：输入回答后再输入空行；现在再输入空行则跳过此题）",
        "skipped": "（已跳过：按空回答计分）",
        "yes_no": "  请输入 y 或 n", "score": "得分：{got}/{total} 个要点（{pct:.0f} %）",
        "next_due": "下次复习：{due}（FSRS 评级 {rating}）",
        "summary": "模拟面试总结", "weakest": "最薄弱的主题", "revisit": "需要复习的课程",
        "total_time": "总用时：{seconds:.0f} 秒，共 {n} 题", "none": "无",
        "list_title": "面试题（{n} 道；现在到期 {due}，从未做过 {new}）- 记录文件：{path}",
        "col_id": "编号", "col_kind": "类型", "col_lesson": "课", "col_due": "到期",
        "col_retention": "记忆率", "col_reviews": "次数", "col_last": "上次",
        "new": "新题", "due_now": "已到期", "recorded": "已在 {path} 记录 {n} 个回答",
        "migrated": "记录已从格式 1（{n} 次作答）迁移为 FSRS 卡片。",
        "no_tty": "没有终端：请使用 --dry-run 或 --answers FILE",
        "nothing_due": "没有到期的题目；练习最快到期的一题。",
        "history": "记录文件：{path}",
        "coding_title": "编程题：{title}（{minutes} 分钟）",
        "coding_file": "编辑 {path}，完成后在这里按回车运行检查（计时进行中）。",
        "coding_dry": "题目已写入 {path}（演练模式：不运行检查）。",
        "coding_time": "用时：{used:.0f} 秒 / {limit} 秒{over}", "over": " - 超时",
        "coding_running": "正在运行公开检查，然后运行隐藏检查（prunerl grade）……",
        "test": "测试", "visible": "公开", "hidden": "隐藏", "passed": "通过", "failed": "未通过",
        "not_run": "未运行", "coding_result": "通过 {passed}/{total} 项检查",
        "hidden_unavailable": "本机无法运行隐藏检查（{reason}）：只运行公开检查。",
        "export_done": "已把 {n} 道题写入 {path}",
    },
}
KINDS = {"en": {"concept": "concept", "scenario": "scenario", "numeric": "numeric", "trap": "trap"},
         "zh": {"concept": "概念", "scenario": "场景", "numeric": "数值", "trap": "陷阱"}}
YES = {"y": True, "yes": True, "n": False, "no": False, "是": True, "否": False, "1": True, "0": False}


def default_lang(environ=os.environ) -> str:
    """zh when the locale (LC_ALL, LC_MESSAGES or LANG, first one set) starts with zh; en otherwise."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if environ.get(var):
            return "zh" if environ[var].lower().startswith("zh") else "en"
    return "en"


def t(lang: str, key: str, **kwargs) -> str:
    return STRINGS[lang][key].format(**kwargs)

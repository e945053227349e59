"""The interview bank: schema, both languages, lesson references, numbers against their artefacts, issue-9 fixes."""
from __future__ import annotations

import copy
import re

from prunerl.course.interview import bank as B
from prunerl.course.interview import schema


def test_bank_is_big_enough_and_covers_every_kind():
    bank = B.load_bank()
    assert len(bank) >= 40
    kinds = [q["kind"] for q in bank]
    assert {k: kinds.count(k) >= 8 for k in B.KINDS} == {k: True for k in B.KINDS}
    assert {q["difficulty"] for q in bank} == set(B.DIFFICULTIES)


def test_schema_holds_for_every_question():
    assert schema.structure_errors(B.load_bank()) == []


def test_every_quoted_number_matches_its_artefact():
    bank = B.load_bank()
    assert sum(len(q.get("checks", [])) for q in bank) >= 60
    assert {c["artefact"] for q in bank for c in q.get("checks", []) if "artefact" in c} >= {
        "bench/RESULTS.md", "src/prunerl/zoo/cartpole-dqn.json"}
    assert schema.number_errors(bank) == []


def test_schema_catches_broken_questions():
    good = B.load_bank()
    bad = copy.deepcopy(good)
    q = next(q for q in bad if q["id"] == "trap-flop-bound")
    del q["answer"]["zh"]
    q["lesson"]["heading"] = "No such heading"
    q["rubric"] = q["rubric"][:2]
    bad[0]["follow_ups"] = bad[0]["follow_ups"][:1]
    errors = "\n".join(schema.structure_errors(bad))
    assert "trap-flop-bound.answer: needs exactly" in errors and "No such heading" in errors
    assert "trap-flop-bound: rubric has 2 points" in errors and "what-is-pruning: 1 follow-ups, needs 2-4" in errors
    num = copy.deepcopy([x for x in good if x["id"] == "num-flop-bound-half"])
    num[0]["checks"][0]["value"] = "3.92"  # the artefact says 3.91
    num[0]["checks"].append({"expr": "1234 * 10", "format": "{}", "value": "12340"})  # not quoted anywhere
    errors = "\n".join(schema.number_errors(num))
    assert "gives 3.91, the bank says 3.92" in errors and "12340 is checked but not quoted in the en text" in errors


def _answers(q: dict, lang: str = "en") -> str:
    return " ".join([q["answer"][lang]] + [f["a"][lang] for f in q["follow_ups"]] + [r[lang] for r in q["rubric"]])


def test_issue_9_corrections():
    bank = {q["id"]: q for q in B.load_bank()}
    every_answer = " ".join(_answers(q) for q in bank.values())
    for wrong in ("protects small input/output layers", "small input/output layers are protected",
                  "usually better at high sparsity", "approaches the FLOP bound", "approaches it at large batch",
                  "keep their return to high sparsity", "no information about the task"):
        assert wrong not in every_answer, wrong
    first = _answers(bank["what-is-pruning"])
    assert "99.6 %" in first and "layer-wise kept more return at 50 %" in first
    assert "0.72" in first and "0.15" in first and "during the whole training run" in first
    assert "2 of 24" in _answers(bank["structured-vs-unstructured"])
    assert "data batch" in bank["before-during-after"]["answer"]["en"]
    assert "in-distribution" in bank["training-time-generalization"]["answer"]["en"]
    field = bank["where-field-goes"]["answer"]["en"]
    assert "Graesser et al. (2022) benchmarked these in DRL" in field and "Nature CNN" in field
    assert "random initial values" in field  # SET does not regrow at zero


def test_traps_quote_the_claim_and_name_the_flaw():
    traps = [q for q in B.load_bank() if q["kind"] == "trap"]
    seed = {"剪枝后的模型计算复杂度降低", "提高模型的泛化能力", "适用于需要快速决策的场景", "测试集上的性能指标",
            "训练前对模型进行剪枝", "从而改变网络的计算复杂度", "通过优化网络中的权重矩阵"}
    claims = " ".join(q["claim"]["zh"] for q in traps)
    assert all(s in claims for s in seed)
    for q in traps:
        assert "flaw" in q["rubric"][0]["en"] or "flaw" in q["answer"]["en"].lower(), q["id"]


def test_lessons_read_localized_views():
    q = B.question_for_lesson(4, lang="zh")
    assert q["question"].startswith("请解释稀疏化") and q["lesson"] == 4
    assert B.lesson_number(B.question("scn-cnn-flatten")) == 7


def test_every_decimal_number_of_an_answer_or_rubric_point_is_checked():
    assert schema.unchecked_numbers(B.load_bank()) == []
    q = copy.deepcopy(B.question("num-flop-bound-half"))
    q["rubric"][0]["en"] = "FLOP bound about 3.9x"
    assert schema.unchecked_numbers([q]) == ["num-flop-bound-half: 3.9 (en) is neither checked nor given"]


def test_a_rubric_point_that_contradicts_a_recorded_number_fails():
    q = copy.deepcopy(B.question("training-time-generalization"))
    assert schema.number_errors([q]) == []
    # the point the issue found: "environment stepping dominates", against lesson 6's 1.5 s of updates, 0.03 s of env
    q["facts"][0]["holds"] = "env_s > updates_s"
    errors = schema.number_errors([q])
    assert len(errors) == 1 and "rubric[1] contradicts the recorded numbers" in errors[0]
    assert "updates_s = " in errors[0] and "env_s = " in errors[0]
    q["facts"][0]["holds"] = "open('x')"
    assert "not plain arithmetic" in schema.number_errors([q])[0]


def test_issue_19_corrections():
    bank = {q["id"]: q for q in B.load_bank()}
    en = " ".join(_answers(q) for q in bank.values())
    zh = " ".join(_answers(q, "zh") for q in bank.values())
    for wrong in ("removed 9-13x", "most wall-clock goes to environment steps", "environment stepping dominates small",
                  "counts the starting weights among the candidates", "trade-off: unstructured keeps more return"):
        assert wrong not in en, wrong
    # 回报差 alone reads "a poor return"; 回报差距 (the gap) and 回报差异 (the spread) are what was meant
    for calque in ("回报差(?![距异])", "按原话", "9-13 倍的权重", "环境步为主", "瓶颈是环境步"):
        assert not re.search(calque, zh), calque
    field = bank["where-field-goes"]
    assert "Obando-Ceron, Courville & Castro (2024)" in field["answer"]["en"]
    assert "Obando-Ceron" in field["rubric"][3]["en"] and "not Graesser" in field["rubric"][3]["en"]
    assert "never beats tf.matmul" in _answers(bank["num-crossover-1024"])  # lesson 4: TensorFlow never wins at batch 1

"""The interview bank: schema, both languages, lesson references, numbers against their artefacts, issue-9 fixes."""
from __future__ import annotations

import copy

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
    assert "Graesser et al. (2022) benchmarked these in DRL and report sparse networks beating dense ones, by about " \
           "50 %" in field and "Nature CNN" in field
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

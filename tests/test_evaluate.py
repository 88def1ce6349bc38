"""The eval harness end to end on a tiny HashEmbedder index: scoring, reports, plots, the CI gate."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import SMALL_PAPERS, HashEmbedder

from rag.evals import evalset as evalset
from rag.evals import gate as eval_gate
from rag.evals import judge as eval_judge
from rag.evals import ranking as metrics
from rag.evals import runner as ev
from rag.retrieve.base import Ranked
from rag.settings import Settings

ITEMS: list[dict[str, Any]] = [
    {
        "id": "l1",
        "question": "What share of the variance do sparse autoencoder (SAE) features explain?",
        "type": "lookup",
        "gold_titles": ["Sparse Autoencoders Find Interpretable Features in Language Models"],
        "answer": "SAE features explain 42.5% of the variance.",
        "key_facts": ["explain 42.5% of the variance"],
        "history": [],
    },
    {
        "id": "l2",
        "question": "How much faster is the tokenizer for speech recognition than prior work?",
        "type": "lookup",
        "gold_titles": ["Fast Tokenization for Speech Recognition"],
        "answer": "It runs 3.5x faster than prior work.",
        "key_facts": ["runs 3.5x faster than prior work"],
        "history": [],
    },
    {
        "id": "p1",
        "question": "Which loss makes rationale matrices of samples in one category similar for domain generalization?",
        "type": "paraphrase",
        "gold_titles": ["Domain Generalization via Rationale Invariance"],
        "answer": "A rationale invariance loss makes rationale matrices of same-category samples similar.",
        "key_facts": ["rationale invariance loss"],
        "history": [],
    },
    {
        "id": "f1",
        "question": "By how much does the graph neural network message passing improve accuracy on QM9?",
        "type": "followup",
        "gold_titles": ["Graph Neural Networks for Molecule Property Prediction"],
        "answer": "It improves accuracy on QM9 by 8%.",
        "key_facts": ["improves accuracy on QM9 by 8%"],
        "history": [
            {"role": "user", "content": "How do graph neural networks predict molecule properties?"},
            {"role": "assistant", "content": "From atoms and bonds, with edge attention in message passing."},
        ],
    },
    {
        "id": "u1",
        "question": "Which city hosted the 1900 Summer Olympics?",
        "type": "unanswerable",
        "gold_titles": [],
        "answer": "NOT_IN_CORPUS",
        "key_facts": [],
        "history": [],
    },
]


def write_set(path: Path, items: list[dict[str, Any]] = ITEMS) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in items))
    return path


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from rag.index.ingest import ingest
    from rag.index.store import Store, open_chroma
    from rag.pipeline import Pipeline

    data_dir = tmp_path_factory.mktemp("index")
    settings = Settings(data_dir=data_dir, abstain_threshold=0.0, top_k=5)
    embedder = HashEmbedder()
    client = open_chroma(data_dir)
    ingest(SMALL_PAPERS, Store(client, embedder.name), embedder, data_dir, progress=False)
    return Pipeline.open(settings, embedder=embedder, chroma_client=client, llm_client=None, progress=False)


class Reversed:
    """A broken second stage: the bottom half of the real ranking, worst first."""

    name = "reversed"

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def rerank(self, *args: Any, **kwargs: Any) -> Ranked:
        hits = self.inner.rerank(*args, **kwargs)
        return Ranked(reversed(hits[len(hits) // 2 :]))


def args(tmp_path: Path, sets: list[Path], **kw: Any) -> argparse.Namespace:
    defaults = {"answerer": "extractive", "out": tmp_path / "out", "compare": None, "thresholds": None}
    return argparse.Namespace(sets=sets, **{**defaults, **kw})


# ------------------------------------------------------------------------------------------ schema


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({**ITEMS[0], "type": "trivia"}), "type"),
        (json.dumps({**ITEMS[0], "id": "x", "gold_titles": []}), "at least one gold title"),
        (json.dumps({**ITEMS[4], "id": "x", "gold_titles": ["A title"]}), "unanswerable"),
        (json.dumps({**ITEMS[3], "id": "x", "history": []}), "history"),
        (json.dumps({**ITEMS[3], "id": "x", "history": [{"role": "bot", "content": "hi"}]}), "history.0.role"),
        (json.dumps({**ITEMS[0], "extra": 1}), "extra"),
        (json.dumps(ITEMS[0]), "duplicate id 'l1'"),
    ],
)
def test_a_bad_eval_item_is_reported_with_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ITEMS[0]) + "\n\n" + line + "\n")
    with pytest.raises(evalset.EvalSetError, match=f"bad.jsonl:3: .*{message}"):
        evalset.load_eval_set(path)


def test_line_separators_inside_json_strings_and_a_bom_are_read(tmp_path: Path) -> None:
    """U+2028 is legal inside a JSON string (``json.dumps(ensure_ascii=False)`` writes it raw): it must not
    split the line, and a UTF-8 BOM (Windows editors) must not make line 1 invalid."""
    first = {**ITEMS[0], "question": "What do\u2028sparse autoencoders explain?"}
    path = tmp_path / "set.jsonl"
    path.write_text("\ufeff" + json.dumps(first, ensure_ascii=False) + "\n" + json.dumps(ITEMS[1]) + "\n",
                    encoding="utf-8")
    loaded = evalset.load_eval_set(path)
    assert [li.source for li in loaded] == [f"{path}:1", f"{path}:2"]
    assert loaded[0].item.question == first["question"]


def test_the_dev_set_is_valid() -> None:
    items = evalset.load_eval_set(Path(__file__).resolve().parent.parent / "evals" / "dev.jsonl")
    assert len(items) >= 80
    assert {li.item.type for li in items} == set(evalset.QUESTION_TYPES)


# ------------------------------------------------------------------------------------------ harness


def test_a_broken_retriever_scores_lower_than_the_real_one(pipeline: Any, tmp_path: Path) -> None:
    path = write_set(tmp_path / "tiny.jsonl")
    good: dict[str, Any] = ev.evaluate(pipeline, [path], progress=False).aggregate
    pipeline.reranker, real = Reversed(pipeline.reranker), pipeline.reranker
    try:
        bad: dict[str, Any] = ev.evaluate(pipeline, [path], progress=False).aggregate
    finally:
        pipeline.reranker = real
    assert good["hit@1"] == 1.0 and good["mrr@10"] == 1.0
    assert good["key_fact_recall"] == 1.0 and good["faithfulness"] == 1.0
    assert bad["hit@1"] < good["hit@1"]
    assert bad["mrr@10"] < good["mrr@10"]
    assert bad["ndcg@10"] < good["ndcg@10"]
    assert bad["key_fact_recall"] < good["key_fact_recall"]
    assert bad["answer_f1"] < good["answer_f1"]


def test_followups_are_asked_with_their_history(pipeline: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, Any, dict[str, Any]]] = []
    real_ask = pipeline.ask

    def ask(question: str, history: Any = None, **options: Any) -> Any:
        seen.append((question, history, options))
        return real_ask(question, history, **options)

    monkeypatch.setattr(pipeline, "ask", ask)
    ev.evaluate(pipeline, [write_set(tmp_path / "tiny.jsonl", ITEMS[3:4])], progress=False)
    assert seen == [(ITEMS[3]["question"], ITEMS[3]["history"], {"answerer": "extractive"})]


def test_the_command_writes_reports_and_plots(pipeline: Any, tmp_path: Path, capsys: Any) -> None:
    path = write_set(tmp_path / "tiny.jsonl")
    assert ev.run_eval_command(pipeline.settings, args(tmp_path, [path]), pipeline=pipeline, progress=False) == 0
    out = tmp_path / "out"
    report = json.loads((out / "report.json").read_text())
    agg = report["aggregate"]
    for key in [
        *metrics.RANKING_KEYS, "faithfulness", "faithfulness_exact", "faithfulness_proxy", "citation_precision",
        "citation_recall", "invalid_citation_rate", "key_fact_recall", "answer_f1", "abstention_accuracy",
        "over_abstention_rate", "abstain_precision", "abstain_recall", "latency_p50_total", "latency_p95_total",
    ]:  # fmt: skip
        assert key in agg, key
    assert agg.get("faithfulness_judge") is None  # no LLM configured
    assert agg["items"] == 5 and agg["answerable_items"] == 4
    assert set(report["by_type"]) == {"lookup", "paraphrase", "followup", "unanswerable"}
    assert report["by_type"]["unanswerable"].get("hit@1") is None  # excluded from retrieval metrics
    assert len(report["items"]) == 5 and {"metrics", "timings", "answer"} <= set(report["items"][0])
    assert len(list(out.glob("*.png"))) >= 3
    md = (out / "report.md").read_text()
    assert "## By question type" in md and "`ndcg@10`" in md and "binary-relevance nDCG@10" in md
    # abstention: every item carries the model's confidence; both error kinds and the trade-off are reported
    threshold = pipeline.settings.abstain_threshold  # RAG_ABSTAIN_THRESHOLD overrides the fitted one
    assert threshold == 0.0 != pipeline.abstainer.threshold and report["meta"]["abstain_threshold"] == threshold
    for item in report["items"]:
        assert 0.0 <= item["confidence"] <= 1.0
        if item["abstained"] is False:
            assert item["confidence"] >= threshold  # the pipeline answered: the model said so
    unanswerable = [i for i in report["items"] if not i["answerable"]]
    assert agg["false_answer_rate"] == sum(not i["abstained"] for i in unanswerable) / len(unanswerable)
    assert "## Abstention: both error kinds" in md and "wrongly answered" in md and "**(shipped)**" in md
    png = (out / "abstention_tradeoff.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000 and "abstention_tradeoff.png" in md
    printed = capsys.readouterr().out
    assert "hit@1" in printed and "overall" in printed

    # --compare against that report adds a side-by-side plot and table
    again = args(tmp_path, [path], out=tmp_path / "out2", compare=out / "report.json")
    assert ev.run_eval_command(pipeline.settings, again, pipeline=pipeline, progress=False) == 0
    assert (tmp_path / "out2" / "compare.png").exists()
    assert "## Compared with" in (tmp_path / "out2" / "report.md").read_text()


def test_the_threshold_gate_fails_on_a_regression_only(pipeline: Any, tmp_path: Path, capsys: Any) -> None:
    path = write_set(tmp_path / "tiny.jsonl")
    assert ev.run_eval_command(pipeline.settings, args(tmp_path, [path]), pipeline=pipeline, progress=False) == 0
    assert (
        ev.main(["--write-thresholds", str(tmp_path / "out" / "report.json"), "--out", str(tmp_path / "t.json")]) == 0
    )
    thresholds = json.loads((tmp_path / "t.json").read_text())
    assert thresholds["hit@1"] == 0.75 and "_comment" in thresholds  # 1.0 less one of its 4 items
    gate = args(tmp_path, [path], thresholds=tmp_path / "t.json")

    assert ev.run_eval_command(pipeline.settings, gate, pipeline=pipeline, progress=False) == 0
    assert "thresholds met" in capsys.readouterr().out

    real = pipeline.reranker
    pipeline.reranker = Reversed(real)
    try:
        assert ev.run_eval_command(pipeline.settings, gate, pipeline=pipeline, progress=False) == 1
    finally:
        pipeline.reranker = real
    err = capsys.readouterr().err
    assert "hit@1:" in err and "mrr@10:" in err and "below threshold" in err


def test_the_llm_answerer_needs_an_llm(pipeline: Any, tmp_path: Path) -> None:
    from rag.errors import ConfigError

    path = write_set(tmp_path / "tiny.jsonl")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        ev.run_eval_command(pipeline.settings, args(tmp_path, [path], answerer="llm"), pipeline=pipeline)


def test_threshold_checks() -> None:
    thresholds = {"hit@1": ("min", 0.8), "invalid_citation_rate": ("max", 0.05), "abstain_precision": ("min", 0.5)}
    agg = {"hit@1": 0.7, "invalid_citation_rate": 0.1, "abstain_precision": None}
    failures = eval_gate.check_thresholds(agg, thresholds)
    assert failures == [
        "hit@1: 0.700 < min 0.800",
        "invalid_citation_rate: 0.100 > max 0.050",
        "abstain_precision: not measured (threshold min 0.500)",
    ]
    assert (
        eval_gate.check_thresholds({"hit@1": 0.8, "invalid_citation_rate": 0.0, "abstain_precision": 1.0}, thresholds)
        == []
    )
    assert eval_gate.thresholds_from({"hit@1": 0.8857, "invalid_citation_rate": 0.0, "abstain_precision": None}) == {
        "hit@1": 0.86,
        "invalid_citation_rate": {"max": 0.02},
    }


def test_a_threshold_leaves_room_for_one_item_of_its_metric() -> None:
    """The CI gate failed on a fresh index of another machine: abstain_precision 0.909 < min 0.93, one of `dev_val`'s
    22 abstentions (the int8 embedder's vectors differ slightly between CPUs). A threshold now sits at least one
    item's share below the measured value."""
    items = [
        {"answerable": True, "abstained": False, "metrics": {"hit@1": 1.0, "key_fact_first40": None}},
        {"answerable": True, "abstained": True, "type": "lookup", "metrics": {"hit@1": 0.0, "key_fact_first40": 1.0}},
        {"answerable": True, "abstained": True, "error": "timed out", "metrics": {"hit@1": 0.0}},  # left out
        *[{"answerable": False, "abstained": True, "metrics": {"hit@1": None}} for _ in range(9)],
        {"answerable": False, "abstained": False, "metrics": {"hit@1": None}},
    ]
    counts = eval_gate.denominators(items)
    assert counts["hit@1"] == 2 and counts["key_fact_first40"] == 1 and counts["key_fact_first40_lookup"] == 1
    assert counts["abstain_precision"] == 10 and counts["abstain_recall"] == 10
    assert counts["over_abstention_rate"] == 2 and counts["abstention_accuracy"] == 12
    aggregate = {"abstain_precision": 0.9, "over_abstention_rate": 0.5, "abstention_accuracy": 0.8333}
    assert eval_gate.thresholds_from(aggregate, 0.02, counts) == {
        "abstain_precision": 0.8,  # 0.9 - 1/10
        "over_abstention_rate": {"max": 1.0},  # 0.5 + 1/2
        "abstention_accuracy": 0.74,  # 0.8333 - 1/12
    }


def test_the_shipped_thresholds_file_is_valid() -> None:
    root = Path(__file__).resolve().parent.parent
    thresholds = eval_gate.load_thresholds(root / "evals" / "thresholds.json")
    assert {"hit@5", "mrr@10", "faithfulness", "key_fact_recall", "abstention_accuracy"} <= set(thresholds)
    assert thresholds["false_answer_rate"][0] == "max" and thresholds["over_abstention_rate"][0] == "max"
    # CI gates the held-out split (nothing is fitted on it), with thresholds measured on it
    assert "dev_val.jsonl" in json.loads((root / "evals" / "thresholds.json").read_text())["_comment"]
    gate = next(line for line in (root / "Makefile").read_text().splitlines() if "--thresholds" in line)
    assert "--set evals/dev_val.jsonl" in gate and "dev.jsonl " not in gate


def test_the_abstention_tradeoff_counts_both_error_kinds() -> None:
    from rag.evals.tradeoff import at_threshold, tradeoff_curve

    items = [
        {"answerable": True, "confidence": 0.9}, {"answerable": True, "confidence": 0.6},
        {"answerable": True, "confidence": 0.2}, {"answerable": False, "confidence": 0.7},
        {"answerable": False, "confidence": 0.1}, {"answerable": False, "confidence": None},
    ]  # fmt: skip
    point = at_threshold(items, 0.5)
    assert point is not None
    assert (point.wrongly_answered, point.wrongly_refused) == (0.5, pytest.approx(1 / 3))
    assert point.accuracy == pytest.approx(3 / 5)  # the item without a confidence is left out
    curve = tradeoff_curve(items, steps=11)
    assert [p.threshold for p in curve] == pytest.approx([i / 10 for i in range(11)])
    assert (curve[0].wrongly_answered, curve[0].wrongly_refused) == (1.0, 0.0)  # never refuse
    assert (curve[-1].wrongly_answered, curve[-1].wrongly_refused) == (0.0, 1.0)  # always refuse
    answered = [p.wrongly_answered for p in curve]
    assert answered == sorted(answered, reverse=True)
    assert tradeoff_curve([i for i in items if i["answerable"]]) == []  # one kind only: no curve


def test_the_tradeoff_report_also_shows_the_items_as_answered() -> None:
    """A comparison below the threshold is answered anyway: the replayed row cannot show that, the "as
    answered" row (what the aggregate metrics count) does."""
    from rag.evals.tradeoff import as_answered, tradeoff_markdown

    items = [
        {"answerable": True, "confidence": 0.2, "abstained": False},  # answered although below the threshold
        {"answerable": True, "confidence": 0.9, "abstained": False},
        {"answerable": False, "confidence": 0.1, "abstained": True},
        {"answerable": False, "confidence": None, "abstained": False, "answerer": "error"},  # failed: left out
    ]
    point = as_answered(items)
    assert point is not None and (point.wrongly_answered, point.wrongly_refused, point.accuracy) == (0, 0, 1)
    lines = tradeoff_markdown({"items": items, "meta": {"abstain_threshold": 0.5}})
    assert "| 0.500 **(shipped)** | 0.000 | 0.500 | 0.667 |" in lines
    assert "| as answered | 0.000 | 0.000 | 1.000 |" in lines


# ------------------------------------------------------------------------------------------- judge


class FakeLLM:
    """``chat.completions.create`` returning a canned judge reply; counts calls."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.prompts: list[str] = []
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.create))

    def create(self, **kwargs: Any) -> Any:
        self.prompts.append(kwargs["messages"][0]["content"])
        if self.reply == "boom":
            raise RuntimeError("endpoint down")
        return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=self.reply))])


def test_the_llm_judge_scores_claims_and_caches_by_prompt(pipeline: Any, tmp_path: Path) -> None:
    from rag.evals import metrics as em

    claims = [{"claim": "a", "supported": True, "sources": [1]}, {"claim": "b", "supported": True, "sources": []}]
    reply = f"```json\n{json.dumps({'claims': claims})}\n```"
    fake = FakeLLM(reply)
    judge = eval_judge.LLMJudge(fake, "judge-model", tmp_path / "cache")
    units = [em.Unit("We train sparse autoencoders.", (1, 2)), em.Unit("Uncited.", ())]
    scores = judge.scores(units, {1: "source one", 2: "source two"})
    assert scores is not None
    assert (scores.faithfulness, scores.precision) == (0.5, 0.5)  # [2] supports no claim
    assert len(fake.prompts) == 1 and "source two" in fake.prompts[0]

    again = eval_judge.LLMJudge(FakeLLM("boom"), "judge-model", tmp_path / "cache")
    assert again.scores(units, {1: "source one", 2: "source two"}) == scores  # from the disk cache
    assert (again.calls, again.cache_hits) == (0, 1)

    failing = eval_judge.LLMJudge(FakeLLM("boom"), "other-model", tmp_path / "cache")
    failed = failing.scores(units, {1: "source one", 2: "source two"})  # a failed call: that sentence unsupported
    assert failed is not None and failed.faithfulness == 0.0 and failing.errors == 1


def test_faithfulness_is_the_judge_tier_when_an_llm_is_configured(pipeline: Any, tmp_path: Path) -> None:
    fake = FakeLLM('{"claims": [{"claim": "x", "supported": false, "sources": []}]}')
    path = write_set(tmp_path / "tiny.jsonl", ITEMS[:2])
    settings = pipeline.settings.model_copy(update={"data_dir": tmp_path})
    code = ev.run_eval_command(settings, args(tmp_path, [path]), pipeline=pipeline, llm_client=fake, progress=False)
    assert code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    agg = report["aggregate"]
    assert agg["faithfulness_judge"] == 0.0 and agg["faithfulness"] == 0.0
    assert agg["faithfulness_exact"] > 0.0
    assert report["meta"]["faithfulness_tier"] == "judge"
    assert list((tmp_path / "eval-judge-cache").glob("*.json"))


def test_the_judge_works_with_the_real_openai_client(tmp_path: Path) -> None:
    import httpx
    import respx
    from openai import OpenAI

    from rag.evals import metrics as em

    body = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": json.dumps({"claims": [{"claim": "c", "supported": True, "sources": [1]}]}),
                },
            }
        ],
    }
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post("http://llm.test/v1/chat/completions").mock(return_value=httpx.Response(200, json=body))
        client = OpenAI(api_key="k", base_url="http://llm.test/v1", max_retries=0)
        judge = eval_judge.LLMJudge(client, "m", tmp_path)
        scores = judge.scores([em.Unit("Claim c.", (1,))], {1: "source"})
    assert scores is not None and (scores.faithfulness, scores.precision) == (1.0, 1.0)
    sent = json.loads(route.calls[0].request.content)
    assert sent["model"] == "m" and sent["temperature"] == 0 and "Claim c." in sent["messages"][0]["content"]

"""Rerankers behind one interface: the fitted feature model, RRF order, a cross-encoder (a tiny random
BERT built in the test: nothing downloaded), the abstention model and the shipped weights file."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from conftest import SMALL_PAPERS

from rag.errors import ConfigError
from rag.linear import LinearModel
from rag.retrieve.abstain import ABSTAIN_FEATURES, AbstentionModel
from rag.retrieve.base import Candidate, PreparedQuery
from rag.retrieve.features import (
    FEATURES,
    WEIGHTS_PATH,
    featurize,
    load_weights,
)
from rag.retrieve.query import Query, parse_query
from rag.retrieve.rerank import (
    RERANKERS,
    CrossEncoderReranker,
    FeatureReranker,
    FeatureScorer,
    FusionReranker,
    LLMReranker,
    Ranked,
    make_reranker,
    to_hit,
)
from rag.settings import Settings

PAPERS = {p.id: p for p in SMALL_PAPERS}
SAE, RIDG, SPEECH, GNN = (p.id for p in SMALL_PAPERS)


def prepared(query: Query) -> PreparedQuery:
    """A prepared query for the rerankers (they read the parsed query and its text, not the vector)."""
    return PreparedQuery(query.text, query, np.zeros(4, dtype=np.float32))


def _candidates() -> list[Candidate]:
    """GNN first by the first stage, SAE second: a feature model that reads names/overlap should flip them."""
    ranks = {"bm25": 2, "dense": 1, "sentence": 1}
    return [
        Candidate(GNN, 3 / 61, dict(ranks), {"bm25": 1.0, "dense": 0.5, "sentence": 0.4}, np.array([0.4, 0.2, 0.1]),
                  first_stage=0.6),
        Candidate(SAE, 2 / 62, {"bm25": 1, "dense": 2, "sentence": 2}, {"bm25": 3.0, "dense": 0.45, "sentence": 0.3},
                  np.array([0.3, 0.1, 0.05], dtype=np.float32), first_stage=0.5),
        Candidate(SPEECH, 1 / 63, {"bm25": None, "dense": 3, "sentence": None}, {"bm25": 0.0, "dense": 0.1,
                  "sentence": 0.0}, np.zeros(3), first_stage=0.1),
    ]


def test_featurize_columns() -> None:
    q = parse_query("How much variance do SAE features explain?")
    x = featurize(q, _candidates(), PAPERS)
    assert x.shape == (3, len(FEATURES))
    row = dict(zip(FEATURES, x[1], strict=True))  # SAE
    assert row["name_match"] == 1.0 and row["name_miss"] == 0.0
    assert row["bm25"] == 1.0 and row["rr_bm25"] == 1.0
    assert row["sent_top2"] == pytest.approx(0.2)
    assert dict(zip(FEATURES, x[0], strict=True))["name_miss"] == 1.0  # GNN lacks "SAE"
    assert x[2, FEATURES.index("rr_sentence")] == 0.0


def test_feature_reranker_uses_the_model_and_fusion_keeps_the_first_stage_order() -> None:
    q = parse_query("How much variance do SAE features explain?")
    cands = _candidates()
    model = LinearModel.only(FEATURES, "name_match", 5.0)
    hits = FeatureReranker(FeatureScorer(model)).rerank(prepared(q), cands, PAPERS)
    assert [h.paper.id for h in hits] == [SAE, GNN, SPEECH]
    assert hits[0].score == pytest.approx(1 / (1 + np.exp(-5.0)))
    assert hits[0].features["logit"] == pytest.approx(5.0)
    fused = FusionReranker(FeatureScorer(model)).rerank(prepared(q), cands, PAPERS)
    assert [h.paper.id for h in fused] == [GNN, SAE, SPEECH]
    assert [h.score for h in fused] == pytest.approx([c.first_stage for c in cands])
    assert len(FeatureReranker(FeatureScorer(model)).rerank(prepared(q), cands, PAPERS, k=1)) == 2


def test_to_hit_picks_the_best_sentence() -> None:
    cand = _candidates()[1]
    hit = to_hit(cand, PAPERS[SAE], 0.7)
    assert hit.sentence_index == 0 and hit.sentence.startswith("We train sparse autoencoders")
    assert hit.sentence_scores == pytest.approx((0.3, 0.1, 0.05))


def test_linear_model_round_trip() -> None:
    model = LinearModel(("a", "b"), np.array([1.0, 2.0]), np.array([2.0, 1.0]), np.array([0.5, -1.0]), 0.25)
    again = LinearModel.from_dict(json.loads(json.dumps(model.to_dict())))
    x = np.array([[3.0, 1.0]])
    assert again.logits(x).tolist() == pytest.approx(model.logits(x).tolist())
    assert model.logits(x).tolist() == pytest.approx([0.5 * 1.0 - 1.0 * -1.0 + 0.25])


def test_shipped_weights_match_the_code() -> None:
    data = json.loads(WEIGHTS_PATH.read_text())
    assert set(data["ranker"]["features"]) <= set(FEATURES)
    assert set(data["abstain"]["features"]) <= set(ABSTAIN_FEATURES)
    assert AbstentionModel.load().model is not None  # not dropped as stale
    assert 0.0 < data["abstain"]["threshold"] < 1.0
    assert "fold" in data["cv"]["method"]
    assert data["cv"]["oof_reranked"]["hit@1"] >= data["cv"]["rrf"]["hit@1"]
    assert load_weights(WEIGHTS_PATH)["ranker"] == data["ranker"]


def test_stale_weights_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"ranker": {"features": ["gone"], "mean": [0], "scale": [1], "coef": [1],
                                           "intercept": 0}}))
    with pytest.warns(UserWarning, match="stale"):
        assert "ranker" not in load_weights(path)


def test_abstention_model_confidence() -> None:
    q = parse_query("How much variance do SAE features explain?")
    reranker = FeatureReranker(FeatureScorer(LinearModel.only(FEATURES, "name_match", 5.0)))
    hits = reranker.rerank(prepared(q), _candidates(), PAPERS)
    model = AbstentionModel(LinearModel.only(ABSTAIN_FEATURES, "name_miss", -3.0), 0.5)
    assert model.confidence(hits) == pytest.approx(0.5)  # top hit misses no name: logit 0
    assert model.confidence(hits[1:]) == pytest.approx(1 / (1 + np.exp(3.0)))
    assert model.confidence([]) == 0.0
    assert 0.0 <= AbstentionModel.load().confidence(hits) <= 1.0


def test_make_reranker_from_settings() -> None:
    features = make_reranker(Settings(reranker="features"))
    assert isinstance(features, FeatureReranker) and features.name == "features"
    assert features.scorer.model.features == FEATURES  # the shipped weights, not the RRF-only fallback
    assert make_reranker(Settings(reranker="none")).name == "rrf"
    with pytest.raises(ConfigError, match="RAG_RERANKER_MODEL"):
        make_reranker(Settings(reranker="cross-encoder"))
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        make_reranker(Settings(reranker="llm"))
    llm = make_reranker(Settings(reranker="llm", llm_model="local-model", llm_timeout=7.0), object())
    assert isinstance(llm, LLMReranker) and (llm.model, llm.timeout) == ("local-model", 7.0)


def test_registry_names_match_the_setting_and_unknown_names_list_them() -> None:
    from typing import get_args

    assert set(RERANKERS) == set(get_args(Settings.model_fields["reranker"].annotation))
    wrong = Settings.model_construct(reranker="bogus")  # as if validation were bypassed
    with pytest.raises(ConfigError, match="unknown reranker 'bogus'") as info:
        make_reranker(wrong)
    for name in RERANKERS:
        assert name in str(info.value)


def test_a_registered_factory_is_used_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, Any]] = []

    def factory(settings: Settings, scorer: FeatureScorer, llm_client: Any) -> FusionReranker:
        seen.append((settings.reranker, llm_client))
        return FusionReranker(scorer)

    monkeypatch.setitem(RERANKERS, "none", factory)
    client = object()
    assert make_reranker(Settings(reranker="none"), client).name == "rrf"
    assert seen == [("none", client)]


class _FakeChat:
    """Just enough of the openai client: ``client.chat.completions.create`` returning a fixed reply."""

    def __init__(self, reply: str | Exception) -> None:
        self.reply = reply
        self.requests: list[dict[str, Any]] = []
        self.chat = self
        self.completions = self

    def create(self, **request: Any) -> Any:
        self.requests.append(request)
        if isinstance(self.reply, Exception):
            raise self.reply
        message = SimpleNamespace(content=self.reply)
        return SimpleNamespace(choices=[SimpleNamespace(message=message)])


def test_llm_reranker_orders_by_the_reply_and_falls_back_on_failure() -> None:
    q = parse_query("speech tokenizer")
    scorer = FeatureScorer(LinearModel.only(FEATURES, "rrf", 1.0))  # feature order: GNN, SAE, SPEECH
    client = _FakeChat("3, 1")
    hits = LLMReranker(client, "m", scorer).rerank(prepared(q), _candidates(), PAPERS)
    assert [h.paper.id for h in hits] == [SPEECH, GNN, SAE]
    assert [h.features["llm_rank"] for h in hits] == [1.0, 2.0, 3.0]
    prompt = client.requests[0]["messages"][0]["content"]
    assert "Question: speech tokenizer" in prompt and "[3] Fast Tokenization" in prompt
    assert isinstance(hits, Ranked) and hits.error is None
    for reply, why in ((RuntimeError("down"), "RuntimeError: down"), ("none of them", "'none of them'")):
        reranker = LLMReranker(_FakeChat(reply), "m", scorer)
        fallback = reranker.rerank(prepared(q), _candidates(), PAPERS)
        assert [h.paper.id for h in fallback] == [GNN, SAE, SPEECH]
        assert isinstance(fallback, Ranked) and fallback.error is not None and why in fallback.error
        assert not hasattr(reranker, "last_error")


class _QuestionDependentChat(_FakeChat):
    """Fails for one question and answers garbage for the other, both calls inside ``create`` at once."""

    def __init__(self) -> None:
        super().__init__("")
        self.barrier = threading.Barrier(2, timeout=10)

    def create(self, **request: Any) -> Any:
        self.barrier.wait()  # both requests are in flight together
        if "speech tokenizer" in request["messages"][0]["content"]:
            raise TimeoutError("speech request timed out")
        self.barrier.wait()  # the failing request has already returned when this one answers
        return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content="no numbers here"))])


def test_concurrent_llm_reranks_get_their_own_errors() -> None:
    scorer = FeatureScorer(LinearModel.only(FEATURES, "rrf", 1.0))
    reranker = LLMReranker(_QuestionDependentChat(), "m", scorer)
    results: dict[str, Ranked] = {}

    def run(question: str) -> None:
        hits = reranker.rerank(prepared(parse_query(question)), _candidates(), PAPERS)
        assert isinstance(hits, Ranked)
        results[question] = hits
        if "speech" in question:
            reranker.client.barrier.wait()  # let the other request finish after this one

    threads = [threading.Thread(target=run, args=(q,)) for q in ("speech tokenizer", "graph molecules")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert set(results) == {"speech tokenizer", "graph molecules"}
    speech, graph = results["speech tokenizer"].error, results["graph molecules"].error
    assert speech is not None and "TimeoutError: speech request timed out" in speech
    assert graph is not None and "'no numbers here'" in graph and "Timeout" not in graph


def _tiny_cross_encoder(path: Path) -> Path:
    """A randomly initialised 2-layer BERT cross-encoder with a hand-written vocabulary."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    words = sorted({w.lower().strip(".,()%") for p in SMALL_PAPERS for w in f"{p.title} {p.abstract}".split()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *[w for w in words if w]]
    path.mkdir(parents=True, exist_ok=True)
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizer(str(path / "vocab.txt")).save_pretrained(str(path))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=512, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(str(path))
    return path


def test_cross_encoder_reranker_wiring(tmp_path: Path) -> None:
    path = _tiny_cross_encoder(tmp_path / "ce")
    reranker = make_reranker(Settings(reranker="cross-encoder", reranker_model=path))
    assert isinstance(reranker, CrossEncoderReranker) and reranker.name == "cross-encoder"
    q = parse_query("sparse autoencoders features")
    hits = reranker.rerank(prepared(q), _candidates(), PAPERS, k=3)
    assert sorted(h.paper.id for h in hits) == sorted([GNN, SAE, SPEECH])
    scores = [h.features["cross_encoder"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert [h.score for h in hits] == scores
    expected = reranker.model.predict([("sparse autoencoders features", f"{h.paper.title}. {h.paper.abstract}")
                                       for h in hits], show_progress_bar=False)
    assert np.asarray(expected, dtype=float).ravel() == pytest.approx(scores, rel=1e-4)


def test_cross_encoder_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        CrossEncoderReranker(tmp_path / "missing")


# ---- the recall guarantee: reranking never pushes a fusion top-ten paper out of the top ten ----------------
def _many(n: int = 14) -> tuple[list[Candidate], dict[str, Any]]:
    """``n`` candidates in fusion order over made-up papers; the later ones look better to a model that reads
    the sentence similarity (it grows down the list)."""
    from conftest import make_paper

    papers = [make_paper(f"Paper number {i}", f"Abstract {i} about sparse coding. Sentence {i}.") for i in range(n)]
    cands = [
        Candidate(p.id, 1 / (61 + i), {"bm25": i + 1, "dense": i + 1, "sentence": i + 1},
                  {"bm25": float(n - i), "dense": 0.5, "sentence": 0.1 * i}, np.array([0.05 * i, 0.0]))
        for i, p in enumerate(papers)
    ]  # fmt: skip
    return cands, {p.id: p for p in papers}


class _ReversingCrossEncoder:
    def predict(self, pairs: list[tuple[str, str]], show_progress_bar: bool = False) -> np.ndarray:
        return np.array([float(int(text.split()[2].rstrip("."))) for _, text in pairs])  # "Paper number i." -> i


class _ReversingLLM:
    def __init__(self, n: int) -> None:
        message = SimpleNamespace(content=" ".join(str(i) for i in range(n, 0, -1)))
        self.chat = SimpleNamespace(
            completions=SimpleNamespace(create=lambda **kw: SimpleNamespace(choices=[SimpleNamespace(message=message)]))
        )


def test_every_reranker_keeps_the_fusion_top_ten_in_its_top_ten() -> None:
    cands, papers = _many(14)
    fusion_top = [c.paper_id for c in cands[:10]]
    inverse = FeatureScorer(LinearModel.only(FEATURES, "sent_max", 10.0))  # prefers the last candidates
    rest = [c.paper_id for c in cands[10:]]
    rerankers = [  # (reranker, whether its order of the candidates is the reverse of the fusion's)
        (FeatureReranker(inverse), True),
        (CrossEncoderReranker(_ReversingCrossEncoder(), inverse, top_n=14), True),
        (LLMReranker(_ReversingLLM(14), "m", inverse, top_n=14), False),  # reverses the feature order back
    ]
    q = parse_query("sparse coding")
    for reranker, reverse in rerankers:
        hits = reranker.rerank(prepared(q), cands, papers)
        ids = [h.paper.id for h in hits]
        assert sorted(ids) == sorted(c.paper_id for c in cands), reranker.name
        assert set(ids[:10]) == set(fusion_top), reranker.name  # nothing of the fusion top ten pushed out
        # ... yet the reranker decides the order within each part
        assert ids[:10] == (fusion_top[::-1] if reverse else fusion_top), reranker.name
        assert ids[10:] == (rest[::-1] if reverse else rest), reranker.name
    # with fewer than ten candidates the rule is a no-op: pure model order
    few = FeatureReranker(inverse).rerank(prepared(q), cands[:6], papers)
    assert [h.paper.id for h in few] == [c.paper_id for c in cands[:6]][::-1]


def test_keep_first_stage_moves_only_what_it_must() -> None:
    from rag.retrieve.hits import keep_first_stage

    assert keep_first_stage([5, 0, 7, 1, 2], {0, 1, 2}) == [0, 1, 2, 5, 7]
    assert keep_first_stage([2, 1, 0], {0, 1, 2}) == [2, 1, 0]
    assert keep_first_stage([], {0}) == []


def test_rerank_does_not_depend_on_the_order_the_candidates_come_in(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The recall rule's top ten are the first stage's by score, not the first ten passed in."""
    pq = real_pipeline.prepare("What is sparsemax?")
    candidates = real_pipeline.candidates(pq)
    forward = [h.paper.id for h in real_pipeline.rerank(pq, candidates, 10)]
    assert [h.paper.id for h in real_pipeline.rerank(pq, list(reversed(candidates)), 10)] == forward

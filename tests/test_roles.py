"""The sentence-role model (rag/answer/roles.py): the shipped weights load, a damaged or stale file is a
one-line ConfigError naming the fix, and real MiniLM vectors of a typical abstract get the expected roles,
the same ones on every call."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import real_embedder

from rag.answer.roles import FORMAT, MODEL_PATH, POSITION, ROLES, RoleModel, feature_count, role_features
from rag.errors import ConfigError
from rag.index.embeddings import MINILM, embedder_name
from rag.settings import Settings

ABSTRACT = [
    "Large language models often state facts that their sources do not support when answering questions about "
    "long documents.",
    "We propose RetroCheck, a retrieval-augmented verifier that checks each generated claim against the source "
    "passage.",
    "Experiments on three benchmarks show that RetroCheck reduces unsupported claims by 35% while keeping answer "
    "quality.",
]


def shipped() -> dict:
    return json.loads(MODEL_PATH.read_text(encoding="utf-8"))


def write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_the_shipped_model_loads_and_reads_the_default_embedder_s_vectors() -> None:
    """Fitted on fp32 MiniLM vectors; the default int8 runtime's differ by cosine ~0.007 and the pipeline uses
    the model with them (every figure in benchmarks/results/quality.md was measured that way)."""
    model = RoleModel.load()
    assert model.dim == 384
    assert model.embedder == MINILM and embedder_name(Settings()).startswith(model.embedder)
    assert model.coef.shape == (len(ROLES), feature_count(model.blocks, 384))
    fitted = shipped()["fitted"]
    assert fitted["data"] == "aclsum 0.1.2"
    assert fitted["test"]["model"]["accuracy"] > fitted["test"]["position_only"]["accuracy"]


def test_features_hold_the_vector_blocks_and_the_position() -> None:
    vectors = np.arange(12, dtype=np.float64).reshape(3, 4)
    rows = role_features(vectors, ("vector", "centered", "position"))
    assert rows.shape == (3, 4 + 4 + len(POSITION))
    assert np.array_equal(rows[:, :4], vectors)
    assert np.allclose(rows[:, 4:8].sum(axis=0), 0.0)
    assert rows[:, 8:].tolist() == [[0.0, 1.0, 0.0, 1.0], [0.5, 0.0, 0.0, 1.0], [1.0, 0.0, 1.0, 1.0]]
    single = role_features(vectors[:1], ("position",), abstract=False)
    assert single.tolist() == [[0.0, 1.0, 0.0, 0.0]]  # one sentence is first, not last


@pytest.mark.parametrize(
    "damage",
    [
        lambda doc: "{not json",
        lambda doc: {"format": FORMAT},
        lambda doc: {**doc, "format": FORMAT + 1},
        lambda doc: {**doc, "model": {**doc["model"], "coef": doc["model"]["coef"][:2]}},
        lambda doc: {**doc, "model": {**doc["model"], "classes": ["a", "b", "c", "d"]}},
        lambda doc: {**doc, "model": {**doc["model"], "blocks": ["vector", "tfidf"]}},
        lambda doc: {**doc, "model": {**doc["model"], "intercept": [float("nan")] * 4}},
        lambda doc: [1, 2, 3],
    ],
    ids=["not-json", "no-model", "other-format", "short-coef", "other-classes", "unknown-block", "nan", "list"],
)
def test_a_damaged_or_stale_file_is_a_config_error_naming_the_fix(tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    document = damage(shipped())
    path = tmp_path / "roles.json"
    if isinstance(document, str):
        path.write_text(document, encoding="utf-8")
    else:
        write(path, document)
    with pytest.raises(ConfigError) as err:
        RoleModel.load(path)
    message = str(err.value)
    assert "python -m evals.fit_roles" in message and str(path) in message
    assert "\n" not in message and "Traceback" not in message


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot be read .*FileNotFoundError.*evals\.fit_roles"):
        RoleModel.load(tmp_path / "absent.json")


def test_a_round_trip_through_the_dict_keeps_the_model() -> None:
    model = RoleModel.load()
    again = RoleModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again.blocks == model.blocks and np.array_equal(again.coef, model.coef)
    assert np.array_equal(again.intercept, model.intercept)


def test_vectors_of_another_size_are_refused() -> None:
    model = RoleModel.load()
    with pytest.raises(ConfigError, match=r"needs 384-dim .* got 1536-dim.*RAG_EMBEDDER=minilm"):
        model.probabilities(np.zeros((2, 1536)))
    assert model.probabilities(np.zeros((0, 384))).shape == (0, len(ROLES))


@pytest.mark.slow
def test_a_typical_abstract_gets_challenge_approach_outcome_every_time() -> None:
    vectors = real_embedder().embed(ABSTRACT)
    model = RoleModel.load()
    probs = model.probabilities(vectors)
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert model.predict(vectors) == ["challenge", "approach", "outcome"]
    assert np.array_equal(RoleModel.load().probabilities(vectors), probs)
    assert np.array_equal(model.probabilities(real_embedder().embed(ABSTRACT)), probs)


def test_a_summary_takes_each_roles_most_probable_sentence_once() -> None:
    from rag.answer.roles import summary

    #                 challenge approach outcome other
    probs = np.array([[0.70, 0.10, 0.05, 0.15],
                      [0.20, 0.60, 0.10, 0.10],
                      [0.05, 0.40, 0.50, 0.05]])  # fmt: skip
    assert summary(probs) == (("challenge", 0), ("approach", 1), ("outcome", 2))
    # sentence 1 is the likeliest for approach and outcome: it stands for approach, where it is likelier
    shared = np.array([[0.70, 0.10, 0.10, 0.10], [0.10, 0.50, 0.30, 0.10], [0.30, 0.30, 0.20, 0.20]])
    assert summary(shared) == (("challenge", 0), ("approach", 1))
    assert summary(probs[:1]) == ()


@pytest.mark.slow
def test_cited_papers_carry_their_problem_approach_and_result(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """Through ``Pipeline.ask`` on the real index: each cited paper's summary points at distinct sentences of its
    abstract, in challenge / approach / outcome order."""
    answer = real_pipeline.ask("How does DIMAT merge models trained by decentralized agents?")
    roles = answer.citations[0].roles
    assert [r for r, _ in roles] == ["challenge", "approach", "outcome"]
    assert len({i for _, i in roles}) == 3 and all(0 <= i < 10 for _, i in roles)
    from rag.answer.roles import summary_sentences

    said = summary_sentences(answer.citations[0].paper.abstract, roles)
    assert list(said) == ["challenge", "approach", "outcome"]
    assert all(sentence in answer.citations[0].paper.abstract for sentence in said.values())


@pytest.mark.parametrize(("question", "role"), [
    ("What problem does DIMAT address?", "challenge"),
    ("What did the SeerAttention-R authors find?", "outcome"),
    ("What are the main results of MaxSup?", "outcome"),
    ("How does DIMAT work?", "approach"),
    ("Which method does the paper use to merge models?", "approach"),
    ("How much faster is the kernel?", None),
    ("What speedup does SeerAttention-R reach?", None),
])  # fmt: skip
def test_the_asked_role_is_read_from_clear_cues_only(question: str, role: str | None) -> None:
    from rag.answer.roles import asked_role

    assert asked_role(question) == role


def test_role_book_gives_the_asked_roles_sentences_a_lead_bonus() -> None:
    from types import SimpleNamespace

    from rag.answer.roles import RoleBook
    from rag.types import Hit, Paper, Retrieved

    paper = Paper("p1", "T", "Models forget. We merge them by averaging. Accuracy rises by 5%.")
    probs = np.array([[0.8, 0.1, 0.05, 0.05], [0.1, 0.8, 0.05, 0.05], [0.05, 0.1, 0.8, 0.05]])
    model = SimpleNamespace(probabilities=lambda vectors: probs)
    book = RoleBook(model, lambda pid: np.zeros((3, 4)), weight=0.5)  # type: ignore[arg-type]
    retrieved = Retrieved("q", (Hit(paper, 1.0, "", 0, 1.0),), 0.9, False)
    pieces = [SimpleNamespace(pick=SimpleNamespace(hit=0, index=i)) for i in range(3)]
    assert book.order("What did they find?", pieces, retrieved) == pytest.approx([0.025, 0.025, 0.4])
    assert book.order("How does it work?", pieces, retrieved) == pytest.approx([0.05, 0.4, 0.05])
    assert book.order("What speedup do they get?", pieces, retrieved) == [0.0, 0.0, 0.0]
    unaligned = RoleBook(model, lambda pid: np.zeros((2, 4)))  # type: ignore[arg-type]
    assert unaligned.order("What did they find?", pieces, retrieved) == [0.0, 0.0, 0.0]
    assert book.summary(paper) == (("challenge", 0), ("approach", 1), ("outcome", 2))


def test_a_comparison_table_has_a_row_per_summarised_paper_in_their_own_words() -> None:
    from rag.answer.roles import comparison_markdown, comparison_rows
    from rag.types import Citation, Paper

    a = Paper("a", "Merging | Models", "Interference hurts. We trim and elect signs. It beats baselines.")
    b = Paper("b", "DIMAT", "Agents drift. Agents merge with neighbours. Accuracy rises faster.")
    roles = (("challenge", 0), ("approach", 1), ("outcome", 2))
    cites = [Citation(1, a, "", (1,), "supported", 1.0, roles), Citation(2, b, "", (1,), "supported", 1.0, roles[1:])]
    rows = comparison_rows(cites)
    assert rows == [("Merging | Models", {"Problem": "Interference hurts.", "Approach": "We trim and elect signs.",
                                          "Result": "It beats baselines."}),
                    ("DIMAT", {"Approach": "Agents merge with neighbours.", "Result": "Accuracy rises faster."})]
    table = comparison_markdown(cites).splitlines()
    assert table[0] == "| paper | Problem | Approach | Result |" and len(table) == 4
    assert table[2].startswith("| Merging \\| Models | Interference hurts. |")
    assert table[3] == "| DIMAT |  | Agents merge with neighbours. | Accuracy rises faster. |"
    assert comparison_markdown(cites[:1]) == "" and comparison_rows([cites[0], cites[0]]) == []

"""Conversions between the pipeline's types and llama-index nodes and responses.

A paper is one ``TextNode``: id = paper id, text = title + "\\n" + abstract, metadata = the paper's fields
(``paper_id``, ``title``, ``listing_date``, ``sources``, ``urls``, ``authors``, ``year``, ``date``, ``venue``,
``categories``, ``arxiv_id``, ``doi``, ``url``) plus what the stage adds (evidence and ranks for a hit, quote and
verdict for a citation). Only ``paper_id``, ``listing_date``, ``authors``, ``year`` and ``venue`` are shown to an
LLM next to the text; nothing of the metadata goes into an embedding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from llama_index.core.base.response.schema import Response
from llama_index.core.schema import NodeWithScore, TextNode

from rag.types import Answer, Citation, Hit, Paper

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

SHOWN_KEYS = ("paper_id", "listing_date", "authors", "year", "venue")
"""Metadata an LLM sees next to a node's text, when the paper has it (the rest is for code: ranks, features...)."""


def default_pipeline() -> Pipeline:
    import rag

    return rag.default_pipeline()


def paper_node(paper: Paper, metadata: Mapping[str, Any] | None = None) -> TextNode:
    """A node for a paper: id = paper id, text = title + newline + abstract, the paper's fields as metadata."""
    meta: dict[str, Any] = {
        "paper_id": paper.id,
        "title": paper.title,
        "listing_date": paper.listing_date,
        "sources": list(paper.sources),
        "urls": list(paper.urls),
        "authors": list(paper.authors),
        "year": paper.year,
        "date": paper.date,
        "venue": paper.venue,
        "categories": list(paper.categories),
        "arxiv_id": paper.arxiv_id,
        "doi": paper.doi,
        "url": paper.url,
        **(metadata or {}),
    }
    hidden = [key for key in meta if key not in SHOWN_KEYS or meta[key] in (None, [])]
    return TextNode(
        id_=paper.id,
        text=f"{paper.title}\n{paper.abstract}",
        metadata=meta,
        excluded_llm_metadata_keys=hidden,
        excluded_embed_metadata_keys=list(meta),
    )


def hit_node(hit: Hit, confidence: float) -> NodeWithScore:
    """A retrieved paper as a scored node carrying its evidence, stage ranks and reranker features."""
    node = paper_node(
        hit.paper,
        {
            "evidence": hit.sentence,
            "evidence_index": hit.sentence_index,
            "evidence_score": hit.sentence_score,
            "ranks": dict(hit.ranks),
            "features": dict(hit.features),
            "confidence": confidence,
        },
    )
    return NodeWithScore(node=node, score=hit.score)


def answer_response(answer: Answer) -> Response:
    """An ``Answer`` as a llama-index ``Response`` (see ``RagQueryEngine``)."""
    score = {hit.paper.id: hit.score for hit in answer.hits}
    nodes = [
        NodeWithScore(node=citation_node(c), score=score.get(c.paper.id, c.support))
        for c in sorted(answer.citations, key=lambda c: c.marker)
    ]
    return Response(
        response=answer.text,
        source_nodes=nodes,
        metadata={
            "answerer": answer.answerer,
            "abstained": answer.abstained,
            "unsupported": [check.text for check in answer.unsupported],
            "removed_markers": list(answer.removed_markers),
            "error": answer.error,
            "standalone_question": answer.standalone_question,
        },
    )


def citation_node(citation: Citation) -> TextNode:
    return paper_node(
        citation.paper,
        {
            "marker": citation.marker,
            "quote": citation.quote,
            "verdict": citation.verdict,
            "support": citation.support,
            "sentence_indices": list(citation.sentence_indices),
        },
    )

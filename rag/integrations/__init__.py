"""Adapters that let other frameworks use the pipeline: ``rag.integrations.llamaindex`` (LlamaIndex retriever,
reranker, query engine and the read-only ``ChromaVectorStore`` view of the index)."""

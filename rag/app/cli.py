"""The ``rag`` command: ingest, stats, search, ask, eval. Settings are read here, once."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.errors import RagError


def _settings() -> Any:
    from rag.settings import Settings

    return Settings()


def _pipeline(settings: Any) -> Any:
    from rag.answer.llm import make_client
    from rag.pipeline import Pipeline

    return Pipeline.open(settings, llm_client=make_client(settings))


def cmd_ingest(args: argparse.Namespace) -> int:
    from rag.answer.llm import make_client
    from rag.index.embeddings import make_embedder
    from rag.index.store import Store
    from rag.index.store import make_client as make_chroma
    from rag.pipeline import build_index

    settings = _settings()
    embedder = make_embedder(settings, make_client(settings))
    store = Store(make_chroma(settings.data_dir, settings.chroma_url), embedder.name)
    paths = [Path(p) for p in args.paths] or None
    report = build_index(settings, store, embedder, paths, progress=not args.quiet)
    print(report.summary())
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from rag.index.embeddings import MiniLMEmbedder
    from rag.index.store import Store
    from rag.index.store import make_client as make_chroma

    settings = _settings()
    name = MiniLMEmbedder.name if settings.embedder == "minilm" else f"openai-{settings.openai_embedding_model}"
    store = Store(make_chroma(settings.data_dir, settings.chroma_url), name)
    stats = {**store.counts(), "embedder": name, "data_dir": str(settings.data_dir), "chroma_url": settings.chroma_url}
    if args.json:
        print(json.dumps(stats))
    else:
        for key, value in stats.items():
            print(f"{key:>10}: {value}")
    return 0


def _filters(args: argparse.Namespace) -> dict[str, str]:
    return {k: v for k, v in (("listing_date", args.date), ("source", args.source)) if v}


def cmd_search(args: argparse.Namespace) -> int:
    from rag.pipeline import clean_query

    clean_query(args.query)  # fail fast, before loading models
    pipeline = _pipeline(_settings())
    hits = pipeline.search(args.query, args.k, **_filters(args))
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], indent=2))
        return 0
    print(f"{'#':>2}  {'score':>6}  {'paper':<14}  title / best sentence")
    for n, hit in enumerate(hits, start=1):
        print(f"{n:>2}  {hit.score:6.3f}  {hit.paper.id:<14}  {hit.paper.title}")
        print(f"{'':>26}  “{hit.sentence[:150]}”")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.pipeline import clean_query

    clean_query(args.question)  # fail fast, before loading models
    pipeline = _pipeline(_settings())
    options: dict[str, Any] = {"k": args.k, **_filters(args)}
    if args.answerer:
        options["answerer"] = args.answerer
    answer = pipeline.ask(args.question, None, **options)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2))
        return 0
    print(answer.text)
    if answer.error:
        print(f"\n(LLM error: {answer.error}; answered extractively)", file=sys.stderr)
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            print(f"[{c.marker}] {c.paper.title} ({c.verdict})")
    print(f"\n— {answer.answerer} answerer, {answer.timings.get('total', 0) * 1000:.0f} ms")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from rag.evals.runner import run_eval_command

    return run_eval_command(_settings(), args)


def cmd_serve(args: argparse.Namespace) -> int:
    from rag.app.serve import serve

    return serve(args.host, args.port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Question answering over ML paper abstracts.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="index the corpus (default: the bundled one); only changes are embedded")
    p.add_argument("paths", nargs="*", help="files or folders (.txt listings, .jsonl, .csv)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("stats", help="counts of the index")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)

    for name, func, helptext in (("search", cmd_search, "rank papers"), ("ask", cmd_ask, "answer with citations")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("question" if name == "ask" else "query")
        p.add_argument("-k", type=int, default=10 if name == "search" else None, help="number of papers")
        p.add_argument("--date", help="only papers listed on this date, e.g. 'Mar 21'")
        p.add_argument("--source", help="only papers from this source file name")
        p.add_argument("--json", action="store_true")
        if name == "ask":
            p.add_argument("--answerer", choices=["extractive", "llm"])
        p.set_defaults(func=func)

    p = sub.add_parser("eval", help="run eval sets through rag.ask and write reports")
    p.add_argument("--set", dest="sets", action="append", required=True, type=Path, help="eval set JSONL")
    p.add_argument("--answerer", choices=["extractive", "llm"], default="extractive")
    p.add_argument("--out", type=Path, default=Path("eval-out"))
    p.add_argument("--compare", type=Path, help="an earlier report.json to compare against")
    p.add_argument("--thresholds", type=Path, help="fail (exit 1) when an aggregate metric is below these")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("serve", help="serve the chat web UI (same as python app.py)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--host", default="127.0.0.1")
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

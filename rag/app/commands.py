"""What each ``rag`` command does, given its parsed arguments and a ``Context`` (the settings, and the embedder to
use); ``rag.app.cli`` parses the command line and maps errors to exit codes. Each returns its exit code. Text
from the corpus is printed through ``rag.app.term`` (no terminal control sequences); ``--json`` output is plain
``json.dumps``. Heavy modules are imported by the commands that need them, so ``rag --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.app.term import safe, safe_line
from rag.errors import IndexNotReadyError
from rag.filters import filter_key

if TYPE_CHECKING:
    from rag.index.embeddings import Embedder
    from rag.pipeline import Pipeline
    from rag.settings import Settings
    from rag.types import Answer, Filters


@dataclass(frozen=True, slots=True)
class Context:
    """What every command is built from."""

    settings: Settings
    embedder: Embedder | None = None
    """None: the embedder the settings ask for (loaded only by the commands that embed)."""

    def llm_client(self) -> Any:
        from rag.answer.llm import make_llm_client

        return make_llm_client(self.settings)

    def make_embedder(self, llm_client: Any) -> Embedder:
        from rag.index.embeddings import make_embedder

        return self.embedder or make_embedder(self.settings, llm_client)

    def embedder_name(self) -> str:
        from rag.index.embeddings import embedder_name

        return self.embedder.name if self.embedder is not None else embedder_name(self.settings)

    def pipeline(self) -> Pipeline:
        from rag.pipeline import Pipeline

        return Pipeline.open(self.settings, embedder=self.embedder, llm_client=self.llm_client())


def cmd_ingest(ctx: Context, args: argparse.Namespace) -> int:
    from rag.index.ingest import run_ingest

    def waiting(pid: int | None) -> None:
        who = f"pid {pid}" if pid is not None else "another process"
        print(
            f"another ingest ({who}) is writing {ctx.settings.data_dir}; waiting up to "
            f"{ctx.settings.ingest_lock_timeout:g}s (RAG_INGEST_LOCK_TIMEOUT)...",
            file=sys.stderr,
        )

    embedder = ctx.make_embedder(ctx.llm_client())
    paths = _ingest_paths(args.paths) or None
    report = run_ingest(
        ctx.settings, embedder, paths, prune=args.prune, rebuild=args.rebuild, progress=not args.quiet,
        on_wait=waiting,
    )  # fmt: skip
    print(safe(report.summary()))
    return 0


def _ingest_paths(given: list[str]) -> list[Path]:
    """The paths ``rag ingest`` was given, each file once however it was written ("in/a.jsonl" and
    "./in/../in/a.jsonl"); an empty one (an unset shell variable) is an error, not the current folder."""
    from rag.errors import ConfigError

    if any(not p.strip() for p in given):
        raise ConfigError("`rag ingest` was given an empty path (an unset shell variable?): name the files or "
                          "folders to ingest, or give none to ingest RAG_CORPUS_PATHS")
    seen: dict[str, Path] = {}
    for p in given:  # realpath, not Path.resolve: a symlink loop is ingest's to name, not a crash here
        seen.setdefault(os.path.realpath(p), Path(p))
    return list(seen.values())


def cmd_stats(ctx: Context, args: argparse.Namespace) -> int:
    """The index's counts. A data dir holding no index is an error (it had been created, and "papers: 0" said with
    exit 0), and so is a rebuild left incomplete (its partial count had been printed as the index's)."""
    from rag.index.ingest import check_not_rebuilding
    from rag.index.store import Store, open_chroma
    from rag.index.store_files import chroma_dir

    settings = ctx.settings
    name = ctx.embedder_name()
    if settings.chroma_url is None and not chroma_dir(Path(settings.data_dir)).is_dir():
        raise IndexNotReadyError(f"no index in {safe_line(settings.data_dir)}: run `rag ingest` to build it there, or "
                                 "set RAG_DATA_DIR to the folder that holds it")  # fmt: skip
    check_not_rebuilding(Path(settings.data_dir), name)
    client = open_chroma(settings.data_dir, settings.chroma_url)
    store = Store(client, name)
    if ctx.embedder is None and store.is_empty():  # what the app serves: maybe an earlier version's fp32 index
        from rag.index.opening import fp32_index

        kept = fp32_index(settings, client, None, progress=False)
        name, store = (kept[1].embedder_name, kept[1]) if kept is not None else (name, store)
    stats = {**store.counts(), "embedder": name, "data_dir": str(settings.data_dir), "chroma_url": settings.chroma_url}
    if args.json:
        print(json.dumps(stats))
    else:
        for key, value in stats.items():
            print(f"{key:>10}: {safe_line(value)}")
    return 0


def _filters(args: argparse.Namespace) -> Filters:
    """The filter options given: an empty one (``--source ''``) is passed on, and refused by the pipeline, not
    dropped (which would answer from every paper)."""
    filters: Filters = {}
    if args.date is not None:
        filters["listing_date"] = args.date
    if args.source is not None:
        filters["source"] = args.source
    if args.since is not None:
        filters["since"] = args.since
    if args.until is not None:
        filters["until"] = args.until
    if args.author is not None:
        filters["author"] = args.author
    if args.category is not None:
        filters["category"] = args.category
    return filters


def _check_question(text: str) -> None:
    """The cheap checks of a question, before any index or model is opened (``QueryError``, exit 5)."""
    from rag.request import clean_query

    clean_query(text)


def cmd_search(ctx: Context, args: argparse.Namespace) -> int:
    _check_question(args.query)
    pipeline, filters = ctx.pipeline(), _filters(args)
    hits = pipeline.search(args.query, args.k, **filters)
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], indent=2))
        return 0
    if not hits:
        from rag.answer.base import no_match

        print(no_match(pipeline.paper_filter.missing_fields(filter_key(filters))), file=sys.stderr)
        return 0
    print(f"{'#':>2}  {'score':>6}  {'paper':<14}  title / best sentence")
    for n, hit in enumerate(hits, start=1):
        print(f"{n:>2}  {hit.score:6.3f}  {safe_line(hit.paper.id):<14}  {safe_line(hit.paper.title)}")
        print(f"{'':>26}  “{safe_line(hit.sentence[:150])}”")
    return 0


def cmd_ask(ctx: Context, args: argparse.Namespace) -> int:
    _check_question(args.question)
    pipeline = ctx.pipeline()
    answer = pipeline.ask(args.question, k=args.k, answerer=args.answerer, **_filters(args))
    if args.references:
        from rag.answer.references import references

        refs = references(answer, args.references, pipeline.papers)
    if args.json:
        extra = {"references": refs} if args.references else {}
        print(json.dumps({**answer.to_dict(), **extra}, indent=2))
        return 0
    if args.references:
        return _print_references(answer, refs)
    print(safe(answer.text))
    from rag.answer.roles import comparison_markdown

    table = comparison_markdown(answer.citations) if answer.kind == "comparison" else ""
    if table:
        print(f"\n{safe(table)}")
    if answer.error:
        print(f"\n(LLM error: {safe(answer.error)}; answered extractively)", file=sys.stderr)
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            print(f"[{c.marker}] {safe_line(c.paper.title)} ({c.verdict})")
    print(f"\n— {answer.answerer} answerer, {answer.timings.get('total', 0) * 1000:.0f} ms")
    return 0


def _print_references(answer: Answer, refs: str) -> int:
    """The references alone on stdout (``> refs.bib`` keeps a clean file); the answer goes to stderr."""
    print(safe(answer.text), file=sys.stderr)
    if not refs:
        print("\n(the answer cites no paper, so there are no references)", file=sys.stderr)
        return 0
    print(safe(refs), end="")
    return 0


def cmd_eval(ctx: Context, args: argparse.Namespace) -> int:
    from rag.evals.runner import run_eval_command

    return run_eval_command(ctx.settings, args, embedder=ctx.embedder)


def cmd_serve(ctx: Context, args: argparse.Namespace) -> int:
    from rag.app.serve import serve

    return serve(args.host, args.port)

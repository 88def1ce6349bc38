"""The ``rag`` command: ingest, stats, search, ask, eval, serve. Settings are read here, once.

``main(argv)`` returns the exit code: 0 on success, ``RagError.exit_code`` of the error (config 2, corpus 3,
index 4, query 5, LLM 6, damaged index 7, ingest busy 8, storage 9), 2 on a usage error (argparse's
convention), 130 on Ctrl-C. ``main`` also takes the ``settings`` and the ``embedder`` to use (default: from
the environment, the configured model), so tests and embedding applications can run every command over their
own index without patching anything. Text from the corpus is printed through ``rag.app.term`` (no terminal
control sequences); ``--json`` output is plain ``json.dumps``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from rag.app.term import safe, safe_line
from rag.errors import RagError
from rag.filters import filter_key
from rag.request import MAX_SEARCH_K, MAX_SOURCES

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
    paths = [Path(p) for p in args.paths] or None
    report = run_ingest(
        ctx.settings, embedder, paths, prune=args.prune, rebuild=args.rebuild, progress=not args.quiet,
        on_wait=waiting,
    )  # fmt: skip
    print(safe(report.summary()))
    return 0


def cmd_stats(ctx: Context, args: argparse.Namespace) -> int:
    from rag.index.store import Store, open_chroma

    settings = ctx.settings
    name = ctx.embedder_name()
    client = open_chroma(settings.data_dir, settings.chroma_url)
    store = Store(client, name)
    if ctx.embedder is None and store.is_empty():  # what the app serves: maybe an earlier version's fp32 index
        from rag.pipeline import fp32_index

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


def _add_ingest(sub: Any) -> None:
    p = sub.add_parser("ingest", help="index the corpus (default: the bundled one); only changes are embedded")
    p.add_argument(
        "paths", nargs="*", help="files or folders: .txt listings, JSON lines (the arXiv dump too), CSV, BibTeX"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--prune", action="store_true", help="allow removing more than half of the indexed papers (mirror the inputs)"
    )
    mode.add_argument(
        "--rebuild", action="store_true", help="drop this model's index and build it again from the inputs"
    )
    p.set_defaults(func=cmd_ingest)


def _add_filters(p: argparse.ArgumentParser) -> None:
    """The retrieval filters of ``search`` and ``ask`` (``rag.filters.FILTERS``)."""
    p.add_argument("--date", help="only papers listed on this date, e.g. 'Mar 21'")
    p.add_argument("--source", help="only papers from this source file name")
    p.add_argument("--since", type=year_option, metavar="YEAR", help="only papers of this year or later")
    p.add_argument("--until", type=year_option, metavar="YEAR", help="only papers of this year or earlier")
    p.add_argument(
        "--author", action="append", metavar="NAME",
        help="only papers with an author whose name contains NAME (case and accents aside); repeat for any of them",
    )  # fmt: skip
    p.add_argument(
        "--category", action="append", metavar="CAT",
        help="only papers in this arXiv category or keyword (cs matches cs.CL); repeat for any of several",
    )  # fmt: skip


def _add_question(sub: Any, name: str, func: Callable[[Context, argparse.Namespace], int], helptext: str) -> None:
    p = sub.add_parser(name, help=helptext)
    p.add_argument("question" if name == "ask" else "query")
    p.add_argument(
        "-k", type=k_option(MAX_SEARCH_K if name == "search" else MAX_SOURCES),
        default=10 if name == "search" else None,
        help=f"number of papers, 1-{MAX_SEARCH_K}" if name == "search"
        else f"number of sources, 1-{MAX_SOURCES} (default RAG_TOP_K)",
    )  # fmt: skip
    _add_filters(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    if name == "ask":
        p.add_argument("--answerer", choices=["extractive", "llm"], help="default: the configured one")
        p.add_argument(
            "--references", choices=["bibtex", "markdown"],
            help="print the cited papers as BibTeX entries or a Markdown list (alone on stdout; the answer "
            "goes to stderr), e.g. > refs.bib",
        )  # fmt: skip
    p.set_defaults(func=func)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="rag", description="Question answering over ML paper abstracts.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_ingest(sub)
    p = sub.add_parser("stats", help="counts of the index")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=cmd_stats)
    _add_question(sub, "search", cmd_search, "rank papers")
    _add_question(sub, "ask", cmd_ask, "answer with citations")
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


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line, as every other error of the CLI (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def k_option(upper: int) -> Callable[[str], int]:
    """The argparse type of ``-k``: a whole number in ``1..upper`` (else a usage error, exit 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {upper}, not {text!r}") from None
        if not 1 <= value <= upper:
            raise argparse.ArgumentTypeError(f"k={value} is out of range; ask for 1 to {upper} papers")
        return value

    return parse


def year_option(text: str) -> int:
    """The argparse type of ``--since``/``--until``: a year like 2021 (else a usage error, exit 2)."""
    if not (text.isascii() and text.strip().isdigit() and 1000 <= int(text) <= 9999):
        raise argparse.ArgumentTypeError(f"must be a year like 2021, not {text!r}")
    return int(text)


def read_settings() -> Settings:
    """The settings from the environment; an invalid value is a ``ConfigError`` naming the variable."""
    from rag.settings import load_settings

    return load_settings()


_INTERRUPTED = {"ingest": "; what was written is kept: run `rag ingest` again to finish"}
"""What a user should know after Ctrl-C, per command."""


def main(
    argv: Sequence[str] | None = None, *, settings: Settings | None = None, embedder: Embedder | None = None
) -> int:
    """Run one ``rag`` command and return its exit code (see the module docstring)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    for stream in (sys.stdout, sys.stderr):  # a terminal that is not UTF-8 gets escapes, not a traceback
        reconfigure = getattr(stream, "reconfigure", None)
        if callable(reconfigure):
            reconfigure(errors="backslashreplace")
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2); argparse has printed the message
        return exc.code if isinstance(exc.code, int) else 2
    try:
        ctx = Context(settings if settings is not None else read_settings(), embedder)
        return int(args.func(ctx, args))
    except RagError as exc:
        print(f"error: {safe(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"\ninterrupted{_INTERRUPTED.get(args.command, '')}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rag search ... | head -1`: the reader has what it wanted
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())

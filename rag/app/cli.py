"""The ``rag`` command: ingest, stats, search, ask, eval, serve. Settings are read here, once; this module parses
the command line and maps errors to exit codes, ``rag.app.commands`` runs each command.

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
import errno
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from rag.app.commands import Context, cmd_ask, cmd_eval, cmd_ingest, cmd_search, cmd_serve, cmd_stats
from rag.app.serve import port_number
from rag.app.term import safe_line
from rag.errors import RagError
from rag.request import MAX_SEARCH_K, MAX_SOURCES

if TYPE_CHECKING:
    from rag.index.embeddings import Embedder
    from rag.settings import Settings


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
    p.add_argument("--port", type=port_number, default=7860)
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
    from rag.settings import ignored_variables, load_settings

    settings = load_settings()
    for warning in ignored_variables(os.environ):
        print(f"warning: {safe_line(warning)}", file=sys.stderr)
    return settings


_INTERRUPTED = {"ingest": "; what was written is kept: run `rag ingest` again to finish"}
"""What a user should know after Ctrl-C, per command."""


def _unraisable(unraisable: Any) -> None:
    """Python's report of an exception it cannot raise, without the Ctrl-C one: an interrupt that lands in a
    callback (an import lock's, a finalizer) printed "Exception ignored in ..." and a traceback above the command's
    own "interrupted" line (about one Ctrl-C in 60, a tester measured)."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        return
    sys.__unraisablehook__(unraisable)


def main(
    argv: Sequence[str] | None = None, *, settings: Settings | None = None, embedder: Embedder | None = None
) -> int:
    """Run one ``rag`` command and return its exit code (see the module docstring)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    sys.unraisablehook = _unraisable
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
    except RagError as exc:  # one line: a newline in a file name had split it in two
        print(f"error: {safe_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"\ninterrupted{_INTERRUPTED.get(args.command, '')}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rag search ... | head -1`: the reader has what it wanted
        _quiet_stdout()
        return 141
    except OSError as exc:  # `rag search ... > /dev/full` had printed a traceback
        _quiet_stdout()
        print(f"error: {os_error_message(exc)}", file=sys.stderr)
        return 1


_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def os_error_message(exc: OSError) -> str:
    """One line for an error of the system: a full disk is the output that could not be written."""
    if exc.errno in _FULL:
        return f"could not write the output ({exc.strerror}); free some space or send the output elsewhere"
    where = f": {safe_line(exc.filename)}" if exc.filename else ""
    return f"{exc.strerror or type(exc).__name__}{where}"


def _quiet_stdout() -> None:
    """Standard output pointed at /dev/null, so the interpreter's last flush of what could not be written is silent."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
